package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// Wrong key files are refused with a reason a user can act on: which kind
// of key the file holds and what is wanted instead.
func TestKeyFileErrors(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	ck, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	good := newKey(t, elliptic.P256())
	der := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pub := func(k any) []byte {
		b, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sec1, _ := x509.MarshalECPrivateKey(good)
	pki := newPKI(t, past, soon)
	certPEM := pemOf(t, "CERTIFICATE", pki.inter.Raw)

	private := []struct {
		name string
		data []byte
		want string
	}{
		{"rsa", pemOf(t, "PRIVATE KEY", der(rk)), "RSA key; only ECDSA P-256, P-384 and P-521 keys are supported"},
		{"ed25519", pemOf(t, "PRIVATE KEY", der(ek)), "Ed25519 key; only ECDSA"},
		{"rsa pkcs1", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), "RSA key; only ECDSA"},
		{"public key", pemOf(t, "PUBLIC KEY", pub(&good.PublicKey)), "holds a public key, not a private key"},
		{"certificate", certPEM, "holds a certificate, not a private key"},
		{"not PEM", []byte("hello"), "no PEM private key found"},
	}
	for _, tt := range private {
		t.Run("private/"+tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tt.data)
			if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrKey containing %q", err, tt.want)
			}
		})
	}
	// P-224 is not in the list: the curve is named.
	if _, err := ParsePrivateKey(pemOf(t, "PRIVATE KEY", der(ck))); err == nil || !strings.Contains(err.Error(), "P-224") {
		t.Errorf("P-224: err = %v", err)
	}

	public := []struct {
		name string
		data []byte
		want string
	}{
		{"rsa", pemOf(t, "PUBLIC KEY", pub(&rk.PublicKey)), "RSA key; only ECDSA"},
		{"ed25519", pemOf(t, "PUBLIC KEY", pub(ek.Public())), "Ed25519 key; only ECDSA"},
		{"private key", pemOf(t, "EC PRIVATE KEY", sec1), "holds a private key, not a public key"},
		{"certificate", certPEM, "holds a certificate, not a public key"},
	}
	for _, tt := range public {
		t.Run("public/"+tt.name, func(t *testing.T) {
			_, err := ParsePublicKey(tt.data)
			if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrKey containing %q", err, tt.want)
			}
		})
	}
}

func TestCertificateFileErrors(t *testing.T) {
	k := newKey(t, elliptic.P256())
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	_, err := ParseCertificates(pemOf(t, "PUBLIC KEY", der))
	if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "no PEM certificate found (the file holds PUBLIC KEY)") {
		t.Errorf("err = %v", err)
	}
}
