package admission

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	rev := strings.Repeat("0123456789", 4)
	for _, c := range []struct {
		in      string
		sources []string
		mutable bool
		err     string // substring; empty: accepted
	}{
		{in: "oci://r.example/team/m@" + d, sources: []string{"oci://r.example/team/m@" + d}},
		{in: "oci://r.example:5000/team/m:v1@" + d, sources: []string{"oci://r.example:5000/team/m@" + d, "oci://r.example:5000/team/m:v1@" + d}},
		{in: "oci://r.example/team/m:v1", err: "has no digest"},
		{in: "oci://r.example/team/m@sha256:abc", err: "64 lowercase hex"},
		{in: "oci://r.example/team/m@sha512:" + strings.Repeat("ab", 64), err: "sha256"},
		{in: "oci://r.example/team/m@" + strings.ToUpper(d), err: "sha256:<64"},
		{in: "oci://r.example@" + d, err: "oci://HOST/REPO"},
		{in: "oci://r.example/../m@" + d, err: "oci://HOST/REPO"},
		{in: "hf://acme/m@" + rev, sources: []string{"hf://acme/m@" + rev, "https://huggingface.co/acme/m/tree/" + rev}},
		{in: "hf://acme/m:" + rev, sources: []string{"hf://acme/m@" + rev, "https://huggingface.co/acme/m/tree/" + rev}},
		{in: "hf://acme/m", err: "not pinned"},
		{in: "hf://acme/m@main", err: "not pinned"},
		{in: "hf://acme/m@" + rev[:12], err: "not pinned"},
		{in: "hf://acme/m@" + strings.ToUpper(strings.Repeat("ab", 20)), err: "not pinned"},
		{in: "hf://m@" + rev, err: "hf://ORG/NAME@COMMIT"},
		{in: "hf://acme/m/extra@" + rev, err: "hf://ORG/NAME@COMMIT"},
		{in: "hf://acme/..@" + rev, err: "hf://ORG/NAME@COMMIT"},
		{in: "s3://bucket/models/m", sources: []string{"s3://bucket/models/m"}, mutable: true},
		{in: "s3:///m", err: "s3://BUCKET/KEY"},
		{in: "s3://b/../etc", err: "s3://BUCKET/KEY"},
		{in: "pvc://store/iris", sources: []string{"pvc://models/store/iris"}, mutable: true},
		{in: "pvc://Store/iris", err: "valid claim name"},
		{in: "pvc://store/../x", err: "valid claim name"},
		{in: "gs://b/m", err: "scheme gs://"},
		{in: "https://example.com/m.bin", err: "scheme https://"},
		{in: "/mnt/models", err: "no scheme"},
		{in: "oci://r.example/team/m@" + d + " ", err: "space or control"},
		{in: "oci://r.example/team/m\n@" + d, err: "space or control"},
		{in: "s3://b/" + strings.Repeat("k", MaxRefLen), err: "exceeds"},
	} {
		r, err := ParseRef(c.in, "models")
		if c.err != "" {
			if err == nil || !errors.Is(err, ErrRef) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseRef(%q) = %+v, %v; want an ErrRef with %q", c.in, r, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.sources, r.Sources); diff != "" || r.Mutable != c.mutable || r.Raw != c.in {
			t.Errorf("ParseRef(%q) = %+v; sources -want +got:\n%s", c.in, r, diff)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"oci://r/t/m@sha256:" + strings.Repeat("a", 64), "hf://a/b@" + strings.Repeat("0", 40), "hf://a/b:main", "s3://b/k", "pvc://c/p", "gs://x", ""} {
		f.Add(s, "models")
	}
	f.Fuzz(func(t *testing.T, s, ns string) {
		r, err := ParseRef(s, ns)
		if err != nil {
			if !errors.Is(err, ErrRef) {
				t.Fatalf("error %v does not wrap ErrRef", err)
			}
			return
		}
		if len(r.Sources) == 0 || r.Raw != s || len(s) > MaxRefLen {
			t.Fatalf("accepted %q as %+v", s, r)
		}
		for _, src := range r.Sources {
			if strings.ContainsAny(src, " \n\t\x00") {
				t.Fatalf("source %q of %q has a space or control character", src, s)
			}
		}
	})
}
