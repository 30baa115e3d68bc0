/* gptq.i — the SWIG interface over gptq.h.
 *
 * One interface for every SWIG language; what differs per language sits in
 * the #ifdef SWIGGO / SWIGJAVA / SWIGCSHARP sections below. The rules it
 * applies come from gptq.h:
 *  - Errors: a call's message is read from gptq_last_error() inside the
 *    generated C wrapper, on the thread of the failing call, before anything
 *    else runs (a Go program's next cgo call may be on another OS thread).
 *    gptq_last_error and gptq_clear_error are therefore not wrapped.
 *  - Handles: each `T **out` is an output the wrapper fills (in/argout).
 *  - Strings: `const char **` outputs are borrowed from a handle until its
 *    next call, so they are copied before the wrapper returns to its caller.
 *  - Caller buffers: (ptr, cap) pairs become the language's arrays; the
 *    helpers that size and retry sit beside the module (Go: go_wrapper below).
 *  - Callbacks: one typemap per (fn, void *user) pair installs a C trampoline
 *    that calls into the language with `user` as the key of the callback.
 *    A panic/exception in a callback never crosses the library: the
 *    trampoline catches it, stops the work (returns non-zero) and it is
 *    raised again when the call returns.
 *
 * Regenerate the committed Go module with bindings/swig/generate.sh (a test
 * fails when it differs from what is committed).
 */
%module gptq

%{
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gptq/gptq.h"
%}

%include <stdint.i>

/* gptq_context_create -> context_create: the module name already says gptq. */
%rename("%(strip:[gptq_])s") "";

/* Not wrapped, and why:
 *  - gptq_last_error/gptq_clear_error: the wrappers read the message on the
 *    failing call's thread; a later call from the language may run elsewhere.
 *  - gptq_perplexity: deprecated; gptq_evaluate's report holds its numbers.
 *  - The borrowing gptq_matrix_result_* accessors: their *_copy forms give
 *    the same arrays into the language's own memory. */
%ignore gptq_last_error;
%ignore gptq_clear_error;
%ignore gptq_perplexity;
%ignore gptq_matrix_result_qweight;
%ignore gptq_matrix_result_qzeros;
%ignore gptq_matrix_result_scales_fp16;
%ignore gptq_matrix_result_g_idx;
%ignore gptq_matrix_result_dequantized;
%ignore gptq_matrix_result_scales;
%ignore gptq_matrix_result_zeros;

/* ======================================================================== */
#ifdef SWIGGO
/* ======================================================================== */

%insert(cgo_comment_typedefs) %{
#cgo pkg-config: gptq
#include <stdint.h>
#include <stdlib.h>
%}

/* ---- Errors ------------------------------------------------------------- */
/* Every gptq_status becomes a Go error (nil for GPTQ_OK). The wrapper turns a
 * failure into the string "<status>:<message>" right after the call, on its
 * thread; swigError parses it into *Error. One place: this typemap. */
%fragment("gptq_swig_capture", "header", fragment="AllocateString") %{
static _gostring_ gptq_swig_capture(gptq_status status) {
  _gostring_ none = {0, 0};
  char head[24];
  const char *msg;
  size_t head_len, msg_len;
  _gostring_ s;
  if (status == GPTQ_OK) return none;
  msg = gptq_last_error();
  head_len = (size_t)snprintf(head, sizeof head, "%d:", (int)status);
  msg_len = strlen(msg);
  s.p = (char *)malloc(head_len + msg_len);
  if (!s.p) return none; /* Go reports a status without message then */
  memcpy(s.p, head, head_len);
  memcpy(s.p + head_len, msg, msg_len);
  s.n = (intgo)(head_len + msg_len);
  return s;
}
%}
%typemap(gotype) gptq_status "error"
%typemap(imtype) gptq_status "string"
%typemap(out, fragment="gptq_swig_capture") gptq_status %{ $result = gptq_swig_capture($1); %}
%typemap(goout, fragment="CopyString") gptq_status %{ $result = swigError($1) %}

/* gptq_status_name takes a status as a plain int. */
%typemap(gotype) gptq_status status "int"
%typemap(imtype) gptq_status status "int"
%typemap(in) gptq_status status %{ $1 = (gptq_status)$input; %}

/* ---- Handles: T **out ---------------------------------------------------- */
/* The caller passes the address of a Swigcptr value; the library writes the
 * handle into it on success and leaves it untouched on failure. */
%define GPTQ_HANDLE_OUT(T)
%typemap(gotype) T **out "*SwigcptrStruct_SS_" #T
%typemap(imtype) T **out "*uintptr"
%typemap(goin) T **out %{ $result = (*uintptr)(unsafe.Pointer($input)) %}
%typemap(in) T **out %{ $1 = ($1_ltype)$input; %}
%enddef
GPTQ_HANDLE_OUT(gptq_context)
GPTQ_HANDLE_OUT(gptq_model)
GPTQ_HANDLE_OUT(gptq_session)
GPTQ_HANDLE_OUT(gptq_tokenizer)
%apply gptq_tokenizer **out { const gptq_tokenizer **out };

GPTQ_HANDLE_OUT(gptq_matrix_result)

/* ---- Borrowed strings: const char ** ------------------------------------- */
/* The wrapper hands the borrowed pointer back; goargout copies it into a Go
 * string before the function returns, so no other call can intervene. */
%typemap(gotype) const char **name, const char **json, const char **report_json "*string"
%typemap(imtype) const char **name, const char **json, const char **report_json "**C.char"
%typemap(goin) const char **name, const char **json, const char **report_json
%{ var swig_borrowed_$argnum *C.char
	swig_dest_$argnum := $input
	$result = &swig_borrowed_$argnum %}
%typemap(in) const char **name, const char **json, const char **report_json
%{ $1 = ($1_ltype)$input; %}
%typemap(goargout) const char **name, const char **json, const char **report_json
%{ if swig_borrowed_$argnum != nil {
		*swig_dest_$argnum = C.GoString(swig_borrowed_$argnum)
	} %}

/* ---- Plain outputs ------------------------------------------------------- */
%define GPTQ_OUT_SCALAR(CT, GOTYPE, NAMES...)
%typemap(gotype) NAMES "*" #GOTYPE
%typemap(imtype) NAMES "*" #GOTYPE
%typemap(in) NAMES %{ $1 = ($1_ltype)$input; %}
%enddef
/* size_t is 64 bits wherever the Go module is built (-intgosize 64). */
GPTQ_OUT_SCALAR(size_t, int64, size_t *out_size, size_t *n, size_t *len, size_t *count)
GPTQ_OUT_SCALAR(int64_t, int64, int64_t *rows, int64_t *cols)
GPTQ_OUT_SCALAR(double, float64, double *loss, double *damp_percent)

