/*
 * gptq.h — the public C API of libgptq.
 *
 * libgptq quantizes Hugging Face decoder language models with GPTQ and runs them
 * in int4/int8. This header is the whole stable surface: plain C99, opaque
 * handles, a status code from every call and a thread-local message beside it.
 *
 * Rules that hold for every function below (each function's comment only adds
 * what is particular to it):
 *  - Every function returns a gptq_status (or a value that cannot fail). On any
 *    status other than GPTQ_OK, gptq_last_error() on the same thread says what
 *    went wrong and where; out-parameters are left untouched unless stated.
 *  - No function lets a C++ exception or a crash escape: bad pointers that can be
 *    checked (NULL) give GPTQ_ERR_INVALID_ARGUMENT.
 *  - Every create/open has a destroy; every destroy accepts NULL and does nothing.
 *  - Handles may be destroyed in any order (as a binding's finalizers do):
 *    a model keeps the context it was opened with alive, and a session its
 *    model and context. gptq_*_destroy releases the caller's reference; the
 *    resources go with the last one (see "Context" below). Using a handle after
 *    the caller destroyed it is still an error of the caller's.
 *  - Strings returned by the library are owned by the handle named in the comment
 *    and stay valid until the next call on that handle or its destruction.
 *  - Buffers the caller provides come with a capacity, and the size needed is
 *    always reported. When the capacity is too small the call returns
 *    GPTQ_ERR_BUFFER_TOO_SMALL, writes nothing into the buffer and still sets
 *    the size: call again with a buffer that large. Text outputs are followed
 *    by a NUL, so they need size + 1 bytes; the size excludes it.
 *  - A context is used from one thread at a time; different contexts are
 *    independent and may be used from different threads at once, each on its
 *    own threads (see "Context" below).
 *  - Configurations are JSON text validated against the schema embedded in the
 *    library (schema/gptq.fbs): an unknown field, a wrong type or a value out of
 *    range is GPTQ_ERR_INVALID_ARGUMENT with a message naming the field and what
 *    is allowed. NULL or "" means "all defaults".
 */
#ifndef GPTQ_GPTQ_H
#define GPTQ_GPTQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Export macro ------------------------------------------------------- */
#if defined(_WIN32)
#  if defined(GPTQ_BUILDING_LIBRARY)
#    define GPTQ_API __declspec(dllexport)
#  else
#    define GPTQ_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define GPTQ_API __attribute__((visibility("default")))
#else
#  define GPTQ_API
#endif

/* ---- Deprecation -------------------------------------------------------- */
/* GPTQ_DEPRECATED(msg) marks a function that goes at the next ABI version:
 * where the compiler supports it, each use warns with `msg`, which says what
 * to use instead. Define GPTQ_NO_DEPRECATION_WARNINGS before including this
 * header to silence the warnings. SWIG and other C parsers see nothing. */
#if defined(GPTQ_NO_DEPRECATION_WARNINGS) || defined(SWIG)
#  define GPTQ_DEPRECATED(msg)
#elif defined(__GNUC__) || defined(__clang__)
#  define GPTQ_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#  define GPTQ_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#  define GPTQ_DEPRECATED(msg)
#endif

/* ---- Versions ----------------------------------------------------------- */
/* Compile-time version of this header. Compare with gptq_version_number() to
 * detect a header/library mismatch. */
#define GPTQ_VERSION_MAJOR 0
#define GPTQ_VERSION_MINOR 1
#define GPTQ_VERSION_PATCH 0
#define GPTQ_VERSION_NUMBER \
  (GPTQ_VERSION_MAJOR * 10000 + GPTQ_VERSION_MINOR * 100 + GPTQ_VERSION_PATCH)
/* ABI version: bumped only on an incompatible change; it is the SONAME suffix
 * (libgptq.so.<GPTQ_ABI_VERSION>). */
#define GPTQ_ABI_VERSION 0

/* The library's version as "MAJOR.MINOR.PATCH". Static storage; never NULL. */
GPTQ_API const char *gptq_version(void);
/* The library's version as GPTQ_VERSION_NUMBER computes it. */
GPTQ_API uint32_t gptq_version_number(void);
/* The library's ABI version; a program built against this header needs
 * gptq_abi_version() == GPTQ_ABI_VERSION. */
GPTQ_API uint32_t gptq_abi_version(void);

/* ---- Status and errors -------------------------------------------------- */
typedef enum gptq_status {
  GPTQ_OK = 0,
  GPTQ_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad config value, ...     */
  GPTQ_ERR_IO = 2,               /* a file could not be read or written         */
  GPTQ_ERR_FORMAT = 3,           /* a file's content is malformed               */
  GPTQ_ERR_UNSUPPORTED = 4,      /* valid, but not supported by this build      */
  GPTQ_ERR_OUT_OF_MEMORY = 5,    /* host or device memory exhausted             */
  GPTQ_ERR_DEVICE = 6,           /* the GPU or its driver/libraries failed      */
  GPTQ_ERR_NUMERICAL = 7,        /* e.g. a Hessian that stays indefinite        */
  GPTQ_ERR_CANCELLED = 8,        /* a progress callback asked to stop           */
  GPTQ_ERR_INTERNAL = 9,         /* a bug in libgptq: please report it          */
  GPTQ_ERR_BUFFER_TOO_SMALL = 10, /* a caller's buffer: the size needed was set  */
  GPTQ_ERR_REENTRANT = 11,       /* a callback called into its own call's context
                                    (see "Callbacks")                           */
  /* Not a status: pins the enum to 32 bits and makes every int a valid value
   * of it, so a future status passed to an older library is well-defined
   * (the same device as Vulkan's *_MAX_ENUM). */
  GPTQ_STATUS_MAX_ENUM = 0x7fffffff
} gptq_status;

