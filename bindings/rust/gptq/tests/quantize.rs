//! Quantizing the demo model through the safe API: progress, cancel, the
//! checkpoint written, errors that name the field.
mod common;

use std::ops::ControlFlow;

use gptq::{CalibrationOptions, Progress, QuantizeOptions, Status};

fn demo() -> std::path::PathBuf {
    common::source_dir().join("demo/docs-llama-tiny")
}

fn options() -> QuantizeOptions {
    QuantizeOptions {
        bits: Some(4),
        group_size: Some(128),
        calibration: Some(CalibrationOptions {
            files: Some(vec![common::source_dir().join("demo/text/calib.txt").to_string_lossy().into_owned()]),
            nsamples: Some(4),
            seqlen: Some(64),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// done starts at 0, never decreases, ends at a total that never changes.
fn well_formed(calls: &[(String, u64, u64)], stage: &str) {
    let s: Vec<_> = calls.iter().filter(|c| c.0 == stage).collect();
    assert!(!s.is_empty(), "no {stage} calls");
    assert_eq!(s[0].1, 0, "{stage}");
    for w in s.windows(2) {
        assert!(w[1].1 >= w[0].1 && w[1].2 == w[0].2, "{stage}: {:?} then {:?}", w[0], w[1]);
    }
    assert_eq!(s.last().unwrap().1, s[0].2, "{stage} ends at its total");
}

#[test]
fn quantizes_the_demo_model_with_progress() {
    let ctx = common::cpu();
    let out = common::TempPath::new("quantized");
    let mut calls = Vec::new();
    let mut record = |p: &Progress| {
        calls.push((p.stage.to_string(), p.done, p.total));
        ControlFlow::Continue(())
    };
    let report = ctx.quantize_model(demo(), &options(), &out.0, Some(&mut record)).unwrap();
    well_formed(&calls, "quantize");
    well_formed(&calls, "write checkpoint");
    let report = gptq::json::parse(&report).unwrap();
    // 6 layers of 7 linears.
    assert_eq!(report.get("layers").unwrap().as_array().unwrap().len(), 42);
    // The checkpoint opens, as a GPTQ model with the options given.
    let model = ctx.open_model(&out.0).unwrap();
    let info = gptq::json::parse(&model.info_json().unwrap()).unwrap();
    let q = info.get("quantization").unwrap();
    assert_eq!(q.get("bits").unwrap().as_i64(), Some(4));
    assert_eq!(q.get("group_size").unwrap().as_i64(), Some(128));
}

#[test]
fn a_cancel_from_the_callback_writes_nothing() {
    let ctx = common::cpu();
    let out = common::TempPath::new("cancelled");
    let mut calls = 0;
    let mut cancel = |p: &Progress| {
        calls += 1;
        if p.stage == "quantize" && p.done > 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let e = ctx.quantize_model(demo(), &options(), &out.0, Some(&mut cancel)).unwrap_err();
    assert_eq!(e.status, Status::Cancelled, "{e}");
    assert!(calls >= 2);
    assert!(!out.0.exists(), "a cancelled run left {}", out.0.display());
    // Nothing beside it either (no staging directory left).
    let stem = out.0.file_name().unwrap().to_string_lossy().into_owned();
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&stem))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_panic_in_the_callback_cancels_and_is_resumed_after_the_call() {
    let ctx = common::cpu();
    let out = common::TempPath::new("panicked");
    let mut panicky = |p: &Progress| -> ControlFlow<()> {
        if p.stage == "quantize" && p.done > 0 {
            panic!("stop here at {}", p.done);
        }
        ControlFlow::Continue(())
    };
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.quantize_model(demo(), &options(), &out.0, Some(&mut panicky))
    }));
    let payload = caught.expect_err("the panic comes back");
    let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.starts_with("stop here at "), "{msg}");
    assert!(!out.0.exists());
    // The context is still usable.
    assert_eq!(ctx.backend().unwrap(), "cpu");
}

#[test]
fn bad_options_and_paths_are_the_librarys_errors() {
    let ctx = common::cpu();
    let out = common::TempPath::new("bad");
    let bad = QuantizeOptions { bits: Some(5), ..options() };
    let e = ctx.quantize_model(demo(), &bad, &out.0, None).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("bits"), "{e}");
    assert!(e.to_string().starts_with("INVALID_ARGUMENT: "), "{e}");
    let missing = common::source_dir().join("demo/no-such-model");
    let e = ctx.quantize_model(&missing, &options(), &out.0, None).unwrap_err();
    assert!(e.message.contains("no-such-model"), "{e}");
    assert!(!out.0.exists());
}
