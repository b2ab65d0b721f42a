package aco

import (
	"errors"
	"fmt"
)

// Error codes users and clients can act on.
const (
	ECONFLICT  = "conflict"  // the action conflicts with the current state
	EINTERNAL  = "internal"  // a bug or an unexpected failure
	EINVALID   = "invalid"   // bad input: the message names the field and the fix
	ENOTFOUND  = "not_found" // no such run, node or file
	EUNAUTH    = "unauthorized"
	EFORBIDDEN = "forbidden"   // a request from where it may not come
	EUNAVAIL   = "unavailable" // a process or service aco needs is not reachable
)

// Error is the one error type users see. Message says what went wrong and,
// where there is one, the fix.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned by stores when a record does not exist.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// ErrorCode returns the code of err's *Error, EINTERNAL for other errors and
// "" for nil.
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

// ErrorMessage returns the user-facing message of err: the *Error's message,
// or a generic one for internal errors (whose details go to the log).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error; see `aco server logs`"
}
