package integrationtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// goreleaserConfig is the part of .goreleaser.yaml the action depends on.
type goreleaserConfig struct {
	Builds []struct {
		ID     string   `yaml:"id"`
		Main   string   `yaml:"main"`
		Binary string   `yaml:"binary"`
		Env    []string `yaml:"env"`
		Goos   []string `yaml:"goos"`
		Goarch []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		IDs          []string `yaml:"ids"`
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
	Signs []struct {
		Artifacts string `yaml:"artifacts"`
		Signature string `yaml:"signature"`
	} `yaml:"signs"`
	SBOMs []struct {
		Artifacts string   `yaml:"artifacts"`
		Documents []string `yaml:"documents"`
	} `yaml:"sboms"`
}

func readGoreleaserConfig(t *testing.T) goreleaserConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	return c
}

// TestReleaseNames checks that .goreleaser.yaml produces what the action's
// install step downloads: static builds of both commands for the four
// targets, one tar.gz archive a target named mlsec_OS_ARCH, a sha256
// checksums.txt, its Sigstore bundle and one SBOM per archive.
func TestReleaseNames(t *testing.T) {
	c := readGoreleaserConfig(t)
	mains := map[string]bool{}
	for _, b := range c.Builds {
		mains[b.Main+" "+b.Binary] = true
		if !contains(b.Env, "CGO_ENABLED=0") {
			t.Errorf("build %s is not static (CGO_ENABLED=0 missing)", b.ID)
		}
		if strings.Join(b.Goos, ",") != "linux,darwin" || strings.Join(b.Goarch, ",") != "amd64,arm64" {
			t.Errorf("build %s targets %v x %v, want linux,darwin x amd64,arm64", b.ID, b.Goos, b.Goarch)
		}
	}
	if !mains["./cmd/mlsec mlsec"] || !mains["./cmd/mlsec-scan mlsec-scan"] || len(mains) != 2 {
		t.Errorf("builds %v, want mlsec and mlsec-scan", mains)
	}
	if len(c.Archives) != 1 || c.Archives[0].NameTemplate != "mlsec_{{ .Os }}_{{ .Arch }}" || strings.Join(c.Archives[0].Formats, ",") != "tar.gz" {
		t.Errorf("archives %+v, want one tar.gz named mlsec_{{ .Os }}_{{ .Arch }}", c.Archives)
	}
	if c.Checksum.NameTemplate != "checksums.txt" || c.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %+v", c.Checksum)
	}
	if len(c.Signs) != 1 || c.Signs[0].Artifacts != "checksum" || c.Signs[0].Signature != "${artifact}.sigstore.json" {
		t.Errorf("signs %+v, want the Sigstore bundle of checksums.txt", c.Signs)
	}
	if len(c.SBOMs) != 1 || c.SBOMs[0].Artifacts != "archive" || strings.Join(c.SBOMs[0].Documents, ",") != "{{ .ArtifactName }}.cdx.json" {
		t.Errorf("sboms %+v, want one CycloneDX document per archive", c.SBOMs)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "actions", "mlsec", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name="mlsec_${os}_${arch}.tar.gz"`, `"$base/checksums.txt"`, `"$base/checksums.txt.sigstore.json"`, "mlsec mlsec-scan"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("run.sh does not use %s", want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// releaseArchive is a goreleaser-shaped release archive: mlsec and
// mlsec-scan (shell scripts that say their name and version) and README.md.
func releaseArchive(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name, body string
		mode       int64
	}{
		{"README.md", "# mlsec\n", 0o644},
		{"mlsec", "#!/bin/sh\necho \"mlsec " + version + " (release archive)\"\n", 0o755},
		{"mlsec-scan", "#!/bin/sh\necho \"mlsec-scan " + version + "\"\n", 0o755},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// releaseServer serves files under /vVERSION/NAME, as GitHub's release
// download URLs do, and records the paths asked for.
func releaseServer(t *testing.T, files map[string][]byte) (*httptest.Server, *[]string) {
	t.Helper()
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

// hostArchive is the archive name run.sh asks for on this machine.
func hostArchive(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skipf("no release archive for %s", runtime.GOOS)
	}
	return fmt.Sprintf("mlsec_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)
}

// TestActionInstallRelease runs the action's install step against a local
// release server: a good archive installs and is what is run; a checksum
// that does not match, a missing entry, a missing file, a bad version and a
// required signature without cosign all fail with exit 2 and install
// nothing.
func TestActionInstallRelease(t *testing.T) {
	name := hostArchive(t)
	arc := releaseArchive(t, "9.8.7")
	good := fmt.Sprintf("%s  %s\n%s  %s.cdx.json\n", sha256hex(arc), name, sha256hex([]byte("{}")), name)
	tampered := append(append([]byte(nil), arc[:len(arc)-1]...), arc[len(arc)-1]^1)

	t.Run("good", func(t *testing.T) {
		srv, asked := releaseServer(t, map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte(good)})
		r := newRunner(t)
		out, code := r.step("install", map[string]string{"MLSEC_VERSION": "v9.8.7", "MLSEC_RELEASE_URL": srv.URL, "PATH": noCosignPath(t)})
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, want := range []string{name + " of v9.8.7: sha256 matches checksums.txt", "signature not verified (cosign is not on PATH", "mlsec 9.8.7 (release archive)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		for _, bin := range []string{"mlsec", "mlsec-scan"} {
			if _, err := os.Stat(filepath.Join(r.temp, "mlsec-bin", bin)); err != nil {
				t.Errorf("%s not installed: %v", bin, err)
			}
		}
		if got := strings.Join(*asked, " "); got != "/v9.8.7/"+name+" /v9.8.7/checksums.txt" {
			t.Errorf("asked for %s", got)
		}
	})

	t.Run("action ref", func(t *testing.T) {
		srv, _ := releaseServer(t, map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte(good)})
		r := newRunner(t)
		in := map[string]string{"MLSEC_ACTION_REF": "v9.8.7", "MLSEC_RELEASE_URL": srv.URL, "PATH": noCosignPath(t)}
		if out, code := r.step("plan", in); code != 0 || !strings.Contains(out, "install: release:9.8.7") || r.outputs()["source"] != "false" {
			t.Fatalf("plan: exit %d, outputs %v\n%s", code, r.outputs(), out)
		}
		if out, code := r.step("install", in); code != 0 || !strings.Contains(out, "mlsec 9.8.7 (release archive)") {
			t.Fatalf("install: exit %d\n%s", code, out)
		}
	})

	for _, tc := range []struct {
		name  string
		files map[string][]byte
		in    map[string]string
		want  string
	}{
		{"bad checksum", map[string][]byte{"/v9.8.7/" + name: tampered, "/v9.8.7/checksums.txt": []byte(good)}, nil,
			"does not match its sha256 in checksums.txt"},
		{"no entry", map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte(sha256hex(arc) + "  mlsec_plan9_mips.tar.gz\n")}, nil,
			"has no single entry for " + name},
		{"two entries", map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte(good + good)}, nil,
			"has no single entry for " + name},
		{"malformed entry", map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte("abc  " + name + "\n")}, nil,
			"malformed entry"},
		{"no checksums", map[string][]byte{"/v9.8.7/" + name: arc}, nil,
			"checksums.txt failed"},
		{"no archive", map[string][]byte{"/v9.8.7/checksums.txt": []byte(good)}, nil,
			"download"},
		{"bad version", nil, map[string]string{"MLSEC_VERSION": "9.8.7;x"},
			"is not a release version"},
		{"signature required", map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte(good)}, map[string]string{"MLSEC_RELEASE_SIGNATURE": "required"},
			"cosign is not on PATH"},
		{"bad signature mode", map[string][]byte{"/v9.8.7/" + name: arc, "/v9.8.7/checksums.txt": []byte(good)}, map[string]string{"MLSEC_RELEASE_SIGNATURE": "maybe"},
			"want auto, required or skip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := releaseServer(t, tc.files)
			r := newRunner(t)
			in := map[string]string{"MLSEC_VERSION": "9.8.7", "MLSEC_RELEASE_URL": srv.URL, "PATH": noCosignPath(t)}
			for k, v := range tc.in {
				in[k] = v
			}
			out, code := r.step("install", in)
			if code != 2 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want 2 with %q\n%s", code, tc.want, out)
			}
			if _, err := os.Stat(filepath.Join(r.temp, "mlsec-bin", "mlsec")); err == nil {
				t.Error("mlsec was installed")
			}
			if b, _ := os.ReadFile(r.path); len(b) != 0 {
				t.Errorf("GITHUB_PATH was extended: %s", b)
			}
		})
	}

	t.Run("plan", func(t *testing.T) {
		for _, tc := range []struct {
			in     map[string]string
			source string
		}{
			{map[string]string{}, "true"},
			{map[string]string{"MLSEC_ACTION_REF": "main"}, "true"},
			{map[string]string{"MLSEC_ACTION_REF": "0123456789abcdef0123456789abcdef01234567"}, "true"},
			{map[string]string{"MLSEC_ACTION_REF": "v1"}, "true"},
			{map[string]string{"MLSEC_ACTION_REF": "v1.2.3", "MLSEC_VERSION": "source"}, "true"},
			{map[string]string{"MLSEC_VERSION": "1.2.3"}, "false"},
			{map[string]string{"MLSEC_BIN": "/bin/true", "MLSEC_VERSION": "source"}, "false"},
		} {
			r := newRunner(t)
			if out, code := r.step("plan", tc.in); code != 0 || r.outputs()["source"] != tc.source {
				t.Errorf("%v: exit %d, source=%q, want %s\n%s", tc.in, code, r.outputs()["source"], tc.source, out)
			}
		}
	})
}

// noCosignPath is PATH without any directory holding cosign, so the
// "auto" signature mode is tested without it whatever the machine has.
func noCosignPath(t *testing.T) string {
	t.Helper()
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "cosign")); err == nil {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}
