//! Generation sessions.
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_void};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use gptq_sys as sys;

use crate::callbacks::{batch_token_fn, progress_fn, token_fn, Catch, LogSlot, Progress};
use crate::error::{check, Result};

type SessionProgress = Catch<Box<dyn FnMut(&Progress) -> ControlFlow<()> + Send>>;

/// A generation session: one model, one GenerationConfig (gptq_session).
///
/// `Send`, not `Sync`: gptq.h says "use a session from one thread at a time;
/// several sessions may use one model on different threads at once, and
/// sessions of one context may generate on different threads at once". It
/// keeps its model and context alive, so it may outlive both values.
pub struct Session {
    raw: NonNull<sys::gptq_session>,
    // The closure of gptq_session_set_progress: the library holds its address
    // until the next set_progress or the session's end (null: none).
    progress: *mut SessionProgress,
    log: Arc<LogSlot>,
}

// SAFETY: a session may move between threads (one at a time); its progress
// closure is Send.
unsafe impl Send for Session {}

impl Session {
    /// # Safety
    /// `raw` is a session gptq_session_create gave with GPTQ_OK.
    pub(crate) unsafe fn from_raw(raw: *mut sys::gptq_session, log: Arc<LogSlot>) -> Session {
        Session { raw: NonNull::new(raw).expect("GPTQ_OK and no session"), progress: ptr::null_mut(), log }
    }

    /// Calls `f` during every later `generate` (stage "generate", tokens run
    /// through the model); `ControlFlow::Break(())` cancels that generate with
    /// Status::Cancelled. A panic in `f` cancels and is resumed when generate
    /// returns.
    pub fn set_progress(&mut self, f: impl FnMut(&Progress) -> ControlFlow<()> + Send + 'static) -> Result<()> {
        let new: *mut SessionProgress = Box::into_raw(Box::new(Catch::new(Box::new(f) as Box<_>)));
        let st = unsafe { sys::gptq_session_set_progress(self.raw.as_ptr(), progress_fn(&*new), new as *mut c_void) };
        if let Err(e) = check(st) {
            drop(unsafe { Box::from_raw(new) });
            return Err(e);
        }
        self.free_progress();
        self.progress = new;
        Ok(())
    }

    /// No progress callback any more.
    pub fn clear_progress(&mut self) -> Result<()> {
        check(unsafe { sys::gptq_session_set_progress(self.raw.as_ptr(), None, ptr::null_mut()) })?;
        self.free_progress();
        Ok(())
    }

    fn free_progress(&mut self) {
        if !self.progress.is_null() {
            drop(unsafe { Box::from_raw(self.progress) });
            self.progress = ptr::null_mut();
        }
    }

    /// Generates a continuation of `prompt` (gptq_generate), streaming it to
    /// `on_token` as (text piece, token id) — the id None for a last call
    /// that flushes held-back text. `ControlFlow::Break(())` stops generating
    /// (still Ok). A panic in `on_token` stops it and is resumed on return.
    pub fn generate(&mut self, prompt: &str, on_token: impl FnMut(&str, Option<i32>) -> ControlFlow<()>) -> Result<()> {
        let mut catch = Catch::new(on_token);
        let st = unsafe {
            sys::gptq_generate(self.raw.as_ptr(), prompt.as_ptr() as *const c_char, prompt.len(),
                               token_fn(&catch), &mut catch as *mut _ as *mut c_void)
        };
        self.finish(st, catch)
    }

    /// Generates continuations of every prompt, decoded together as one
    /// batch (gptq_generate_batch), each as `generate` would alone (sampler
    /// seeded from the config, stop strings, EOS, max_new_tokens), streaming
    /// them to `on_token` as (index of the prompt, text piece, token id).
    /// `ControlFlow::Break(())` stops that sequence only. The progress
    /// closure cancels them all (Status::Cancelled). No prompt is
    /// Status::InvalidArgument. A panic in `on_token` stops every sequence
    /// and is resumed on return.
    pub fn generate_batch(
        &mut self,
        prompts: &[&str],
        on_token: impl FnMut(usize, &str, Option<i32>) -> ControlFlow<()>,
    ) -> Result<()> {
        let texts: Vec<*const c_char> = prompts.iter().map(|p| p.as_ptr() as *const c_char).collect();
        let lens: Vec<usize> = prompts.iter().map(|p| p.len()).collect();
        let mut catch = Catch::new(on_token);
        let st = unsafe {
            sys::gptq_generate_batch(self.raw.as_ptr(), texts.as_ptr(), lens.as_ptr(), prompts.len(),
                                     batch_token_fn(&catch), &mut catch as *mut _ as *mut c_void)
        };
        self.finish(st, catch)
    }

    /// After a generate call: its status as a Result, once the panics of its
    /// closures (token, progress, log) are resumed.
    fn finish<F>(&mut self, st: sys::gptq_status, mut catch: Catch<F>) -> Result<()> {
        let result = check(st);
        catch.resume();
        if !self.progress.is_null() {
            unsafe { (*self.progress).resume() };
        }
        self.log.resume();
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // After destroy returns the library calls neither callback again.
        unsafe { sys::gptq_session_destroy(self.raw.as_ptr()) };
        self.free_progress();
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("raw", &self.raw).finish()
    }
}
