//! What the safe API adds to a call, measured against the same call made
//! straight through gptq.h (gptq-sys: the C ABI call a C program makes), in
//! one run, interleaved, after a warm-up; medians of 15 repetitions. Both
//! contexts compute on one thread, so that neither's idle workers take the
//! other's cores.
//!   cargo bench --offline --bench crossing -- [--json FILE] [--line]
//! --line: last, the safe API's figures as the one JSON line of
//! bench/crossing/README.md's protocol (bench/run_crossing_bench.py reads it);
//! its callback_us is the closure's per-token time minus the C callback's.
use std::ffi::CStr;
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::time::Instant;

use gptq::{sys, GenerationOptions, RuntimeOptions};

/// Repetitions: 15, or GPTQ_BENCH_REPS (the crossing protocol's override).
fn reps() -> usize {
    std::env::var("GPTQ_BENCH_REPS").ok().and_then(|s| s.parse().ok()).filter(|&n| n >= 1).unwrap_or(15)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Medians of `ours` and `baseline` (seconds per call of each closure divided
/// by `per`), timed alternately so that drift in the machine hits both.
fn compare(per: f64, mut ours: impl FnMut(), mut baseline: impl FnMut()) -> (f64, f64) {
    ours();
    baseline();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..reps() {
        let t = Instant::now();
        ours();
        a.push(t.elapsed().as_secs_f64() / per);
        let t = Instant::now();
        baseline();
        b.push(t.elapsed().as_secs_f64() / per);
    }
    (median(a), median(b))
}

unsafe extern "C" fn count_token(user: *mut c_void, _piece: *const c_char, _id: i32) -> c_int {
    *(user as *mut usize) += 1;
    0
}

fn shell(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd).args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json_out = args.iter().position(|a| a == "--json").map(|i| PathBuf::from(&args[i + 1]));
    let line = args.iter().any(|a| a == "--line");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let ctx = gptq::Context::new(&RuntimeOptions { backend: Some("cpu".into()), threads: Some(1), ..Default::default() }).unwrap();
    let model = ctx.open_model(root.join("demo/docs-llama-tiny")).unwrap();
    let tok = model.tokenizer().unwrap();
    let mut rows = Vec::new();

    // 1. A trivial call.
    const CALLS: usize = 1_000_000;
    // Sums of what the calls return keep the optimizer from dropping them.
    let mut sink = 0usize;
    let mut raw_sink = 0usize;
    let (ours, base) = compare(
        CALLS as f64,
        || for _ in 0..CALLS { sink = sink.wrapping_add(gptq::version().len()); },
        || for _ in 0..CALLS { raw_sink = raw_sink.wrapping_add(unsafe { sys::gptq_version() } as usize); },
    );
    println!("(checksums {sink} {raw_sink})");
    rows.push(("gptq_version(): version() -> &str vs the C call".to_string(), "ns", ours * 1e9, base * 1e9));

    // 2. Tokenizing 1 KB of the demo's evaluation text.
    let text_all = std::fs::read_to_string(root.join("demo/text/eval.txt")).unwrap();
    let mut end = 1024;
    while !text_all.is_char_boundary(end) {
        end += 1;
    }
    let text = &text_all[..end];
    let text_len = text.len();
    let raw_tok = {
        let mut p = std::ptr::null();
        assert_eq!(unsafe { sys::gptq_model_tokenizer(raw_ctx_model(&root).1, &mut p) }, sys::GPTQ_OK);
        p
    };
    let mut buf = vec![0i32; 4096];
    const TOKENIZE: usize = 200;
    let (ours, base) = compare(
        TOKENIZE as f64,
        || for _ in 0..TOKENIZE { assert!(!tok.tokenize(text, true).unwrap().is_empty()); },
        || for _ in 0..TOKENIZE {
            let mut n = 0usize;
            let st = unsafe { sys::gptq_tokenize(raw_tok, text.as_ptr() as *const c_char, text.len(), 0, buf.as_mut_ptr(), buf.len(), &mut n) };
            assert_eq!(st, sys::GPTQ_OK);
            assert!(n > 0);
        },
    );
    rows.push((format!("tokenize {} bytes (demo tokenizer): tokenize() -> Vec vs the C call into a ready buffer", text.len()), "us", ours * 1e6, base * 1e6));

    // 3. A 256-token greedy generation streamed to a closure vs a C callback.
    let greedy = GenerationOptions { temperature: Some(0.0), max_new_tokens: Some(256), stop_at_eos: Some(false), ..Default::default() };
    let mut session = ctx.create_session(&model, &greedy).unwrap();
    let raw_session = raw_session(&root);
    let prompt = "To create a table";
    let (ours, base) = compare(
        256.0,
        || {
            let mut n = 0;
            session.generate(prompt, |_, _| { n += 1; ControlFlow::Continue(()) }).unwrap();
            assert!(n >= 256);
        },
        || {
            let mut n = 0usize;
            let st = unsafe { sys::gptq_generate(raw_session, prompt.as_ptr() as *const c_char, prompt.len(), Some(count_token), &mut n as *mut usize as *mut c_void) };
            assert_eq!(st, sys::GPTQ_OK);
            assert!(n >= 256);
        },
    );
    rows.push(("per token of a 256-token greedy generation (demo model, CPU): closure vs C callback".to_string(), "us", ours * 1e6, base * 1e6));

    let device = ctx.device_name().unwrap();
    println!("{:<100} {:>12} {:>12}  unit", "case", "rust", "c");
    for (case, unit, ours, base) in &rows {
        println!("{case:<100} {ours:>12.3} {base:>12.3}  {unit}");
    }
    if let Some(path) = json_out {
        let commit = shell("git", &["-C", root.to_str().unwrap(), "describe", "--always", "--dirty"]);
        let date = shell("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]);
        let rows_json: Vec<String> = rows
            .iter()
            .map(|(case, unit, ours, base)| {
                format!(
                    "    {{\"case\": {}, \"unit\": \"{unit}\", \"ours\": {ours:.4}, \"baseline\": {base:.4}, \"baseline_name\": \"c_api_direct\", \"speedup\": {:.3}}}",
                    gptq::json::quote(case),
                    base / ours
                )
            })
            .collect();
        let json = format!(
            "{{\n  \"bench\": \"rust_crossing\",\n  \"device\": {},\n  \"commit\": \"{commit}\",\n  \"date\": \"{date}\",\n  \"command\": \"cargo bench --offline --bench crossing -- --json {}\",\n  \"rows\": [\n{}\n  ]\n}}\n",
            gptq::json::quote(&device),
            path.display(),
            rows_json.join(",\n")
        );
        std::fs::write(&path, json).unwrap();
        println!("wrote {}", path.display());
    }
    if line {
        println!(
            "{{\"language\": \"rust\", \"version_ns\": {:.4}, \"tokenize_us\": {:.4}, \"tokenize_bytes\": {}, \"per_token_us\": {:.4}, \"callback_us\": {:.4}}}",
            rows[0].2, rows[1].2, text_len, rows[2].2, rows[2].2 - rows[2].3
        );
    }
}

/// The C API's own handles for the baselines: a model and a session made
/// through gptq.h, on a context of their own (never freed: the process ends).
fn raw_ctx_model(root: &std::path::Path) -> (*mut sys::gptq_context, *mut sys::gptq_model) {
    let runtime = std::ffi::CString::new(r#"{"backend": "cpu", "threads": 1}"#).unwrap();
    let dir = std::ffi::CString::new(root.join("demo/docs-llama-tiny").to_str().unwrap()).unwrap();
    let (mut ctx, mut model) = (std::ptr::null_mut(), std::ptr::null_mut());
    unsafe {
        assert_eq!(sys::gptq_context_create(runtime.as_ptr(), &mut ctx), sys::GPTQ_OK);
        assert_eq!(sys::gptq_model_open(ctx, dir.as_ptr(), &mut model), sys::GPTQ_OK, "{:?}", CStr::from_ptr(sys::gptq_last_error()));
    }
    (ctx, model)
}

fn raw_session(root: &std::path::Path) -> *mut sys::gptq_session {
    let (ctx, model) = raw_ctx_model(root);
    let cfg = std::ffi::CString::new(r#"{"temperature": 0, "max_new_tokens": 256, "stop_at_eos": false}"#).unwrap();
    let mut s = std::ptr::null_mut();
    assert_eq!(unsafe { sys::gptq_session_create(ctx, model, cfg.as_ptr(), &mut s) }, sys::GPTQ_OK);
    s
}
