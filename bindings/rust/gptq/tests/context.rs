//! Contexts, their log sink and the error paths common to every handle.
mod common;

use std::sync::{Arc, Mutex};

use gptq::{LogLevel, RuntimeOptions, Status};

#[test]
fn a_missing_directory_is_an_io_error_naming_it() {
    let ctx = common::cpu();
    let e = ctx.open_model("/nonexistent/model-dir").unwrap_err();
    assert_eq!(e.status, Status::Io, "{e}");
    assert!(e.message.contains("/nonexistent/model-dir"), "{e}");
    let e = gptq::Tokenizer::open("/nonexistent/tokenizer.json").unwrap_err();
    assert_eq!(e.status, Status::Io);
    // A NUL inside a path never reaches the library.
    let e = ctx.open_model("a\0b").unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("NUL"), "{e}");
}

#[test]
fn a_bad_runtime_option_names_the_field() {
    let e = gptq::Context::new(&RuntimeOptions { threads: Some(-1), ..Default::default() }).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("threads"), "{e}");
    let e = gptq::Context::new(&RuntimeOptions { backend: Some("tpu".into()), ..Default::default() }).unwrap_err();
    assert!(e.message.contains("backend"), "{e}");
}

#[test]
fn the_log_closure_gets_the_lines_and_its_panic_comes_back() {
    let mut ctx = gptq::Context::new(&RuntimeOptions { backend: Some("cpu".into()), log_level: Some("debug".into()), ..Default::default() }).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    // The lines written while the context was created are replayed.
    ctx.set_log(move |level, msg| sink.lock().unwrap().push((level, msg.to_string()))).unwrap();
    assert!(!lines.lock().unwrap().is_empty());
    assert!(lines.lock().unwrap().iter().all(|(l, _)| *l <= LogLevel::Debug));
    let before = lines.lock().unwrap().len();
    let _ = ctx.open_model("/nonexistent/model-dir");
    let e = ctx.open_model(common::source_dir().join("demo/docs-llama-tiny")).map(|_| ());
    assert!(e.is_ok(), "{e:?}");
    assert!(lines.lock().unwrap().len() > before, "opening a model logs at debug level");

    ctx.set_log(|_, msg| panic!("log: {msg}")).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.open_model(common::source_dir().join("demo/docs-llama-tiny")).map(|_| ())
    }));
    let msg = caught.expect_err("the log closure's panic").downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.starts_with("log: "), "{msg}");
    ctx.clear_log().unwrap();
    assert!(ctx.open_model(common::source_dir().join("demo/docs-llama-tiny")).is_ok());
}

#[test]
fn a_context_moves_to_another_thread() {
    let ctx = common::cpu();
    let backend = std::thread::spawn(move || ctx.backend().unwrap()).join().unwrap();
    assert_eq!(backend, "cpu");
    assert!(!gptq::version().is_empty());
    assert_eq!(gptq::abi_version(), gptq::sys::GPTQ_ABI_VERSION);
}

#[test]
fn send_and_sync_are_what_gptq_h_documents() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<gptq::Context>(); // one thread at a time: Send, not Sync (a compile_fail doctest in lib.rs)
    send::<gptq::Session>(); // likewise
    send_sync::<gptq::Model>(); // read-only once opened
    send_sync::<gptq::Tokenizer<'static>>(); // immutable once opened
    send_sync::<gptq::MatrixResult>(); // never changes once made
    send_sync::<gptq::Error>();
}

#[test]
fn configs_convert_with_defaults_and_name_a_bad_field() {
    use gptq::{convert_config, ConfigKind, Encoding};
    let json = convert_config(ConfigKind::Quantize, b"{}", Encoding::Json, Encoding::Json).unwrap();
    let v = gptq::json::parse(std::str::from_utf8(&json).unwrap()).unwrap();
    assert_eq!(v.get("bits").unwrap().as_i64(), Some(4));
    // An option struct's JSON, through the binary flatbuffer and back.
    let opts = gptq::GenerationOptions { max_new_tokens: Some(7), stop: Some(vec!["\n\n".into()]), ..Default::default() };
    let bin = convert_config(ConfigKind::Generation, opts.to_json().as_bytes(), Encoding::Json, Encoding::Binary).unwrap();
    let back = convert_config(ConfigKind::Generation, &bin, Encoding::Binary, Encoding::Json).unwrap();
    let v = gptq::json::parse(std::str::from_utf8(&back).unwrap()).unwrap();
    assert_eq!(v.get("max_new_tokens").unwrap().as_i64(), Some(7));
    assert_eq!(v.get("stop").unwrap().as_array().unwrap()[0].as_str(), Some("\n\n"));
    let e = convert_config(ConfigKind::Quantize, br#"{"bits": 5}"#, Encoding::Json, Encoding::Json).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("bits"), "{e}");
    assert!(gptq::config_schema().contains("table QuantizeConfig"));
    assert_eq!(gptq::version_number() / 10000, gptq::sys::GPTQ_VERSION_MAJOR);
}
