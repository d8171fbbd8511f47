// Package queuetest writes synthetic model-hub mirrors for queue tests and
// benchmarks.
package queuetest

import (
	"fmt"
	"os"
	"path/filepath"
)

// Pickles used as models: Benign is {"a": 1}; Malicious calls os.system
// when loaded (mlsec flags it; nothing here ever loads it).
var (
	Benign    = []byte("\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.")
	Malicious = []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.")
)

// WriteMirror writes n models under dir as org-<i/100>/model-<i>/ with a
// config.json and a model.pkl; every maliciousEvery-th model (if > 0) has
// a malicious pickle. It returns the number of malicious models. Each
// model's config carries its index, so every model has its own digest.
func WriteMirror(dir string, n, maliciousEvery int) (int, error) {
	bad := 0
	for i := range n {
		m := filepath.Join(dir, fmt.Sprintf("org-%03d", i/100), fmt.Sprintf("model-%05d", i))
		if err := os.MkdirAll(m, 0o755); err != nil {
			return bad, err
		}
		cfg := fmt.Sprintf("{\"model_type\": \"synthetic\", \"index\": %d}\n", i)
		if err := os.WriteFile(filepath.Join(m, "config.json"), []byte(cfg), 0o644); err != nil {
			return bad, err
		}
		p := Benign
		if maliciousEvery > 0 && i%maliciousEvery == 0 {
			p = Malicious
			bad++
		}
		if err := os.WriteFile(filepath.Join(m, "model.pkl"), p, 0o644); err != nil {
			return bad, err
		}
	}
	return bad, nil
}
