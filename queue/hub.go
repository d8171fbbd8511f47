package queue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/mlsecops/mlsec/store"
)

// MaxHubModels caps the models one hub scan enumerates.
const MaxHubModels = 1_000_000

// FindModels lists the models of a hub mirror rooted at root, as paths
// relative to root (slash-separated, sorted):
//
//   - a Hugging Face cache repository (a directory with a "snapshots"
//     subdirectory) contributes each snapshot directory;
//   - any other directory that directly contains a file is one model
//     snapshot (e.g. ORG/NAME/ with config.json and weights);
//   - a file whose parent is not a model directory (e.g. loose files at the
//     root) is one model.
//
// Hidden entries (".git", ".cache") are skipped.
func FindModels(root string) ([]string, error) {
	var out []string
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var files, dirs []string
		snapshots := false
		for _, e := range ents {
			name := e.Name()
			if name[0] == '.' {
				continue
			}
			t := e.Type()
			if t&fs.ModeSymlink != 0 {
				st, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					continue // dangling link
				}
				t = st.Mode().Type()
			}
			switch {
			case t.IsDir():
				dirs = append(dirs, name)
				if name == "snapshots" {
					snapshots = true
				}
			case t.IsRegular():
				files = append(files, name)
			}
		}
		join := func(n string) string {
			if rel == "" {
				return n
			}
			return rel + "/" + n
		}
		if snapshots {
			snaps, err := os.ReadDir(filepath.Join(dir, "snapshots"))
			if err != nil {
				return err
			}
			for _, s := range snaps {
				if s.IsDir() || s.Type()&fs.ModeSymlink != 0 {
					out = append(out, join("snapshots/"+s.Name()))
				}
			}
			return nil
		}
		if rel != "" && len(files) > 0 {
			out = append(out, rel)
			return nil
		}
		for _, f := range files {
			out = append(out, join(f))
		}
		for _, d := range dirs {
			if len(out) > MaxHubModels {
				return fmt.Errorf("more than %d models", MaxHubModels)
			}
			if err := walk(filepath.Join(dir, d), join(d)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return nil, fmt.Errorf("queue: hub mirror %s: %w", root, err)
	}
	slices.Sort(out)
	return out, nil
}

// EnqueueHubScan records a hub scan of the mirror at root in the store and
// enqueues one scan job per model.
func (q *Queue) EnqueueHubScan(ctx context.Context, root, actor string) (store.HubScan, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return store.HubScan{}, err
	}
	if st, err := os.Stat(abs); err != nil {
		return store.HubScan{}, fmt.Errorf("%w: queue: hub mirror: %w", store.ErrInvalid, err)
	} else if !st.IsDir() {
		return store.HubScan{}, fmt.Errorf("%w: queue: hub mirror %s is not a directory", store.ErrInvalid, abs)
	}
	items, err := FindModels(abs)
	if err != nil {
		return store.HubScan{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	h, err := q.cfg.Store.CreateHubScan(ctx, abs, items, actor)
	if err != nil {
		return h, err
	}
	args := make([]river.JobArgs, len(items))
	for i, it := range items {
		args[i] = ScanArgs{Path: filepath.Join(abs, filepath.FromSlash(it)), Name: it, HubScanID: h.ID, Item: it}
	}
	if err := q.insertMany(ctx, args); err != nil {
		return h, err
	}
	return h, nil
}

// WaitHubScan polls the hub scan until it is done or ctx ends, calling
// progress (if non-nil) after every poll.
func WaitHubScan(ctx context.Context, st store.Store, id int64, every time.Duration, progress func(store.HubScan)) (store.HubScan, error) {
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		h, err := st.HubScan(ctx, id)
		if err != nil && !errors.Is(err, context.Canceled) {
			return h, err
		}
		if progress != nil {
			progress(h)
		}
		if h.Status == store.HubScanDone {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-t.C:
		}
	}
}
