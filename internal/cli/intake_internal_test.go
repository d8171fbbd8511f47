package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/signing"
)

// TestIntakeDetectsChangeBetweenScanAndSign: a file swapped after the scan
// and before the re-signing fails the intake (exit 1) and leaves the
// artifact without the organisation's signature and without claims.
func TestIntakeDetectsChangeBetweenScanAndSign(t *testing.T) {
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "org.pem")
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(model, "model.safetensors")
	hdr := []byte(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`)
	st := append([]byte{byte(len(hdr)), 0, 0, 0, 0, 0, 0, 0}, hdr...)
	st = append(st, make([]byte, 8)...)
	for name, b := range map[string][]byte{"model.safetensors": st, "config.json": []byte(`{"model_type":"tiny"}`)} {
		if err := os.WriteFile(filepath.Join(model, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A valid upstream signature, which must survive the failed intake.
	uk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	upub, err := x509.MarshalPKIXPublicKey(&uk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	upstreamKey := filepath.Join(dir, "upstream.pub")
	if err := os.WriteFile(upstreamKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: upub}), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := signing.Sign(context.Background(), model, &signing.KeySigner{Key: uk},
		signing.HashOptions{IgnorePaths: []string{"model.sig", "claims.jsonl"}})
	if err != nil {
		t.Fatal(err)
	}
	upstreamSig := res.Bundle
	if err := os.WriteFile(filepath.Join(model, "model.sig"), upstreamSig, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		swap     bool
		wantErr  bool
		wantText string
	}{
		{name: "unchanged", swap: false},
		{name: "swapped after scan", swap: true, wantErr: true, wantText: "changed between the scan and the signing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := filepath.Join(t.TempDir(), "model")
			if err := os.CopyFS(m, os.DirFS(model)); err != nil {
				t.Fatal(err)
			}
			called := false
			hooks := intakeHooks{beforeSign: func() {
				called = true
				if tc.swap {
					if err := os.WriteFile(filepath.Join(m, filepath.Base(weights)), []byte("\x80\x02cos\nsystem\n."), 0o644); err != nil {
						t.Error(err)
					}
				}
			}}
			var out, errb bytes.Buffer
			app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cmd := newIntakeCmdHooks(app, hooks)
			cmd.SetArgs([]string{m, "--source", "https://huggingface.co/acme/tiny", "--key", key, "--upstream-key", upstreamKey})
			cmd.SetOut(&out)
			cmd.SetErr(&errb)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.ExecuteContext(context.Background())
			if !called {
				t.Fatalf("the hook did not run (err %v)\n%s%s", err, out.String(), errb.String())
			}
			sig, rerr := os.ReadFile(filepath.Join(m, "model.sig"))
			if rerr != nil {
				t.Fatal(rerr)
			}
			_, claimsErr := os.Stat(filepath.Join(m, "claims.jsonl"))
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("intake: %v\n%s%s", err, out.String(), errb.String())
				}
				if bytes.Equal(sig, upstreamSig) {
					t.Error("intake did not re-sign")
				}
				return
			}
			if err == nil || !errors.Is(err, mlsec.ErrFindings) || mlsec.ExitCode(err) != mlsec.ExitFindings {
				t.Fatalf("intake err = %v, want a negative result (exit 1)\n%s", err, out.String())
			}
			if !strings.Contains(errb.String(), tc.wantText) || !strings.Contains(errb.String(), "model.safetensors") {
				t.Errorf("stderr = %q, want %q naming the changed file", errb.String(), tc.wantText)
			}
			if !bytes.Equal(sig, upstreamSig) {
				t.Error("the new signature was left in place")
			}
			if claimsErr == nil {
				t.Error("claims were recorded for an artifact that changed after the scan")
			}
		})
	}
}
