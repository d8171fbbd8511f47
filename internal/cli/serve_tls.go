package cli

import (
	"crypto/tls"
	"net"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/mlsecops/mlsec"
)

// tlsFlags are serve's TLS flags.
type tlsFlags struct {
	cert, key string
}

func (f *tlsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) `FILE` (with --tls-key)")
	fs.StringVar(&f.key, "tls-key", "", "PEM private key `FILE` of --tls-cert")
}

// listener wraps ln with TLS when the flags ask for it; the scheme is
// "https" then, else "http". The certificate and key are read again when
// either file changes, so a renewed certificate is served without a
// restart.
func (f *tlsFlags) listener(ln net.Listener) (net.Listener, string, error) {
	if f.cert == "" && f.key == "" {
		return ln, "http", nil
	}
	if f.cert == "" || f.key == "" {
		return nil, "", mlsec.Errorf(mlsec.EINVALID, "serve: --tls-cert and --tls-key go together")
	}
	r := &certReloader{certFile: f.cert, keyFile: f.key}
	if _, err := r.get(nil); err != nil {
		return nil, "", mlsec.Errorf(mlsec.EINVALID, "serve: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get, NextProtos: []string{"http/1.1"}}
	return tls.NewListener(ln, cfg), "https", nil
}

// certReloader serves the key pair in certFile and keyFile, reloaded when
// their modification times change.
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modCert time.Time
	modKey  time.Time
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	ci, err1 := os.Stat(r.certFile)
	ki, err2 := os.Stat(r.keyFile)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil && (err1 != nil || err2 != nil || (ci.ModTime().Equal(r.modCert) && ki.ModTime().Equal(r.modKey))) {
		return r.cert, nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil // a half-written renewal: keep serving the old pair
		}
		return nil, err
	}
	r.cert = &c
	if err1 == nil && err2 == nil {
		r.modCert, r.modKey = ci.ModTime(), ki.ModTime()
	}
	return r.cert, nil
}
