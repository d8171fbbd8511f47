package guide

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/lifecycle"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/guides/*.md")

const dir = "../../docs/guides"

// TestGuidesUpToDate: each stage has a guide whose generated section is
// what Generate writes today; -update rewrites the sections in place and
// leaves the prose alone.
func TestGuidesUpToDate(t *testing.T) {
	for _, st := range lifecycle.StageNames() {
		p := filepath.Join(dir, st+".md")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("stage %s has no guide: %v", st, err)
			continue
		}
		gen, err := Generate(st)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		if *update {
			out, err := Splice(doc, gen)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			doc = out
		}
		got, ok := Section(doc)
		if !ok {
			t.Errorf("%s: no generated section (markers %q … %q)", p, Begin, End)
			continue
		}
		if got != gen {
			t.Errorf("%s: generated section is stale; run go test ./internal/guide -update", p)
		}
	}
}

// TestGuideShape: every guide has the sections the issue asks for and at
// least one runnable command block.
func TestGuideShape(t *testing.T) {
	index, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range lifecycle.StageNames() {
		if !strings.Contains(string(index), "]("+st+".md)") {
			t.Errorf("docs/guides/README.md does not link %s.md", st)
		}
		b, err := os.ReadFile(filepath.Join(dir, st+".md"))
		if err != nil {
			continue // reported by TestGuidesUpToDate
		}
		doc := string(b)
		for _, h := range []string{"## Threats this stage's checks address", "## Gate rules, owners and framework tasks", "## Steps", "## Evidence each step leaves", "## What stays open"} {
			if !strings.Contains(doc, h) {
				t.Errorf("%s guide lacks %q", st, h)
			}
		}
		if !regexp.MustCompile("(?m)^```sh\n").MatchString(doc) {
			t.Errorf("%s guide has no runnable sh block", st)
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "intro\n" + Begin + "\nold\n" + End + "\nprose\n"
	got, err := Splice(doc, Begin+"\nnew\n"+End)
	if err != nil || got != "intro\n"+Begin+"\nnew\n"+End+"\nprose\n" {
		t.Errorf("Splice = %q, %v", got, err)
	}
	if _, err := Splice("no markers", "x"); err == nil {
		t.Error("Splice without markers succeeded")
	}
	if _, err := Generate("nowhere"); err == nil {
		t.Error("unknown stage accepted")
	}
}
