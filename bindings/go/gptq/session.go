package gptq

import (
	"runtime"
	"sync"

	"libgptq/bindings/go/internal/capi"
)

// Session generates text with one model and one GenerationOptions. Use it
// from one goroutine at a time; it keeps its model and context alive.
type Session struct {
	mu          sync.Mutex // Generate and Close one at a time
	h           capi.SwigcptrStruct_SS_gptq_session
	ctx         *contextShared
	progressKey uintptr
	progress    *progressAdapter
}

// TokenFunc receives generated text as it becomes final and the token id
// (-1 for a last flush); it returns false to stop generating. It runs on the
// goroutine that called Generate; a panic in it stops the generation and is
// raised again when Generate returns.
type TokenFunc func(piece string, id int32) bool

// BatchTokenFunc receives the text of one sequence of a GenerateBatch (the
// index of its prompt) as it becomes final, and the token id (-1 for a last
// flush); it returns false to stop that sequence only. It runs on the
// goroutine that called GenerateBatch; a panic in it stops every sequence and
// is raised again when GenerateBatch returns.
type BatchTokenFunc func(sequence int, piece string, id int32) bool

// NewSession creates a session; opts is a *GenerationOptions, a RawConfig or
// nil.
func (c *Context) NewSession(m *Model, opts Config) (*Session, error) {
	h, err := c.handle()
	if err != nil {
		return nil, err
	}
	js, err := toJSON(opts)
	if err != nil {
		return nil, err
	}
	var s capi.SwigcptrStruct_SS_gptq_session
	err = m.use(func(mh capi.SwigcptrStruct_SS_gptq_model) error { return wrap(capi.Session_create(h, mh, js, &s)) })
	runtime.KeepAlive(c)
	if err != nil {
		return nil, err
	}
	c.shared.retain()
	sess := &Session{h: s, ctx: c.shared}
	runtime.SetFinalizer(sess, (*Session).Close)
	return sess, nil
}

// Close releases the session, its model and its context. Closing twice is a
// no-op.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == 0 {
		return nil
	}
	capi.Session_destroy(s.h)
	s.h = 0
	capi.CallbackRelease(s.progressKey)
	s.progressKey = 0
	s.ctx.release()
	runtime.SetFinalizer(s, nil)
	return nil
}

// SetProgress sets the progress callback of the following Generate calls
// (stage "generate"); nil removes it. An error it returns cancels Generate.
func (s *Session) SetProgress(p ProgressFunc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == 0 {
		return errClosed("Session")
	}
	a := &progressAdapter{}
	var key uintptr
	if p != nil {
		key = capi.CallbackRegister(a.fn(p))
	}
	if err := capi.Session_set_progress(s.h, key); err != nil {
		capi.CallbackRelease(key)
		return wrap(err)
	}
	capi.CallbackRelease(s.progressKey)
	s.progressKey, s.progress = key, a
	return nil
}

// Generate continues prompt, streaming the text to onToken (may be nil).
func (s *Session) Generate(prompt string, onToken TokenFunc) error {
	var fn capi.TokenFunc
	if onToken != nil {
		fn = capi.TokenFunc(onToken)
	}
	return s.generating(func(h capi.SwigcptrStruct_SS_gptq_session) error { return capi.Generate(h, prompt, fn) })
}

// GenerateBatch continues every prompt, decoded together as one batch, each
// as Generate would alone (sampler seeded from the options, stop strings,
// EOS, MaxNewTokens), streaming the text to onToken (may be nil) with the
// index of its prompt. The session's progress callback cancels them all. No
// prompt is an error (StatusInvalidArgument).
func (s *Session) GenerateBatch(prompts []string, onToken BatchTokenFunc) error {
	var fn capi.BatchTokenFunc
	if onToken != nil {
		fn = capi.BatchTokenFunc(onToken)
	}
	return s.generating(func(h capi.SwigcptrStruct_SS_gptq_session) error {
		return capi.Generate_batch(h, prompts, fn)
	})
}

// generating runs a generate call of the module on the open session: a panic
// of the session's progress callback is raised again, and its cancel error
// becomes the returned error's Cause.
func (s *Session) generating(call func(capi.SwigcptrStruct_SS_gptq_session) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == 0 {
		return errClosed("Session")
	}
	a := s.progress
	if a == nil {
		a = &progressAdapter{}
	}
	a.cause = nil
	err := call(s.h)
	if v, panicked := capi.CallbackTakePanic(s.progressKey); panicked {
		panic(v)
	}
	return a.result(err)
}
