package cli

import (
	"crypto/tls"
	"net"

	"github.com/spf13/pflag"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/internal/certreload"
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
// either file changes (checked at most once a second), so a renewed certificate is served without a
// restart.
func (f *tlsFlags) listener(ln net.Listener) (net.Listener, string, error) {
	if f.cert == "" && f.key == "" {
		return ln, "http", nil
	}
	if f.cert == "" || f.key == "" {
		return nil, "", mlsec.Errorf(mlsec.EINVALID, "serve: --tls-cert and --tls-key go together")
	}
	r, err := certreload.New(f.cert, f.key)
	if err != nil {
		return nil, "", mlsec.Errorf(mlsec.EINVALID, "serve: %w", err)
	}
	cfg := r.TLSConfig()
	cfg.NextProtos = []string{"http/1.1"}
	return tls.NewListener(ln, cfg), "https", nil
}
