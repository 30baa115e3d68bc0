//! Raw declarations of libgptq's C API, `capi/include/gptq/gptq.h`, as Debian's
//! `bindgen` command writes them (`regenerate.sh`; `tests/bindings_current.rs`
//! fails when they differ from what bindgen makes of gptq.h today). Every rule
//! of gptq.h (threads, lifetimes, callbacks, buffers) applies as written there;
//! the `gptq` crate is the safe API over these.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]

include!("bindings.rs");
