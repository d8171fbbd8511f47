// Package docs_test runs the commands the documentation shows (the
// doc-command convention, docs/doc-commands.md): in docs/lifecycle.md and
// docs/guides/*.md, every fenced code block whose info string is exactly
// "sh" is run, each file's blocks in order in one `bash -euo pipefail`
// session, in a fresh temporary working directory, with an mlsec built from
// this tree first on PATH and $MLSEC_REPO set to the repository root.
// Blocks marked "sh no-run" are shown, not run.
package docs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// block is one runnable fenced code block.
type block struct {
	Line int // of the opening fence, 1-based
	Code string
}

// runnableBlocks returns the "sh" blocks of a Markdown document, in order.
// A fence is three or more backticks at the start of a line (after up to
// three spaces); the block ends at a fence of at least as many backticks.
// An unterminated block is an error: the doc would render wrong too.
func runnableBlocks(doc string) ([]block, error) {
	var out []block
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line, open, openLine := 0, "", 0
	var info string
	var body strings.Builder
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimLeft(text, " ")
		indent := len(text) - len(trimmed)
		fence := len(trimmed) - len(strings.TrimLeft(trimmed, "`"))
		if open == "" {
			if indent <= 3 && fence >= 3 {
				open, openLine, info = trimmed[:fence], line, strings.TrimSpace(trimmed[fence:])
				body.Reset()
			}
			continue
		}
		if indent <= 3 && fence >= len(open) && strings.TrimSpace(trimmed[fence:]) == "" {
			if info == "sh" {
				out = append(out, block{Line: openLine, Code: body.String()})
			}
			open = ""
			continue
		}
		body.WriteString(text)
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if open != "" {
		return nil, fmt.Errorf("line %d: code block never closed", openLine)
	}
	return out, nil
}

func TestRunnableBlocks(t *testing.T) {
	doc := "# T\n\n```sh\necho one\n```\n\ntext\n\n```sh no-run\nmlsec serve\n```\n\n```yaml\na: 1\n```\n\n" +
		"````sh\necho '```'\n````\n\n```bash\necho no\n```\n\n   ```sh\necho indented\n   ```\n"
	got, err := runnableBlocks(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{{3, "echo one\n"}, {17, "echo '```'\n"}, {25, "echo indented\n"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("blocks (-want +got):\n%s", d)
	}
	if _, err := runnableBlocks("```sh\necho open\n"); err == nil {
		t.Error("an unterminated block: no error")
	}
}

// docFiles are the documents under the convention.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"lifecycle.md"}
	guides, err := filepath.Glob("guides/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append(files, guides...)
}

// TestDocCommands runs every document's sh blocks. Skipped with -short
// (it builds mlsec).
func TestDocCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mlsec and runs the documented commands")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	statSources(t, repo)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "mlsec"), "./cmd/mlsec")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, f := range docFiles(t) {
		t.Run(filepath.ToSlash(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			blocks, err := runnableBlocks(string(data))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(blocks) == 0 {
				t.Skipf("%s has no sh block", f)
			}
			var script strings.Builder
			for _, b := range blocks {
				// Each block announces itself, so a failure names its block.
				fmt.Fprintf(&script, "printf '\\n[docs/%s:%d]\\n'\n%s\n", filepath.ToSlash(f), b.Line, b.Code)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script.String())
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "MLSEC_REPO="+repo)
			out, err := cmd.CombinedOutput()
			if err != nil {
				last := "before the first block"
				if i := strings.LastIndex(string(out), "\n[docs/"); i >= 0 {
					last = strings.SplitN(string(out[i+1:]), "\n", 2)[0]
				}
				t.Fatalf("the commands of %s fail in the block at %s: %v\n%s", f, last, err, out)
			}
		})
	}
}

// statSources stats every file of the repository (sources, embedded data,
// fixtures the docs use): go test records what a test stats, so a cached result of this
// test (which builds mlsec in a subprocess go test cannot see into) is
// reused only while none of them changed.
func statSources(t *testing.T, repo string) {
	t.Helper()
	err := filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			_, err := os.Stat(p)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// logicalLines joins backslash-continued lines and drops comments and
// blank lines.
func logicalLines(code string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(code, "\n") {
		if i := strings.Index(l, " #"); i >= 0 && !strings.Contains(l[:i], "'") {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		if s := strings.Join(strings.Fields(cur.String()), " "); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

// TestLifecycleDocIsTheJourney checks that docs/lifecycle.md shows every
// mlsec command examples/journey.sh runs (the script checks their results;
// the doc-command test runs the doc's), so the two cannot drift apart.
func TestLifecycleDocIsTheJourney(t *testing.T) {
	doc, err := os.ReadFile("lifecycle.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := runnableBlocks(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, b := range blocks {
		for _, l := range logicalLines(b.Code) {
			if strings.HasPrefix(l, "mlsec ") {
				shown[strings.TrimSuffix(l, " && exit 1 || true")] = true
			}
		}
	}
	script, err := os.ReadFile("../examples/journey.sh")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range logicalLines(string(script)) {
		_, args, ok := strings.Cut(l, " -- ")
		if !strings.HasPrefix(l, "expect ") || !ok {
			continue
		}
		n++
		if cmd := "mlsec " + args; !shown[cmd] {
			t.Errorf("docs/lifecycle.md does not show %q, which examples/journey.sh runs", cmd)
		}
	}
	if n < 20 {
		t.Errorf("found only %d commands in examples/journey.sh", n)
	}
}
