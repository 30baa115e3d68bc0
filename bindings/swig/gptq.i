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

/* ---- Callbacks ----------------------------------------------------------- */
/* `user` carries a key of the callback registry (go_wrapper below); the C
 * trampolines call the Go functions exported there with it. The prototypes
 * are cgo's for those exports (C types on the Go side). */
%{
extern int gptqSwigGoProgress(uintptr_t key, char *stage, uint64_t done, uint64_t total);
extern int gptqSwigGoToken(uintptr_t key, char *piece, int32_t id);
extern void gptqSwigGoLog(uintptr_t key, int level, char *msg);
static int gptq_swig_progress_trampoline(void *user, const char *stage, uint64_t done,
                                         uint64_t total) {
  return gptqSwigGoProgress((uintptr_t)user, (char *)stage, done, total);
}
static int gptq_swig_token_trampoline(void *user, const char *piece, int32_t id) {
  return gptqSwigGoToken((uintptr_t)user, (char *)piece, id);
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
%apply (gptq_progress_fn CALL_FN, void *CALL_USER) {
  (gptq_progress_fn fn, void *user), (gptq_progress_fn progress, void *user) };
%apply (gptq_token_fn CALL_FN, void *CALL_USER) { (gptq_token_fn on_token, void *user) };

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
%pragma(java) modulecode=%{
  /** A failed call: the library's status and its message. */
  public static class GptqException extends RuntimeException {
    public final int status;
    public GptqException(int status, String message) {
      super(message);
      this.status = status;
    }
  }
%}
%{
#define GPTQ_SWIG_RAISE(status) gptq_swig_java_throw(jenv, (status))
static void gptq_swig_java_throw(JNIEnv *jenv, gptq_status status) {
  jclass cls = (*jenv)->FindClass(jenv, "org/libgptq/swig/gptq$GptqException");
  jmethodID ctor;
  jstring msg;
  if (!cls) return; /* NoClassDefFoundError is pending */
  ctor = (*jenv)->GetMethodID(jenv, cls, "<init>", "(ILjava/lang/String;)V");
  msg = (*jenv)->NewStringUTF(jenv, gptq_last_error());
  if (ctor && msg)
    (*jenv)->Throw(jenv, (jthrowable)(*jenv)->NewObject(jenv, cls, ctor, (jint)status, msg));
}
%}
#endif

#ifdef SWIGCSHARP
%{
#define GPTQ_SWIG_RAISE(status) gptq_swig_csharp_raise(status)
static void gptq_swig_csharp_raise(gptq_status status) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s: %s", gptq_status_name(status), gptq_last_error());
  SWIG_CSharpSetPendingException(SWIG_CSharpApplicationException, buf);
}
%}
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
