package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// Error codes the HTTP layer adds to mlsec's (mlsec.EINVALID, ENOTFOUND, ...).
// Like those, they are stable: API clients switch on them.
const (
	EUNAUTHORIZED     = "unauthorized"       // no or unknown API token
	ETOOLARGE         = "too_large"          // request body above the limit
	ERATELIMITED      = "rate_limited"       // too many requests from this caller
	EMETHODNOTALLOWED = "method_not_allowed" // the path exists, the method does not
	EUNAVAILABLE      = "unavailable"        // the server is shutting down
)

// statusOf maps an error code to its HTTP status. It is the only place that
// does: handlers return errors with codes, never statuses.
func statusOf(code string) int {
	switch code {
	case mlsec.EINVALID:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case mlsec.EFORBIDDEN:
		return http.StatusForbidden
	case mlsec.ENOTFOUND:
		return http.StatusNotFound
	case EMETHODNOTALLOWED:
		return http.StatusMethodNotAllowed
	case mlsec.ECONFLICT:
		return http.StatusConflict
	case ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case ERATELIMITED:
		return http.StatusTooManyRequests
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case mlsec.EIO:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a stable code and a human-readable message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorf builds an *mlsec.Error; a shorthand for handlers.
func errorf(code, format string, args ...any) error {
	return mlsec.Errorf(code, format, args...)
}

// writeError writes err as a JSON error response. Internal errors are
// logged with their cause and reported to the client without it.
func writeError(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	code := mlsec.ErrorCode(err)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		code = ETOOLARGE
	}
	msg := err.Error()
	if code == mlsec.EINTERNAL {
		if log != nil {
			log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		msg = "internal error"
	}
	if code == ETOOLARGE && maxErr != nil {
		msg = "request body too large"
	}
	writeJSON(w, statusOf(code), ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// fromStore converts a store error into an *mlsec.Error with the code
// store.Code assigns, keeping the cause.
func fromStore(err error) error {
	if err == nil {
		return nil
	}
	var me *mlsec.Error
	if errors.As(err, &me) {
		return err
	}
	return &mlsec.Error{Code: store.Code(err), Message: err.Error(), Err: err}
}