/* The enumerator's name without prefix, e.g. "INVALID_ARGUMENT"; "UNKNOWN" for
 * a value outside the enum. Static storage; never NULL. */
GPTQ_API const char *gptq_status_name(gptq_status status);

/* The message of the last call on this thread that failed, or "" if none has.
 * Owned by the library; valid until the next failing call on this thread.
 * Each thread sees only its own messages. A successful call does not clear it. */
GPTQ_API const char *gptq_last_error(void);

/* Forgets this thread's last error, so gptq_last_error() returns "". */
GPTQ_API void gptq_clear_error(void);

/* ---- Logging ------------------------------------------------------------ */
typedef enum gptq_log_level {
  GPTQ_LOG_ERROR = 1,
  GPTQ_LOG_WARN = 2,
  GPTQ_LOG_INFO = 3,
  GPTQ_LOG_DEBUG = 4,
  GPTQ_LOG_LEVEL_MAX_ENUM = 0x7fffffff /* not a level: pins the enum to 32 bits */
} gptq_log_level;

/* Receives one log line (no trailing newline). `msg` is valid only during the
 * call. Threads and reentrancy: see "Callbacks" below. */
typedef void (*gptq_log_fn)(void *user, gptq_log_level level, const char *msg);

/* ---- Progress and cancellation ----------------------------------------- */
/* Called during long work with the stage ("quantize", "write checkpoint",
 * "perplexity", "generate"), the units done and the total (0 when unknown).
 * Return 0 to go on, non-zero to cancel: the running call then stops, cleans
 * up (no partial file is left), and returns GPTQ_ERR_CANCELLED.
 *  - It is called only on the thread that made the library call, never on
 *    one of the library's own threads, and never twice at once (see
 *    "Callbacks" for what it may call).
 *  - Within a stage, `total` is the same in every call and `done` never
 *    decreases; a stage's first call has done 0. Calls may repeat a `done`.
 *  - Besides the calls when units complete, it is called while the work
 *    runs: about every 50 ms while a model is quantized, evaluated or
 *    generated from (inside one layer's Hessian, its solve, a forward pass),
 *    and after every 16 MB of a checkpoint written, so a cancel is answered
 *    within a fraction of a second. (Not yet during the steps that read:
 *    tokenizing calibration text, loading a block's or a model's weights.)
 * `stage` is valid only during the call. Every function that takes a
 * gptq_progress_fn accepts NULL. */
typedef int (*gptq_progress_fn)(void *user, const char *stage, uint64_t done,
                                uint64_t total);

/* ---- Callbacks: threads and reentrancy --------------------------------- */
/* Rules for every callback of this header (gptq_log_fn, gptq_progress_fn,
 * gptq_token_fn, gptq_batch_token_fn):
 *  - Thread: a callback runs on the thread that made the library call it
 *    belongs to — the call that logs, the call given the progress or token
 *    callback, gptq_generate (or gptq_generate_batch) for a session's
 *    progress callback — never on one of the context's worker threads. A
 *    context's log callback may so run on different threads over time (e.g.
 *    sessions of it generating on different threads), also after
 *    gptq_context_destroy while its models and sessions live.
 *  - Never concurrently: the callbacks of one call run one at a time, and a
 *    context's log callback is never entered twice at once (a lock of the
 *    context serializes its log lines across threads).
 *  - What a callback may call: gptq_last_error, gptq_clear_error,
 *    gptq_status_name, the version and configuration functions, the
 *    tokenizer functions (gptq_tokenize, gptq_detokenize, ...), the
 *    gptq_matrix_result accessors, and any function on another context or on
 *    the models and sessions made with another context. A function that
 *    takes the running call's context, or a model or session made with it,
 *    returns GPTQ_ERR_REENTRANT with a message naming the running call,
 *    instead of deadlocking on the context's lock or corrupting the running
 *    call's state. Every destroy function may be called, on any handle: it
 *    releases the caller's reference and the running call keeps what it uses
 *    until it returns (what a destroyed handle owned, e.g. a report, is gone
 *    once the call returns).
 *  - A callback must not let a C++ exception or a longjmp cross the library;
 *    to stop the work, return non-zero (progress, token).
 *  - An inner call that fails sets this thread's gptq_last_error; the running
 *    call's own status is what it returns. */

