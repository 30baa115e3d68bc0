package gptq

import (
	"runtime"
	"sync"

	"libgptq/bindings/go/internal/capi"
)

// LogLevel is the level of a log line.
type LogLevel int

// The levels, from the module (gptq.h is their one source).
var (
	LogError = LogLevel(capi.GPTQ_LOG_ERROR)
	LogWarn  = LogLevel(capi.GPTQ_LOG_WARN)
	LogInfo  = LogLevel(capi.GPTQ_LOG_INFO)
	LogDebug = LogLevel(capi.GPTQ_LOG_DEBUG)
)

// Context holds a backend, its threads and its log sink. Use it from one
// goroutine at a time; models and sessions made with it keep it alive.
type Context struct {
	mu     sync.Mutex
	h      capi.SwigcptrStruct_SS_gptq_context
	shared *contextShared
}

// contextShared lives as long as the C context's resources: until the
// context and every model and session made with it are closed. The log
// callback must stay registered that long (gptq.h, gptq_context_set_log).
type contextShared struct {
	mu     sync.Mutex
	refs   int
	logKey uintptr
}

func (s *contextShared) retain() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

// release is called after a handle's destroy; the last one forgets the log
// callback, which the library no longer calls.
func (s *contextShared) release() {
	s.mu.Lock()
	s.refs--
	var key uintptr
	if s.refs == 0 {
		key, s.logKey = s.logKey, 0
	}
	s.mu.Unlock()
	capi.CallbackRelease(key)
}

// NewContext creates a context; opts is a *RuntimeOptions, a RawConfig or
// nil for the defaults.
func NewContext(opts Config) (*Context, error) {
	js, err := toJSON(opts)
	if err != nil {
		return nil, err
	}
	var h capi.SwigcptrStruct_SS_gptq_context
	if err := capi.Context_create(js, &h); err != nil {
		return nil, wrap(err)
	}
	c := &Context{h: h, shared: &contextShared{refs: 1}}
	runtime.SetFinalizer(c, (*Context).Close)
	return c, nil
}

// Close releases the context. Its models and sessions stay usable; the
// resources go with the last of them. Closing twice is a no-op.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == 0 {
		return nil
	}
	capi.Context_destroy(c.h)
	c.h = 0
	c.shared.release()
	runtime.SetFinalizer(c, nil)
	return nil
}

func (c *Context) handle() (capi.SwigcptrStruct_SS_gptq_context, error) {
	if c == nil || c.h == 0 {
		return 0, errClosed("Context")
	}
	return c.h, nil
}

// SetLog sends the context's log lines to fn (nil: back to stderr), first
// replaying those written while it was created. fn runs on the goroutine of
// the call that logs; a panic in it is swallowed (the library cannot stop).
func (c *Context) SetLog(fn func(level LogLevel, msg string)) error {
	h, err := c.handle()
	if err != nil {
		return err
	}
	var key uintptr
	if fn != nil {
		key = capi.CallbackRegister(capi.LogFunc(func(level int, msg string) { fn(LogLevel(level), msg) }))
	}
	if err := capi.Context_set_log(h, key); err != nil {
		capi.CallbackRelease(key)
		return wrap(err)
	}
	runtime.KeepAlive(c)
	c.shared.mu.Lock()
	old := c.shared.logKey
	c.shared.logKey = key
	c.shared.mu.Unlock()
	capi.CallbackRelease(old) // the library no longer calls the old one
	return nil
}

func (c *Context) str(get func(capi.SwigcptrStruct_SS_gptq_context, *string) error) (string, error) {
	h, err := c.handle()
	if err != nil {
		return "", err
	}
	var s string
	err = get(h, &s)
	runtime.KeepAlive(c)
	return s, wrap(err)
}

// Backend is "cpu" or "cuda".
func (c *Context) Backend() (string, error) {
	return c.str(func(h capi.SwigcptrStruct_SS_gptq_context, s *string) error { return capi.Context_backend(h, s) })
}

// DeviceName names the GPU, or the CPU and its thread count.
func (c *Context) DeviceName() (string, error) {
	return c.str(func(h capi.SwigcptrStruct_SS_gptq_context, s *string) error {
		return capi.Context_device_name(h, s)
	})
}

// RuntimeJSON is the effective RuntimeConfig, every field filled in.
func (c *Context) RuntimeJSON() (string, error) {
	return c.str(func(h capi.SwigcptrStruct_SS_gptq_context, s *string) error {
		return capi.Context_runtime_json(h, s)
	})
}

// Version is the library's "MAJOR.MINOR.PATCH".
func Version() string { return capi.Version() }
