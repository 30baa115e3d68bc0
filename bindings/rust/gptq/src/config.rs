//! The schema's configurations as the library sees them: validation with the
//! defaults filled in, JSON <-> binary flatbuffer, and the schema itself.
use std::ffi::CStr;
use std::ptr;

use gptq_sys as sys;

use crate::error::{check, Result};

/// Which table of schema/gptq.fbs a configuration or report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    Quantize,
    Calibration,
    Runtime,
    Generation,
    QuantizeReport,
    ModelInfo,
    Eval,
    EvalReport,
}

impl ConfigKind {
    fn raw(self) -> sys::gptq_config_kind {
        match self {
            ConfigKind::Quantize => sys::GPTQ_CONFIG_QUANTIZE,
            ConfigKind::Calibration => sys::GPTQ_CONFIG_CALIBRATION,
            ConfigKind::Runtime => sys::GPTQ_CONFIG_RUNTIME,
            ConfigKind::Generation => sys::GPTQ_CONFIG_GENERATION,
            ConfigKind::QuantizeReport => sys::GPTQ_CONFIG_QUANTIZE_REPORT,
            ConfigKind::ModelInfo => sys::GPTQ_CONFIG_MODEL_INFO,
            ConfigKind::Eval => sys::GPTQ_CONFIG_EVAL,
            ConfigKind::EvalReport => sys::GPTQ_CONFIG_EVAL_REPORT,
        }
    }
}

/// How a configuration is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 JSON text.
    Json,
    /// A flatbuffer of the kind's table, file id "GPTQ".
    Binary,
}

impl Encoding {
    fn raw(self) -> sys::gptq_config_encoding {
        match self {
            Encoding::Json => sys::GPTQ_ENCODING_JSON,
            Encoding::Binary => sys::GPTQ_ENCODING_BINARY,
        }
    }
}

/// Validates `input` (a configuration of `kind` in encoding `from`) and writes
/// it in encoding `to` with every field present (gptq_config_convert): e.g.
/// `convert_config(ConfigKind::Quantize, b"{}", Encoding::Json, Encoding::Json)`
/// shows the defaults. A bad field is Status::InvalidArgument naming it.
pub fn convert_config(kind: ConfigKind, input: &[u8], from: Encoding, to: Encoding) -> Result<Vec<u8>> {
    // JSON output is followed by a NUL: its size + 1 bytes.
    let extra = usize::from(to == Encoding::Json);
    let mut out: Vec<u8> = Vec::new();
    loop {
        let mut size = 0usize;
        let st = unsafe {
            sys::gptq_config_convert(kind.raw(), input.as_ptr() as *const _, input.len(), from.raw(), to.raw(),
                                     if out.is_empty() { ptr::null_mut() } else { out.as_mut_ptr() as *mut _ },
                                     out.len(), &mut size)
        };
        if st == sys::GPTQ_ERR_BUFFER_TOO_SMALL && size + extra > out.len() {
            out.resize(size + extra, 0);
            continue;
        }
        check(st)?;
        out.truncate(size);
        return Ok(out);
    }
}

/// The schema (flatbuffers IDL of schema/gptq.fbs) the library validates
/// against: every option with its type, default, range and doc comment.
pub fn config_schema() -> &'static str {
    // Static storage (gptq.h).
    unsafe { CStr::from_ptr(sys::gptq_config_schema()) }.to_str().unwrap_or("")
}
