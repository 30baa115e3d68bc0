//! Tokenizers: a model's, or one opened on its own.
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use gptq_sys as sys;

use crate::error::{check, Result};
use crate::strings::c_path;

/// A Hugging Face tokenizer (gptq_tokenizer). `Tokenizer<'static>` is one
/// opened on its own (`Tokenizer::open`) and freed on drop; `Tokenizer<'m>`
/// is a model's, borrowed for the model's lifetime `'m`.
///
/// `Send + Sync`: gptq.h says a tokenizer is "immutable once opened: one
/// tokenizer may be used by several threads at once".
pub struct Tokenizer<'m> {
    raw: NonNull<sys::gptq_tokenizer>,
    owned: bool,
    _model: PhantomData<&'m ()>,
}

// SAFETY: immutable and thread-safe as gptq.h documents.
unsafe impl Send for Tokenizer<'_> {}
unsafe impl Sync for Tokenizer<'_> {}

impl Tokenizer<'static> {
    /// Opens a tokenizer.json, or a directory holding one (gptq_tokenizer_open).
    pub fn open(path: impl AsRef<Path>) -> Result<Tokenizer<'static>> {
        let path = c_path("tokenizer path", path.as_ref())?;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::gptq_tokenizer_open(path.as_ptr(), &mut raw) })?;
        Ok(Tokenizer { raw: NonNull::new(raw).expect("GPTQ_OK and no tokenizer"), owned: true, _model: PhantomData })
    }
}

impl<'m> Tokenizer<'m> {
    /// # Safety
    /// `raw` is a model's tokenizer, valid for `'m`.
    pub(crate) unsafe fn borrowed(raw: *const sys::gptq_tokenizer) -> Tokenizer<'m> {
        Tokenizer { raw: NonNull::new(raw as *mut _).expect("GPTQ_OK and no tokenizer"), owned: false, _model: PhantomData }
    }

    /// Token ids of `text` (UTF-8; invalid sequences become U+FFFD), identical
    /// to Hugging Face tokenizers'. `add_special`: add the special tokens
    /// transformers' tokenizer(text) adds (e.g. BOS).
    pub fn tokenize(&self, text: impl AsRef<[u8]>, add_special: bool) -> Result<Vec<i32>> {
        let text = text.as_ref();
        let flags = if add_special { 0 } else { sys::GPTQ_TOKENIZE_NO_SPECIAL };
        // Room for one id per byte and a few special tokens: one call is then
        // enough for any BPE text (every token but a special one covers a
        // byte at least); the size the library reports covers the rest.
        let mut ids: Vec<i32> = vec![0; text.len() + 8];
        loop {
            let mut n = 0usize;
            let st = unsafe {
                sys::gptq_tokenize(self.raw.as_ptr(), text.as_ptr() as *const c_char, text.len(), flags,
                                   ids.as_mut_ptr(), ids.len(), &mut n)
            };
            // Too small: the size needed was set, nothing written; ask again.
            if st == sys::GPTQ_ERR_BUFFER_TOO_SMALL && n > ids.len() {
                ids.resize(n, 0);
                continue;
            }
            check(st)?;
            ids.truncate(n);
            return Ok(ids);
        }
    }

    /// Text of `ids` as Hugging Face's decode gives it. `skip_special`: leave
    /// special tokens out.
    pub fn detokenize(&self, ids: &[i32], skip_special: bool) -> Result<String> {
        let flags = if skip_special { sys::GPTQ_DETOKENIZE_SKIP_SPECIAL } else { 0 };
        // Text outputs are followed by a NUL: size + 1 bytes.
        let mut buf: Vec<u8> = vec![0; ids.len() * 8 + 1];
        loop {
            let mut len = 0usize;
            let st = unsafe {
                sys::gptq_detokenize(self.raw.as_ptr(), ids.as_ptr(), ids.len(), flags,
                                     buf.as_mut_ptr() as *mut c_char, buf.len(), &mut len)
            };
            if st == sys::GPTQ_ERR_BUFFER_TOO_SMALL && len + 1 > buf.len() {
                buf.resize(len + 1, 0);
                continue;
            }
            check(st)?;
            buf.truncate(len);
            return Ok(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()));
        }
    }
}

impl Drop for Tokenizer<'_> {
    fn drop(&mut self) {
        if self.owned {
            unsafe { sys::gptq_tokenizer_destroy(self.raw.as_ptr()) }
        }
    }
}

impl std::fmt::Debug for Tokenizer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("raw", &self.raw).field("owned", &self.owned).finish()
    }
}