/* ---- Configurations ----------------------------------------------------- */
/* Which table of schema/gptq.fbs a configuration or report is. */
typedef enum gptq_config_kind {
  GPTQ_CONFIG_QUANTIZE = 1,    /* QuantizeConfig (includes its CalibrationConfig) */
  GPTQ_CONFIG_CALIBRATION = 2, /* CalibrationConfig                               */
  GPTQ_CONFIG_RUNTIME = 3,     /* RuntimeConfig: backend, device, threads, log    */
  GPTQ_CONFIG_GENERATION = 4,  /* GenerationConfig: sampling, stop strings        */
  GPTQ_CONFIG_QUANTIZE_REPORT = 5, /* QuantizeReport (output of quantization)     */
  GPTQ_CONFIG_MODEL_INFO = 6,  /* ModelInfo (output of model inspection)          */
  GPTQ_CONFIG_EVAL = 7,        /* EvalConfig: perplexity windows                  */
  GPTQ_CONFIG_EVAL_REPORT = 8, /* EvalReport (output of gptq_evaluate)            */
  GPTQ_CONFIG_KIND_MAX_ENUM = 0x7fffffff /* not a kind: pins the enum to 32 bits  */
} gptq_config_kind;

typedef enum gptq_config_encoding {
  GPTQ_ENCODING_JSON = 1,   /* UTF-8 JSON text (size excludes any NUL)          */
  GPTQ_ENCODING_BINARY = 2, /* a flatbuffer of the kind's table, file id "GPTQ" */
  GPTQ_ENCODING_MAX_ENUM = 0x7fffffff /* not an encoding: pins the enum to 32 bits */
} gptq_config_encoding;

/* Validates a configuration given in one encoding and writes it in another,
 * with every field present (defaults filled in). Use it to check a config
 * before a long call, to see the defaults, or to turn a binary flatbuffer into
 * the JSON that the other functions take.
 *   in, in_size: the input (JSON need not be NUL-terminated).
 *   out, out_cap: caller's buffer; out may be NULL when out_cap is 0.
 *   out_size: the bytes of output (for JSON, excluding the NUL written after
 *   it, so JSON needs out_cap >= *out_size + 1; binary needs *out_size). Set
 *   on GPTQ_OK and on GPTQ_ERR_BUFFER_TOO_SMALL (nothing written then).
 * Thread-safe. */
GPTQ_API gptq_status gptq_config_convert(gptq_config_kind kind, const void *in,
                                         size_t in_size,
                                         gptq_config_encoding in_encoding,
                                         gptq_config_encoding out_encoding,
                                         void *out, size_t out_cap,
                                         size_t *out_size);

/* The schema (flatbuffers IDL text of schema/gptq.fbs) the library validates
 * against: every option with its type, default, allowed range and doc comment.
 * Static storage; never NULL. */
GPTQ_API const char *gptq_config_schema(void);

/* ---- Context ------------------------------------------------------------ */
/* A context holds the backend (CPU or CUDA), its device, its CPU threads and
 * its log sink. Use it from one thread at a time.
 *
 * Threads: a context starts "threads" - 1 worker threads of its own when it
 * is created (the calling thread is the last one); every call that computes
 * with it (gptq_quantize_model, gptq_quantize_matrix, gptq_rtn_matrix,
 * gptq_evaluate, and gptq_generate(_batch) of its sessions) runs on them and on no
 * other. Two contexts with different thread counts used at once from two
 * threads each use their own count. Results do not depend on the thread
 * count: work is cut into pieces by its shape alone, so one thread gives the
 * same bits as sixteen.
 *
 * OpenBLAS: its thread count is one setting for the whole process (OpenBLAS
 * has no per-thread count), so the library does not use it for its own
 * threads. While any call of the library is computing, OpenBLAS is held at
 * one thread (each of our BLAS calls then runs on the thread that makes it);
 * when the last such call returns, the count the host had is restored, so
 * openblas_get_num_threads() is the host's own value before and after every
 * call. The host's own BLAS calls made on other threads during a library
 * call run single-threaded (still correct); a count the host sets during a
 * library call is kept. Creating or destroying a context does not touch
 * OpenBLAS at all. */
typedef struct gptq_context gptq_context;

/* Creates a context from a RuntimeConfig in JSON (NULL or "" for defaults):
 *   {"backend": "auto"|"cpu"|"cuda", "device": 0, "threads": 0, "log_level": "info"}
 * "threads" is the number of CPU threads the context computes on (see above),
 * 0 for one per CPU the process may run on; GPTQ_ERR_OUT_OF_MEMORY when the
 * system refuses to start that many.
 * "auto" uses CUDA when the CUDA backend (libgptq-cuda.so) loads and a GPU is
 * present, and the CPU otherwise, logging why. "cuda" when CUDA is unavailable
 * fails with GPTQ_ERR_DEVICE (or GPTQ_ERR_UNSUPPORTED when this build has no
 * CUDA backend) and says why. Until gptq_context_set_log is called, log lines
 * at or above the configured level ("log_level", default "warn") go to stderr;
 * the lines written while the context was created are kept and replayed to the
 * callback when one is set, so a caller can see why a backend was chosen.
 * *out receives a new context owned by the caller (free with
 * gptq_context_destroy); unchanged on failure. Thread-safe. */
