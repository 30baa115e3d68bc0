package gptq

import (
	"runtime"
	"sync"

	"libgptq/bindings/go/internal/capi"
)

// Model is an opened Hugging Face model directory (float or GPTQ). It may be
// used from several goroutines at once; it keeps its context alive.
type Model struct {
	mu  sync.RWMutex // Close waits for the calls that borrowed h
	h   capi.SwigcptrStruct_SS_gptq_model
	ctx *contextShared
}

// OpenModel opens the model in dir (config.json, tokenizer, safetensors).
func (c *Context) OpenModel(dir string) (*Model, error) {
	h, err := c.handle()
	if err != nil {
		return nil, err
	}
	var m capi.SwigcptrStruct_SS_gptq_model
	err = capi.Model_open(h, dir, &m)
	runtime.KeepAlive(c)
	if err != nil {
		return nil, wrap(err)
	}
	c.shared.retain()
	model := &Model{h: m, ctx: c.shared}
	runtime.SetFinalizer(model, (*Model).Close)
	return model, nil
}

// Close releases the model (its sessions keep it alive). Its tokenizer is
// unusable afterwards. Closing twice is a no-op.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == 0 {
		return nil
	}
	capi.Model_destroy(m.h)
	m.h = 0
	m.ctx.release()
	runtime.SetFinalizer(m, nil)
	return nil
}

// use runs f with the handle, holding Close off until it returns.
func (m *Model) use(f func(capi.SwigcptrStruct_SS_gptq_model) error) error {
	if m == nil {
		return errClosed("Model")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.h == 0 {
		return errClosed("Model")
	}
	return f(m.h)
}

// InfoJSON is the ModelInfo of schema/gptq.fbs as JSON.
func (m *Model) InfoJSON() (string, error) {
	var s string
	err := m.use(func(h capi.SwigcptrStruct_SS_gptq_model) error { return wrap(capi.Model_info_json(h, &s)) })
	return s, err
}

// Tokenizer is a Hugging Face tokenizer, usable from several goroutines.
type Tokenizer struct {
	mu    sync.RWMutex
	h     capi.SwigcptrStruct_SS_gptq_tokenizer
	model *Model // the owner of a model's tokenizer; nil for OpenTokenizer's
}

// Tokenizer returns the model's tokenizer, valid while the model is open.
func (m *Model) Tokenizer() (*Tokenizer, error) {
	var t capi.SwigcptrStruct_SS_gptq_tokenizer
	err := m.use(func(h capi.SwigcptrStruct_SS_gptq_model) error { return wrap(capi.Model_tokenizer(h, &t)) })
	if err != nil {
		return nil, err
	}
	return &Tokenizer{h: t, model: m}, nil
}

// OpenTokenizer opens a tokenizer.json, or a directory holding one, without a
// model.
func OpenTokenizer(path string) (*Tokenizer, error) {
	var t capi.SwigcptrStruct_SS_gptq_tokenizer
	if err := capi.Tokenizer_open(path, &t); err != nil {
		return nil, wrap(err)
	}
	tok := &Tokenizer{h: t}
	runtime.SetFinalizer(tok, (*Tokenizer).Close)
	return tok, nil
}

// Close frees a tokenizer from OpenTokenizer; a model's tokenizer goes with
// its model. Closing twice is a no-op.
func (t *Tokenizer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.model == nil && t.h != 0 {
		capi.Tokenizer_destroy(t.h)
	}
	t.h = 0
	runtime.SetFinalizer(t, nil)
	return nil
}

func (t *Tokenizer) use(f func(capi.SwigcptrStruct_SS_gptq_tokenizer) error) error {
	if t == nil {
		return errClosed("Tokenizer")
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == 0 {
		return errClosed("Tokenizer")
	}
	if t.model != nil {
		return t.model.use(func(capi.SwigcptrStruct_SS_gptq_model) error { return f(t.h) })
	}
	return f(t.h)
}

// Tokenize flags and Detokenize flags.
const (
	NoSpecial   uint = 1 // Tokenize: do not add BOS and the like
	SkipSpecial uint = 1 // Detokenize: leave special tokens out
)

// Tokenize gives the ids Hugging Face's tokenizer(text) gives (flags 0).
func (t *Tokenizer) Tokenize(text string, flags uint) ([]int32, error) {
	var ids []int32
	err := t.use(func(h capi.SwigcptrStruct_SS_gptq_tokenizer) (err error) {
		ids, err = capi.TokenizeIDs(h, text, flags)
		return wrap(err)
	})
	return ids, err
}

// Detokenize gives the text Hugging Face's decode(ids) gives (flags 0).
func (t *Tokenizer) Detokenize(ids []int32, flags uint) (string, error) {
	var s string
	err := t.use(func(h capi.SwigcptrStruct_SS_gptq_tokenizer) (err error) {
		s, err = capi.DetokenizeText(h, ids, flags)
		return wrap(err)
	})
	return s, err
}
