//! One matrix quantized through the safe API: the packed Hugging Face tensors
//! have the shapes gptq.h gives, and unpacked they are the dequantized weights.
#![allow(clippy::needless_range_loop)] // one (row, col) indexes several arrays
mod common;

use gptq::{LayerInputs, QuantizeOptions, Status};

/// Deterministic values in [-1, 1) (a linear congruential generator).
fn values(n: usize, mut seed: u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn packed_tensors_unpack_to_the_dequantized_weights() {
    let (rows, cols, n, group) = (64i64, 128i64, 256i64, 32i64);
    let w = values((rows * cols) as usize, 1);
    let x = values((n * cols) as usize, 2);
    let ctx = common::cpu();
    let opts = QuantizeOptions { bits: Some(4), group_size: Some(group as i32), ..Default::default() };
    let r = ctx.quantize_matrix(&w, rows, cols, LayerInputs::Activations { data: &x, n }, &opts).unwrap();
    let groups = cols / group;

    let qweight = r.qweight().unwrap();
    assert_eq!((qweight.rows, qweight.cols), (cols * 4 / 32, rows));
    let qzeros = r.qzeros().unwrap();
    assert_eq!((qzeros.rows, qzeros.cols), (groups, rows * 4 / 32));
    let scales16 = r.scales_fp16().unwrap();
    assert_eq!((scales16.rows, scales16.cols), (groups, rows));
    let g_idx = r.g_idx().unwrap();
    assert_eq!(g_idx.len(), cols as usize);
    let want_groups: Vec<i32> = (0..cols).map(|k| (k / group) as i32).collect();
    assert_eq!(g_idx, &want_groups[..]);
    let deq = r.dequantized().unwrap();
    let scales = r.scales().unwrap();
    let zeros = r.zeros().unwrap();
    assert_eq!((deq.rows, deq.cols), (rows, cols));
    assert_eq!((zeros.rows, zeros.cols), (groups, rows));

    // qweight packs 8 codes of one output row along its input columns; the
    // dequantized weight is scale * (code - zero) with the float32 scales, the
    // same float expression, so it matches to the last bit but for contraction.
    for row in 0..rows as usize {
        for col in 0..cols as usize {
            let word = qweight.data[(col / 8) * rows as usize + row];
            let code = (word >> (4 * (col % 8))) & 0xF;
            let g = g_idx[col] as usize;
            let zero = zeros.data[g * rows as usize + row];
            let scale = scales.data[g * rows as usize + row];
            let want = scale * (code - zero) as f32;
            let got = deq.data[row * cols as usize + col];
            assert!((got - want).abs() <= 1e-6 * scale.abs().max(1e-30) * 16.0, "[{row}, {col}]: {got} vs {want}");
        }
    }
    // Format v1 stores zero points minus one, packed 8 to an int32 along rows.
    for g in 0..groups as usize {
        for row in 0..rows as usize {
            let word = qzeros.data[g * qzeros.cols as usize + row / 8];
            let stored = (word >> (4 * (row % 8))) & 0xF;
            assert_eq!(stored, (zeros.data[g * rows as usize + row] - 1) & 0xF, "qzeros[{g}, {row}]");
        }
    }
    assert!(r.loss().unwrap() > 0.0);
    assert!(r.damp_percent().unwrap() >= 0.05);

    // The result is Send + Sync: read from another thread.
    let r = std::sync::Arc::new(r);
    let r2 = r.clone();
    let len = std::thread::spawn(move || r2.qweight().unwrap().data.len()).join().unwrap();
    assert_eq!(len, (cols * 4 / 32 * rows) as usize);
}

#[test]
fn bad_shapes_and_options_are_errors() {
    let ctx = common::cpu();
    let w = values(64 * 128, 3);
    // A slice shorter than rows x cols never reaches the library.
    let e = ctx.rtn_matrix(&w[..100], 64, 128, &QuantizeOptions::default()).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("weights"), "{e}");
    let e = ctx.rtn_matrix(&w, 64, 128, &QuantizeOptions { bits: Some(5), ..Default::default() }).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("bits"), "{e}");
    // group_size must divide cols: the library's check, its message.
    let e = ctx.rtn_matrix(&w, 64, 128, &QuantizeOptions { group_size: Some(48), ..Default::default() }).unwrap_err();
    assert!(e.message.contains("group_size"), "{e}");
}
