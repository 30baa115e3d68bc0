package gptq

import (
	"encoding/json"
	"runtime"

	"libgptq/bindings/go/internal/capi"
)

// QuantizeModel quantizes the float model in modelDir with GPTQ and writes a
// Hugging Face GPTQ checkpoint to outDir (complete or not at all). opts is a
// *QuantizeOptions or RawConfig; progress may be nil. Returns the
// QuantizeReport JSON.
func (c *Context) QuantizeModel(modelDir, outDir string, opts Config, progress ProgressFunc) (string, error) {
	h, err := c.handle()
	if err != nil {
		return "", err
	}
	js, err := toJSON(opts)
	if err != nil {
		return "", err
	}
	var a progressAdapter
	var report string
	err = capi.Quantize_model(h, modelDir, js, outDir, a.fn(progress), &report)
	runtime.KeepAlive(c)
	return report, a.result(err)
}

// EvalReport is the EvalReport of schema/gptq.fbs.
type EvalReport struct {
	PPL        float64         `json:"ppl"`
	NLL        float64         `json:"nll"`
	Windows    int             `json:"windows"`
	Tokens     int             `json:"tokens"`
	TextTokens int             `json:"text_tokens"`
	WindowNLL  []float64       `json:"window_nll"`
	Seconds    float64         `json:"seconds"`
	Backend    string          `json:"backend"`
	Config     json.RawMessage `json:"config"`
	JSON       string          `json:"-"` // the report as the library gave it
}

// Evaluate measures the model's perplexity on text (gptq_evaluate). opts is
// an *EvalOptions, a RawConfig or nil; progress may be nil.
func (c *Context) Evaluate(m *Model, text string, opts Config, progress ProgressFunc) (*EvalReport, error) {
	h, err := c.handle()
	if err != nil {
		return nil, err
	}
	js, err := toJSON(opts)
	if err != nil {
		return nil, err
	}
	var a progressAdapter
	var raw string
	err = m.use(func(mh capi.SwigcptrStruct_SS_gptq_model) error {
		return a.result(capi.Evaluate(h, mh, text, js, a.fn(progress), &raw))
	})
	runtime.KeepAlive(c)
	if err != nil {
		return nil, err
	}
	r := &EvalReport{JSON: raw}
	if err := json.Unmarshal([]byte(raw), r); err != nil {
		return nil, &Error{Status: StatusInternal, Message: "EvalReport: " + err.Error()}
	}
	return r, nil
}
