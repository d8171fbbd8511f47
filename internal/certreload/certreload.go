// Package certreload serves a TLS key pair from files that are renewed in
// place (cert-manager, certbot, a Secret volume swapped by the kubelet),
// reading them again when they change, without a restart. mlsec serve and
// mlsec admission serve share it.
package certreload

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// Reloader serves the key pair in CertFile and KeyFile and reads them
// again when either file's modification time or size changes, so a
// certificate renewed by cert-manager (the Secret's volume is swapped
// atomically by the kubelet) is served without a restart. A pair that does
// not load (a renewal half written) keeps the previous one in service.
type Reloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
	// Recheck is how often, at most, the files are stat'ed (New sets
	// one second; zero stats them on every handshake).
	Recheck time.Duration
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// DefaultRecheck limits how often a busy server stats the files.
const DefaultRecheck = time.Second

// New loads the pair once; an error means there is nothing to
// serve.
func New(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, Recheck: DefaultRecheck}
	if _, err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// load reads the pair when it changed; the caller holds no lock.
func (r *Reloader) load() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.cert != nil && now.Sub(r.checked) < r.Recheck {
		return r.cert, nil
	}
	r.checked = now
	cs, err1 := stampOf(r.certFile)
	ks, err2 := stampOf(r.keyFile)
	if r.cert != nil && (err1 != nil || err2 != nil || [2]fileStamp{cs, ks} == r.stamp) {
		return r.cert, nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil
		}
		return nil, fmt.Errorf("TLS key pair: %w", err)
	}
	r.cert, r.stamp = &c, [2]fileStamp{cs, ks}
	return r.cert, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.load()
}

// TLSConfig is a server TLS configuration: TLS 1.2 or newer, the
// reloaded pair.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
