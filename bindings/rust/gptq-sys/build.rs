//! Finds libgptq to link against, in this order:
//! 1. GPTQ_LIB_DIR: a folder holding libgptq.so (a build tree's lib/, e.g.
//!    build/default/lib; the ctest test sets it);
//! 2. pkg-config's `gptq` (gptq.pc of an installed prefix; PKG_CONFIG_PATH
//!    may point at <prefix>/lib/pkgconfig).
//!
//! No crate does this for us: the build stays free of crates.io dependencies.
//! Programs find libgptq.so at run time as any shared library (a system
//! folder, or LD_LIBRARY_PATH); no rpath is set.
use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GPTQ_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if let Some(dir) = env::var_os("GPTQ_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = Path::new(&dir);
        if !dir.join("libgptq.so").exists() {
            panic!("GPTQ_LIB_DIR={} holds no libgptq.so (build the `gptq` target first)", dir.display());
        }
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=dylib=gptq");
        return;
    }
    let out = Command::new("pkg-config").args(["--libs", "gptq"]).output();
    let flags = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => panic!(
            "libgptq not found: set GPTQ_LIB_DIR to a build tree's lib/ folder, or PKG_CONFIG_PATH to \
             <prefix>/lib/pkgconfig of an installed libgptq (pkg-config said: {})",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("libgptq not found: GPTQ_LIB_DIR is not set and pkg-config cannot run ({e})"),
    };
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }
}