/* ---- Text in: (text, len) without a copy -------------------------------- */
%typemap(gotype) (const char *text, size_t len), (const char *prompt, size_t len),
                 (const void *in, size_t in_size) "string"
%typemap(in) (const char *text, size_t len), (const char *prompt, size_t len),
             (const void *in, size_t in_size)
%{ $1 = ($1_ltype)$input.p; $2 = (size_t)$input.n; %}

/* ---- Arrays: (ptr, cap) and (ptr, n) as slices --------------------------- */
%define GPTQ_SLICE(CT, GOTYPE, NAMES...)
%typemap(gotype) NAMES "[]" #GOTYPE
%typemap(in) NAMES %{ $1 = ($1_ltype)$input.array; $2 = (size_t)$input.len; %}
%enddef
GPTQ_SLICE(int32_t, int32, (int32_t *ids, size_t cap), (const int32_t *ids, size_t n),
           (int32_t *out, size_t cap))
GPTQ_SLICE(uint16_t, uint16, (uint16_t *out, size_t cap))
GPTQ_SLICE(float, float32, (float *out, size_t cap))
GPTQ_SLICE(char, byte, (char *buf, size_t cap), (void *out, size_t out_cap))
/* Input matrices: nil is NULL (hessian or activations left out). Their
 * lengths are checked against rows and cols by package gptq (MatrixInput)
 * before the call; internal/capi cannot be imported from outside. */
%typemap(gotype) const float *weights, const float *hessian, const float *activations "[]float32"
%typemap(in) const float *weights, const float *hessian, const float *activations
%{ $1 = ($1_ltype)$input.array; %}

/* ---- Prompts of a batch: []string -------------------------------------- */
/* cgo forbids handing C Go memory that holds Go pointers, which a []string
 * is. swigPromptsNew (go_wrapper below) copies the prompts into one block of
 * C memory laid out as gptq_generate_batch reads them: the count, a pointer
 * per prompt, a length per prompt (64-bit words: -intgosize 64), then their
 * bytes end to end. The wrapper points into it; it is freed when the Go
 * function returns, also when a callback's panic is raised again. */
%{
typedef char gptq_swig_words_are_64_bits[sizeof(size_t) == 8 && sizeof(void *) == 8 ? 1 : -1];
%}
%typemap(gotype) (const char *const *prompts, const size_t *lens, size_t count) "[]string"
%typemap(imtype) (const char *const *prompts, const size_t *lens, size_t count) "uintptr"
%typemap(goin) (const char *const *prompts, const size_t *lens, size_t count)
%{ swig_prompts_$argnum := swigPromptsNew($input)
	defer swigPromptsFree(swig_prompts_$argnum)
	$result = swig_prompts_$argnum %}
%typemap(in) (const char *const *prompts, const size_t *lens, size_t count) %{
  $3 = (size_t)((const uint64_t *)$input)[0];
  $1 = ($1_ltype)((const uint64_t *)$input + 1);
  $2 = ($2_ltype)((const uint64_t *)$input + 1 + $3);
%}

/* ---- Callbacks ----------------------------------------------------------- */
/* `user` carries a key of the callback registry (go_wrapper below); the C
 * trampolines call the Go functions exported there with it. The prototypes
 * are cgo's for those exports (C types on the Go side). */
%{
extern int gptqSwigGoProgress(uintptr_t key, char *stage, uint64_t done, uint64_t total);
extern int gptqSwigGoToken(uintptr_t key, char *piece, int32_t id);
extern int gptqSwigGoBatchToken(uintptr_t key, size_t sequence, char *piece, int32_t id);
extern void gptqSwigGoLog(uintptr_t key, int level, char *msg);
static int gptq_swig_progress_trampoline(void *user, const char *stage, uint64_t done,
                                         uint64_t total) {
  return gptqSwigGoProgress((uintptr_t)user, (char *)stage, done, total);
}
static int gptq_swig_token_trampoline(void *user, const char *piece, int32_t id) {
  return gptqSwigGoToken((uintptr_t)user, (char *)piece, id);
}
static int gptq_swig_batch_token_trampoline(void *user, size_t sequence, const char *piece, int32_t id) {
  return gptqSwigGoBatchToken((uintptr_t)user, sequence, (char *)piece, id);
}
static void gptq_swig_log_trampoline(void *user, gptq_log_level level, const char *msg) {
  gptqSwigGoLog((uintptr_t)user, (int)level, (char *)msg);
}
%}

/* Callbacks used only during the call: registered before it, released after
 * it; a panic the trampoline caught is raised again there. */
%define GPTQ_CALL_CALLBACK(FN_T, GOTYPE, TRAMPOLINE)
%typemap(gotype) (FN_T CALL_FN, void *CALL_USER) #GOTYPE
%typemap(imtype) (FN_T CALL_FN, void *CALL_USER) "uintptr"
%typemap(goin) (FN_T CALL_FN, void *CALL_USER)
%{ swig_cb_$argnum := swigCallbackRegister($input)
	$result = swig_cb_$argnum %}
%typemap(in) (FN_T CALL_FN, void *CALL_USER) %{
  $1 = $input ? TRAMPOLINE : NULL;
  $2 = (void *)(uintptr_t)$input;
%}
%typemap(goargout) (FN_T CALL_FN, void *CALL_USER) %{ swigCallbackRelease(swig_cb_$argnum) %}
%enddef
GPTQ_CALL_CALLBACK(gptq_progress_fn, ProgressFunc, gptq_swig_progress_trampoline)
GPTQ_CALL_CALLBACK(gptq_token_fn, TokenFunc, gptq_swig_token_trampoline)
GPTQ_CALL_CALLBACK(gptq_batch_token_fn, BatchTokenFunc, gptq_swig_batch_token_trampoline)
%apply (gptq_progress_fn CALL_FN, void *CALL_USER) {
  (gptq_progress_fn fn, void *user), (gptq_progress_fn progress, void *user) };
%apply (gptq_token_fn CALL_FN, void *CALL_USER) { (gptq_token_fn on_token, void *user) };
%apply (gptq_batch_token_fn CALL_FN, void *CALL_USER) { (gptq_batch_token_fn on_token, void *user) };

