package pickle

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestDebugFiles(t *testing.T) {
	files := os.Getenv("PICKLE_DEBUG")
	if files == "" {
		t.Skip()
	}
	for _, f := range strings.Fields(files) {
		b, _ := os.ReadFile(f)
		an, err := Analyze(context.Background(), strings.NewReader(string(b)), int64(len(b)), Options{Joblib: os.Getenv("JOBLIB") != ""})
		fmt.Println("==", f, err, "pickles", an.Pickles, "proto", an.Protocol, "ops", an.Ops, "end", an.End, len(b))
		for _, i := range an.Imports {
			fmt.Printf("  import %+v\n", i)
		}
		for _, c := range an.Calls {
			fmt.Printf("  call %s %s @%d args=%d\n", c.Opcode, c.Callee, c.Offset, len(c.Args))
		}
		for _, a := range an.Anomalies {
			fmt.Printf("  anomaly %+v\n", a)
		}
	}
}
