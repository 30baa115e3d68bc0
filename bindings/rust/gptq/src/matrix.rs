//! One matrix quantized on its own (gptq.h's experimental one-matrix API).
use std::ptr::{self, NonNull};

use gptq_sys as sys;

use crate::context::Context;
use crate::error::{check, Error, Result};
use crate::options::QuantizeOptions;
use crate::strings::c_string;

/// The layer's inputs that GPTQ weighs the rounding with.
#[derive(Clone, Copy, Debug)]
pub enum LayerInputs<'a> {
    /// H, cols x cols row-major (2/n * sum x x^T, as GPTQ keeps it).
    Hessian(&'a [f32]),
    /// X, n x cols row-major, one input vector per row.
    Activations { data: &'a [f32], n: i64 },
}

/// A row-major array borrowed from a MatrixResult.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Array2<'a, T> {
    pub data: &'a [T],
    pub rows: i64,
    pub cols: i64,
}

/// What quantizing one matrix gave (gptq_matrix_result): the Hugging Face
/// GPTQ tensors, the dequantized weights, the loss and damping.
///
/// `Send + Sync`: gptq.h says "a result never changes once made, so its
/// accessors may be called from several threads at once". The arrays are
/// borrowed from it and live as long as it.
pub struct MatrixResult {
    raw: NonNull<sys::gptq_matrix_result>,
}

// SAFETY: immutable once made, as gptq.h documents.
unsafe impl Send for MatrixResult {}
unsafe impl Sync for MatrixResult {}

/// Checks that a slice holds the elements the C call will read from it.
fn expect_len(what: &str, got: usize, rows: i64, cols: i64) -> Result<()> {
    if rows > 0 && cols > 0 && (rows as u128) * (cols as u128) != got as u128 {
        return Err(Error::invalid(format!("{what} has {got} elements, not {rows} x {cols}")));
    }
    Ok(())
}

impl Context {
    /// GPTQ on `weights` (rows x cols row-major, the nn.Linear weight)
    /// (gptq_quantize_matrix). Runs on the context's threads.
    pub fn quantize_matrix(&self, weights: &[f32], rows: i64, cols: i64, inputs: LayerInputs<'_>,
                           options: &QuantizeOptions) -> Result<MatrixResult> {
        expect_len("weights", weights.len(), rows, cols)?;
        let (h, x, n) = match inputs {
            LayerInputs::Hessian(h) => {
                expect_len("hessian", h.len(), cols, cols)?;
                (h.as_ptr(), ptr::null(), 0)
            }
            LayerInputs::Activations { data, n } => {
                expect_len("activations", data.len(), n, cols)?;
                (ptr::null(), data.as_ptr(), n)
            }
        };
        let json = c_string("quantize options", &options.to_json())?;
        let mut raw = ptr::null_mut();
        let st = unsafe { sys::gptq_quantize_matrix(self.raw(), weights.as_ptr(), rows, cols, h, x, n, json.as_ptr(), &mut raw) };
        let r = check(st);
        self.log_slot().resume();
        r?;
        Ok(MatrixResult { raw: NonNull::new(raw).expect("GPTQ_OK and no result") })
    }

    /// Round-to-nearest on the same grid (gptq_rtn_matrix).
    pub fn rtn_matrix(&self, weights: &[f32], rows: i64, cols: i64, options: &QuantizeOptions) -> Result<MatrixResult> {
        expect_len("weights", weights.len(), rows, cols)?;
        let json = c_string("quantize options", &options.to_json())?;
        let mut raw = ptr::null_mut();
        let st = unsafe { sys::gptq_rtn_matrix(self.raw(), weights.as_ptr(), rows, cols, json.as_ptr(), &mut raw) };
        let r = check(st);
        self.log_slot().resume();
        r?;
        Ok(MatrixResult { raw: NonNull::new(raw).expect("GPTQ_OK and no result") })
    }
}

type Accessor<T> = unsafe extern "C" fn(*const sys::gptq_matrix_result, *mut *const T, *mut i64, *mut i64) -> sys::gptq_status;

impl MatrixResult {
    fn array<T>(&self, get: Accessor<T>) -> Result<Array2<'_, T>> {
        let (mut p, mut rows, mut cols) = (ptr::null(), 0i64, 0i64);
        check(unsafe { get(self.raw.as_ptr(), &mut p, &mut rows, &mut cols) })?;
        let len = (rows.max(0) * cols.max(0)) as usize;
        // Owned by the result and unchanged until it is destroyed (gptq.h).
        let data = if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(p, len) } };
        Ok(Array2 { data, rows, cols })
    }

    /// qweight int32 [cols * bits / 32, rows], as a HF GPTQ checkpoint holds it.
    pub fn qweight(&self) -> Result<Array2<'_, i32>> {
        self.array(sys::gptq_matrix_result_qweight)
    }
    /// qzeros int32 [G, rows * bits / 32] (zero points in the checkpoint format).
    pub fn qzeros(&self) -> Result<Array2<'_, i32>> {
        self.array(sys::gptq_matrix_result_qzeros)
    }
    /// scales as IEEE fp16 bits [G, rows].
    pub fn scales_fp16(&self) -> Result<Array2<'_, u16>> {
        self.array(sys::gptq_matrix_result_scales_fp16)
    }
    /// g_idx int32 [cols]: each input column's group.
    pub fn g_idx(&self) -> Result<&[i32]> {
        let (mut p, mut n) = (ptr::null(), 0i64);
        check(unsafe { sys::gptq_matrix_result_g_idx(self.raw.as_ptr(), &mut p, &mut n) })?;
        Ok(if n <= 0 { &[] } else { unsafe { std::slice::from_raw_parts(p, n as usize) } })
    }
    /// The dequantized weights float [rows, cols].
    pub fn dequantized(&self) -> Result<Array2<'_, f32>> {
        self.array(sys::gptq_matrix_result_dequantized)
    }
    /// float32 scales [G, rows].
    pub fn scales(&self) -> Result<Array2<'_, f32>> {
        self.array(sys::gptq_matrix_result_scales)
    }
    /// True zero points [G, rows], in [0, 2^bits).
    pub fn zeros(&self) -> Result<Array2<'_, i32>> {
        self.array(sys::gptq_matrix_result_zeros)
    }
    /// The GPTQ loss (0 for RTN).
    pub fn loss(&self) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { sys::gptq_matrix_result_loss(self.raw.as_ptr(), &mut v) })?;
        Ok(v)
    }
    /// The damping fraction finally used (0 for RTN).
    pub fn damp_percent(&self) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { sys::gptq_matrix_result_damp_percent(self.raw.as_ptr(), &mut v) })?;
        Ok(v)
    }
}

impl Drop for MatrixResult {
    fn drop(&mut self) {
        unsafe { sys::gptq_matrix_result_destroy(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for MatrixResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixResult").field("raw", &self.raw).finish()
    }
}
