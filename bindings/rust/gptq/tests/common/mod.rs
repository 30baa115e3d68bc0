//! Where the tests find the repository's files and ../shared, as
//! tests/support/shared_data.h does for the C++ tests.
#![allow(dead_code)]
use std::path::PathBuf;

/// The repository's root (GPTQ_SOURCE_DIR, or three folders above this crate).
pub fn source_dir() -> PathBuf {
    match std::env::var_os("GPTQ_SOURCE_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.."),
    }
}

/// `relative` under ../shared (GPTQ_SHARED_DIR when set), or None when it is
/// missing outside CI: the test then says it skipped. Under CI=true a missing
/// file fails the test.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("GPTQ_SHARED_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => source_dir().join("../shared"),
    };
    let path = dir.join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but the shared test file is missing: {}", path.display());
    eprintln!("SKIPPED: shared test file missing (skipped outside CI): {}", path.display());
    None
}

pub fn cpu() -> gptq::Context {
    gptq::Context::new(&gptq::RuntimeOptions { backend: Some("cpu".into()), threads: Some(2), ..Default::default() })
        .expect("a CPU context")
}

/// A fresh path under the temporary folder, removed when dropped.
pub struct TempPath(pub PathBuf);

impl TempPath {
    pub fn new(tag: &str) -> TempPath {
        let p = std::env::temp_dir().join(format!("gptq_rust_{tag}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        TempPath(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The prompt whose greedy continuation tests/capi/inference_test.cpp checks.
pub const PROMPT: &str = "To create a table in PostgreSQL, use the";
