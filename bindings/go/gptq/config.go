package gptq

import "libgptq/bindings/go/internal/capi"

// ConfigKind names a table of the schema (schema/gptq.fbs).
type ConfigKind int

// The schema's tables, as gptq_config_kind.
var (
	ConfigQuantize       = ConfigKind(capi.GPTQ_CONFIG_QUANTIZE)
	ConfigCalibration    = ConfigKind(capi.GPTQ_CONFIG_CALIBRATION)
	ConfigRuntime        = ConfigKind(capi.GPTQ_CONFIG_RUNTIME)
	ConfigGeneration     = ConfigKind(capi.GPTQ_CONFIG_GENERATION)
	ConfigQuantizeReport = ConfigKind(capi.GPTQ_CONFIG_QUANTIZE_REPORT)
	ConfigModelInfo      = ConfigKind(capi.GPTQ_CONFIG_MODEL_INFO)
	ConfigEval           = ConfigKind(capi.GPTQ_CONFIG_EVAL)
	ConfigEvalReport     = ConfigKind(capi.GPTQ_CONFIG_EVAL_REPORT)
)

// Encoding is how a configuration is written: JSON or the schema's
// flatbuffers binary.
type Encoding int

// The encodings, as gptq_config_encoding.
var (
	EncodingJSON   = Encoding(capi.GPTQ_ENCODING_JSON)
	EncodingBinary = Encoding(capi.GPTQ_ENCODING_BINARY)
)

// ConfigConvert validates a configuration of kind and rewrites it from one
// encoding to the other (or JSON to JSON, every default filled in). An
// invalid one is an *Error whose message names the field.
func ConfigConvert(kind ConfigKind, in []byte, from, to Encoding) ([]byte, error) {
	out, err := capi.ConfigConvertBytes(capi.Enum_SS_gptq_config_kind(kind), string(in),
		capi.Enum_SS_gptq_config_encoding(from), capi.Enum_SS_gptq_config_encoding(to))
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

// ConfigSchema is the schema (schema/gptq.fbs) the library was built with.
func ConfigSchema() string { return capi.Config_schema() }

// VersionNumber is the version as MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() uint32 { return uint32(capi.Version_number()) }

// ABIVersion is the library's ABI version (its soname's number).
func ABIVersion() uint32 { return uint32(capi.Abi_version()) }
