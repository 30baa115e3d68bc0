package gptq

import "encoding/json"

// The option structs are the schema's tables (schema/gptq.fbs) as Go values:
// a field left at its zero value (nil for pointers) is left out of the JSON,
// so the library's default applies, and the library validates what is set
// (its messages name the field). Pointers are used where the zero value is
// a meaningful setting.

// RuntimeOptions is a RuntimeConfig.
type RuntimeOptions struct {
	Backend  string `json:"backend,omitempty"` // "auto", "cpu" or "cuda"
	Device   *int   `json:"device,omitempty"`
	Threads  int    `json:"threads,omitempty"`   // 0: one per CPU
	LogLevel string `json:"log_level,omitempty"` // "error", "warn", "info", "debug"
}

// CalibrationOptions is a CalibrationConfig.
type CalibrationOptions struct {
	Files    []string `json:"files,omitempty"`
	TokenIDs []int32  `json:"token_ids,omitempty"`
	NSamples int      `json:"nsamples,omitempty"`
	Seqlen   int      `json:"seqlen,omitempty"`
	Seed     *uint64  `json:"seed,omitempty"`
}

// QuantizeOptions is a QuantizeConfig.
type QuantizeOptions struct {
	Bits             int                 `json:"bits,omitempty"`
	GroupSize        int                 `json:"group_size,omitempty"` // -1: one group per row
	DescAct          *bool               `json:"desc_act,omitempty"`
	Sym              *bool               `json:"sym,omitempty"`
	DampPercent      *float64            `json:"damp_percent,omitempty"`
	StaticGroups     *bool               `json:"static_groups,omitempty"`
	TrueSequential   *bool               `json:"true_sequential,omitempty"`
	BlockSize        int                 `json:"block_size,omitempty"`
	CheckpointFormat string              `json:"checkpoint_format,omitempty"`
	ModulesToSkip    []string            `json:"modules_to_skip,omitempty"`
	Calibration      *CalibrationOptions `json:"calibration,omitempty"`
	Overwrite        bool                `json:"overwrite,omitempty"`
	Method           string              `json:"method,omitempty"` // "gptq" or "rtn"
}

// GenerationOptions is a GenerationConfig. Temperature 0 is greedy.
type GenerationOptions struct {
	MaxNewTokens      int      `json:"max_new_tokens,omitempty"`
	Temperature       *float64 `json:"temperature,omitempty"`
	TopK              int      `json:"top_k,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	RepetitionPenalty *float64 `json:"repetition_penalty,omitempty"`
	Seed              *uint64  `json:"seed,omitempty"`
	Stop              []string `json:"stop,omitempty"`
	StopAtEOS         *bool    `json:"stop_at_eos,omitempty"`
}

// EvalOptions is an EvalConfig.
type EvalOptions struct {
	Seqlen     int `json:"seqlen,omitempty"`
	MaxWindows int `json:"max_windows,omitempty"`
}

// Ptr returns a pointer to v, for the optional fields above.
func Ptr[T any](v T) *T { return &v }

// Config is any of the option structs, or RawConfig: JSON given as is.
type Config interface{}

// RawConfig is configuration JSON passed through untouched.
type RawConfig string

// toJSON gives the JSON the library takes: "" (all defaults) for nil.
func toJSON(opts Config) (string, error) {
	switch o := opts.(type) {
	case nil:
		return "", nil
	case RawConfig:
		return string(o), nil
	case string:
		return o, nil
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return "", &Error{Status: StatusInvalidArgument, Message: "options: " + err.Error()}
	}
	if string(b) == "null" {
		return "", nil
	}
	return string(b), nil
}
