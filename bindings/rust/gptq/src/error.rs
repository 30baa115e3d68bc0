//! Status codes and the error every fallible call returns.
use std::ffi::CStr;
use std::fmt;

use gptq_sys as sys;

/// gptq.h's `gptq_status` other than GPTQ_OK. `Unknown` keeps a status this
/// crate does not know (a newer library's), as gptq.h allows any int.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    InvalidArgument,
    Io,
    Format,
    Unsupported,
    OutOfMemory,
    Device,
    Numerical,
    Cancelled,
    Internal,
    BufferTooSmall,
    Reentrant,
    Unknown(u32),
}

impl Status {
    fn from_raw(raw: sys::gptq_status) -> Status {
        match raw {
            sys::GPTQ_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::GPTQ_ERR_IO => Status::Io,
            sys::GPTQ_ERR_FORMAT => Status::Format,
            sys::GPTQ_ERR_UNSUPPORTED => Status::Unsupported,
            sys::GPTQ_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::GPTQ_ERR_DEVICE => Status::Device,
            sys::GPTQ_ERR_NUMERICAL => Status::Numerical,
            sys::GPTQ_ERR_CANCELLED => Status::Cancelled,
            sys::GPTQ_ERR_INTERNAL => Status::Internal,
            sys::GPTQ_ERR_BUFFER_TOO_SMALL => Status::BufferTooSmall,
            sys::GPTQ_ERR_REENTRANT => Status::Reentrant,
            other => Status::Unknown(other),
        }
    }

    /// The C value.
    pub fn raw(self) -> sys::gptq_status {
        match self {
            Status::InvalidArgument => sys::GPTQ_ERR_INVALID_ARGUMENT,
            Status::Io => sys::GPTQ_ERR_IO,
            Status::Format => sys::GPTQ_ERR_FORMAT,
            Status::Unsupported => sys::GPTQ_ERR_UNSUPPORTED,
            Status::OutOfMemory => sys::GPTQ_ERR_OUT_OF_MEMORY,
            Status::Device => sys::GPTQ_ERR_DEVICE,
            Status::Numerical => sys::GPTQ_ERR_NUMERICAL,
            Status::Cancelled => sys::GPTQ_ERR_CANCELLED,
            Status::Internal => sys::GPTQ_ERR_INTERNAL,
            Status::BufferTooSmall => sys::GPTQ_ERR_BUFFER_TOO_SMALL,
            Status::Reentrant => sys::GPTQ_ERR_REENTRANT,
            Status::Unknown(raw) => raw,
        }
    }

    /// The library's name of it, e.g. "INVALID_ARGUMENT" ("UNKNOWN" outside the enum).
    pub fn name(self) -> &'static str {
        // Static storage (gptq.h), so borrowing it for 'static is sound.
        unsafe { CStr::from_ptr(sys::gptq_status_name(self.raw())) }.to_str().unwrap_or("UNKNOWN")
    }
}

/// A failed call: its status and the library's message (gptq_last_error, read
/// on the calling thread right after the call, before anything else can
/// replace it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    /// An error made on the Rust side (e.g. a NUL inside a path), with the
    /// status the library gives the same mistake.
    pub(crate) fn invalid(message: String) -> Error {
        Error { status: Status::InvalidArgument, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Ok for GPTQ_OK; otherwise the status with this thread's message. Call it
/// straight after the C call, on the same thread.
pub(crate) fn check(raw: sys::gptq_status) -> Result<()> {
    if raw == sys::GPTQ_OK {
        return Ok(());
    }
    let message = unsafe { CStr::from_ptr(sys::gptq_last_error()) }.to_string_lossy().into_owned();
    Err(Error { status: Status::from_raw(raw), message })
}
