package admission

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mlsecops/mlsec/internal/certreload"
)

// Handler is the webhook's HTTP handler: reviews at Path, a health check
// at /healthz (it does not ask the mlsec server: a webhook pod stays ready
// while the server is down, and fails closed).
func (wh *Webhook) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Path, wh)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Serve serves the webhook over TLS on ln until ctx ends, then shuts down
// gracefully (up to 10 s).
func Serve(ctx context.Context, ln net.Listener, wh *Webhook, certs *certreload.Reloader, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           wh.Handler(),
		TLSConfig:         certs.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
