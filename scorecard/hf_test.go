package scorecard_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/scorecard"
	"github.com/mlsecops/mlsec/transport/hfhub"
	"github.com/mlsecops/mlsec/transport/hfhub/hubtest"
)

// hubLimits make the committed fixtures (a few hundred bytes to a few
// KiB) "large": files over 400 bytes are judged from range reads.
var hubLimits = scorecard.HubLimits{MaxFile: 400, MaxTotal: 1 << 20, RemoteBudget: 100_000, MaxRemote: 10}

func gatherHub(t *testing.T, h *hubtest.Hub, ref string, lim scorecard.HubLimits) (*scorecard.Facts, *scorecard.HubSource, error) {
	t.Helper()
	cfg := scan.DefaultConfig()
	dets, err := list.All(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := hfhub.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return scorecard.GatherHub(context.Background(), h.Client(""), r, scan.NewRunner(dets, cfg, scan.Options{}), inspect.Options{}, lim)
}

// hubFixture is a hub repository with small files (downloaded) and
// weights (judged remotely): a safetensors file, a torch.save zip, a
// pickle named weights.txt and a tokenizer.json larger than the read
// budget.
func hubFixture(t *testing.T) *hubtest.Hub {
	h := hubtest.New(t)
	h.Files = map[string][]byte{
		"README.md":             []byte(card("apache-2.0", "acme/base@"+pin, true)),
		"config.json":           []byte(`{"model_type": "tiny", "auto_map": {"AutoModel": "modeling_tiny.TinyModel"}}`),
		"tokenizer_config.json": []byte(`{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}`),
		"model.sig":             []byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`),
		"model.safetensors":     []byte(fixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors")),
		"pytorch_model.bin":     []byte(fixture(t, "format/zip/testdata/torch-state.pt")),
		"weights.txt":           []byte(fixture(t, "scan/detector/pickle/testdata/bypass/int_digits.pkl")),
		"tokenizer.json":        []byte(`{"version": "1.0", "model": {"vocab": {` + strings.Repeat(`"tok": 1, `, 30_000) + `"end": 0}}}`),
	}
	for p := range h.Files {
		h.LFS[p] = len(h.Files[p]) > 400
	}
	return h
}

func TestGatherHub(t *testing.T) {
	h := hubFixture(t)
	f, src, err := gatherHub(t, h, "hf://acme/tiny@v1.0", hubLimits)
	if err != nil {
		t.Fatal(err)
	}
	if src.Commit != hubtest.Commit || src.Revision != "v1.0" || src.Listed != 8 || src.Downloaded != 4 || src.Remote != 4 {
		t.Errorf("source %+v", src)
	}
	if src.RemoteBytes >= int64(len(h.Files["tokenizer.json"])) {
		t.Errorf("read %d bytes remotely: more than the large file itself", src.RemoteBytes)
	}
	want := map[string]format.Kind{"model.safetensors": format.Safetensors, "pytorch_model.bin": format.PyTorchZip, "weights.txt": format.Pickle, "tokenizer.json": format.Unknown}
	for _, r := range f.Remote {
		if r.Format != want[r.Path] || r.Err != "" {
			t.Errorf("%s: %s (err %q), want %s", r.Path, r.Format, r.Err, want[r.Path])
		}
	}
	// The weights were only read in ranges, never downloaded.
	for _, l := range h.Log() {
		if strings.HasPrefix(l, "CDN ") && strings.HasSuffix(l, "range=") {
			t.Errorf("a whole LFS file was downloaded: %s", l)
		}
	}
	res := scorecard.Run(f, "test", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	if res.Repo.Name != "hf://acme/tiny" || res.Repo.Commit != hubtest.Commit {
		t.Errorf("repo %+v", res.Repo)
	}
	got := map[string]scorecard.Check{}
	for _, c := range res.Checks {
		got[c.Name] = c
	}
	for name, score := range map[string]int{"Signed-Weights": 10, "No-Pickle": 0, "Safetensors-Only": 3, "Remote-Code": 0,
		"Chat-Template": 10, "License": 10, "Pinned-Base-Model": 10, "Dataset-Provenance": 4} {
		if got[name].Score != score {
			t.Errorf("%s = %d, want %d (%s; %v)", name, got[name].Score, score, got[name].Reason, got[name].Details)
		}
	}
	details := strings.Join(got["No-Pickle"].Details, "\n")
	if !strings.Contains(details, "weights.txt is pickle (judged from range reads, not downloaded)") || !strings.Contains(details, "pytorch_model.bin is pytorch-zip") {
		t.Errorf("No-Pickle details:\n%s", details)
	}
	if d := strings.Join(got["Signed-Weights"].Details, "\n"); !strings.Contains(d, "hf://acme/tiny@"+hubtest.Commit+"/model.sig") {
		t.Errorf("Signed-Weights details name no hub address:\n%s", d)
	}
}

func TestGatherHubFailClosed(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		h := hubtest.New(t)
		h.Files = map[string][]byte{"README.md": []byte(card("mit", "", false)), "model.safetensors": []byte(fixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors"))}
		h.LFS["model.safetensors"] = true
		f, _, err := gatherHub(t, h, "hf://acme/tiny", hubLimits)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range scorecard.Run(f, "test", time.Now()).Checks {
			if (c.Name == "No-Pickle" || c.Name == "Safetensors-Only") && c.Score != 10 {
				t.Errorf("%s = %d: %s", c.Name, c.Score, c.Reason)
			}
		}
	})
	t.Run("not judged", func(t *testing.T) {
		// A budget too small for one block: the weights cannot be judged,
		// and that is not a pass.
		h := hubtest.New(t)
		h.Files = map[string][]byte{"model.safetensors": []byte(fixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors"))}
		lim := hubLimits
		lim.RemoteBudget = 100
		f, _, err := gatherHub(t, h, "hf://acme/tiny", lim)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range scorecard.Run(f, "test", time.Now()).Checks {
			if c.Name == "No-Pickle" && (c.Score != 0 || !strings.Contains(c.Reason, "could not be judged")) {
				t.Errorf("No-Pickle = %d: %s", c.Score, c.Reason)
			}
		}
	})
	t.Run("json over budget", func(t *testing.T) {
		// A tokenizer.json larger than what may be read is judged by its
		// first block.
		h := hubFixture(t)
		lim := hubLimits
		lim.RemoteBudget = 64 << 10
		f, _, err := gatherHub(t, h, "hf://acme/tiny", lim)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Remote {
			if r.Path == "tokenizer.json" && (r.Err != "" || r.Format != format.Unknown) {
				t.Errorf("tokenizer.json: %s, err %q", r.Format, r.Err)
			}
		}
	})
	t.Run("too many files", func(t *testing.T) {
		h := hubFixture(t)
		lim := hubLimits
		lim.MaxRemote = 1
		f, _, err := gatherHub(t, h, "hf://acme/tiny", lim)
		if err != nil {
			t.Fatal(err)
		}
		var notJudged int
		for _, r := range f.Remote {
			if strings.Contains(r.Err, "more than 1 large files") {
				notJudged++
			}
		}
		if notJudged != 3 {
			t.Errorf("%d files not judged, want 3: %+v", notJudged, f.Remote)
		}
	})
	t.Run("errors", func(t *testing.T) {
		h := hubFixture(t)
		h.Served["config.json"] = []byte(`{"model_type": "tiny", "auto_map": {"AutoModel": "modeling_evil.TinyModel"}}`)
		if _, _, err := gatherHub(t, h, "hf://acme/tiny", hubLimits); !errors.Is(err, hfhub.ErrIntegrity) {
			t.Errorf("tampered small file: %v, want ErrIntegrity", err)
		}
		if _, _, err := gatherHub(t, h, "hf://acme/missing", hubLimits); mlsec.ErrorCode(err) != mlsec.ENOTFOUND {
			t.Errorf("missing repository: %v, want ENOTFOUND", err)
		}
		if _, _, err := gatherHub(t, h, "hf://acme/tiny@nope", hubLimits); mlsec.ErrorCode(err) != mlsec.ENOTFOUND {
			t.Errorf("missing revision: %v, want ENOTFOUND", err)
		}
	})
}
