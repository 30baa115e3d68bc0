//! The safe Rust API of libgptq (GPTQ quantization and int4 inference), over
//! the raw declarations of `gptq-sys`.
//!
//! Handles free themselves on drop; every fallible call returns
//! `Result<T, Error>` with the library's status and message; `Send`/`Sync`
//! are what gptq.h documents for each handle (see each type); configurations
//! are option structs turned into the schema's JSON, validated by the library;
//! callbacks are closures, whose panics are caught before they reach the
//! library and resumed once the call returns.
//!
//! Every function of gptq.h has its safe form here except these, reachable
//! through `gptq::sys`: gptq_perplexity (deprecated; `Context::evaluate`
//! returns its numbers in the EvalReport), and the gptq_matrix_result_*_copy
//! accessors (for languages that cannot hold a borrowed array; MatrixResult
//! lends its arrays as slices instead). gptq_last_error and gptq_status_name
//! are inside `Error`, which copies the message at once, so gptq_clear_error
//! has no use either (tests/coverage.rs holds this list).
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! let ctx = gptq::Context::new(&gptq::RuntimeOptions::default())?;
//! let model = ctx.open_model("demo/docs-llama-tiny")?;
//! let mut session = ctx.create_session(&model, &gptq::GenerationOptions { temperature: Some(0.0), ..Default::default() })?;
//! session.generate("To create a table", |piece, _id| { print!("{piece}"); ControlFlow::Continue(()) })?;
//! # Ok::<(), gptq::Error>(())
//! ```
//!
//! A context and a session are used from one thread at a time (gptq.h), so
//! they are not `Sync`:
//! ```compile_fail
//! fn shared_by_threads<T: Sync>() {}
//! shared_by_threads::<gptq::Context>();
//! ```
//! ```compile_fail
//! fn shared_by_threads<T: Sync>() {}
//! shared_by_threads::<gptq::Session>();
//! ```
mod callbacks;
mod config;
mod context;
mod error;
mod eval;
pub mod json;
mod matrix;
mod model;
mod options;
mod session;
mod strings;
mod tokenizer;

use std::ffi::CStr;

pub use callbacks::{LogLevel, Progress, ProgressCallback};
pub use config::{config_schema, convert_config, ConfigKind, Encoding};
pub use context::Context;
pub use error::{Error, Result, Status};
pub use eval::EvalReport;
pub use matrix::{Array2, LayerInputs, MatrixResult};
pub use model::Model;
pub use options::{CalibrationOptions, EvalOptions, GenerationOptions, QuantizeOptions, RuntimeOptions};
pub use session::Session;
pub use tokenizer::Tokenizer;

/// Re-exported so that a program can reach the raw declarations without
/// naming gptq-sys in its Cargo.toml.
pub use gptq_sys as sys;

/// The library's version, "MAJOR.MINOR.PATCH".
pub fn version() -> &'static str {
    // Static storage (gptq.h).
    unsafe { CStr::from_ptr(sys::gptq_version()) }.to_str().unwrap_or("")
}

/// The library's version as MAJOR * 10000 + MINOR * 100 + PATCH.
pub fn version_number() -> u32 {
    unsafe { sys::gptq_version_number() }
}

/// The library's ABI version; this crate was generated for `sys::GPTQ_ABI_VERSION`.
pub fn abi_version() -> u32 {
    unsafe { sys::gptq_abi_version() }
}
