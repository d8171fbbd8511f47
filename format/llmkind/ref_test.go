package llmkind

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The reference screens below are the whole-document versions Classify
// used before the line-wise ones (commit bd77f53). The tests check that the
// fast screens decide exactly as they did.
var (
	refColangDefine  = regexp.MustCompile(`(?m)^define (user|bot|flow|subflow) [^\n]{1,200}$`)
	refColang2Flow   = regexp.MustCompile(`(?m)^flow [a-z_][a-z0-9_ ]{0,100}(\$[a-z_]+ ?)*$`)
	refColang2Import = regexp.MustCompile(`(?m)^import (core|llm|guardrails|avatars|timing)\b`)
)

func refColang1(data []byte) bool {
	return bytes.Contains(data, []byte("define ")) && refColangDefine.Match(data) && (bytes.Contains(data, []byte("define flow")) || len(refColangDefine.FindAll(data, 3)) >= 2)
}

func refColang2(data []byte) bool {
	return bytes.Contains(data, []byte("import ")) && refColang2Import.Match(data) && refColang2Flow.Match(data)
}

// newColang is the decision classifyText makes from colangLines.
func newColang(data []byte) bool {
	n, imp, flow := colangLines(data)
	return n >= 2 || n == 1 && bytes.Contains(data, []byte("define flow")) || imp && flow
}

// checkScreens fails when a fast screen decides differently from its
// reference on data.
func checkScreens(t *testing.T, name string, data []byte) {
	t.Helper()
	if a, b := newColang(data), refColang1(data) || refColang2(data); a != b {
		t.Errorf("%s: Colang screen %v, reference %v", name, a, b)
	}
	// The line scan alone, without the early stop after two define lines.
	if n, _, _ := colangLines(data); n < 2 {
		if _, imp, flow := colangLines(data); (imp && flow) != refColang2(data) {
			t.Errorf("%s: Colang 2 screen %v, reference %v", name, imp && flow, refColang2(data))
		}
	}
	if a, b := hasYAMLAnchor(data), anyAnchor(data, yamlAnchors); a != b {
		t.Errorf("%s: YAML anchor screen %v, reference %v", name, a, b)
	}
}

func TestScreensMatchReference(t *testing.T) {
	docs := []string{
		"", "define", "define ", "define user", "define user x", "define user x\r\n", "#define user x\ndefine bot y\n",
		"define flow a\n", "define user a\ndefine bot b", "x\ndefine subflow " + strings.Repeat("é", 200) + "\ndefine flow x",
		"define user " + strings.Repeat("a", 201) + "\ndefine flow x\n", "define userx y\ndefine flow z",
		"a define user x\ndefine flow y", "define define user x\ndefine flow q\n", "\ndefine user q\n\ndefine bot r",
		"import core\nflow main\n", "import coreutils\nflow main\n", "import core\nflow main\r\n", "import llm\nflow a $x $y\n",
		"import timing\nsome flow x\n", "import core\nflow Main\n", "import core", "flow main\nimport guardrails.x",
		"import core\ndefine user a\nflow main\n", "define user a\ndefine bot b\nimport core\nflow x\n", "d\ni\nf\n\n",
		"rails:", "x: 1\nmodels:\n", ": s:", "messages:", "amessages: 1", "categories", "_type:", "peft_type :", "e:",
		"template:\n", "prompts: []", "s:e:", "\xffs:",
	}
	for i, d := range docs {
		checkScreens(t, strings.ReplaceAll(docs[i], "\n", `\n`), []byte(d))
	}
	n := 0
	for _, root := range []string{"/usr/share/doc", "/usr/include", "/usr/lib/python3/dist-packages"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || n >= 3000 {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil || len(data) > MaxBytes {
				return nil
			}
			n++
			checkScreens(t, p, data)
			return nil
		})
	}
	t.Logf("%d system files", n)
}

func FuzzScreens(f *testing.F) {
	f.Add([]byte("define user a\ndefine flow b\n"))
	f.Add([]byte("import core\nflow main $x\n"))
	f.Add([]byte("rails:\n  input: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScreens(t, "fuzz", data)
	})
}
