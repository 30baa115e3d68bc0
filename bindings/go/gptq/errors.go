package gptq

import (
	"errors"

	"libgptq/bindings/go/internal/capi"
)

// Status is the library's gptq_status of a failed call.
type Status int

// The statuses, from the module (gptq.h is their one source).
var (
	StatusInvalidArgument = Status(capi.GPTQ_ERR_INVALID_ARGUMENT)
	StatusIO              = Status(capi.GPTQ_ERR_IO)
	StatusFormat          = Status(capi.GPTQ_ERR_FORMAT)
	StatusUnsupported     = Status(capi.GPTQ_ERR_UNSUPPORTED)
	StatusOutOfMemory     = Status(capi.GPTQ_ERR_OUT_OF_MEMORY)
	StatusDevice          = Status(capi.GPTQ_ERR_DEVICE)
	StatusNumerical       = Status(capi.GPTQ_ERR_NUMERICAL)
	StatusCancelled       = Status(capi.GPTQ_ERR_CANCELLED)
	StatusInternal        = Status(capi.GPTQ_ERR_INTERNAL)
	StatusBufferTooSmall  = Status(capi.GPTQ_ERR_BUFFER_TOO_SMALL)
	StatusReentrant       = Status(capi.GPTQ_ERR_REENTRANT)
)

// String is the status's name without prefix, e.g. "INVALID_ARGUMENT".
func (s Status) String() string { return capi.Status_name(int(s)) }

// Error is what every failing call returns: the library's status and its
// message, which names what went wrong and where (file, tensor, field).
// Cause is the error a progress callback returned to cancel the call.
type Error struct {
	Status  Status
	Message string
	Cause   error
}

func (e *Error) Error() string {
	s := "gptq: " + e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Is matches another *Error by status alone, so that
// errors.Is(err, &gptq.Error{Status: gptq.StatusCancelled}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Cause == nil && t.Status == e.Status
}

// StatusOf returns the status of an *Error in err's chain, or 0.
func StatusOf(err error) Status {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// wrap turns the module's error into the package's.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*capi.Error); ok {
		return &Error{Status: Status(e.Status), Message: e.Message}
	}
	return err
}

func errClosed(what string) error {
	return &Error{Status: StatusInvalidArgument, Message: "use of a closed " + what}
}