/* Callbacks that outlive the call (a context's log sink, a session's
 * progress): the caller passes a key from CallbackRegister and releases it
 * (CallbackRelease) when the handle's resources go, as gptq.h asks. */
%define GPTQ_KEPT_CALLBACK(FN_T, TRAMPOLINE)
%typemap(gotype) (FN_T KEPT_FN, void *KEPT_USER) "uintptr"
%typemap(in) (FN_T KEPT_FN, void *KEPT_USER) %{
  $1 = $input ? TRAMPOLINE : NULL;
  $2 = (void *)(uintptr_t)$input;
%}
%enddef
GPTQ_KEPT_CALLBACK(gptq_log_fn, gptq_swig_log_trampoline)
GPTQ_KEPT_CALLBACK(gptq_progress_fn, gptq_swig_progress_trampoline)
%apply (gptq_log_fn KEPT_FN, void *KEPT_USER) { (gptq_log_fn fn, void *user) };
%apply (gptq_progress_fn KEPT_FN, void *KEPT_USER) { (gptq_progress_fn kept_fn, void *kept_user) };

%insert(go_wrapper) "go_runtime.go.in"
#endif /* SWIGGO */

/* ======================================================================== */
#if defined(SWIGJAVA) || defined(SWIGCSHARP)
/* ======================================================================== */
/* Errors: one %exception for every function that returns a gptq_status; it
 * reads the message on the failing call's thread and raises the language's
 * error with the status and the message. Not yet done for these languages
 * (see bindings/README.md): T **out as returned objects, borrowed strings,
 * slices, callbacks. */
%exception {
  $action
  if (result != GPTQ_OK) {
    GPTQ_SWIG_RAISE(result);
    return $null;
  }
}
/* Enum values and macros as compile-time constants: no wrapper, no check. */
#ifdef SWIGJAVA
%javaconst(1);
%javaconstvalue(1) GPTQ_TOKENIZE_NO_SPECIAL;    /* 1u is no Java literal */
%javaconstvalue(1) GPTQ_DETOKENIZE_SKIP_SPECIAL;
#else
%csconst(1);
#endif
/* Functions that return no status. */
%noexception gptq_version;
%noexception gptq_version_number;
%noexception gptq_abi_version;
%noexception gptq_status_name;
%noexception gptq_config_schema;
%noexception gptq_context_destroy;
%noexception gptq_model_destroy;
%noexception gptq_tokenizer_destroy;
%noexception gptq_matrix_result_destroy;
%noexception gptq_session_destroy;
#endif

#ifdef SWIGJAVA
/* ---- Java (package org.libgptq.swig; the users' layer is org.libgptq) ------
 * Every gptq_status function returns its one output (a handle as a long, a
 * String, a double, a Java array) or void, and throws on failure. The C
 * runtime these typemaps call (text conversions, trampolines, the helpers
 * that size and retry buffers) is java_runtime.c.in. */
%insert(header) "java_runtime.c.in"
%{
#define GPTQ_SWIG_RAISE(status) gptq_java_throw_status(jenv, (status))
%}
%include "enumtypeunsafe.swg" /* enums as int constants, as gptq.h's */

%pragma(java) jniclasscode=%{
  static { org.libgptq.NativeLibrary.load(); }
%}

/* Errors. Replaces the shared %exception above for Java: no wrapper returns
 * early, so that every freearg (the UTF-8 copies of strings, the pinned
 * arrays) runs on failure too; the exception is thrown by
 * gptq_java_call_end (the callback's own exception when one threw, else a
 * GptqException with the message read on this thread) and the outputs are
 * written only when GPTQ_JAVA_OK. A Java exception already pending from
 * converting the arguments skips the call. */
%exception {
  gptq_java_call swig_call;
  gptq_java_call_begin(&swig_call);
  if ((*jenv)->ExceptionCheck(jenv)) {
    result = GPTQ_ERR_INVALID_ARGUMENT;
  } else {
    $action
  }
  gptq_java_call_end(jenv, &swig_call, result);
}
%{
#define GPTQ_JAVA_OK (result == GPTQ_OK && !(*jenv)->ExceptionCheck(jenv))
%}

/* A gptq_status returns nothing (void, throwing on failure) or the function's
 * one output, with the Java type listed here for each function. An unlisted
 * function does not compile (javac: a missing return), so a function added to
 * gptq.h cannot slip through unbound. (jstype has no default: the enum's own
 * constants take their type from it.) */
%typemap(jni) gptq_status "void"
%typemap(jtype) gptq_status "void"
%typemap(javaout) gptq_status { $jnicall; }
%typemap(out) gptq_status ""
%define GPTQ_JAVA_RETURNS_VOID(FUNC)
%typemap(jstype) gptq_status FUNC "void"
%enddef
GPTQ_JAVA_RETURNS_VOID(gptq_context_set_log)
GPTQ_JAVA_RETURNS_VOID(gptq_swig_session_set_progress)
GPTQ_JAVA_RETURNS_VOID(gptq_generate)
GPTQ_JAVA_RETURNS_VOID(gptq_generate_batch)
%define GPTQ_JAVA_RETURNS(FUNC, JNITYPE, JAVATYPE)
%typemap(jni) gptq_status FUNC #JNITYPE
%typemap(jtype) gptq_status FUNC #JAVATYPE
%typemap(jstype) gptq_status FUNC #JAVATYPE
%typemap(javaout) gptq_status FUNC { return $jnicall; }
%enddef
GPTQ_JAVA_RETURNS(gptq_context_create, jlong, long)
GPTQ_JAVA_RETURNS(gptq_model_open, jlong, long)
GPTQ_JAVA_RETURNS(gptq_tokenizer_open, jlong, long)
GPTQ_JAVA_RETURNS(gptq_model_tokenizer, jlong, long)
GPTQ_JAVA_RETURNS(gptq_quantize_matrix, jlong, long)
GPTQ_JAVA_RETURNS(gptq_rtn_matrix, jlong, long)
GPTQ_JAVA_RETURNS(gptq_session_create, jlong, long)
GPTQ_JAVA_RETURNS(gptq_context_backend, jstring, String)
GPTQ_JAVA_RETURNS(gptq_context_device_name, jstring, String)
GPTQ_JAVA_RETURNS(gptq_context_runtime_json, jstring, String)
GPTQ_JAVA_RETURNS(gptq_model_info_json, jstring, String)
GPTQ_JAVA_RETURNS(gptq_quantize_model, jstring, String)
GPTQ_JAVA_RETURNS(gptq_evaluate, jstring, String)
GPTQ_JAVA_RETURNS(gptq_matrix_result_loss, jdouble, double)
GPTQ_JAVA_RETURNS(gptq_matrix_result_damp_percent, jdouble, double)
GPTQ_JAVA_RETURNS(gptq_java_tokenize, jintArray, int[])
GPTQ_JAVA_RETURNS(gptq_java_detokenize, jstring, String)
GPTQ_JAVA_RETURNS(gptq_java_config_convert, jbyteArray, byte[])
GPTQ_JAVA_RETURNS(gptq_java_matrix_shape, jlongArray, long[])
GPTQ_JAVA_RETURNS(gptq_java_matrix_ints, jintArray, int[])
GPTQ_JAVA_RETURNS(gptq_java_matrix_floats, jfloatArray, float[])
GPTQ_JAVA_RETURNS(gptq_java_matrix_halves, jshortArray, short[])