GPTQ_API gptq_status gptq_context_create(const char *runtime_json,
                                         gptq_context **out);

/* Releases the caller's reference to the context. NULL is a no-op. The
 * context's resources (its threads, its backend and device, its log sink) go
 * when the last model and session made with it is destroyed too: each keeps
 * the context it was made with alive, so handles may be destroyed in any
 * order. Until then the log sink and its `user` may still be called (by the
 * models' and sessions' calls). ctx itself must not be used after this. */
GPTQ_API void gptq_context_destroy(gptq_context *ctx);

/* Sends the context's log lines at or above the configured level to fn
 * (fn NULL: back to stderr), first replaying those written during creation.
 * `user` is passed back untouched and must stay valid until the next call of
 * this function or until the context's resources go (after its last model
 * and session; see gptq_context_destroy). */
GPTQ_API gptq_status gptq_context_set_log(gptq_context *ctx, gptq_log_fn fn,
                                          void *user);

/* The backend the context runs on: "cpu" or "cuda". Owned by ctx. */
GPTQ_API gptq_status gptq_context_backend(const gptq_context *ctx,
                                          const char **name);

/* A human-readable name of the device: the GPU's name for CUDA, the CPU model
 * and thread count for the CPU. Owned by ctx. */
GPTQ_API gptq_status gptq_context_device_name(const gptq_context *ctx,
                                              const char **name);

/* The effective RuntimeConfig as JSON, every field filled in (e.g. "threads"
 * resolved to the number used). Owned by ctx. */
GPTQ_API gptq_status gptq_context_runtime_json(const gptq_context *ctx,
                                               const char **json);

/* ---- Models ------------------------------------------------------------- */
/* A Hugging Face model directory, float or GPTQ-quantized: its config, its
 * tokenizer and its weights (memory-mapped lazily). Read-only once opened: one
 * model may be used by several threads at once. A model belongs to the
 * context it was opened with and keeps it alive (a model opened with a CUDA
 * context keeps its prepared weights on that context's device); using it
 * with another context (gptq_evaluate, gptq_session_create) is
 * GPTQ_ERR_INVALID_ARGUMENT. */
typedef struct gptq_model gptq_model;

/* Opens the model in `dir`: config.json (llama, mistral, qwen2, opt), the
 * tokenizer (tokenizer.json and tokenizer_config.json, when present), the
 * safetensors checkpoint (model.safetensors, or model.safetensors.index.json
 * and its shards). Opening reads headers only; its cost does not grow with the
 * model. `ctx` receives the log lines. Errors name the file and the field or
 * tensor: GPTQ_ERR_IO (missing/unreadable), GPTQ_ERR_FORMAT (malformed),
 * GPTQ_ERR_UNSUPPORTED (e.g. an architecture not supported).
 * *out receives a model owned by the caller (gptq_model_destroy). */
GPTQ_API gptq_status gptq_model_open(gptq_context *ctx, const char *dir, gptq_model **out);

/* Releases the caller's reference to the model. NULL is a no-op. The model's
 * weights go when its last session is destroyed too (each session keeps its
 * model alive); then it releases its context. */
GPTQ_API void gptq_model_destroy(gptq_model *model);

/* What the model is, as ModelInfo JSON (schema/gptq.fbs): architecture,
 * sizes, dtype, parameter count, shards, every tensor with dtype, shape and
 * shard, and the quantization config of a GPTQ checkpoint (null otherwise).
 * Owned by the model, valid until it is destroyed. Thread-safe. */
GPTQ_API gptq_status gptq_model_info_json(const gptq_model *model, const char **json);

/* ---- Tokenizer ---------------------------------------------------------- */
/* A Hugging Face tokenizer (tokenizer.json, with tokenizer_config.json when
 * present): byte-level BPE (GPT-2, Qwen2, Llama-3) and SentencePiece-style BPE
 * (Llama-2, Mistral, Phi-3), giving ids identical to Hugging Face tokenizers'.
 * Immutable once opened: one tokenizer may be used by several threads at once. */
typedef struct gptq_tokenizer gptq_tokenizer;

/* Opens the tokenizer at `path`: a tokenizer.json file, or a directory holding
 * one (a model directory or a tokenizer-only one); the tokenizer_config.json of
 * that directory (the file's own directory for a file) is read when present,
 * for the BOS/EOS tokens and decoding options. Needs no model: no config.json,
 * no weights. Errors name the file: GPTQ_ERR_IO with the reason when it cannot
 * be read (missing, not a regular file, permissions), GPTQ_ERR_FORMAT for
 * malformed content (naming the JSON field), GPTQ_ERR_UNSUPPORTED for a
 * component libgptq does not implement (e.g. a WordPiece model, an NFKC
 * normalizer), rather than ids that would differ from Hugging Face's.
 * *out receives a tokenizer owned by the caller (gptq_tokenizer_destroy);
 * unchanged on failure. Thread-safe. */
