//! A model directory opened by a context.
use std::ptr::{self, NonNull};
use std::sync::Arc;

use gptq_sys as sys;

use crate::callbacks::LogSlot;
use crate::error::{check, Result};
use crate::strings::copy_c_str;
use crate::tokenizer::Tokenizer;

/// A Hugging Face model, float or GPTQ (gptq_model).
///
/// `Send + Sync`: gptq.h says a model is "read-only once opened: one model
/// may be used by several threads at once" (e.g. sessions generating on
/// different threads, tokenizing anywhere). It keeps the context it was opened
/// with alive, so it may outlive its Context value.
pub struct Model {
    raw: NonNull<sys::gptq_model>,
    // The context's log sink, which the library may call during this model's
    // calls and until the model goes.
    _log: Arc<LogSlot>,
}

// SAFETY: gptq.h documents a model as immutable and usable from several threads.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Model {
    /// # Safety
    /// `raw` is a model gptq_model_open gave with GPTQ_OK.
    pub(crate) unsafe fn from_raw(raw: *mut sys::gptq_model, log: Arc<LogSlot>) -> Model {
        Model { raw: NonNull::new(raw).expect("gptq_model_open gave GPTQ_OK and no model"), _log: log }
    }

    pub(crate) fn raw(&self) -> *const sys::gptq_model {
        self.raw.as_ptr()
    }

    /// What the model is, as ModelInfo JSON (gptq_model_info_json).
    pub fn info_json(&self) -> Result<String> {
        let mut p = ptr::null();
        check(unsafe { sys::gptq_model_info_json(self.raw(), &mut p) })?;
        Ok(unsafe { copy_c_str(p) })
    }

    /// The model's tokenizer, borrowed from it (gptq_model_tokenizer).
    pub fn tokenizer(&self) -> Result<Tokenizer<'_>> {
        let mut p = ptr::null();
        check(unsafe { sys::gptq_model_tokenizer(self.raw(), &mut p) })?;
        Ok(unsafe { Tokenizer::borrowed(p) })
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // Releases this reference; sessions keep the model alive. The log
        // sink's Arc is dropped after, once the library can no longer call it
        // on this model's behalf.
        unsafe { sys::gptq_model_destroy(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("raw", &self.raw).finish()
    }
}