/* gptq_status_name takes a status as a plain int. */
%typemap(jni) gptq_status status "jint"
%typemap(jtype) gptq_status status "int"
%typemap(jstype) gptq_status status "int"
%typemap(javain) gptq_status status "$javainput"
%typemap(in) gptq_status status %{ $1 = (gptq_status)$input; %}

/* ---- Handles: pointers as long, T **out returned ------------------------- */
/* A call that made its handle and still throws (a callback threw, e.g. the log
 * sink while a model opened) destroys the handle: nothing else could. */
%define GPTQ_JAVA_HANDLE(T, DESTROY)
%typemap(jni) T *, const T * "jlong"
%typemap(jtype) T *, const T * "long"
%typemap(jstype) T *, const T * "long"
%typemap(javain) T *, const T * "$javainput"
%typemap(in) T *, const T * %{ $1 = ($1_ltype)(intptr_t)$input; %}
%typemap(in, numinputs=0) T **out ($*1_ltype temp = NULL), const T **out ($*1_ltype temp = NULL)
%{ $1 = &temp; %}
%typemap(argout) T **out, const T **out %{
  if (GPTQ_JAVA_OK) $result = (jlong)(intptr_t)temp$argnum;
  else if (result == GPTQ_OK) DESTROY(($*1_ltype)temp$argnum);
%}
%enddef
GPTQ_JAVA_HANDLE(gptq_context, gptq_context_destroy)
GPTQ_JAVA_HANDLE(gptq_model, gptq_model_destroy)
GPTQ_JAVA_HANDLE(gptq_tokenizer, gptq_tokenizer_destroy) /* a no-op on a model's (borrowed) one */
GPTQ_JAVA_HANDLE(gptq_session, gptq_session_destroy)
GPTQ_JAVA_HANDLE(gptq_matrix_result, gptq_matrix_result_destroy)

/* ---- Strings: exact UTF-8 both ways (java_runtime.c.in says why) --------- */
%typemap(in) const char * %{ $1 = gptq_java_utf8(jenv, $input, NULL); %}
%typemap(freearg) const char * %{ gptq_java_utf8_free((char *)$1); %}
%typemap(out) const char * %{ $result = gptq_java_string(jenv, $1); %}
%typemap(jni) (const char *text, size_t len), (const char *prompt, size_t len) "jstring"
%typemap(jtype) (const char *text, size_t len), (const char *prompt, size_t len) "String"
%typemap(jstype) (const char *text, size_t len), (const char *prompt, size_t len) "String"
%typemap(javain) (const char *text, size_t len), (const char *prompt, size_t len) "$javainput"
%typemap(in) (const char *text, size_t len), (const char *prompt, size_t len)
%{ $1 = gptq_java_utf8(jenv, $input, &$2); %}
%typemap(freearg) (const char *text, size_t len), (const char *prompt, size_t len)
%{ gptq_java_utf8_free($1); %}
/* The prompts of a batch: a String[], each converted as a String above
 * (java_runtime.c.in, gptq_java_prompts). */
%typemap(jni) (const char *const *prompts, const size_t *lens, size_t count) "jobjectArray"
%typemap(jtype) (const char *const *prompts, const size_t *lens, size_t count) "String[]"
%typemap(jstype) (const char *const *prompts, const size_t *lens, size_t count) "String[]"
%typemap(javain) (const char *const *prompts, const size_t *lens, size_t count) "$javainput"
%typemap(in) (const char *const *prompts, const size_t *lens, size_t count) (gptq_java_prompts prompts) %{
  gptq_java_prompts_init(jenv, &prompts, $input);
  $1 = ($1_ltype)prompts.text;
  $2 = prompts.lens;
  $3 = prompts.count;
%}
%typemap(freearg) (const char *const *prompts, const size_t *lens, size_t count)
%{ gptq_java_prompts_free(&prompts$argnum); %}
/* Borrowed strings, copied into a String before the wrapper returns. */
%typemap(in, numinputs=0) const char **name (const char *temp = NULL),
                          const char **json (const char *temp = NULL),
                          const char **report_json (const char *temp = NULL) %{ $1 = ($1_ltype)&temp; %}
%typemap(argout) const char **name, const char **json, const char **report_json
%{ if (GPTQ_JAVA_OK) $result = gptq_java_string(jenv, temp$argnum); %}

/* ---- Plain outputs and input arrays --------------------------------------- */
%typemap(in, numinputs=0) double *loss (double temp = 0), double *damp_percent (double temp = 0)
%{ $1 = &temp; %}
%typemap(argout) double *loss, double *damp_percent %{ if (GPTQ_JAVA_OK) $result = temp$argnum; %}
/* Input matrices: null is NULL (hessian or activations left out). Copied in
 * (the call may run long; a critical region would hold the GC off); their
 * lengths are checked against rows and cols by org.libgptq.MatrixInput. */
%typemap(jni) const float *weights, const float *hessian, const float *activations "jfloatArray"
%typemap(jtype) const float *weights, const float *hessian, const float *activations "float[]"
%typemap(jstype) const float *weights, const float *hessian, const float *activations "float[]"
%typemap(javain) const float *weights, const float *hessian, const float *activations "$javainput"
%typemap(in) const float *weights, const float *hessian, const float *activations
%{ $1 = $input ? (*jenv)->GetFloatArrayElements(jenv, $input, NULL) : NULL; %}
%typemap(freearg) const float *weights, const float *hessian, const float *activations
%{ if ($1) (*jenv)->ReleaseFloatArrayElements(jenv, $input, (jfloat *)$1, JNI_ABORT); %}

