// Package server is mlsec's HTTP server: the REST/JSON API under /api/v1/
// (described by the OpenAPI 3 document at /api/openapi.json), API-token
// authentication with RACI roles, request size and rate limits, Prometheus
// metrics at /metrics, and the dashboard (package server/ui) at /.
//
// The server keeps no state of its own: everything persists in a
// store.Store. Handlers return errors carrying mlsec error codes; statusOf
// maps them to HTTP statuses in one place, and every error body is
// {"error":{"code":"...","message":"..."}}.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/mlsecops/mlsec/confine"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scratch"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// Defaults for Config's zero values.
const (
	DefaultMaxBodyBytes   = 16 << 20 // JSON bodies and attestations
	DefaultMaxUploadBytes = 8 << 30  // artifact uploads
	DefaultRate           = 50       // requests per second per caller
	DefaultBurst          = 200
	DefaultShutdownGrace  = 30 * time.Second
)

// Config configures a Server. Store is required; the rest have defaults.
type Config struct {
	Store store.Store
	// Blobs holds uploaded artifact bytes. Nil disables uploads (artifacts
	// can still be registered by reference).
	Blobs Blobs
	// Jobs runs scans, verifications, AI-BOMs, gates and hub scans on the
	// job queue (package queue); those requests then answer 202 with a job
	// id to poll at /api/v1/jobs/{id}. Nil runs scans, verifications and
	// gates inline, in the request, and refuses BOM and hub scan requests.
	Jobs Jobs
	// HubRoots confine API-started hub scans to directories inside them
	// (serve --hub-root); nil or empty refuses every hub scan.
	HubRoots *confine.Roots
	// SessionTTL is how long a dashboard sign-in lasts (default
	// DefaultSessionTTL).
	SessionTTL time.Duration
	// TrustedProxies are the TLS-terminating reverse proxies whose
	// X-Forwarded-Proto (and X-Forwarded-Host) the server believes (serve
	// --trusted-proxy): cookies are then Secure behind them.
	TrustedProxies []netip.Prefix
	// Scratch is where inline checks decrypt uploaded artifacts (inside the
	// data directory, see package scratch). Nil uses a private temporary
	// directory made by New.
	Scratch *scratch.Space
	// Decider, when set, runs the gates instead of one built from Gate,
	// Pipeline, Signer and SignerIdentity: pass the same decider to the
	// job queue (queue.Config.Decider) so API and workers judge alike.
	Decider *gating.Decider
	// Gate evaluates a stage's gate. Nil uses a gating.PolicyGate: the CEL
	// policies of each stage (package policy), the Pipeline's or the
	// built-in ones.
	Gate Gate
	// Pipeline is the organisation's pipeline file: its sources and their
	// trust, its artifacts, the roles of its identities and its stage
	// policies, as for `mlsec gate --pipeline`. Nil: built-in policies,
	// every source untrusted, every verified signer the organisation.
	Pipeline *lifecycle.Pipeline
	// Signer, when set, signs every gate decision as an SLSA Verification
	// Summary Attestation stored verbatim as evidence (the decision's
	// evidence_id). Nil records decisions unsigned.
	Signer signing.Signer
	// SignerIdentity names the decision signer in VSAs and their facts
	// (default "mlsec-server").
	SignerIdentity string
	// Verifier checks signatures of submitted attestations and of stored
	// model signatures. Nil (and no Identities) stores attestations as
	// unverified (no signer) and refuses verification requests.
	Verifier signing.Verifier
	// VerifierName is the signer identity recorded for bundles Verifier
	// accepts, e.g. the key hint or "key:org-release".
	VerifierName string
	// Identities are further trusted signers, tried after Verifier, e.g.
	// the key identities of the pipeline file: a bundle one of them
	// verifies is recorded with its name as signer, which the pipeline's
	// roles refer to.
	Identities []policy.NamedVerifier
	// ScanConfig configures the scanner; the zero value means
	// scan.DefaultConfig().
	ScanConfig *scan.Config
	Log        *slog.Logger
	// MaxBodyBytes caps JSON and attestation request bodies.
	MaxBodyBytes int64
	// MaxUploadBytes caps an artifact upload.
	MaxUploadBytes int64
	// Rate and Burst configure the per-caller token bucket; Rate < 0
	// disables rate limiting.
	Rate  float64
	Burst int
	// ShutdownGrace bounds how long Serve waits for requests in flight.
	ShutdownGrace time.Duration
	// Now returns the current time (tests); nil is time.Now.
	Now func() time.Time
}

// Server serves the API and dashboard. Create it with New.
type Server struct {
	cfg     Config
	store   store.Store
	log     *slog.Logger
	metrics *metrics
	limiter *limiter
	routes  []route
	scanCfg scan.Config
	handler http.Handler
	decider *gating.Decider
}

// New checks cfg, fills defaults and builds the handler.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: Config.Store is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	dec := cfg.Decider
	if dec == nil {
		var err error
		if dec, err = gating.New(cfg.GatingConfig()); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	m := newMetrics()
	cfg.Jobs = m.trackJobs(cfg.Jobs) // counts queued jobs for /metrics
	s := &Server{cfg: cfg, store: cfg.Store, log: cfg.Log, metrics: m, decider: dec}
	if cfg.ScanConfig != nil {
		s.scanCfg = *cfg.ScanConfig
	} else {
		s.scanCfg = scan.DefaultConfig()
	}
	if cfg.Rate > 0 {
		s.limiter = newLimiter(cfg.Rate, cfg.Burst, cfg.Now)
	}
	s.routes = s.apiRoutes()
	h, err := s.buildHandler()
	if err != nil {
		return nil, err
	}
	s.handler = h
	return s, nil
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts connections on ln until ctx is cancelled, then shuts down
// gracefully: it stops accepting, waits up to ShutdownGrace for requests in
// flight, and returns nil. Any other failure is returned.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// GatingConfig is the gating configuration Config describes (the
// decider New builds when Config.Decider is nil).
func (c Config) GatingConfig() gating.Config {
	return gating.Config{Store: c.Store, Gate: c.Gate, Pipeline: c.Pipeline, Signer: c.Signer, Operator: c.SignerIdentity, Now: c.Now}
}

// Verifiers are the signers Config trusts: Verifier (named VerifierName),
// then Identities.
func (c Config) Verifiers() []policy.NamedVerifier {
	var vs []policy.NamedVerifier
	if c.Verifier != nil {
		vs = append(vs, policy.NamedVerifier{Name: c.VerifierName, Verifier: c.Verifier})
	}
	return append(vs, c.Identities...)
}

// verifiers are the signers the server trusts: Verifier, then Identities.
func (s *Server) verifiers() []policy.NamedVerifier { return s.cfg.Verifiers() }