GPTQ_API gptq_status gptq_tokenizer_open(const char *path, gptq_tokenizer **out);

/* Frees a tokenizer from gptq_tokenizer_open. NULL is a no-op, and so is a
 * tokenizer lent by gptq_model_tokenizer (its model frees it). */
GPTQ_API void gptq_tokenizer_destroy(gptq_tokenizer *tokenizer);

/* The model's tokenizer (from its directory's tokenizer.json). *out is
 * borrowed: owned by the model, valid until gptq_model_destroy, and usable
 * from several threads like any tokenizer. GPTQ_ERR_UNSUPPORTED naming the
 * directory when the model has no tokenizer.json. Thread-safe. */
GPTQ_API gptq_status gptq_model_tokenizer(const gptq_model *model, const gptq_tokenizer **out);

/* Flags of gptq_tokenize. 0 adds the special tokens the tokenizer adds (e.g.
 * BOS), exactly as transformers' tokenizer(text) does. */
#define GPTQ_TOKENIZE_NO_SPECIAL 1u
/* Flags of gptq_detokenize. 0 keeps special tokens in the text, as
 * transformers' decode(ids) does. */
#define GPTQ_DETOKENIZE_SKIP_SPECIAL 1u

/* Tokenizes `len` bytes of UTF-8 text (not NUL-terminated; invalid UTF-8 is
 * repaired as Python's decode(errors="replace") does, each bad sequence
 * becoming U+FFFD) into token ids identical to Hugging Face tokenizers'.
 *   ids, cap: caller's buffer of int32 (ids may be NULL when cap is 0).
 *   n: set to the number of ids, also when cap is short
 *      (GPTQ_ERR_BUFFER_TOO_SMALL, nothing written).
 * Thread-safe. */
GPTQ_API gptq_status gptq_tokenize(const gptq_tokenizer *tokenizer, const char *text, size_t len,
                                   uint32_t flags, int32_t *ids, size_t cap, size_t *n);

/* Turns ids back into UTF-8 text as Hugging Face's decode does, into buf
 * followed by a NUL (needs cap >= *len + 1). *len is set to the text's size in
 * bytes, also when cap is short (GPTQ_ERR_BUFFER_TOO_SMALL, nothing written).
 * An id outside the vocabulary is GPTQ_ERR_INVALID_ARGUMENT naming it.
 * Thread-safe. */
GPTQ_API gptq_status gptq_detokenize(const gptq_tokenizer *tokenizer, const int32_t *ids, size_t n,
                                     uint32_t flags, char *buf, size_t cap, size_t *len);


/* ---- Quantizing a model ------------------------------------------------- */
/* Quantizes the float model in `model_dir` with GPTQ, layer by layer on
 * calibration text (the paper's pipeline: true-sequential, each block
 * calibrated on the outputs of the already quantized ones), and writes a
 * Hugging Face GPTQ checkpoint to `out_dir`: sharded safetensors with
 * qweight/qzeros/scales/g_idx, config.json with quantization_config,
 * quantize_config.json, tokenizer and generation config copied.
 * `quantize_json` is a QuantizeConfig; its "calibration" says where the text
 * comes from ({"files": ["calib.txt"], "nsamples": 128, "seqlen": 2048,
 * "seed": 0}; seqlen 0, the default, is the model's context capped at 2048,
 * and a longer seqlen than the context is refused). The report's config holds
 * the seqlen and nsamples used. The directory appears complete or not at all
 * and a failure or a cancel leaves nothing. Every path is checked before any
 * work: out_dir must not be "/", nor be, hold or lie inside model_dir; an
 * existing out_dir is refused unless "overwrite" is true, and even then is
 * replaced only when it is empty or a checkpoint libgptq wrote (its
 * quantize_config.json names libgptq in meta.quantizer and it holds only the
 * files libgptq writes), never when it holds the working directory or
 * anything else. Staging directories ("<out_dir>.tmp-XXXXXX") that a killed
 * run left are removed, and those of a live run left, with a warning logged.
 * `progress` (stage "quantize": units of estimated work — the calibration
 * forward passes, each Hessian and each solve weighted by its cost, so
 * done/total grows in proportion to the time spent and gives a steady ETA —,
 * total known from the first call; then "write checkpoint": bytes) may return
 * non-zero to cancel (GPTQ_ERR_CANCELLED). *report_json receives a QuantizeReport (every layer's
 * loss, damping and seconds; totals; peak memory), owned by ctx and valid
 * until the next call on ctx. */
GPTQ_API gptq_status gptq_quantize_model(gptq_context *ctx, const char *model_dir,
                                         const char *quantize_json, const char *out_dir,
                                         gptq_progress_fn progress, void *user,
                                         const char **report_json);

/* ==== EXPERIMENTAL: BEGIN ================================================ */
/* Everything between EXPERIMENTAL: BEGIN and END may change in any minor
 * release without an ABI version bump: a function may be removed or
 * replaced, and a changed signature always comes under a new name, so a
 * program that uses one fails to load against a library without it rather
 * than misbehaving. These functions are exported and listed in
 * capi/exports.txt like the rest. Stable functions never move in here.
 * Now here: the one-matrix API (gptq_quantize_matrix, gptq_rtn_matrix and
 * the gptq_matrix_result accessors). Its inputs are the CPU solver's (host
 * float32 arrays, H scaled as GPTQ keeps it, the options of a whole-model
 * QuantizeConfig), and may change when the GPU quantize engine defines what a
 * layer's solve takes and gives. */

