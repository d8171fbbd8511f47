package mlsec

import (
	"errors"
	"fmt"
)

// Error codes shared by the CLI (as exit codes) and the server (as HTTP
// statuses). They are stable: scripts and API clients depend on them.
const (
	EINVALID   = "invalid"   // bad input from the user: flags, arguments, files
	ENOTFOUND  = "not_found" // a named thing does not exist
	EINTERNAL  = "internal"  // a bug or an unexpected failure
	EFORBIDDEN = "forbidden" // the caller may not do this
	ECONFLICT  = "conflict"  // the request conflicts with stored state
	EIO        = "io"        // reading or writing failed
)

// Exit codes of the mlsec command.
const (
	ExitOK       = 0 // success, no finding at or above the threshold
	ExitFindings = 1 // findings at or above the threshold, or verification failed
	ExitUsage    = 2 // usage error, unreadable path, I/O error
)

// Error is an application error with a stable code and a message meant for
// the user. Message is complete (it already contains the cause's text); Err
// keeps the cause for errors.Is and errors.As. Build one with Errorf.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message; a %w verb in
// format becomes the cause.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// other non-nil errors and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ExitCode maps an error to the process exit code: nil is ExitOK, an error
// wrapping ErrFindings is ExitFindings, everything else is ExitUsage.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrFindings):
		return ExitFindings
	default:
		return ExitUsage
	}
}

// ErrFindings signals that a command completed but its result is negative:
// findings at or above the threshold, an invalid signature, a failed gate.
// Commands return it (wrapped) so the exit code becomes ExitFindings.
var ErrFindings = errors.New("mlsec: negative result")
