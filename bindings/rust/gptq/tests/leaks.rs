//! No leaks across the binding: 1,000 open/drop cycles of a model and 1,000
//! failing calls leave the resident set where it was. One test in its own
//! binary, so no other test's allocations move the figures.
mod common;

use gptq::{QuantizeOptions, Status};

/// Resident set size in KiB, from /proc/self/statm.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4 // 4 KiB pages on x86_64 and aarch64 Linux
}

/// RSS after a warm-up of `cycles / 10` and after `cycles` more; the growth
/// must stay under `limit_kib` (a leak of one small allocation per cycle,
/// e.g. a 1 KiB message or a handle, would pass it 1,000 times over).
fn measure(what: &str, cycles: usize, limit_kib: u64, mut step: impl FnMut()) {
    for _ in 0..cycles / 10 {
        step();
    }
    let before = rss_kib();
    for _ in 0..cycles {
        step();
    }
    let after = rss_kib();
    let grew = after.saturating_sub(before);
    println!("{what}: RSS {before} KiB -> {after} KiB after {cycles} cycles (+{grew} KiB)");
    assert!(grew < limit_kib, "{what}: RSS grew {grew} KiB in {cycles} cycles");
}

#[test]
fn open_close_and_failing_calls_keep_rss_stable() {
    let ctx = common::cpu();
    let demo = common::source_dir().join("demo/docs-llama-tiny");
    measure("model open/drop", 1000, 1024, || {
        let model = ctx.open_model(&demo).unwrap();
        assert!(model.tokenizer().unwrap().tokenize("a b", true).unwrap().len() > 1);
    });
    let bad = QuantizeOptions { bits: Some(5), ..Default::default() };
    let w = vec![0.5f32; 32 * 32];
    measure("failing calls", 1000, 1024, || {
        let e = ctx.open_model("/nonexistent/model-dir").unwrap_err();
        assert_eq!(e.status, Status::Io);
        let e = ctx.rtn_matrix(&w, 32, 32, &bad).unwrap_err();
        assert!(e.message.contains("bits"));
    });
}
