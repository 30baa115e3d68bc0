//! Tokenizing through the safe API gives the ids of the C API's test
//! (tests/capi/tokenize_test.cpp reads the same goldens of Hugging Face's
//! tokenizers), and detokenizing gives its texts.
mod common;

use gptq::json::{self, Value};

fn read_json(path: std::path::PathBuf) -> Value {
    json::parse(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ids(v: &Value) -> Vec<i32> {
    v.as_array().unwrap().iter().map(|i| i.as_i64().unwrap() as i32).collect()
}

fn check_model(name: &str) {
    let dir = match common::shared(&format!("models/{name}")) { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let tok = model.tokenizer().unwrap();
    let own = gptq::Tokenizer::open(dir.join("tokenizer.json")).unwrap();
    let goldens = read_json(common::source_dir().join(format!("tests/data/tokenizer/goldens-{name}.json")));
    let cases = read_json(common::source_dir().join("tests/data/tokenizer/hard_cases.json"));
    let mut checked = 0;
    for case in cases.as_array().unwrap() {
        let text = match case.get("text").and_then(Value::as_str) { Some(t) => t, None => continue }; // invalid UTF-8: core tests
        let case_name = case.get("name").unwrap().as_str().unwrap();
        let want = goldens.get("hard_cases").unwrap().get(case_name).unwrap();
        let with_special = ids(want.get("ids").unwrap());
        assert_eq!(tok.tokenize(text, true).unwrap(), with_special, "{case_name}");
        assert_eq!(tok.tokenize(text, false).unwrap(), ids(want.get("ids_no_special").unwrap()), "{case_name}");
        assert_eq!(own.tokenize(text, true).unwrap(), with_special, "{case_name}: opened on its own");
        assert_eq!(tok.detokenize(&with_special, false).unwrap(), want.get("decoded").unwrap().as_str().unwrap(), "{case_name}");
        assert_eq!(tok.detokenize(&with_special, true).unwrap(), want.get("decoded_skip").unwrap().as_str().unwrap(), "{case_name}");
        checked += 1;
    }
    assert!(checked > 20, "{checked} cases");
    // An id outside the vocabulary is the library's error, naming it.
    let err = tok.detokenize(&[5, 1 << 30], false).unwrap_err();
    assert_eq!(err.status, gptq::Status::InvalidArgument);
    assert!(err.message.contains("ids[1]"), "{err}");
}

#[test]
fn llama_ids_are_the_c_tests() {
    check_model("docs-llama-16m");
}

#[test]
fn opt_ids_are_the_c_tests() {
    check_model("docs-opt-15m");
}

#[test]
fn a_models_tokenizer_is_shared_by_threads() {
    let dir = match common::shared("models/docs-opt-15m") { Some(d) => d, None => return };
    let ctx = common::cpu();
    let model = ctx.open_model(&dir).unwrap();
    let tok = model.tokenizer().unwrap();
    let text = "a b c ".repeat(500);
    let want = tok.tokenize(&text, true).unwrap();
    // Tokenizer is Sync: scoped threads borrow it.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| tok.tokenize(&text, true).unwrap())).collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
}
