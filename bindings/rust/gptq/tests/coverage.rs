//! Every function of gptq.h (as gptq-sys declares it) is called by the safe
//! API, but for the few this list names with the reason: a function added to
//! gptq.h without its Rust binding fails here.
use std::path::Path;

const NOT_WRAPPED: &[(&str, &str)] = &[
    ("gptq_clear_error", "Error copies gptq_last_error at once"),
    ("gptq_perplexity", "deprecated: Context::evaluate's EvalReport holds its numbers"),
    ("gptq_matrix_result_qweight_copy", "MatrixResult lends its arrays as slices"),
    ("gptq_matrix_result_qzeros_copy", "MatrixResult lends its arrays as slices"),
    ("gptq_matrix_result_scales_fp16_copy", "MatrixResult lends its arrays as slices"),
    ("gptq_matrix_result_g_idx_copy", "MatrixResult lends its arrays as slices"),
    ("gptq_matrix_result_dequantized_copy", "MatrixResult lends its arrays as slices"),
    ("gptq_matrix_result_scales_copy", "MatrixResult lends its arrays as slices"),
    ("gptq_matrix_result_zeros_copy", "MatrixResult lends its arrays as slices"),
];

#[test]
fn every_function_of_gptq_h_is_wrapped() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bindings = std::fs::read_to_string(here.join("../gptq-sys/src/bindings.rs")).unwrap();
    let mut sources = String::new();
    for entry in std::fs::read_dir(here.join("src")).unwrap() {
        sources += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    let declared: Vec<&str> = bindings
        .split("pub fn ")
        .skip(1)
        .map(|rest| rest.split('(').next().unwrap())
        .collect();
    assert!(declared.len() > 40, "the declarations were not read: {declared:?}");
    let mut missing = Vec::new();
    for f in &declared {
        let used = sources.contains(&format!("sys::{f}("))
            || sources.contains(&format!("sys::{f})"))
            || sources.contains(&format!("sys::{f},"));
        let excused = NOT_WRAPPED.iter().any(|(name, _)| name == f);
        assert!(!(used && excused), "{f} is wrapped: take it off NOT_WRAPPED");
        if !used && !excused {
            missing.push(*f);
        }
    }
    assert!(missing.is_empty(), "gptq.h functions without a safe binding: {missing:?}");
    for (name, _) in NOT_WRAPPED {
        assert!(declared.contains(name), "{name} is no longer in gptq.h");
    }
}
