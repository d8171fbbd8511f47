// Package oci moves models to and from OCI registries with oras-go: a model
// is pushed as a CNCF ModelPack artifact (one raw layer per file), and the
// evidence that travels with it (its OMS signature, its provenance, AI-BOM
// and VSA claims) is pushed as referrers of the model manifest, through the
// OCI 1.1 referrers API or, on registries without it, the referrers tag
// schema (oras-go picks). Pull fetches by digest only, into a quarantine
// directory, checking every digest while it streams; judging what arrived
// (signature, scan, gate) and landing it is the caller's (internal/cli).
package oci

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Scheme prefixes a model reference on the command line.
const Scheme = "oci://"

// Limits on what a registry may send before anything is trusted.
const (
	// MaxManifestBytes bounds a manifest, an index or a referrers list.
	MaxManifestBytes = 4 << 20
	// MaxEvidenceBytes bounds one evidence blob (a signature or a claim).
	MaxEvidenceBytes = 16 << 20
	// MaxReferrers bounds the referrers read for one model.
	MaxReferrers = 1000
)

// Options configure the connection to a registry, as the oras CLI's flags do.
type Options struct {
	// PlainHTTP speaks HTTP instead of HTTPS (loopback registries).
	PlainHTTP bool
	// CAFile adds PEM root certificates for the registry's TLS certificate.
	CAFile string
	// RegistryConfig is a Docker config file with credentials (default:
	// ~/.docker/config.json, $DOCKER_CONFIG).
	RegistryConfig string
	// Username and Password, when set, are used instead of the config file.
	Username, Password string
	// UserAgent names the client.
	UserAgent string
}

// ParseReference parses oci://REGISTRY/REPO[:TAG][@DIGEST].
func ParseReference(s string) (registry.Reference, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return registry.Reference{}, fmt.Errorf("oci: %q: want oci://REGISTRY/REPO:TAG or oci://REGISTRY/REPO@sha256:...", s)
	}
	ref, err := registry.ParseReference(rest)
	if err != nil {
		return registry.Reference{}, fmt.Errorf("oci: %q: %w", s, err)
	}
	return ref, nil
}

// NewRepository returns a client for ref's repository.
func NewRepository(ref registry.Reference, o Options) (*remote.Repository, error) {
	// SkipReferrersGC: with the referrers tag schema, each new referrer
	// rewrites the sha256-<digest> index; deleting the previous one needs
	// the registry's delete API, which distribution disables by default
	// (405). The superseded indexes are kept, as the oras CLI does.
	repo := &remote.Repository{Reference: ref, PlainHTTP: o.PlainHTTP, MaxMetadataBytes: MaxManifestBytes, SkipReferrersGC: true}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = 2 * time.Minute
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("oci: --ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("oci: --ca-file %s holds no PEM certificate", o.CAFile)
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &auth.Client{
		Client: &http.Client{Transport: retry.NewTransport(base)},
		Cache:  auth.NewCache(),
	}
	if o.UserAgent != "" {
		client.SetUserAgent(o.UserAgent)
	}
	switch {
	case o.Username != "" || o.Password != "":
		client.Credential = auth.StaticCredential(ref.Registry, auth.Credential{Username: o.Username, Password: o.Password})
	default:
		var store credentials.Store
		var err error
		if o.RegistryConfig != "" {
			store, err = credentials.NewStore(o.RegistryConfig, credentials.StoreOptions{})
		} else {
			store, err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("oci: registry credentials: %w", err)
		}
		if store != nil {
			client.Credential = credentials.Credential(store)
		}
	}
	repo.Client = client
	return repo, nil
}
