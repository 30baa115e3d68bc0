package gptq

import "libgptq/bindings/go/internal/capi"

// ProgressFunc receives a long call's stage, units done and total (0 when
// unknown). Returning a non-nil error cancels the call, which then returns an
// *Error with StatusCancelled whose Cause is that error. It runs on the
// goroutine that made the call; a panic in it stops the work and is raised
// again when the call returns.
type ProgressFunc func(stage string, done, total uint64) error

// progressAdapter gives the module's callback and, after the call, the error
// to return in place of the library's.
type progressAdapter struct{ cause error }

func (a *progressAdapter) fn(p ProgressFunc) capi.ProgressFunc {
	if p == nil {
		return nil
	}
	return func(stage string, done, total uint64) bool {
		if err := p(stage, done, total); err != nil {
			a.cause = err
			return false
		}
		return true
	}
}

func (a *progressAdapter) result(err error) error {
	err = wrap(err)
	if e, ok := err.(*Error); ok && e.Status == StatusCancelled && a.cause != nil {
		e.Cause = a.cause
	}
	return err
}
