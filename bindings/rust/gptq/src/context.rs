//! The context: backend, device, CPU threads and log sink.
use std::os::raw::{c_char, c_void};
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use gptq_sys as sys;

use crate::callbacks::{log_trampoline, with_progress, LogLevel, LogSlot, ProgressCallback};
use crate::error::{check, Result};
use crate::eval::EvalReport;
use crate::model::Model;
use crate::options::{EvalOptions, GenerationOptions, QuantizeOptions, RuntimeOptions};
use crate::session::Session;
use crate::strings::{c_path, c_string, copy_c_str};

/// A libgptq context (gptq_context).
///
/// `Send`, not `Sync`: gptq.h says a context "is used from one thread at a
/// time" (its calls take its lock and run on its worker threads), but may move
/// between threads. Every method takes `&self`, which `!Sync` keeps to one
/// thread; strings the context owns (reports, names) are copied before the
/// method returns, so the next call cannot invalidate what a caller holds.
pub struct Context {
    raw: NonNull<sys::gptq_context>,
    log: Arc<LogSlot>,
}

// SAFETY: gptq.h allows a context to be used from any thread, one at a time.
unsafe impl Send for Context {}

impl Context {
    /// Creates a context (gptq_context_create).
    pub fn new(options: &RuntimeOptions) -> Result<Context> {
        let json = c_string("runtime options", &options.to_json())?;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::gptq_context_create(json.as_ptr(), &mut raw) })?;
        let raw = NonNull::new(raw).expect("gptq_context_create gave GPTQ_OK and no context");
        Ok(Context { raw, log: Arc::default() })
    }

    pub(crate) fn raw(&self) -> *mut sys::gptq_context {
        self.raw.as_ptr()
    }

    /// Resumes a log closure's panic, then turns the status into a Result.
    fn finish(&self, status: sys::gptq_status) -> Result<()> {
        let r = check(status);
        self.log.resume();
        r
    }

    /// Sends the context's log lines to `f` (gptq_context_set_log), first those
    /// written while it was created. `f` may run on any thread that uses this
    /// context or its models and sessions (hence `Send`), one line at a time,
    /// until the last of them is dropped. A panic in `f` is resumed when the
    /// call that logged returns.
    pub fn set_log(&mut self, f: impl FnMut(LogLevel, &str) + Send + 'static) -> Result<()> {
        self.log.set(Some(Box::new(f)));
        let user = Arc::as_ptr(&self.log) as *mut c_void;
        self.finish(unsafe { sys::gptq_context_set_log(self.raw(), Some(log_trampoline), user) })
    }

    /// Log lines go back to stderr.
    pub fn clear_log(&mut self) -> Result<()> {
        let r = self.finish(unsafe { sys::gptq_context_set_log(self.raw(), None, ptr::null_mut()) });
        self.log.set(None);
        r
    }

    fn owned_string(&self, get: unsafe extern "C" fn(*const sys::gptq_context, *mut *const c_char) -> sys::gptq_status) -> Result<String> {
        let mut p = ptr::null();
        check(unsafe { get(self.raw(), &mut p) })?;
        Ok(unsafe { copy_c_str(p) })
    }

    /// "cpu" or "cuda".
    pub fn backend(&self) -> Result<String> {
        self.owned_string(sys::gptq_context_backend)
    }

    /// The GPU's name, or the CPU model and thread count.
    pub fn device_name(&self) -> Result<String> {
        self.owned_string(sys::gptq_context_device_name)
    }

    /// The effective RuntimeConfig as JSON, every field filled in.
    pub fn runtime_json(&self) -> Result<String> {
        self.owned_string(sys::gptq_context_runtime_json)
    }

    /// Opens a Hugging Face model directory, float or GPTQ (gptq_model_open).
    pub fn open_model(&self, dir: impl AsRef<Path>) -> Result<Model> {
        let dir = c_path("model directory", dir.as_ref())?;
        let mut raw = ptr::null_mut();
        self.finish(unsafe { sys::gptq_model_open(self.raw(), dir.as_ptr(), &mut raw) })?;
        Ok(unsafe { Model::from_raw(raw, self.log.clone()) })
    }

    /// Quantizes the float model in `model_dir` into a GPTQ checkpoint in
    /// `out_dir` (gptq_quantize_model); returns the QuantizeReport as JSON
    /// (read it with `gptq::json::parse`). `progress` returning
    /// `ControlFlow::Break(())` cancels: Error with Status::Cancelled, nothing
    /// written.
    pub fn quantize_model(
        &self,
        model_dir: impl AsRef<Path>,
        options: &QuantizeOptions,
        out_dir: impl AsRef<Path>,
        progress: ProgressCallback<'_>,
    ) -> Result<String> {
        let model_dir = c_path("model directory", model_dir.as_ref())?;
        let out_dir = c_path("output directory", out_dir.as_ref())?;
        let json = c_string("quantize options", &options.to_json())?;
        let mut report = ptr::null();
        let status = with_progress(progress, |f, user| unsafe {
            sys::gptq_quantize_model(self.raw(), model_dir.as_ptr(), json.as_ptr(), out_dir.as_ptr(), f, user, &mut report)
        });
        self.finish(status)?;
        Ok(unsafe { copy_c_str(report) })
    }

    /// Perplexity of `model` on `text` (gptq_evaluate), with its EvalReport.
    /// `model` must have been opened with this context.
    pub fn evaluate(
        &self,
        model: &Model,
        text: &str,
        options: &EvalOptions,
        progress: ProgressCallback<'_>,
    ) -> Result<EvalReport> {
        let json = c_string("eval options", &options.to_json())?;
        let mut report = ptr::null();
        let status = with_progress(progress, |f, user| unsafe {
            sys::gptq_evaluate(self.raw(), model.raw(), text.as_ptr() as *const c_char, text.len(), json.as_ptr(), f, user, &mut report)
        });
        self.finish(status)?;
        EvalReport::from_json(unsafe { copy_c_str(report) })
    }

    /// A generation session with `model` (gptq_session_create); `model` must
    /// have been opened with this context.
    pub fn create_session(&self, model: &Model, options: &GenerationOptions) -> Result<Session> {
        let json = c_string("generation options", &options.to_json())?;
        let mut raw = ptr::null_mut();
        self.finish(unsafe { sys::gptq_session_create(self.raw(), model.raw(), json.as_ptr(), &mut raw) })?;
        Ok(unsafe { Session::from_raw(raw, self.log.clone()) })
    }

    pub(crate) fn log_slot(&self) -> &Arc<LogSlot> {
        &self.log
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // Releases this reference only: models and sessions keep the context's
        // resources (and, through their Arc, the log sink) alive.
        unsafe { sys::gptq_context_destroy(self.raw()) }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("raw", &self.raw).finish()
    }
}
