package admission

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertReloader serves the key pair in CertFile and KeyFile and reads them
// again when either file's modification time or size changes, so a
// certificate renewed by cert-manager (the Secret's volume is swapped
// atomically by the kubelet) is served without a restart. A pair that does
// not load (a renewal half written) keeps the previous one in service.
type CertReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
	recheck time.Duration // how often the files are stat'ed at most
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// minRecheck limits how often a busy webhook stats the files.
const minRecheck = time.Second

// NewCertReloader loads the pair once; an error means there is nothing to
// serve.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, recheck: minRecheck}
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
func (r *CertReloader) load() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.cert != nil && now.Sub(r.checked) < r.recheck {
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
		return nil, fmt.Errorf("admission: TLS key pair: %w", err)
	}
	r.cert, r.stamp = &c, [2]fileStamp{cs, ks}
	return r.cert, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.load()
}

// TLSConfig is the webhook's server TLS configuration: TLS 1.2 or newer,
// the reloaded pair.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
