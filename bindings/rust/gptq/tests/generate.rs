//! Generation and perplexity through the safe API, checked against the same
//! calls made through the raw C API (gptq-sys) in the same process.
mod common;

use std::ffi::CStr;
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use gptq::{sys, EvalOptions, GenerationOptions, Progress, Status};

const GREEDY_8: &str = r#"{"temperature": 0, "max_new_tokens": 8, "stop_at_eos": false}"#;

unsafe extern "C" fn collect(user: *mut c_void, piece: *const c_char, id: i32) -> c_int {
    let out = &mut *(user as *mut (String, Vec<i32>));
    out.0.push_str(&CStr::from_ptr(piece).to_string_lossy());
    out.1.push(id);
    0
}

/// 8 greedy tokens through gptq.h itself: the ids and text the C API streams.
fn c_api_stream(dir: &std::path::Path) -> (String, Vec<i32>) {
    let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    let cfg = std::ffi::CString::new(GREEDY_8).unwrap();
    let mut out = (String::new(), Vec::new());
    unsafe {
        let (mut ctx, mut model, mut session) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        let runtime = std::ffi::CString::new(r#"{"backend": "cpu", "threads": 2}"#).unwrap();
        assert_eq!(sys::gptq_context_create(runtime.as_ptr(), &mut ctx), sys::GPTQ_OK);
        assert_eq!(sys::gptq_model_open(ctx, path.as_ptr(), &mut model), sys::GPTQ_OK);
        assert_eq!(sys::gptq_session_create(ctx, model, cfg.as_ptr(), &mut session), sys::GPTQ_OK);
        let p = common::PROMPT;
        let st = sys::gptq_generate(session, p.as_ptr() as *const c_char, p.len(), Some(collect), &mut out as *mut _ as *mut c_void);
        assert_eq!(st, sys::GPTQ_OK);
        sys::gptq_session_destroy(session);
        sys::gptq_model_destroy(model);
        sys::gptq_context_destroy(ctx);
    }
    out
}

fn greedy_8() -> GenerationOptions {
    GenerationOptions { temperature: Some(0.0), max_new_tokens: Some(8), stop_at_eos: Some(false), ..Default::default() }
}

#[test]
fn eight_greedy_tokens_stream_the_c_apis_ids() {
    let dir = match common::shared("models/docs-llama-16m") { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let mut session = ctx.create_session(&model, &greedy_8()).unwrap();
    let (mut text, mut ids) = (String::new(), Vec::new());
    session
        .generate(common::PROMPT, |piece, id| {
            text.push_str(piece);
            ids.push(id.unwrap_or(-1));
            ControlFlow::Continue(())
        })
        .unwrap();
    let (c_text, c_ids) = c_api_stream(&dir);
    assert_eq!(ids, c_ids);
    assert_eq!(text, c_text);
    assert_eq!(ids.iter().filter(|&&i| i >= 0).count(), 8, "{ids:?}");
    // What tests/capi/inference_test.cpp sees this model write.
    assert!(text.starts_with(" CREATE TABLE"), "{text:?}");
    // The streamed ids are the text: after the prompt's ids the tokenizer
    // reads them back into it (alone, SentencePiece would drop the first
    // token's leading space).
    let tok = model.tokenizer().unwrap();
    let mut all = tok.tokenize(common::PROMPT, true).unwrap();
    all.extend(ids.iter().copied().filter(|&i| i >= 0));
    assert_eq!(tok.detokenize(&all, true).unwrap(), format!("{}{text}", common::PROMPT));
}

#[test]
fn a_session_moves_to_another_thread_and_reports_progress() {
    let dir = match common::shared("models/docs-llama-16m") { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let mut session = ctx.create_session(&model, &greedy_8()).unwrap();
    // The session keeps model and context alive: both may go first.
    drop(model);
    drop(ctx);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    session
        .set_progress(move |p: &Progress| {
            seen.lock().unwrap().push((p.stage.to_string(), p.done, p.total));
            ControlFlow::Continue(())
        })
        .unwrap();
    let ids = std::thread::spawn(move || {
        let mut ids = Vec::new();
        session.generate(common::PROMPT, |_, id| {
            ids.extend(id);
            ControlFlow::Continue(())
        })
        .unwrap();
        // Cancel from the progress closure: Status::Cancelled.
        session.set_progress(|p: &Progress| if p.done > 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).unwrap();
        let e = session.generate(common::PROMPT, |_, _| ControlFlow::Continue(())).unwrap_err();
        assert_eq!(e.status, Status::Cancelled);
        ids
    })
    .join()
    .unwrap();
    assert_eq!(ids.len(), 8);
    let calls = calls.lock().unwrap();
    assert_eq!(calls[0].0, "generate");
    assert_eq!(calls[0].1, 0);
    assert!(calls.windows(2).all(|w| w[1].1 >= w[0].1));
}

#[test]
fn a_panic_in_on_token_stops_and_is_resumed() {
    let dir = match common::shared("models/docs-llama-16m") { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let mut session = ctx.create_session(&model, &greedy_8()).unwrap();
    let mut calls = 0;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session.generate(common::PROMPT, |_, _| {
            calls += 1;
            panic!("token {calls}")
        })
    }));
    assert_eq!(caught.unwrap_err().downcast_ref::<String>().map(String::as_str), Some("token 1"));
    assert_eq!(calls, 1, "no call after the panic");
    // Break stops: still Ok.
    let mut n = 0;
    session.generate(common::PROMPT, |_, _| { n += 1; if n == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) } }).unwrap();
    assert_eq!(n, 3);
}

