package aibom_test

import (
	"os"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/aibom"
)

func TestHangTmp(t *testing.T) {
	b, _ := os.ReadFile("/tmp/hang-input")
	v := aibom.NewValidator()
	for name, fn := range map[string]func(){
		"json": func() { aibom.DecodeJSON(b) },
		"xml":  func() { aibom.DecodeXML(b) },
		"val":  func() { v.Validate(b) },
	} {
		s := time.Now()
		done := make(chan bool)
		go func() { fn(); close(done) }()
		select {
		case <-done:
			t.Log(name, time.Since(s))
		case <-time.After(5 * time.Second):
			t.Errorf("%s hangs", name)
		}
	}
}
