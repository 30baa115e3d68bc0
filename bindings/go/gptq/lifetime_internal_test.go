package gptq

import (
	"path/filepath"
	"testing"

	"libgptq/bindings/go/internal/capi"
)

// The log callback stays registered while any handle made with the context
// lives (gptq.h: the sink may be called until the context's resources go),
// and is released with the last one.
func TestLogSinkLivesAsLongAsTheContextsHandles(t *testing.T) {
	before := capi.CallbackCount()
	ctx, err := NewContext(&RuntimeOptions{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.SetLog(func(LogLevel, string) {}); err != nil {
		t.Fatal(err)
	}
	// A second SetLog releases the first sink.
	if err := ctx.SetLog(func(LogLevel, string) {}); err != nil {
		t.Fatal(err)
	}
	m, err := ctx.OpenModel(filepath.Join("..", "..", "..", "demo", "docs-llama-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ctx.NewSession(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetProgress(func(string, uint64, uint64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ctx.Close()
	m.Close()
	if got := capi.CallbackCount(); got != before+2 {
		t.Fatalf("%d callbacks registered while a session lives; want %d (log and progress)", got, before+2)
	}
	s.Close()
	if got := capi.CallbackCount(); got != before {
		t.Fatalf("%d callbacks registered after the last handle; want %d", got, before)
	}
}
