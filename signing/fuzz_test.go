package signing

import (
	"context"
	"path/filepath"
	"testing"
)

func seedBundles(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(vectorPath("v*", "model.sig"))
	var out [][]byte
	for _, p := range paths {
		out = append(out, readFile(f, p))
	}
	if len(out) == 0 {
		f.Fatal("no seed bundles")
	}
	return out
}

// FuzzBundle feeds arbitrary bytes to the bundle reader and the key and
// certificate verifiers: they must return an error, never panic.
func FuzzBundle(f *testing.F) {
	for _, b := range seedBundles(f) {
		f.Add(b)
	}
	kv := vectorKeyVerifier(f)
	cv := vectorCertVerifier(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle(data)
		if err != nil {
			return
		}
		if _, err := MarshalBundle(b); err != nil {
			t.Fatalf("re-encoding a parsed bundle: %v", err)
		}
		kv.VerifyBundle(context.Background(), b)
		cv.VerifyBundle(context.Background(), b)
	})
}

// FuzzStatement feeds arbitrary payloads to the statement reader; whatever
// it accepts must render and parse back to the same resources.
func FuzzStatement(f *testing.F) {
	for _, b := range seedBundles(f) {
		if bb, err := ReadBundle(b); err == nil {
			f.Add(bb.GetDsseEnvelope().GetPayload())
		}
	}
	for _, name := range []string{"sample_model_folder_small_shards", "sample_model_file_shard", "deep_model_folder"} {
		f.Add(readFile(f, filepath.Join(interopDir, "tests/_signing/testdata/signing/TestPayload", name)))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParseStatement(payload)
		if err != nil {
			return
		}
		if m.Serialization.Method == MethodShards && m.Serialization.ShardSize <= 0 {
			t.Fatalf("accepted shard size %d", m.Serialization.ShardSize)
		}
		if len(m.Items) == 0 {
			t.Fatal("accepted an empty manifest")
		}
	})
}
