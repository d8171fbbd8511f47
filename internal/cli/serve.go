package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/server"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
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
	trustKey  string
	logFormat string
	logLevel  string
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

On first start, with no API token in the store, serve creates an admin token
and writes its secret to DATA/admin.token (mode 0600). SIGINT or SIGTERM shut
the server down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	f.StringVar(&fl.trustKey, "trust-key", "", "PEM public key `FILE` whose signatures the server verifies")
	f.StringVar(&fl.logFormat, "log-format", "json", "log format: json|text")
	f.StringVar(&fl.logLevel, "log-level", "info", "log level: debug|info|warn|error")
	return cmd
}

func runServe(ctx context.Context, app *App, fl serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(fl.logLevel)); err != nil {
		return usageError(fmt.Errorf("--log-level: %w", err))
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch fl.logFormat {
	case "json":
		log = slog.New(slog.NewJSONHandler(app.Stderr, hopts))
	case "text":
		log = slog.New(slog.NewTextHandler(app.Stderr, hopts))
	default:
		return usageError(fmt.Errorf("--log-format must be json or text, not %q", fl.logFormat))
	}
	if err := os.MkdirAll(fl.data, 0o700); err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	if fl.database != "" && !dial.IsPostgres(fl.database) {
		return usageError(errors.New("--database must be a postgres:// URL (omit it for the embedded SQLite)"))
	}
	dc := dial.Config{DataDir: fl.data, DatabaseURL: fl.database, Log: log}
	st, err := dial.Open(ctx, dc)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	defer st.Close()
	blobs, err := dial.Blobs(dc)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	cfg := server.Config{
		Store: st, Blobs: blobStore{blobs, fl.maxUpload}, Log: log,
		MaxUploadBytes: fl.maxUpload, MaxBodyBytes: fl.maxBody, Rate: fl.rate, Burst: fl.burst,
		// Config.Jobs stays nil: API scans and gates run inline on uploaded
		// blobs; queue jobs take filesystem paths (hub mirrors), see
		// `mlsec hub scan`.
	}
	if fl.trustKey != "" {
		pem, err := os.ReadFile(fl.trustKey)
		if err != nil {
			return usageError(fmt.Errorf("--trust-key: %w", err))
		}
		pub, err := signing.ParsePublicKey(pem)
		if err != nil {
			return usageError(fmt.Errorf("--trust-key: %w", err))
		}
		hint, err := signing.PublicKeyHint(pub)
		if err != nil {
			return usageError(fmt.Errorf("--trust-key: %w", err))
		}
		cfg.Verifier = &signing.KeyVerifier{Key: pub, Log: log}
		cfg.VerifierName = "key:" + hint[:16]
	}
	if err := bootstrapToken(ctx, st, fl.data, log); err != nil {
		return err
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fl.addr)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "serve: %w", err)
	}
	fmt.Fprintf(app.Stdout, "mlsec serving on http://%s (dashboard /, API /api/v1/, OpenAPI /api/openapi.json)\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// blobStore adapts the encrypted blob store to server.Blobs.
type blobStore struct {
	s   *blob.Store
	max int64
}

func (b blobStore) Put(ctx context.Context, r io.Reader) (store.Digest, int64, error) {
	d, n, err := b.s.Put(ctx, r, b.max)
	if errors.Is(err, blob.ErrTooLarge) {
		return "", 0, mlsec.Errorf(server.ETOOLARGE, "upload exceeds the limit of %d bytes", b.max)
	}
	return d, n, err
}

func (b blobStore) Open(_ context.Context, d store.Digest) (io.ReadCloser, error) {
	rc, err := b.s.Open(d)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, mlsec.Errorf(mlsec.ENOTFOUND, "no stored bytes for %s", d)
	}
	return rc, err
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