/* ---- One matrix: the algorithm alone ----------------------------------- */
/* For callers with their own model code: quantize one weight matrix W (the
 * Hugging Face nn.Linear weight, rows = out_features N, cols = in_features K,
 * row-major float32) and read back the Hugging Face GPTQ tensors, the
 * dequantized weights and the solver's statistics. */
typedef struct gptq_matrix_result gptq_matrix_result;

/* GPTQ on W with the options of a QuantizeConfig in JSON (NULL or "" for the
 * defaults; its calibration, modules_to_skip and true_sequential fields have
 * no meaning here). Give the layer's inputs one way:
 *   hessian: H, cols x cols row-major (2/n * sum x x^T as GPTQ keeps it), with
 *            activations NULL and n 0; or
 *   activations: X, n x cols row-major (one input vector per row), with
 *            hessian NULL; H is accumulated from X (in float64 when the
 *            config's hessian_fp64 is set).
 * Runs on the context's threads. GPTQ_ERR_INVALID_ARGUMENT for sizes <= 0,
 * both or neither of hessian/activations, a NaN or Inf in any input (naming
 * the matrix, row and column), a bad config (naming the field) or one that
 * does not fit the matrix (group_size not dividing cols); GPTQ_ERR_NUMERICAL
 * when no damping within damp_percent's retries makes H positive definite.
 * *out receives a result owned by the caller (gptq_matrix_result_destroy). */
GPTQ_API gptq_status gptq_quantize_matrix(gptq_context *ctx, const float *weights, int64_t rows,
                                          int64_t cols, const float *hessian,
                                          const float *activations, int64_t n,
                                          const char *quantize_json, gptq_matrix_result **out);

/* Round-to-nearest on the same grid (no Hessian; desc_act, static_groups and
 * damping do not apply: g_idx is k / group_size, loss and damping are 0).
 * Errors and ownership as gptq_quantize_matrix. */
GPTQ_API gptq_status gptq_rtn_matrix(gptq_context *ctx, const float *weights, int64_t rows,
                                     int64_t cols, const char *quantize_json,
                                     gptq_matrix_result **out);

/* Frees the result and every array it handed out. NULL is a no-op. */
GPTQ_API void gptq_matrix_result_destroy(gptq_matrix_result *result);

/* The accessors below return arrays owned by the result: *data stays valid,
 * unchanged, until gptq_matrix_result_destroy. A result never changes once
 * made, so its accessors may be called from several threads at once. Shapes are [*rows, *cols],
 * row-major. G is the number of groups: cols / group_size, or 1 for
 * group_size -1.
 *
 * The checkpoint tensors, exactly as a Hugging Face GPTQ checkpoint holds
 * them for this layer (zero points in the config's checkpoint_format):
 *   qweight int32 [cols * bits / 32, rows]
 *   qzeros  int32 [G, rows * bits / 32]
 *   scales  IEEE fp16 bits, uint16 [G, rows]
 *   g_idx   int32 [cols]
 * The packed format needs cols * bits and rows * bits to be multiples of 32;
 * for other shapes these four return GPTQ_ERR_INVALID_ARGUMENT saying so
 * (the unpacked accessors still work). */
