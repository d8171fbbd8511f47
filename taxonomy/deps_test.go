package taxonomy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package small: it may import only the standard
// library, go.yaml.in/yaml/v3 and the root mlsec package.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := strings.Fields(string(out))
	if len(imports) == 0 {
		t.Fatal("go list returned no imports")
	}
	for _, imp := range imports {
		first, _, _ := strings.Cut(imp, "/")
		switch {
		case imp == "github.com/mlsecops/mlsec", imp == "go.yaml.in/yaml/v3":
		case !strings.Contains(first, "."):
			// standard library
		default:
			t.Errorf("taxonomy imports %s; only the standard library, go.yaml.in/yaml/v3 and github.com/mlsecops/mlsec are allowed", imp)
		}
	}
}