/* ---- Callbacks ------------------------------------------------------------ */
/* Used only during the call: the listener object itself (java_runtime.c.in). */
%define GPTQ_JAVA_CALL_CALLBACK(FN_T, JAVATYPE, TRAMPOLINE, METHOD)
%typemap(jni) (FN_T CALL_FN, void *CALL_USER) "jobject"
%typemap(jtype) (FN_T CALL_FN, void *CALL_USER) #JAVATYPE
%typemap(jstype) (FN_T CALL_FN, void *CALL_USER) #JAVATYPE
%typemap(javain) (FN_T CALL_FN, void *CALL_USER) "$javainput"
%typemap(in) (FN_T CALL_FN, void *CALL_USER) (gptq_java_callback cb) %{
  $1 = gptq_java_callback_init(jenv, &cb, $input, METHOD) ? TRAMPOLINE : NULL;
  $2 = &cb;
%}
%enddef
GPTQ_JAVA_CALL_CALLBACK(gptq_progress_fn, org.libgptq.ProgressListener, gptq_java_progress_trampoline,
                        GPTQ_JAVA_PROGRESS_METHOD)
GPTQ_JAVA_CALL_CALLBACK(gptq_token_fn, org.libgptq.TokenListener, gptq_java_token_trampoline,
                        GPTQ_JAVA_TOKEN_METHOD)
GPTQ_JAVA_CALL_CALLBACK(gptq_batch_token_fn, org.libgptq.BatchTokenListener,
                        gptq_java_batch_token_trampoline, GPTQ_JAVA_BATCH_TOKEN_METHOD)
%apply (gptq_progress_fn CALL_FN, void *CALL_USER) {
  (gptq_progress_fn fn, void *user), (gptq_progress_fn progress, void *user) };
%apply (gptq_token_fn CALL_FN, void *CALL_USER) { (gptq_token_fn on_token, void *user) };
%apply (gptq_batch_token_fn CALL_FN, void *CALL_USER) { (gptq_batch_token_fn on_token, void *user) };
/* Kept past the call (a context's log sink, a session's progress): a key
 * from log_callback_new/progress_callback_new, freed with callback_free when
 * the library no longer calls it (org.libgptq's handles do that). */
%define GPTQ_JAVA_KEPT_CALLBACK(TRAMPOLINE, NAMES...)
%typemap(jni) NAMES "jlong"
%typemap(jtype) NAMES "long"
%typemap(jstype) NAMES "long"
%typemap(javain) NAMES "$javainput"
%typemap(in) NAMES %{
  $1 = $input ? TRAMPOLINE : NULL;
  $2 = (void *)(intptr_t)$input;
%}
%enddef
GPTQ_JAVA_KEPT_CALLBACK(gptq_java_log_trampoline, (gptq_log_fn fn, void *user))
GPTQ_JAVA_KEPT_CALLBACK(gptq_java_progress_trampoline, (gptq_progress_fn kept_fn, void *kept_user))

/* ---- The Java helpers of java_runtime.c.in -------------------------------- */
/* The wrapper's JNIEnv, and the outputs the helpers make. */
%typemap(in, numinputs=0) JNIEnv *env %{ $1 = jenv; %}
%typemap(in, numinputs=0) jintArray *ints_out (jintArray temp = NULL), jintArray *ids_out (jintArray temp = NULL),
                          jstring *text_out (jstring temp = NULL), jbyteArray *bytes_out (jbyteArray temp = NULL),
                          jlongArray *longs_out (jlongArray temp = NULL),
                          jfloatArray *floats_out (jfloatArray temp = NULL),
                          jshortArray *shorts_out (jshortArray temp = NULL) %{ $1 = &temp; %}
%typemap(argout) jintArray *ints_out, jintArray *ids_out, jstring *text_out, jbyteArray *bytes_out,
                 jlongArray *longs_out, jfloatArray *floats_out, jshortArray *shorts_out
%{ if (GPTQ_JAVA_OK) $result = temp$argnum; %}
%noexception gptq_java_log_callback_new;
%noexception gptq_java_progress_callback_new;
%noexception gptq_java_callback_free;
%rename(log_callback_new) gptq_java_log_callback_new;
%rename(progress_callback_new) gptq_java_progress_callback_new;
%rename(callback_free) gptq_java_callback_free;
%noexception gptq_java_callbacks_alive;
%rename(callbacks_alive) gptq_java_callbacks_alive;
%noexception gptq_java_malloc_in_use;
%rename(malloc_in_use) gptq_java_malloc_in_use;
%noexception gptq_java_strings_alive;
%rename(strings_alive) gptq_java_strings_alive;
%rename(tokenize) gptq_java_tokenize;
%rename(detokenize) gptq_java_detokenize;
%rename(config_convert) gptq_java_config_convert;
%rename(matrix_result_shape) gptq_java_matrix_shape;
%rename(matrix_result_ints) gptq_java_matrix_ints;
%rename(matrix_result_floats) gptq_java_matrix_floats;
%rename(matrix_result_halves) gptq_java_matrix_halves;
jlong gptq_java_log_callback_new(JNIEnv *env, jobject listener);
jlong gptq_java_progress_callback_new(JNIEnv *env, jobject listener);
void gptq_java_callback_free(JNIEnv *env, jlong key);
long gptq_java_callbacks_alive(void);
long gptq_java_malloc_in_use(void);
long gptq_java_strings_alive(void);
gptq_status gptq_java_tokenize(JNIEnv *env, const gptq_tokenizer *tokenizer, const char *text, size_t len,
                               uint32_t flags, jintArray *ids_out);
gptq_status gptq_java_detokenize(JNIEnv *env, const gptq_tokenizer *tokenizer, jintArray ids,
                                 uint32_t flags, jstring *text_out);
gptq_status gptq_java_config_convert(JNIEnv *env, gptq_config_kind kind, jbyteArray in,
                                     gptq_config_encoding in_encoding, gptq_config_encoding out_encoding,
                                     jbyteArray *bytes_out);
gptq_status gptq_java_matrix_shape(JNIEnv *env, const gptq_matrix_result *result, int which,
                                   jlongArray *longs_out);
gptq_status gptq_java_matrix_ints(JNIEnv *env, const gptq_matrix_result *result, int which,
                                  jintArray *ints_out);
gptq_status gptq_java_matrix_floats(JNIEnv *env, const gptq_matrix_result *result, int which,
                                    jfloatArray *floats_out);