GPTQ_API gptq_status gptq_matrix_result_qweight(const gptq_matrix_result *result,
                                                const int32_t **data, int64_t *rows,
                                                int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_qzeros(const gptq_matrix_result *result,
                                               const int32_t **data, int64_t *rows,
                                               int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_scales_fp16(const gptq_matrix_result *result,
                                                    const uint16_t **data, int64_t *rows,
                                                    int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_g_idx(const gptq_matrix_result *result,
                                              const int32_t **data, int64_t *size);

/* Unpacked: the dequantized weights float [rows, cols] (scale * (code - zero),
 * with the float32 scales), the scales float32 [G, rows] and the true zero
 * points int32 [G, rows] (in [0, 2^bits)). */
GPTQ_API gptq_status gptq_matrix_result_dequantized(const gptq_matrix_result *result,
                                                    const float **data, int64_t *rows,
                                                    int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_scales(const gptq_matrix_result *result,
                                               const float **data, int64_t *rows,
                                               int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_zeros(const gptq_matrix_result *result,
                                              const int32_t **data, int64_t *rows,
                                              int64_t *cols);

/* The same arrays copied into the caller's buffer, for callers that cannot
 * hold a borrowed pointer (Java, C#): `out` of `cap` elements (out may be
 * NULL when cap is 0), *count set to the elements of the array (rows * cols)
 * on GPTQ_OK and on GPTQ_ERR_BUFFER_TOO_SMALL (nothing written then), as
 * every caller's buffer of this header. *rows and *cols receive the shape
 * when not NULL, also with GPTQ_ERR_BUFFER_TOO_SMALL, so one call with cap 0
 * sizes the buffer. Errors otherwise as the borrowing accessor of the same
 * name. Thread-safe. */
GPTQ_API gptq_status gptq_matrix_result_qweight_copy(const gptq_matrix_result *result,
                                                     int32_t *out, size_t cap, size_t *count,
                                                     int64_t *rows, int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_qzeros_copy(const gptq_matrix_result *result,
                                                    int32_t *out, size_t cap, size_t *count,
                                                    int64_t *rows, int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_scales_fp16_copy(const gptq_matrix_result *result,
                                                         uint16_t *out, size_t cap, size_t *count,
                                                         int64_t *rows, int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_g_idx_copy(const gptq_matrix_result *result,
                                                   int32_t *out, size_t cap, size_t *count);
GPTQ_API gptq_status gptq_matrix_result_dequantized_copy(const gptq_matrix_result *result,
                                                         float *out, size_t cap, size_t *count,
                                                         int64_t *rows, int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_scales_copy(const gptq_matrix_result *result,
                                                    float *out, size_t cap, size_t *count,
                                                    int64_t *rows, int64_t *cols);
GPTQ_API gptq_status gptq_matrix_result_zeros_copy(const gptq_matrix_result *result,
                                                   int32_t *out, size_t cap, size_t *count,
                                                   int64_t *rows, int64_t *cols);

/* The GPTQ loss (sum over weights of ((w - q) / d)^2 / 2, d the diagonal of
 * the inverse Cholesky factor; it scales with H) and the damping fraction
 * finally used (damp_percent after any automatic increase); both 0 for RTN. */
GPTQ_API gptq_status gptq_matrix_result_loss(const gptq_matrix_result *result, double *loss);
GPTQ_API gptq_status gptq_matrix_result_damp_percent(const gptq_matrix_result *result,
                                                     double *damp_percent);
/* ==== EXPERIMENTAL: END ================================================== */

/* ---- Evaluation --------------------------------------------------------- */
/* Perplexity of the model on `len` bytes of UTF-8 text, with the protocol of
 * the GPTQ paper: the text is tokenized as transformers' tokenizer(text) does
 * (special tokens once at the start), cut into non-overlapping windows of
 * "seqlen" tokens (the remainder dropped), each window run on its own, and
 * ppl = exp(mean NLL of the seqlen - 1 next-token predictions of every
 * window). eval_json is an EvalConfig (NULL or "" for defaults):
 *   {"seqlen": 512, "max_windows": 0}   (max_windows 0: all windows)
 * The first call on a model loads its weights as fp32 (kept by the model for
 * later calls and sessions). `fn` (may be NULL) is called with stage
 * "perplexity", windows done and total: at the start, after each window and
 * in between while a window runs; non-zero cancels (GPTQ_ERR_CANCELLED). Runs
 * on ctx's threads. On GPTQ_OK, *report_json receives an EvalReport
 * (schema/gptq.fbs: ppl, nll, windows, tokens scored, the text's tokens, the
 * config used, each window's NLL, seconds, backend), owned by ctx and valid
 * until the next call on ctx. GPTQ_ERR_INVALID_ARGUMENT when the text has
 * fewer tokens than one window, or seqlen is longer than the model's context
 * (both numbers named; checked before the text is tokenized), or the model
 * was opened with another context; GPTQ_ERR_UNSUPPORTED when the model has
 * no tokenizer. `ctx` receives the log lines and must not be used by another
 * thread during the call; the model may be shared. */
GPTQ_API gptq_status gptq_evaluate(gptq_context *ctx, const gptq_model *model,
                                   const char *text, size_t len, const char *eval_json,
                                   gptq_progress_fn fn, void *user,
                                   const char **report_json);

/* Deprecated: gptq_evaluate, whose EvalReport holds these numbers and more.
 * The same evaluation; on GPTQ_OK sets *ppl, *windows (windows evaluated) and
 * *tokens (tokens scored); `windows` and `tokens` may be NULL. Kept so that
 * programs built against ABI 0 run; removed at the next ABI version. */
GPTQ_DEPRECATED("use gptq_evaluate: its EvalReport holds ppl, windows and tokens")
GPTQ_API gptq_status gptq_perplexity(gptq_context *ctx, const gptq_model *model,
                                     const char *text, size_t len, const char *eval_json,
                                     gptq_progress_fn fn, void *user, double *ppl,
                                     size_t *windows, size_t *tokens);

/* ---- Generation --------------------------------------------------------- */
/* A session generates text with one model and one GenerationConfig, on the
 * threads of the context it was created with. Use a session from one thread
 * at a time; several sessions may use one model on different threads at
 * once, and sessions of one context may generate on different threads at
 * once (they then share the context's threads). A session keeps its model
 * and its context alive, so they may be destroyed before it. */
typedef struct gptq_session gptq_session;

/* Receives generated text as it becomes final, on the thread that called
 * gptq_generate (see "Callbacks"). `text_piece` is NUL-terminated
 * UTF-8 valid only during the call: whole characters, never part of a stop
 * string, special tokens left out; it is often "" (e.g. while a multi-byte
 * character or a possible stop string is pending). token_id is the token just
 * generated, or -1 for a last call that flushes text held back at the end.
 * Return 0 to go on, non-zero to stop generating (gptq_generate then returns
 * GPTQ_OK). */
typedef int (*gptq_token_fn)(void *user, const char *text_piece, int32_t token_id);

/* Creates a session from a GenerationConfig in JSON (NULL or "" for
 * defaults), e.g. {"max_new_tokens": 64, "temperature": 0.7, "top_k": 40,
 * "top_p": 0.9, "repetition_penalty": 1.1, "seed": 1, "stop": ["\n\n"]}
 * (temperature 0: greedy). Loads the model's weights as fp32 on first use by
 * any call (kept by the model). *out receives a session owned by the caller
 * (gptq_session_destroy); unchanged on failure. GPTQ_ERR_UNSUPPORTED when the
 * model has no tokenizer; GPTQ_ERR_INVALID_ARGUMENT when the model was opened
 * with another context. `ctx` receives the log lines, and its threads run
 * the session's gptq_generate calls. */
GPTQ_API gptq_status gptq_session_create(gptq_context *ctx, const gptq_model *model,
                                         const char *generation_json, gptq_session **out);

/* Frees the session (once a gptq_generate running it, from whose callback
 * this was called, returns) and releases its model and context. NULL is a
 * no-op. */
GPTQ_API void gptq_session_destroy(gptq_session *session);

/* Sets the progress callback of the session's gptq_generate (and
 * gptq_generate_batch, whose units are every sequence's) calls (fn NULL:
 * none, the default): stage "generate", done = tokens run through the model
 * (the prompt's, as its forward pass goes, then one per generated token),
 * total = prompt tokens + max_new_tokens (within the model's positions; done
 * may stop short of it). Called at the start, after each token and about
 * every 50 ms during a long prompt or step; non-zero cancels: gptq_generate
 * returns GPTQ_ERR_CANCELLED (text already passed to on_token stays passed).
 * `user` is passed back untouched. */
GPTQ_API gptq_status gptq_session_set_progress(gptq_session *session, gptq_progress_fn fn, void *user);

/* Generates a continuation of `len` bytes of UTF-8 prompt (tokenized with the
 * special tokens transformers adds, e.g. BOS), streaming it to on_token (may
 * be NULL). Each call starts afresh from its prompt, with the sampler
 * reseeded from the config, so the same prompt and seed give the same text.
 * Generation ends after max_new_tokens, at the end-of-sequence token (when
 * stop_at_eos; not passed to on_token), at a stop string (not passed) or when
 * on_token returns non-zero. GPTQ_ERR_INVALID_ARGUMENT, before anything runs,
 * when the prompt's tokens plus max_new_tokens exceed the model's context
 * (max_position_embeddings, times the rope_scaling factor for "linear" and
 * "dynamic" scaling), naming the numbers. */
GPTQ_API gptq_status gptq_generate(gptq_session *session, const char *prompt, size_t len,
                                   gptq_token_fn on_token, void *user);

/* Receives the text of sequence `sequence` (the prompt's index in the
 * gptq_generate_batch call) as gptq_token_fn does for gptq_generate, on the
 * thread that called gptq_generate_batch. Return 0 to go on, non-zero to stop
 * generating THAT sequence (the others go on; nothing more comes for it). */
typedef int (*gptq_batch_token_fn)(void *user, size_t sequence, const char *text_piece, int32_t token_id);

/* Generates a continuation of each of `count` prompts (prompts[i], lens[i]
 * bytes of UTF-8; prompts[i] may be NULL when lens[i] is 0) together, as one
 * batch: the prompts run through the model in one forward pass, then every
 * sequence still generating takes its next token in one step, which costs
 * about what one sequence's step costs while the weights' reads dominate (a
 * GPU's decode). Each sequence is what gptq_generate gives its prompt alone
 * (its own sampler seeded from the config, its own stop strings, EOS and
 * max_new_tokens), up to the rounding of a batched forward pass against a
 * single one (a greedy choice between two nearly equal logits can differ).
 * on_token (may be NULL) receives each sequence's pieces, interleaved across
 * sequences, with the sequence's index. The session's progress callback
 * (gptq_session_set_progress) sees stage "generate", done and total over
 * every sequence's tokens (each prompt's tokens + max_new_tokens); non-zero
 * cancels every sequence: GPTQ_ERR_CANCELLED (text already passed stays
 * passed). GPTQ_ERR_INVALID_ARGUMENT when count is 0, prompts or lens is
 * NULL, a prompts[i] is NULL with lens[i] > 0, or, before anything runs,
 * when a prompt's tokens plus max_new_tokens exceed the model's context (as
 * gptq_generate), naming the argument or the prompt's index. */
GPTQ_API gptq_status gptq_generate_batch(gptq_session *session, const char *const *prompts, const size_t *lens,
                                         size_t count, gptq_batch_token_fn on_token, void *user);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GPTQ_GPTQ_H */
