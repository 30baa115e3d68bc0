//! C trampolines that call Rust closures (progress, streamed tokens, log).
//! A closure's panic must not unwind through the library's C++ frames (gptq.h:
//! "a callback must not let a C++ exception or a longjmp cross the library"),
//! so each trampoline catches it, asks the library to stop (non-zero for
//! progress and tokens), keeps the payload, and the wrapper resumes it with
//! resume_unwind once the C call has returned.
use std::any::Any;
use std::ffi::CStr;
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use gptq_sys as sys;

pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// One progress report: the stage ("quantize", "write checkpoint",
/// "perplexity", "generate"), the units done and the total (0 when unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress<'a> {
    pub stage: &'a str,
    pub done: u64,
    pub total: u64,
}

/// The `user` of one callback: the closure and the panic it may have raised.
pub(crate) struct Catch<F> {
    pub(crate) f: F,
    pub(crate) panic: Option<Panic>,
}

impl<F> Catch<F> {
    pub(crate) fn new(f: F) -> Catch<F> {
        Catch { f, panic: None }
    }
    /// Re-raises the closure's panic on the caller's thread, after the C call.
    pub(crate) fn resume(&mut self) {
        if let Some(p) = self.panic.take() {
            resume_unwind(p);
        }
    }
    fn run(&mut self, call: impl FnOnce(&mut F) -> ControlFlow<()>) -> c_int {
        if self.panic.is_some() {
            return 1; // already stopping
        }
        match catch_unwind(AssertUnwindSafe(|| call(&mut self.f))) {
            Ok(ControlFlow::Continue(())) => 0,
            Ok(ControlFlow::Break(())) => 1,
            Err(p) => {
                self.panic = Some(p);
                1
            }
        }
    }
}

unsafe extern "C" fn progress_trampoline<F: FnMut(&Progress) -> ControlFlow<()>>(
    user: *mut c_void,
    stage: *const c_char,
    done: u64,
    total: u64,
) -> c_int {
    // `user` is the Catch<F> the wrapper passed with this function, alive for
    // the call (or, for a session, until the session goes).
    let catch = &mut *(user as *mut Catch<F>);
    let stage = if stage.is_null() { "".into() } else { CStr::from_ptr(stage).to_string_lossy() };
    catch.run(|f| f(&Progress { stage: &stage, done, total }))
}

/// The C function for a Catch<F> of a progress closure.
pub(crate) fn progress_fn<F: FnMut(&Progress) -> ControlFlow<()>>(_: &Catch<F>) -> sys::gptq_progress_fn {
    Some(progress_trampoline::<F>)
}

/// A progress closure given to one call, or None. Returning
/// `ControlFlow::Break(())` cancels the call (Status::Cancelled).
pub type ProgressCallback<'a> = Option<&'a mut dyn FnMut(&Progress) -> ControlFlow<()>>;

/// Runs `call` with the C function and user of `progress` (NULL, NULL for
/// none), then resumes the closure's panic, if any.
pub(crate) fn with_progress<R>(
    progress: ProgressCallback<'_>,
    call: impl FnOnce(sys::gptq_progress_fn, *mut c_void) -> R,
) -> R {
    match progress {
        None => call(None, std::ptr::null_mut()),
        Some(f) => {
            let mut catch = Catch::new(f);
            let r = call(progress_fn(&catch), &mut catch as *mut _ as *mut c_void);
            catch.resume();
            r
        }
    }
}

unsafe extern "C" fn token_trampoline<F: FnMut(&str, Option<i32>) -> ControlFlow<()>>(
    user: *mut c_void,
    piece: *const c_char,
    id: i32,
) -> c_int {
    let catch = &mut *(user as *mut Catch<F>);
    let piece = if piece.is_null() { "".into() } else { CStr::from_ptr(piece).to_string_lossy() };
    catch.run(|f| f(&piece, if id < 0 { None } else { Some(id) }))
}

pub(crate) fn token_fn<F: FnMut(&str, Option<i32>) -> ControlFlow<()>>(_: &Catch<F>) -> sys::gptq_token_fn {
    Some(token_trampoline::<F>)
}

unsafe extern "C" fn batch_token_trampoline<F: FnMut(usize, &str, Option<i32>) -> ControlFlow<()>>(
    user: *mut c_void,
    sequence: usize,
    piece: *const c_char,
    id: i32,
) -> c_int {
    // After a panic Catch::run answers "stop" to every sequence: each stops
    // at its next token, and the call returns.
    let catch = &mut *(user as *mut Catch<F>);
    let piece = if piece.is_null() { "".into() } else { CStr::from_ptr(piece).to_string_lossy() };
    catch.run(|f| f(sequence, &piece, if id < 0 { None } else { Some(id) }))
}

pub(crate) fn batch_token_fn<F: FnMut(usize, &str, Option<i32>) -> ControlFlow<()>>(
    _: &Catch<F>,
) -> sys::gptq_batch_token_fn {
    Some(batch_token_trampoline::<F>)
}

/// gptq.h's log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    /// A level this crate does not know (a newer library's).
    Other(u32),
}

impl LogLevel {
    fn from_raw(raw: sys::gptq_log_level) -> LogLevel {
        match raw {
            sys::GPTQ_LOG_ERROR => LogLevel::Error,
            sys::GPTQ_LOG_WARN => LogLevel::Warn,
            sys::GPTQ_LOG_INFO => LogLevel::Info,
            sys::GPTQ_LOG_DEBUG => LogLevel::Debug,
            other => LogLevel::Other(other),
        }
    }
}

pub(crate) type LogClosure = Box<dyn FnMut(LogLevel, &str) + Send>;

/// A context's log sink. The library may call it from any thread that uses
/// the context or its models and sessions, also after the context handle is
/// gone, until its last model and session go: so it is shared (Arc) by the
/// Context, Model and Session values made from one context, and stays at one
/// address, which is the `user` the library holds.
#[derive(Default)]
pub(crate) struct LogSlot {
    f: Mutex<Option<LogClosure>>,
    panic: Mutex<Option<Panic>>,
}

impl LogSlot {
    pub(crate) fn set(&self, f: Option<LogClosure>) {
        *self.f.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }
    /// Resumes a log closure's panic after a call that logged returns.
    pub(crate) fn resume(&self) {
        let p = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = p {
            resume_unwind(p);
        }
    }
}

pub(crate) unsafe extern "C" fn log_trampoline(user: *mut c_void, level: sys::gptq_log_level, msg: *const c_char) {
    let slot = &*(user as *const LogSlot);
    // The library never enters a context's log callback twice at once; a
    // closure that logs into its own context would find the lock taken, and
    // that line is dropped rather than deadlocking.
    let mut f = match slot.f.try_lock() {
        Ok(f) => f,
        Err(_) => return,
    };
    let f = match f.as_mut() {
        Some(f) => f,
        None => return,
    };
    let msg = if msg.is_null() { "".into() } else { CStr::from_ptr(msg).to_string_lossy() };
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(LogLevel::from_raw(level), &msg))) {
        let mut held = slot.panic.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            *held = Some(p);
        }
    }
}
