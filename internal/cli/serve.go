package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/scratch"
	"github.com/mlsecops/mlsec/server"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/dial"
)

type serveFlags struct {
	addr      string
	data      string
	database  string
	maxUpload int64
	maxBody   int64
	rate      float64
	burst     int
	gate      gateFlags
	workers   int
	inline    bool
	roots     rootFlags
	keys      keyFlags
	proxies   []string
	session   time.Duration
	logFormat string
	logLevel  string
	tls       tlsFlags
}

func newServeCmd(app *App) *cobra.Command {
	var fl serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--data DIR] [--database URL]",
		Short: "Run the mlsec server: REST API, dashboard and evidence store",
		Long: `Serve runs the registry many pipelines report to: the REST API under /api/v1/
(OpenAPI at /api/openapi.json), the dashboard at /, Prometheus metrics at
/metrics. State lives in an embedded SQLite database in the data directory,
or in PostgreSQL with --database postgres://...

Scans, verifications, AI-BOMs, gates and hub scans requested through the
API run as jobs on the River queue and answer 202 with a job to poll at
/api/v1/jobs/{id}. With the embedded SQLite store serve works them itself
(--workers, default the CPU count); with PostgreSQL 'mlsec worker' processes
on any machines work them (--workers N adds some here). --inline runs scans,
verifications and gates in the request instead, without a queue.

Gates evaluate the built-in CEL stage policies, or those of --pipeline, whose
sources, identities and roles also apply, exactly as 'mlsec gate --pipeline'.
With --signing-key every decision is also a signed SLSA Verification Summary
Attestation stored as evidence; without it decisions are recorded unsigned.

On first start, with no API token in the store, serve creates an admin token
and writes its secret to DATA/admin.token (mode 0600). SIGINT or SIGTERM shut
the server down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("workers") && fl.database != "" {
				fl.workers = 0
			}
			return runServe(cmd.Context(), app, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.addr, "addr", "127.0.0.1:8080", "listen `HOST:PORT`")
	f.StringVar(&fl.data, "data", "mlsec-data", "data `DIR`: SQLite database, blobs, admin token")
	f.StringVar(&fl.database, "database", "", "PostgreSQL `URL` (postgres://...) instead of the embedded SQLite")
	f.Int64Var(&fl.maxUpload, "max-upload", server.DefaultMaxUploadBytes, "largest artifact upload in `BYTES`")
	f.Int64Var(&fl.maxBody, "max-body", server.DefaultMaxBodyBytes, "largest JSON or attestation request body in `BYTES`")
	f.Float64Var(&fl.rate, "rate", server.DefaultRate, "requests per second per caller (negative: unlimited)")
	f.IntVar(&fl.burst, "burst", server.DefaultBurst, "burst of requests per caller above --rate")
	fl.gate.register(cmd)
	f.IntVar(&fl.workers, "workers", runtime.GOMAXPROCS(0), "jobs worked in this process (default: CPUs with SQLite, 0 with PostgreSQL)")
	f.BoolVar(&fl.inline, "inline", false, "run scans, verifications and gates in the request; no job queue (no BOM or hub scan requests)")
	fl.keys.register(cmd)
	fl.roots.register(cmd, "allow API-started hub scans of directories inside `DIR` (repeatable; default none: hub scans are refused)")
	f.StringArrayVar(&fl.proxies, "trusted-proxy", nil, "`IP or CIDR` of a TLS-terminating reverse proxy whose X-Forwarded-Proto/-Host the server believes (repeatable): cookies are Secure behind it")
	f.DurationVar(&fl.session, "session-ttl", server.DefaultSessionTTL, "how long a dashboard sign-in lasts")
	f.StringVar(&fl.logFormat, "log-format", "json", "log format: json|text")
	f.StringVar(&fl.logLevel, "log-level", "info", "log level: debug|info|warn|error")
	fl.tls.register(f)
	return cmd
}

func runServe(ctx context.Context, app *App, fl serveFlags) error {
	log, err := serverLogger(app.Stderr, fl.logFormat, fl.logLevel)
	if err != nil {
		return err
	}
	if fl.database != "" && !dial.IsPostgres(fl.database) {
		return usageError(errors.New("--database must be a postgres:// URL (omit it for the embedded SQLite)"))
	}
	if fl.maxUpload <= 0 || fl.maxBody <= 0 {
		return usageError(fmt.Errorf("--max-upload and --max-body must be positive byte counts (got %d and %d)", fl.maxUpload, fl.maxBody))
	}
	if fl.workers < 0 {
		return usageError(errors.New("--workers must not be negative"))
	}
	if fl.database == "" && fl.workers == 0 && !fl.inline {
		return usageError(errors.New("with the embedded SQLite store jobs run in this process: --workers must be at least 1 (or use --inline)"))
	}
	sourceRoots, hubRoots, err := fl.roots.roots()
	if err != nil {
		return err
	}
	proxies, err := parseProxies(fl.proxies)
	if err != nil {
		return err
	}
	if fl.session <= 0 {
		return usageError(errors.New("--session-ttl must be positive"))
	}
	// Bind first: a second serve on a busy port fails before it creates
	// the data directory, the database or the admin token.
	ln, err := net.Listen("tcp", fl.addr)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	defer ln.Close() // closed by Serve too; this covers the early returns
	// HTTPS with --tls-cert/--tls-key (serve_tls.go).
	ln, scheme, err := fl.tls.listener(ln)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(fl.data, 0o700); err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	dc := dial.Config{DataDir: fl.data, DatabaseURL: fl.database, Log: log}
	fl.keys.apply(&dc)
	st, err := dial.Open(ctx, dc)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	defer st.Close()
	blobs, err := dial.Blobs(dc)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	// Decrypted artifacts live only here, never in the shared /tmp; what a
	// crash left behind is removed now.
	space, err := scratch.Open(fl.data, log)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	defer space.Close()
	gs, err := fl.gate.load(log)
	if err != nil {
		return err
	}
	dec, err := gs.decider(st)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Store: st, Blobs: server.EncryptedBlobs(blobs, fl.maxUpload), Log: log,
		MaxUploadBytes: fl.maxUpload, MaxBodyBytes: fl.maxBody, Rate: fl.rate, Burst: fl.burst,
		Decider: dec, Pipeline: gs.pipeline, Verifier: gs.verifier, VerifierName: gs.verifierName, Identities: gs.identities,
		HubRoots: hubRoots, Scratch: space, TrustedProxies: proxies, SessionTTL: fl.session,
	}
	if gs.signer == nil {
		log.Info("gate decisions are recorded unsigned (no --signing-key)")
	}
	if !fl.inline {
		q, err := openQueue(ctx, st, dc, queue.Config{Concurrency: fl.workers, Blobs: blobs, Decider: dec, Verifiers: gs.verifiers(),
			SourceRoots: sourceRoots, HubRoots: hubRoots, Scratch: space})
		if err != nil {
			return err
		}
		if err := q.Start(ctx); err != nil {
			q.Stop(context.Background())
			return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
		}
		defer func() {
			stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := q.Stop(stop); err != nil {
				log.Warn("stopping the job queue", "err", err)
			}
		}()
		cfg.Jobs = q
	}
	if err := bootstrapToken(ctx, st, fl.data, log); err != nil {
		return err
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "mlsec serving on %s://%s (dashboard /, API /api/v1/, OpenAPI /api/openapi.json)\n", scheme, ln.Addr())
	return srv.Serve(ctx, ln)
}

// bootstrapToken creates the first admin token when the store has none and
// writes its secret to DATA/admin.token.
func bootstrapToken(ctx context.Context, st store.Store, dir string, log *slog.Logger) error {
	toks, err := st.Tokens(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if len(toks) > 0 {
		return nil
	}
	secret, tok, err := st.CreateToken(ctx, store.NewToken{Name: "admin", Role: store.RoleAdmin, Actor: "serve:bootstrap"})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	p := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: writing the admin token: %w", err)
	}
	log.Info("created the first admin token", "token_id", tok.ID, "secret_file", p)
	return nil
}

// parseProxies parses --trusted-proxy values: addresses or CIDR prefixes.
func parseProxies(vs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vs {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, usageError(fmt.Errorf("--trusted-proxy %q: not an IP address or CIDR prefix", v))
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// serverLogger is the structured logger of a long-running command (serve,
// admission serve): format json or text, level debug, info, warn or error.
func serverLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError(fmt.Errorf("--log-level: %w", err))
	}
	hopts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	}
	return nil, usageError(fmt.Errorf("--log-format must be json or text, not %q", format))
}