const TEXT: &str = "PostgreSQL is a powerful, open source object-relational database system. It has more than \
    thirty years of active development and a proven architecture that has earned it a strong \
    reputation for reliability, feature robustness, and performance. ";

#[test]
fn perplexity_reports_what_the_c_api_reports() {
    let dir = match common::shared("models/docs-llama-16m") { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let text = TEXT.repeat(3);
    let mut done = Vec::new();
    let mut record = |p: &Progress| {
        assert_eq!(p.stage, "perplexity");
        done.push(p.done);
        ControlFlow::Continue(())
    };
    let r = ctx.evaluate(&model, &text, &EvalOptions { seqlen: Some(32), ..Default::default() }, Some(&mut record)).unwrap();
    assert!(r.windows > 2);
    assert_eq!(r.tokens, r.windows * 31);
    assert_eq!((r.seqlen, r.max_windows), (32, 0));
    assert_eq!(r.window_nll.len() as u64, r.windows);
    assert_eq!(r.ppl, r.nll.exp()); // the library's own expression
    assert!(r.ppl > 1.0 && r.ppl < 1000.0, "{}", r.ppl);
    assert_eq!(r.backend, "cpu");
    assert_eq!(done.first(), Some(&0));
    assert_eq!(done.last(), Some(&r.windows));

    // The same evaluation through gptq.h: the same report.
    let (mut raw_report, cfg) = (std::ptr::null(), std::ffi::CString::new(r#"{"seqlen": 32}"#).unwrap());
    let mut c_ctx = std::ptr::null_mut();
    let mut c_model = std::ptr::null_mut();
    let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    let runtime = std::ffi::CString::new(r#"{"backend": "cpu", "threads": 2}"#).unwrap();
    unsafe {
        assert_eq!(sys::gptq_context_create(runtime.as_ptr(), &mut c_ctx), sys::GPTQ_OK);
        assert_eq!(sys::gptq_model_open(c_ctx, path.as_ptr(), &mut c_model), sys::GPTQ_OK);
        let st = sys::gptq_evaluate(c_ctx, c_model, text.as_ptr() as *const c_char, text.len(), cfg.as_ptr(), None,
                                    std::ptr::null_mut(), &mut raw_report);
        assert_eq!(st, sys::GPTQ_OK);
        let c = gptq::json::parse(&CStr::from_ptr(raw_report).to_string_lossy()).unwrap();
        assert_eq!(c.get("ppl").unwrap().as_f64(), Some(r.ppl));
        assert_eq!(c.get("windows").unwrap().as_i64(), Some(r.windows as i64));
        sys::gptq_model_destroy(c_model);
        sys::gptq_context_destroy(c_ctx);
    }

    // A text shorter than one window: the library's message.
    let e = ctx.evaluate(&model, "short", &EvalOptions::default(), None).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("fewer than one window"), "{e}");
    // A model of another context.
    let other = common::cpu();
    let e = other.evaluate(&model, &text, &EvalOptions::default(), None).unwrap_err();
    assert!(e.message.contains("another context"), "{e}");
}

/// A batch: each sequence's greedy text is its prompt's alone; Break stops
/// one sequence and leaves the others whole; a panic stops all and is
/// resumed; no prompt is the library's InvalidArgument with its message.
#[test]
fn a_batch_generates_each_prompt_as_alone() {
    let dir = match common::shared("models/docs-llama-16m") { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let mut session = ctx.create_session(&model, &greedy_8()).unwrap();
    // The prompts of tests/core/eval/generate_test.cpp's GenerateBatch (ragged: 11,
    // 4 and 21 tokens), which checks that their greedy continuations have no
    // near-tie: a batched pass cannot flip a token of them, on any CPU.
    let prompts = [common::PROMPT, "SELECT",
                   "The PostgreSQL documentation explains how to create an index on a table so that queries which filter on"];
    let mut alone = Vec::new();
    for p in prompts {
        let mut text = String::new();
        session.generate(p, |piece, _| { text.push_str(piece); ControlFlow::Continue(()) }).unwrap();
        alone.push(text);
    }
    let mut batch = vec![String::new(); prompts.len()];
    session.generate_batch(&prompts, |seq, piece, _| { batch[seq].push_str(piece); ControlFlow::Continue(()) }).unwrap();
    assert_eq!(batch, alone);
    assert!(batch.iter().all(|t| !t.is_empty()), "{batch:?}");

    let mut batch = vec![String::new(); prompts.len()];
    let mut calls = vec![0; prompts.len()];
    session
        .generate_batch(&prompts, |seq, piece, _| {
            batch[seq].push_str(piece);
            calls[seq] += 1;
            if seq == 1 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .unwrap();
    assert_eq!(calls[1], 1, "sequence 1 went on after Break");
    assert_eq!((&batch[0], &batch[2]), (&alone[0], &alone[2]));

    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session.generate_batch(&prompts, |seq, _, _| panic!("sequence {seq}"))
    }));
    assert!(caught.unwrap_err().downcast_ref::<String>().map_or(false, |m| m.starts_with("sequence ")));

    let e = session.generate_batch(&[], |_, _, _| ControlFlow::Continue(())).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("no prompt"), "{e}");

    session.set_progress(|p: &Progress| if p.done > 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).unwrap();
    let e = session.generate_batch(&prompts, |_, _, _| ControlFlow::Continue(())).unwrap_err();
    assert_eq!(e.status, Status::Cancelled);
}
