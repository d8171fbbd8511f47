package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/transport/hfhub"
	"github.com/mlsecops/mlsec/transport/quarantine"
)

// isHFRef reports an intake argument naming a Hugging Face Hub repository
// (hf://ORG/NAME, hf://datasets/ORG/NAME).
func isHFRef(arg string) bool { return strings.HasPrefix(arg, hfhub.Scheme) }

// hfIntake is an intake of hf://ORG/NAME[@REVISION]: the snapshot is
// downloaded into a quarantine directory beside the destination, the
// ordinary intake runs on it there, and only a passing intake lands it.
type hfIntake struct {
	q      *quarantine.Dir
	path   string // the model in quarantine, what intake judges
	source string // the pinned hub URL, recorded as the source
	out    string
	// kind is the artifact kind the repository's type implies: dataset
	// for hf://datasets/…, "" (intake's default) for a model.
	kind lifecycle.Kind
}

// startHFIntake pins the revision, downloads the snapshot with the hub's
// hashes checked, and returns the quarantined model. out defaults to
// ./NAME; --source must not be given (the hub URL is the source).
func startHFIntake(ctx context.Context, app *App, arg, out, source string) (*hfIntake, error) {
	ref, err := hfhub.ParseRef(arg)
	if err != nil {
		return nil, usageError(err)
	}
	if source != "" {
		return nil, mlsec.Errorf(mlsec.EINVALID, "intake %s: the hub URL is the source; drop --source", arg)
	}
	if out == "" {
		out = path.Base(ref.Repo)
	}
	q, err := quarantine.New(out)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "intake %s: --out: %w", arg, err)
	}
	c := hfhub.NewClientFromEnv(os.Getenv)
	c.UserAgent = "mlsec/" + mlsec.Version
	snap, err := c.Download(ctx, ref, q.Path())
	if err != nil {
		q.Discard()
		if errors.Is(err, hfhub.ErrIntegrity) {
			fmt.Fprintf(app.Stderr, "mlsec: intake %s refused: %v; nothing kept\n", arg, err)
			return nil, fmt.Errorf("intake: %w: %w", err, mlsec.ErrFindings)
		}
		if errors.Is(err, hfhub.ErrNotFound) {
			return nil, mlsec.Errorf(mlsec.ENOTFOUND, "intake %s: %w", arg, err)
		}
		if errors.Is(err, hfhub.ErrUnauthorized) {
			return nil, mlsec.Errorf(mlsec.EFORBIDDEN, "intake %s: %w", arg, err)
		}
		return nil, mlsec.Errorf(mlsec.EIO, "intake %s: %w", arg, err)
	}
	fmt.Fprintf(app.Stderr, "downloaded %s@%s (%s pinned to %s): %d files, %s, hub hashes checked\n",
		ref.Name(), snap.Commit[:12], ref.Revision, snap.Commit, len(snap.Files), humanBytes(snap.Bytes))
	h := &hfIntake{q: q, path: q.Path(), source: c.SourceURL(snap), out: out}
	if ref.IsDataset() {
		h.kind = lifecycle.KindDataset
	}
	return h, nil
}

// finish lands the model when intake passed. A failed intake keeps the
// quarantine directory, with the failed decision recorded in it, and says
// where; any other error discards it.
func (h *hfIntake) finish(app *App, err error) error {
	switch {
	case err == nil:
		if lerr := h.q.Land(); lerr != nil {
			h.q.Discard()
			return mlsec.Errorf(mlsec.EIO, "intake: %w", lerr)
		}
		fmt.Fprintf(app.Stderr, "landed in %s\n", h.out)
		return nil
	case errors.Is(err, mlsec.ErrFindings):
		fmt.Fprintf(app.Stderr, "mlsec: intake failed: the model stays quarantined in %s (not in %s)\n", filepath.Dir(h.path), h.out)
		return err
	default:
		h.q.Discard()
		return err
	}
}