gptq_status gptq_java_matrix_halves(JNIEnv *env, const gptq_matrix_result *result, jshortArray *shorts_out);
enum {
  GPTQ_JAVA_QWEIGHT = 1,
  GPTQ_JAVA_QZEROS = 2,
  GPTQ_JAVA_SCALES_FP16 = 3,
  GPTQ_JAVA_G_IDX = 4,
  GPTQ_JAVA_DEQUANTIZED = 5,
  GPTQ_JAVA_SCALES = 6,
  GPTQ_JAVA_ZEROS = 7
};
/* The caller's-buffer functions: the helpers above size and retry them. */
%ignore gptq_tokenize;
%ignore gptq_detokenize;
%ignore gptq_config_convert;
%ignore gptq_matrix_result_qweight_copy;
%ignore gptq_matrix_result_qzeros_copy;
%ignore gptq_matrix_result_scales_fp16_copy;
%ignore gptq_matrix_result_g_idx_copy;
%ignore gptq_matrix_result_dequantized_copy;
%ignore gptq_matrix_result_scales_copy;
%ignore gptq_matrix_result_zeros_copy;
#endif

#ifdef SWIGCSHARP
/* C#: the module is the raw layer (namespace LibGptq.Native, internal) of the
 * LibGptq assembly; it compiles together with bindings/csharp/src/Native/,
 * which holds the SafeHandles, callback boxes and UTF-8 helpers named here,
 * and the idiomatic classes users see (bindings/csharp/src). */
%pragma(csharp) moduleclassmodifiers="internal class"
%typemap(csclassmodifiers) enum SWIGTYPE "internal enum"

/* size_t is 64 bits wherever the module is built (C# long). */
%{
typedef char gptq_swig_size_t_is_64_bits[sizeof(size_t) == 8 ? 1 : -1];
%}

/* ---- Errors ------------------------------------------------------------- */
/* The shared %exception above calls GPTQ_SWIG_RAISE on the failing call's
 * thread: it hands the status and gptq_last_error() to a managed callback
 * (registered once, below) that leaves a LibGptq.GptqException pending; the
 * C# method throws it when the wrapper returns. A status-returning function
 * returns void in C# (the wrapper still returns the status to the import). */
%{
typedef void (SWIGSTDCALL *gptq_swig_cs_raise_fn)(int status, const char *message);
typedef int (SWIGSTDCALL *gptq_swig_cs_progress_fn)(void *user, const char *stage, uint64_t done,
                                                   uint64_t total);
typedef int (SWIGSTDCALL *gptq_swig_cs_token_fn)(void *user, const char *piece, int32_t id);
typedef int (SWIGSTDCALL *gptq_swig_cs_batch_token_fn)(void *user, uint64_t sequence, const char *piece,
                                                      int32_t id);
typedef void (SWIGSTDCALL *gptq_swig_cs_log_fn)(void *user, int level, const char *msg);
static gptq_swig_cs_raise_fn gptq_swig_cs_raise;
static gptq_swig_cs_progress_fn gptq_swig_cs_progress;
static gptq_swig_cs_token_fn gptq_swig_cs_token;
static gptq_swig_cs_batch_token_fn gptq_swig_cs_batch_token;
static gptq_swig_cs_log_fn gptq_swig_cs_log;
#ifdef __cplusplus
extern "C"
#endif
SWIGEXPORT void SWIGSTDCALL gptq_swig_cs_register(gptq_swig_cs_raise_fn raise,
                                                  gptq_swig_cs_progress_fn progress,
                                                  gptq_swig_cs_token_fn token,
                                                  gptq_swig_cs_batch_token_fn batch_token,
                                                  gptq_swig_cs_log_fn log) {
  gptq_swig_cs_raise = raise;
  gptq_swig_cs_progress = progress;
  gptq_swig_cs_token = token;
  gptq_swig_cs_batch_token = batch_token;
  gptq_swig_cs_log = log;
}
#define GPTQ_SWIG_RAISE(status) gptq_swig_cs_raise((int)(status), gptq_last_error())
%}
%pragma(csharp) imclasscode=%{
  // The managed ends of gptq.i's C trampolines, registered with the wrapper
  // when this class is first used and kept in static fields for the life of
  // the process (the C side holds their function pointers).
  static readonly LibGptq.Native.Trampolines.RaiseFn gptqRaise = LibGptq.Native.Trampolines.Raise;
  static readonly LibGptq.Native.Trampolines.ProgressFn gptqProgress = LibGptq.Native.Trampolines.Progress;
  static readonly LibGptq.Native.Trampolines.TokenFn gptqToken = LibGptq.Native.Trampolines.Token;
  static readonly LibGptq.Native.Trampolines.BatchTokenFn gptqBatchToken = LibGptq.Native.Trampolines.BatchToken;
  static readonly LibGptq.Native.Trampolines.LogFn gptqLog = LibGptq.Native.Trampolines.Log;
  [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="gptq_swig_cs_register")]
  static extern void gptq_swig_cs_register(LibGptq.Native.Trampolines.RaiseFn raise,
      LibGptq.Native.Trampolines.ProgressFn progress, LibGptq.Native.Trampolines.TokenFn token,
      LibGptq.Native.Trampolines.BatchTokenFn batchToken, LibGptq.Native.Trampolines.LogFn log);
  internal static readonly bool gptqRegistered = RegisterTrampolines();
  static bool RegisterTrampolines() {
    gptq_swig_cs_register(gptqRaise, gptqProgress, gptqToken, gptqBatchToken, gptqLog);
    return true;
  }
%}
%typemap(ctype) gptq_status "int"
%typemap(imtype) gptq_status "int"
%typemap(cstype, out="void") gptq_status "int"
%typemap(in) gptq_status %{ $1 = (gptq_status)$input; %}
%typemap(csin) gptq_status "$csinput"
%typemap(out) gptq_status %{ $result = (int)$1; %}
%typemap(csout, excode=SWIGEXCODE) gptq_status { $imcall;$excode }

/* ---- Handles ------------------------------------------------------------- */
/* Each handle type is a SafeHandle (LibGptq.Native.*Handle): P/Invoke holds a
 * reference on it for the length of every call (a Dispose on another thread
 * waits for the call), `T **out` becomes an `out` SafeHandle filled
 * atomically, and its ReleaseHandle calls the destroy function, which takes
 * the raw pointer (parameter `doomed`, redeclared below). */
