package integrationtest

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec/aibom"
)

// goreleaser returns the goreleaser binary (MLSEC_GORELEASER, else on
// PATH) and a PATH that also holds its directory (where
// scripts/release-check.sh puts cyclonedx-gomod beside it). Building both
// from tools/release takes minutes, so the test skips without them unless
// MLSEC_REQUIRE_GORELEASER=1.
func goreleaser(t *testing.T) (string, string) {
	t.Helper()
	bin := os.Getenv("MLSEC_GORELEASER")
	if bin == "" {
		bin, _ = exec.LookPath("goreleaser")
	}
	if bin == "" {
		if os.Getenv("MLSEC_REQUIRE_GORELEASER") == "1" {
			t.Fatal("goreleaser not found (MLSEC_GORELEASER or PATH) and MLSEC_REQUIRE_GORELEASER=1")
		}
		t.Skip("goreleaser not installed: scripts/release-check.sh builds it from tools/release and runs this test")
	}
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, dir := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(dir, "cyclonedx-gomod")); err == nil {
			return bin, path
		}
	}
	t.Fatal("goreleaser found but cyclonedx-gomod (the SBOM command of .goreleaser.yaml) is not on PATH nor beside it")
	return "", ""
}

// TestGoreleaserSnapshot runs the real release configuration through
// goreleaser for this machine's target only (the full matrix is
// scripts/release-check.sh): goreleaser check, then a snapshot release
// without signing. It checks the archive (static mlsec and mlsec-scan),
// checksums.txt and the CycloneDX SBOM against the official schema, and
// then installs the archive with the action's install step from a local
// server, as a runner would from GitHub's release downloads.
func TestGoreleaserSnapshot(t *testing.T) {
	bin, path := goreleaser(t)
	root := repoRoot(t)
	// A standalone git repository holding the working tree as it is:
	// cyclonedx-gomod reads the main module's version from git, which it
	// cannot in a git worktree checkout.
	src := checkoutCopy(t, root)
	env := []string{"PATH=" + path}
	if out, code := run(t, src, env, bin, "check"); code != 0 {
		t.Fatalf("goreleaser check: exit %d\n%s", code, out)
	}

	// The same configuration for one target.
	b, err := os.ReadFile(filepath.Join(src, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, bld := range cfg["builds"].([]any) {
		m := bld.(map[string]any)
		m["goos"], m["goarch"] = []string{runtime.GOOS}, []string{runtime.GOARCH}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(t.TempDir(), "goreleaser.yaml")
	write(t, one, string(out))
	if out, code := run(t, src, env, bin, "release", "--snapshot", "--clean", "--skip=sign", "--config", one); code != 0 {
		t.Fatalf("goreleaser release --snapshot: exit %d\n%s", code, out)
	}
	dist := filepath.Join(src, "dist")

	name := hostArchive(t)
	var meta struct {
		Version string `json:"version"`
	}
	mb, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil || json.Unmarshal(mb, &meta) != nil || meta.Version == "" {
		t.Fatalf("dist/metadata.json: %v\n%s", err, mb)
	}

	// checksums.txt covers the archive and its SBOM, and they match.
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("checksums.txt line %q", line)
		}
		listed[file] = sum
	}
	for _, f := range []string{name, name + ".cdx.json"} {
		b, err := os.ReadFile(filepath.Join(dist, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if listed[f] != sha256hex(b) {
			t.Errorf("%s: checksums.txt has %q, file is %s", f, listed[f], sha256hex(b))
		}
	}

	// The SBOM: valid CycloneDX 1.6, naming mlsec's module and the modules
	// linked into it.
	doc, err := os.ReadFile(filepath.Join(dist, name+".cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, probs, err := aibom.NewValidator().Validate(doc)
	if err != nil || v != "1.6" {
		t.Fatalf("SBOM: CycloneDX %s: %v %v", v, err, probs)
	}
	var bom struct {
		Metadata struct {
			Component struct {
				Name string `json:"name"`
				PURL string `json:"purl"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			PURL    string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &bom); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bom.Metadata.Component.PURL, "pkg:golang/github.com/mlsecops/mlsec@") {
		t.Errorf("SBOM main component purl %q", bom.Metadata.Component.PURL)
	}
	have := map[string]bool{}
	for _, c := range bom.Components {
		if c.Version == "" || !strings.HasPrefix(c.PURL, "pkg:golang/") {
			t.Errorf("SBOM component %+v lacks a version or Go purl", c)
		}
		have[c.Name] = true
	}
	for _, m := range []string{"github.com/spf13/cobra", "github.com/sigstore/sigstore-go", "github.com/CycloneDX/cyclonedx-go", "std"} {
		if !have[m] {
			t.Errorf("SBOM lacks module %s (%d components)", m, len(bom.Components))
		}
	}

	// The archive holds both commands, statically linked.
	members := tarMembers(t, filepath.Join(dist, name))
	for _, m := range []string{"mlsec", "mlsec-scan", "README.md"} {
		if !members[m] {
			t.Errorf("%s lacks %s: %v", name, m, members)
		}
	}

	// The action installs it: served as GitHub serves release downloads.
	files := map[string][]byte{}
	for _, f := range []string{name, "checksums.txt"} {
		b, _ := os.ReadFile(filepath.Join(dist, f))
		files["/v"+meta.Version+"/"+f] = b
	}
	srv, _ := releaseServer(t, files)
	r := newRunner(t)
	out2, code := r.step("install", map[string]string{"MLSEC_VERSION": meta.Version, "MLSEC_RELEASE_URL": srv.URL, "PATH": noCosignPath(t)})
	if code != 0 || !strings.Contains(out2, meta.Version) {
		t.Fatalf("install of the snapshot archive: exit %d\n%s", code, out2)
	}
	for _, cmd := range []string{"mlsec", "mlsec-scan"} {
		if out, code := run(t, root, nil, "go", "version", "-m", filepath.Join(r.temp, "mlsec-bin", cmd)); code != 0 || !strings.Contains(out, "CGO_ENABLED=0") || !strings.Contains(out, "-trimpath=true") {
			t.Errorf("%s is not a static, trimmed build:\n%s", cmd, out)
		}
	}
}

// checkoutCopy copies the working tree's files (tracked and untracked,
// not ignored) into a new git repository with one commit.
func checkoutCopy(t *testing.T, root string) string {
	t.Helper()
	out, code := run(t, root, nil, "git", "ls-files", "-co", "--exclude-standard", "-z")
	if code != 0 {
		t.Fatalf("git ls-files: %s", out)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(out, "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(root, f))
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a symlink
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	gitRepo(t, dst)
	return dst
}

// tarMembers lists the regular files of a .tar.gz.
func tarMembers(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	m := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			m[h.Name] = true
		}
	}
}