%define GPTQ_CS_HANDLE(T, CSCLASS)
%typemap(ctype) T *, const T * "void *"
%typemap(imtype) T *, const T * #CSCLASS
%typemap(cstype) T *, const T * #CSCLASS
%typemap(csin) T *, const T * "$csinput"
%typemap(in) T *, const T * %{ $1 = ($1_ltype)$input; %}
%typemap(ctype) T **out "void **"
%typemap(imtype) T **out "out " #CSCLASS
%typemap(cstype) T **out "out " #CSCLASS
%typemap(csin) T **out "out $csinput"
%typemap(in) T **out %{ $1 = ($1_ltype)$input; %}
%typemap(ctype) T *doomed "void *"
%typemap(imtype) T *doomed "global::System.IntPtr"
%typemap(cstype) T *doomed "global::System.IntPtr"
%typemap(csin) T *doomed "$csinput"
%typemap(in) T *doomed %{ $1 = ($1_ltype)$input; %}
%enddef
GPTQ_CS_HANDLE(gptq_context, LibGptq.Native.ContextHandle)
GPTQ_CS_HANDLE(gptq_model, LibGptq.Native.ModelHandle)
GPTQ_CS_HANDLE(gptq_tokenizer, LibGptq.Native.TokenizerHandle)
GPTQ_CS_HANDLE(gptq_session, LibGptq.Native.SessionHandle)
GPTQ_CS_HANDLE(gptq_matrix_result, LibGptq.Native.MatrixResultHandle)
/* The model's tokenizer is lent: a raw pointer that LibGptq.Tokenizer wraps
 * in a handle that frees nothing and uses only while its model is open. */
%typemap(ctype) const gptq_tokenizer **out "void **"
%typemap(imtype) const gptq_tokenizer **out "out global::System.IntPtr"
%typemap(cstype) const gptq_tokenizer **out "out global::System.IntPtr"
%typemap(csin) const gptq_tokenizer **out "out $csinput"
%typemap(in) const gptq_tokenizer **out %{ $1 = ($1_ltype)$input; %}

%ignore gptq_context_destroy;
%ignore gptq_model_destroy;
%ignore gptq_tokenizer_destroy;
%ignore gptq_session_destroy;
%ignore gptq_matrix_result_destroy;
%noexception gptq_swig_context_destroy;
%noexception gptq_swig_model_destroy;
%noexception gptq_swig_tokenizer_destroy;
%noexception gptq_swig_session_destroy;
%noexception gptq_swig_matrix_result_destroy;
%rename(context_destroy) gptq_swig_context_destroy;
%rename(model_destroy) gptq_swig_model_destroy;
%rename(tokenizer_destroy) gptq_swig_tokenizer_destroy;
%rename(session_destroy) gptq_swig_session_destroy;
%rename(matrix_result_destroy) gptq_swig_matrix_result_destroy;
%{
#define gptq_swig_context_destroy gptq_context_destroy
#define gptq_swig_model_destroy gptq_model_destroy
#define gptq_swig_tokenizer_destroy gptq_tokenizer_destroy
#define gptq_swig_session_destroy gptq_session_destroy
#define gptq_swig_matrix_result_destroy gptq_matrix_result_destroy
%}
void gptq_swig_context_destroy(gptq_context *doomed);
void gptq_swig_model_destroy(gptq_model *doomed);
void gptq_swig_tokenizer_destroy(gptq_tokenizer *doomed);
void gptq_swig_session_destroy(gptq_session *doomed);
void gptq_swig_matrix_result_destroy(gptq_matrix_result *doomed);

/* ---- Borrowed strings: const char ** ------------------------------------- */
/* Copied into a C# string as soon as the call returns, before anything else
 * can call on the owning handle. */
%typemap(ctype) const char **name, const char **json, const char **report_json "const char **"
%typemap(imtype) const char **name, const char **json, const char **report_json
  "out global::System.IntPtr"
%typemap(cstype) const char **name, const char **json, const char **report_json "out string"
%typemap(csin, pre="    global::System.IntPtr $csinput_borrowed = global::System.IntPtr.Zero;",
         post="      $csinput = LibGptq.Native.Utf8.FromNative($csinput_borrowed);")
  const char **name, const char **json, const char **report_json "out $csinput_borrowed"
%typemap(in) const char **name, const char **json, const char **report_json
%{ $1 = ($1_ltype)$input; %}

/* ---- Static strings returned ---------------------------------------------- */
/* gptq_version, gptq_status_name and gptq_config_schema return static
 * storage: the pointer itself crosses and is decoded in C#, without SWIG's
 * string callback (a second crossing, back into managed code). */
%typemap(ctype) const char *gptq_version, const char *gptq_status_name,
                const char *gptq_config_schema "const char *"
%typemap(imtype) const char *gptq_version, const char *gptq_status_name,
                 const char *gptq_config_schema "global::System.IntPtr"
%typemap(cstype) const char *gptq_version, const char *gptq_status_name,
                 const char *gptq_config_schema "string"
%typemap(out) const char *gptq_version, const char *gptq_status_name,
              const char *gptq_config_schema %{ $result = $1; %}
%typemap(csout, excode=SWIGEXCODE) const char *gptq_version, const char *gptq_status_name,
                const char *gptq_config_schema {
    string ret = LibGptq.Native.Utf8.FromNative($imcall);$excode
    return ret;
  }

/* ---- Sizes and plain outputs --------------------------------------------- */
%typemap(ctype) size_t "int64_t"
%typemap(imtype) size_t "long"
%typemap(cstype) size_t "long"
%typemap(csin) size_t "$csinput"
%typemap(in) size_t %{ $1 = (size_t)$input; %}
/* Written straight into the caller's variable, so a size reported with
 * GPTQ_ERR_BUFFER_TOO_SMALL reaches the helper that retries. */
%define GPTQ_CS_OUT_SCALAR(CT, CSTYPE, NAMES...)
%typemap(ctype) NAMES #CT " *"
%typemap(imtype) NAMES "out " #CSTYPE
%typemap(cstype) NAMES "out " #CSTYPE
%typemap(csin) NAMES "out $csinput"
%typemap(in) NAMES %{ $1 = ($1_ltype)$input; %}
%enddef
GPTQ_CS_OUT_SCALAR(int64_t, long, size_t *out_size, size_t *n, size_t *len, size_t *count,
                   int64_t *rows, int64_t *cols)
GPTQ_CS_OUT_SCALAR(double, double, double *loss, double *damp_percent)

/* ---- Arrays: (ptr, cap) and (ptr, n) -------------------------------------- */
/* The pointer becomes a C# array (pinned by P/Invoke for the call, no copy)
 * and the count beside it a long; LibGptq always passes the array's Length,
 * sizes the outputs and retries on GPTQ_ERR_BUFFER_TOO_SMALL. UTF-8 text in
 * is bytes. */
%define GPTQ_CS_ARRAY(CT, CSTYPE, NAMES...)
%typemap(ctype) NAMES #CT " *"
%typemap(imtype) NAMES #CSTYPE "[]"
%typemap(cstype) NAMES #CSTYPE "[]"
%typemap(csin) NAMES "$csinput"
%typemap(in) NAMES %{ $1 = ($1_ltype)$input; %}
%enddef
GPTQ_CS_ARRAY(int32_t, int, int32_t *ids, const int32_t *ids, int32_t *out)
GPTQ_CS_ARRAY(uint16_t, ushort, uint16_t *out)
GPTQ_CS_ARRAY(float, float, float *out, const float *weights, const float *hessian,
              const float *activations)
GPTQ_CS_ARRAY(char, byte, char *buf, const char *text, const char *prompt)
GPTQ_CS_ARRAY(void, byte, void *out, const void *in)
/* The prompts of a batch: LibGptq.Session writes their UTF-8 end to end into
 * one array it pins and passes a pointer into it per prompt, with the byte
 * lengths beside (count is a plain size_t). */
GPTQ_CS_ARRAY(void *, global::System.IntPtr, const char *const *prompts)
GPTQ_CS_ARRAY(size_t, long, const size_t *lens)

/* ---- Callbacks ----------------------------------------------------------- */
/* `user` is a GCHandle of a LibGptq.Native callback box; the C trampolines
 * call the managed functions registered above with it, which find the box
 * and call its delegate. A box catches what its delegate throws (nothing
 * crosses the C frames), answers "stop", and the exception is thrown again
 * when the call returns. */
%{
static int gptq_swig_progress_trampoline(void *user, const char *stage, uint64_t done,
                                         uint64_t total) {
  return gptq_swig_cs_progress(user, stage, done, total);
}
static int gptq_swig_token_trampoline(void *user, const char *piece, int32_t id) {
  return gptq_swig_cs_token(user, piece, id);
}
static int gptq_swig_batch_token_trampoline(void *user, size_t sequence, const char *piece, int32_t id) {
  return gptq_swig_cs_batch_token(user, (uint64_t)sequence, piece, id);
}
static void gptq_swig_log_trampoline(void *user, gptq_log_level level, const char *msg) {
  gptq_swig_cs_log(user, (int)level, msg);
}
%}
/* Callbacks used only during the call: boxed before it, freed after it. */
%define GPTQ_CS_CALL_CALLBACK(FN_T, CSTYPE, TRAMPOLINE)
%typemap(ctype) (FN_T CALL_FN, void *CALL_USER) "void *"
%typemap(imtype) (FN_T CALL_FN, void *CALL_USER) "global::System.IntPtr"
%typemap(cstype) (FN_T CALL_FN, void *CALL_USER) #CSTYPE
%typemap(csin, pre="    var $csinput_box = LibGptq.Native.CallbackBox.ForCall($csinput);",
         post="      LibGptq.Native.CallbackBox.EndCall($csinput_box);")
  (FN_T CALL_FN, void *CALL_USER) "LibGptq.Native.CallbackBox.Pointer($csinput_box)"
%typemap(in) (FN_T CALL_FN, void *CALL_USER) %{
  $1 = $input ? TRAMPOLINE : NULL;
  $2 = $input;
%}
%enddef
GPTQ_CS_CALL_CALLBACK(gptq_progress_fn, LibGptq.ProgressCallback, gptq_swig_progress_trampoline)
GPTQ_CS_CALL_CALLBACK(gptq_token_fn, LibGptq.TokenCallback, gptq_swig_token_trampoline)
GPTQ_CS_CALL_CALLBACK(gptq_batch_token_fn, LibGptq.BatchTokenCallback, gptq_swig_batch_token_trampoline)
%apply (gptq_progress_fn CALL_FN, void *CALL_USER) {
  (gptq_progress_fn fn, void *user), (gptq_progress_fn progress, void *user) };
%apply (gptq_token_fn CALL_FN, void *CALL_USER) { (gptq_token_fn on_token, void *user) };
%apply (gptq_batch_token_fn CALL_FN, void *CALL_USER) { (gptq_batch_token_fn on_token, void *user) };

/* Callbacks that outlive the call (a context's log sink, a session's
 * progress): the caller passes the GCHandle of a box it keeps and frees when
 * the handle's resources go, as gptq.h asks. */
%define GPTQ_CS_KEPT_CALLBACK(FN_T, TRAMPOLINE)
%typemap(ctype) (FN_T KEPT_FN, void *KEPT_USER) "void *"
%typemap(imtype) (FN_T KEPT_FN, void *KEPT_USER) "global::System.IntPtr"
%typemap(cstype) (FN_T KEPT_FN, void *KEPT_USER) "global::System.IntPtr"
%typemap(csin) (FN_T KEPT_FN, void *KEPT_USER) "$csinput"
%typemap(in) (FN_T KEPT_FN, void *KEPT_USER) %{
  $1 = $input ? TRAMPOLINE : NULL;
  $2 = $input;
%}
%enddef
GPTQ_CS_KEPT_CALLBACK(gptq_log_fn, gptq_swig_log_trampoline)
GPTQ_CS_KEPT_CALLBACK(gptq_progress_fn, gptq_swig_progress_trampoline)
%apply (gptq_log_fn KEPT_FN, void *KEPT_USER) { (gptq_log_fn fn, void *user) };
%apply (gptq_progress_fn KEPT_FN, void *KEPT_USER) { (gptq_progress_fn kept_fn, void *kept_user) };
#endif

/* A session's progress callback outlives the call that sets it: declared
 * again under other parameter names so that the kept-callback typemap, not
 * the call-scoped one, applies. */
%ignore gptq_session_set_progress;
%rename(session_set_progress) gptq_swig_session_set_progress;
%{
#define gptq_swig_session_set_progress gptq_session_set_progress
%}
gptq_status gptq_swig_session_set_progress(gptq_session *session, gptq_progress_fn kept_fn,
                                           void *kept_user);

%include "gptq/gptq.h"
