/* The table through which libgptq.so drives a backend that lives in its own
 * shared object (today: the CUDA backend, libgptq-cuda.so), as ONNX Runtime
 * loads execution providers and ggml its backends. Plain C types only, so no
 * C++ object, exception or CUDA type crosses the dlopen boundary.
 *
 * Not a public API: the plugin and the library are built from the same tree
 * and the loader (core/backend/backend_loader.cpp) insists on the exact
 * GPTQ_BACKEND_PLUGIN_VERSION and table size.
 *
 * Version 8 (7's block_run could not be told to stop early, nor host
 * memory be page-locked; 6 brought
 * every sequence's logits to the host to choose its
 * next token; 5 ran every sequence of a KV cache at one length; 4 brought
 * every solve's dequantized weights to the host; 3 had
 * no block forward; 2 had the plugin read the checkpoint itself). Every entry that can fail returns a gptq_plugin_status (0 on
 * success) and, on failure, writes a NUL-terminated reason into err (capacity
 * err_cap); the core raises it with the status it maps to, so a device that
 * runs out of memory surfaces as GPTQ_ERR_OUT_OF_MEMORY with the plugin's
 * words. Entries below "optional" may be NULL: not supported by this plugin.
 * The core then runs that operation on the CPU backend and says so once in
 * the context's log. Handles (buffers, Hessians, prepared models, KV caches)
 * are opaque to the core and belong to the state that made them. */
#ifndef GPTQ_CORE_BACKEND_PLUGIN_H
#define GPTQ_CORE_BACKEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define GPTQ_BACKEND_PLUGIN_VERSION 8
/* The one symbol a plugin exports: returns its table (static storage). */
#define GPTQ_BACKEND_PLUGIN_ENTRY "gptq_backend_plugin_v8"

/* Values equal gptq_status's (capi/include/gptq/gptq.h) and gptq::Status's
 * (core/error.h) for the same failure; a static_assert in the loader keeps
 * them in step. A value outside this list is mapped to GPTQ_ERR_INTERNAL. */
typedef enum gptq_plugin_status {
  GPTQ_PLUGIN_OK = 0,
  GPTQ_PLUGIN_ERR_INVALID_ARGUMENT = 1, /* a shape or option the plugin refuses */
  GPTQ_PLUGIN_ERR_UNSUPPORTED = 4,      /* e.g. a bit width without a kernel */
  GPTQ_PLUGIN_ERR_OUT_OF_MEMORY = 5,    /* device (or pinned host) memory exhausted */
  GPTQ_PLUGIN_ERR_DEVICE = 6,           /* driver/runtime/library failure: name the call */
  GPTQ_PLUGIN_ERR_NUMERICAL = 7,        /* e.g. no damping makes H positive definite */
  GPTQ_PLUGIN_ERR_CANCELLED = 8,        /* host->cancelled() said so */
  GPTQ_PLUGIN_ERR_INTERNAL = 9          /* a bug in the plugin */
} gptq_plugin_status;

/* What the core lends a plugin for the life of a state (handed to open).
 * Both functions may be called from any thread that runs a plugin entry. */
typedef struct gptq_backend_host {
  uint32_t size; /* sizeof(gptq_backend_host) */
  void *user;    /* passed back to the functions below */
  /* A line in the context's log; level as gptq_log_level (1 error, 2 warn,
   * 3 info, 4 debug). */
  void (*log)(void *user, int level, const char *message);
  /* Non-zero when the library call in progress on the calling thread was
   * cancelled (its progress callback asked to stop): return
   * GPTQ_PLUGIN_ERR_CANCELLED soon, leaving no work queued. Cheap to call
   * between kernels. */
  int (*cancelled)(void *user);
} gptq_backend_host;

/* Opaque handles, each owned by the state that made it. */
typedef struct gptq_plugin_buffer gptq_plugin_buffer;   /* device memory */
typedef struct gptq_plugin_hessian gptq_plugin_hessian; /* a layer's H on the device */
typedef struct gptq_plugin_model gptq_plugin_model;     /* prepared (repacked, uploaded) weights */
typedef struct gptq_plugin_cache gptq_plugin_cache;     /* a KV cache */
typedef struct gptq_plugin_block gptq_plugin_block;     /* runs blocks of one spec (calibration) */

/* The solve's options, as gptq::quant::QuantOptions. */
typedef struct gptq_plugin_quant_options {
  int32_t bits;          /* 2, 3, 4 or 8 */
  int32_t group_size;    /* -1: one group per row */
  int32_t sym;           /* non-zero: symmetric grid */
  int32_t desc_act;      /* non-zero: act-order */
  int32_t static_groups; /* non-zero: groups fitted before the solve */
  int32_t positive_zero; /* non-zero: asymmetric zero points kept >= 1 */
  float damp_percent;
  float damp_auto_increment;
  int32_t block_size;
  int32_t mse;           /* non-zero: MSE clipping with the three fields below */
  float mse_norm;
  int32_t mse_grid;
  float mse_max_shrink;
} gptq_plugin_quant_options;

/* Where a solve writes its result: host arrays the core allocated, of the
 * sizes gptq::quant::QuantResult documents (G groups, N rows, K columns),
 * and the dequantized weights on the host, on the device, or both. */
typedef struct gptq_plugin_quant_result {
  uint8_t *codes;   /* [N][K] */
  float *scales;    /* [G][N] */
  int32_t *zeros;   /* [G][N] */
  int32_t *g_idx;   /* [K] */
  int32_t *perm;    /* [K]; left alone without act-order */
  float *dequant;   /* [N][K] on the host, or NULL when dequant_buffer is set */
  double loss;
  double damp_percent; /* finally used */
  /* A buffer of this state of at least N * K * 4 bytes that gets the
   * dequantized weights (fp32 [N][K]) where they are computed, for the
   * calibration forward's next run (block_set_dense_buffer); NULL: none.
   * One of dequant and dequant_buffer is set. */
  gptq_plugin_buffer *dequant_buffer;
  double factor_seconds; /* written: wall time of damping and the inverse Cholesky, retries included */
} gptq_plugin_quant_result;

/* The forward pass's shape, as the core's model spec (core/model/
 * model_config.h) resolves it from config.json and the architecture table:
 * what differs between llama, mistral, qwen2 and opt, as data. */
typedef enum gptq_plugin_norm { GPTQ_PLUGIN_NORM_RMS = 0, GPTQ_PLUGIN_NORM_LAYER = 1 } gptq_plugin_norm;
typedef enum gptq_plugin_positions {
  GPTQ_PLUGIN_POSITIONS_ROPE = 0,   /* rotate-half RoPE on q and k */
  GPTQ_PLUGIN_POSITIONS_LEARNED = 1 /* a table added to the embeddings */
} gptq_plugin_positions;
typedef enum gptq_plugin_activation {
  GPTQ_PLUGIN_ACT_SILU = 0,
  GPTQ_PLUGIN_ACT_RELU = 1,
  GPTQ_PLUGIN_ACT_GELU = 2,      /* erf form */
  GPTQ_PLUGIN_ACT_GELU_TANH = 3
} gptq_plugin_activation;

typedef struct gptq_plugin_model_spec {
  uint32_t size;          /* sizeof(gptq_plugin_model_spec) */
  const char *model_type; /* for messages: "llama", "opt", ... */
  int64_t hidden_size;
  int64_t num_layers;
  int64_t num_heads;
  int64_t num_kv_heads;      /* divides num_heads (GQA) */
  int64_t head_dim;
  int64_t intermediate_size;
  int64_t vocab_size;
  int64_t embed_width;       /* word_embed_proj_dim (OPT); = hidden_size elsewhere */
  int64_t max_positions;     /* the model's context: positions beyond are refused */
  int32_t positions;         /* gptq_plugin_positions */
  int64_t position_offset;   /* learned positions: rows of the table before position 0 */
  int32_t norm;              /* gptq_plugin_norm */
  double norm_eps;
  int32_t norm_before;       /* non-zero: pre-norm blocks, x + f(norm(x)); else norm(x + f(x)) */
  int32_t final_norm;        /* non-zero: a norm after the last block */
  int32_t gated_mlp;         /* non-zero: down(act(gate(x)) * up(x)); else down(act(up(x))) */
  int32_t activation;        /* gptq_plugin_activation */
  int32_t tie_word_embeddings; /* non-zero: logits use embed_tokens; no lm_head is set */
  int32_t project_embeddings;  /* non-zero: project_in / project_out are set (OPT) */
  int64_t sliding_window;    /* > 0: a query at p sees keys at positions > p - window */
} gptq_plugin_model_spec;

/* What a tensor is for. Block roles (layer >= 0) and model-level roles
 * (layer -1); a norm's weight and bias come as one dense tensor. */
typedef enum gptq_plugin_role {
  GPTQ_PLUGIN_ROLE_ATTN_NORM = 0,
  GPTQ_PLUGIN_ROLE_MLP_NORM = 1,
  GPTQ_PLUGIN_ROLE_Q = 2,
  GPTQ_PLUGIN_ROLE_K = 3,
  GPTQ_PLUGIN_ROLE_V = 4,
  GPTQ_PLUGIN_ROLE_O = 5,
  GPTQ_PLUGIN_ROLE_GATE = 6,
  GPTQ_PLUGIN_ROLE_UP = 7,
  GPTQ_PLUGIN_ROLE_DOWN = 8,
  GPTQ_PLUGIN_ROLE_EMBED_TOKENS = 16,    /* [vocab][embed_width] */
  GPTQ_PLUGIN_ROLE_EMBED_POSITIONS = 17, /* [max_positions + position_offset][hidden] */
  GPTQ_PLUGIN_ROLE_FINAL_NORM = 18,
  GPTQ_PLUGIN_ROLE_LM_HEAD = 19,         /* [vocab][embed_width] */
  GPTQ_PLUGIN_ROLE_PROJECT_IN = 20,      /* [hidden][embed_width] */
  GPTQ_PLUGIN_ROLE_PROJECT_OUT = 21      /* [embed_width][hidden] */
} gptq_plugin_role;

/* A float tensor: weight [rows][cols] row-major (a norm: rows 1, cols its
 * width); bias [rows] (a norm: [cols]) or NULL. */
typedef struct gptq_plugin_dense {
  int64_t rows;
  int64_t cols;
  const float *weight;
  const float *bias;
} gptq_plugin_dense;

/* A GPTQ linear unpacked by the core's one reader of quantized linears,
 * whatever the checkpoint's format or writer: w[n][k] = scales[g][n] *
 * (codes[n][k] - zeros[g][n]), g = g_idx[k]. As cuda/device_linear.h's
 * HostGptqLinear. */
typedef struct gptq_plugin_gptq_linear {
  int32_t bits;          /* 2, 3, 4 or 8 */
  int64_t out_features;  /* N */
  int64_t in_features;   /* K */
  int64_t groups;        /* G */
  const uint8_t *codes;  /* [N][K], each < 2^bits */
  const int32_t *zeros;  /* [G][N], true zero points */
  const float *scales;   /* [G][N], fp16 values widened */
  const int32_t *g_idx;  /* [K], any order (act-order) */
  const float *bias;     /* [N] or NULL */
} gptq_plugin_gptq_linear;

/* What block_run calls before each linear of the block runs: role (a
 * gptq_plugin_role of a linear), its input as fp32 [rows][cols] on the device
 * (valid during the call only; linears that share an input — q/k/v,
 * gate/up — get the same handle, distinct inputs distinct handles). Returns
 * a gptq_plugin_status: non-zero aborts the run with that status; or
 * GPTQ_PLUGIN_OBSERVER_STOP (v8): the caller needs nothing more from this
 * run, which ends before the linear (nothing after it computed, no work
 * left queued) and returns GPTQ_PLUGIN_OK with hidden undefined. */
#define GPTQ_PLUGIN_OBSERVER_STOP (-1)
typedef int (*gptq_plugin_observer_fn)(void *user, int32_t role, const gptq_plugin_buffer *input, int64_t rows,
                                       int64_t cols);

/* One step of token choice (model_run_sample), as core/backend/
 * sample_step.h's SampleStep: the host sampler's options (core/eval/
 * sampler.h) for every sequence, and per sequence its flag, the uniform
 * number its seeded generator drew for this step and its distinct seen
 * tokens. Arrays are the core's, read during the call only. */
typedef struct gptq_plugin_sampling {
  uint32_t size;               /* sizeof(gptq_plugin_sampling) */
  double temperature;          /* <= 0: greedy */
  int64_t top_k;               /* 0: off */
  double top_p;                /* >= 1: off */
  double repetition_penalty;   /* 1: off */
  const uint8_t *active;       /* [batch]: non-zero where a token is wanted */
  const double *uniforms;      /* [batch] in [0, 1) */
  const int32_t *seen_ids;     /* sequence b's: [seen_offsets[b], seen_offsets[b + 1]), each in the vocabulary */
  const int64_t *seen_offsets; /* [batch + 1]; NULL when repetition_penalty is 1 */
} gptq_plugin_sampling;

/* What model_run_sample writes for a sequence instead of a token id. */
#define GPTQ_PLUGIN_TOKEN_NOT_WANTED (-1) /* its active flag was 0 */
#define GPTQ_PLUGIN_TOKEN_ON_HOST (-2)    /* its row of logits was written: the host chooses */

typedef struct gptq_backend_plugin {
  uint32_t size;    /* sizeof(gptq_backend_plugin) of the plugin's build */
  uint32_t version; /* GPTQ_BACKEND_PLUGIN_VERSION of the plugin's build */
  const char *name; /* "cuda" */

  /* Required. */
  /* Number of usable devices; fails with the driver's reason when none. */
  int (*device_count)(int *count, char *err, size_t err_cap);
  /* Opens `device` (stream, workspaces); *state is the plugin's handle. The
   * host services stay valid until close. */
  int (*open)(int device, const gptq_backend_host *host, void **state, char *err, size_t err_cap);
  void (*close)(void *state);
  /* The device's name, NUL-terminated, truncated to cap. */
  int (*device_name)(void *state, char *buf, size_t cap, char *err, size_t err_cap);
  /* Runs a kernel and checks its result on the host. */
  int (*self_test)(void *state, char *err, size_t err_cap);

  /* Optional from here on: NULL when not supported. */
  /* Free and total bytes of the device's memory, once the state's queued
   * work is done (what it freed in stream order then counts as free). */
  int (*memory_info)(void *state, uint64_t *free_bytes, uint64_t *total_bytes, char *err, size_t err_cap);

  /* Buffers of device memory (the activations of the calibration pipeline). */
  int (*buffer_alloc)(void *state, size_t bytes, gptq_plugin_buffer **out, char *err, size_t err_cap);
  void (*buffer_free)(void *state, gptq_plugin_buffer *buffer);
  int (*buffer_write)(void *state, gptq_plugin_buffer *dst, size_t offset, const void *src, size_t bytes,
                      char *err, size_t err_cap);
  int (*buffer_read)(void *state, const gptq_plugin_buffer *src, size_t offset, void *dst, size_t bytes,
                     char *err, size_t err_cap);

  /* Quantize engine (issue 16); used only when every entry of the group is
   * set. H = 2/n sum x^T x over rows of fp32 activations [rows][columns]. */
  int (*hessian_create)(void *state, int64_t columns, int fp64, gptq_plugin_hessian **out, char *err,
                        size_t err_cap);
  void (*hessian_free)(void *state, gptq_plugin_hessian *h);
  int (*hessian_accumulate)(void *state, gptq_plugin_hessian *h, const gptq_plugin_buffer *x, int64_t rows,
                            int64_t samples, char *err, size_t err_cap);
  int (*hessian_finish)(void *state, gptq_plugin_hessian *h, char *err, size_t err_cap);
  /* GPTQ solve of w (host, [rows][cols] fp32) with a finished H. */
  int (*quantize_solve)(void *state, const gptq_plugin_hessian *h, const float *w, int64_t rows, int64_t cols,
                        const gptq_plugin_quant_options *options, gptq_plugin_quant_result *out, char *err,
                        size_t err_cap);
  /* A finished H from the host ([columns][columns] row-major fp32) into a
   * Hessian just created (gptq_quantize_matrix's caller gives H itself), and
   * a finished H back to the host (the layer loss of the RTN comparison runs
   * on the CPU). Part of the group: set with the entries above. */
  int (*hessian_write)(void *state, gptq_plugin_hessian *h, const float *src, char *err, size_t err_cap);
  int (*hessian_read)(void *state, const gptq_plugin_hessian *h, float *dst, char *err, size_t err_cap);

  /* Forward engine (issue 15); used only when every entry of the group is
   * set. The core reads the checkpoint (its one reader of config.json and of
   * quantized linears) and hands the plugin what it read, normalized: the
   * spec (model_begin), then every tensor of the model by role
   * (model_set_dense for float ones, model_set_gptq for GPTQ linears,
   * unpacked), one layer at a time, then model_finish. A model is usable
   * only after model_finish returned OK; model_free frees it in any state. */
  int (*model_begin)(void *state, const gptq_plugin_model_spec *spec, gptq_plugin_model **out, char *err,
                     size_t err_cap);
  /* layer: the block (0 <= layer < num_layers) or -1 for a model-level
   * tensor; the arrays are the core's, read during the call only. The core
   * sets a model's tensors from several threads at once (each tensor once,
   * in any order), between model_begin and model_finish: these two entries
   * must take that. */
  int (*model_set_dense)(void *state, gptq_plugin_model *model, int32_t layer, int32_t role,
                         const gptq_plugin_dense *tensor, char *err, size_t err_cap);
  int (*model_set_gptq)(void *state, gptq_plugin_model *model, int32_t layer, int32_t role,
                        const gptq_plugin_gptq_linear *linear, char *err, size_t err_cap);
  /* Fails naming the first tensor the spec needs that was not set. */
  int (*model_finish)(void *state, gptq_plugin_model *model, char *err, size_t err_cap);
  void (*model_free)(void *state, gptq_plugin_model *model);
  /* Keys and values of `batch` sequences of up to `capacity` positions;
   * device memory that cannot be had is GPTQ_PLUGIN_ERR_OUT_OF_MEMORY naming
   * the bytes asked and free. */
  int (*cache_create)(void *state, const gptq_plugin_model *model, int64_t batch, int64_t capacity,
                      gptq_plugin_cache **out, char *err, size_t err_cap);
  void (*cache_free)(void *state, gptq_plugin_cache *cache);
  /* ids [batch][seq] (the core checked them against the vocabulary and the
   * context); counts [batch] (never NULL): sequence b's valid tokens, its
   * first counts[b] ids, in [0, seq]; the rest is padding, computed but never
   * read (core/model/sequence_counts.h). logits (host, fp32) [batch *
   * seq][vocab], or with last_only [batch][vocab], row b from sequence b's
   * last valid row (any row when counts[b] is 0). With a cache, sequence b
   * continues after the positions it holds (the plugin keeps each sequence's
   * length; the core checked length + seq against the capacity) and grows by
   * counts[b], only when the run succeeds; cache may be NULL (every sequence
   * from position 0). inv_freq: the head_dim / 2 RoPE inverse frequencies for
   * this call (the core computes them from the config's rope type, which for
   * dynamic scaling depends on the positions covered); NULL for learned
   * positions. */
  int (*model_run)(void *state, const gptq_plugin_model *model, const int32_t *ids, int64_t batch, int64_t seq,
                   const int64_t *counts, gptq_plugin_cache *cache, int last_only, const float *inv_freq,
                   float *logits, char *err, size_t err_cap);

  /* Block forward (issue 16: the calibration forward of the layer-by-layer
   * pipeline on the device); used only when every entry of this group and
   * of the buffers is set. The hidden state lives in a plugin buffer between
   * blocks; the core hands a block's float tensors over one at a time, as
   * the pipeline replaces them. */
  /* bytes from the start of src to the start of dst, on the device. */
  int (*buffer_copy)(void *state, gptq_plugin_buffer *dst, const gptq_plugin_buffer *src, size_t bytes, char *err,
                     size_t err_cap);
  /* A runner for blocks of models of this spec (the fields a block uses:
   * sizes, norm, positions, activation, gating, sliding window). */
  int (*block_create)(void *state, const gptq_plugin_model_spec *spec, gptq_plugin_block **out, char *err,
                      size_t err_cap);
  void (*block_free)(void *state, gptq_plugin_block *block);
  /* A norm (ATTN_NORM, MLP_NORM) or linear (Q .. DOWN) of the block run
   * next, float, shaped as for model_set_dense; read during the call only.
   * May be called from the observer of block_run (for that linear and those
   * not yet run). A run uses each tensor as set when it runs, and forgets
   * every tensor when it ends: each run sets its own. */
  int (*block_set_dense)(void *state, gptq_plugin_block *block, int32_t role, const gptq_plugin_dense *tensor,
                         char *err, size_t err_cap);
  /* Runs the block on hidden ([batch * seq][hidden_size] fp32), replacing it
   * with the output; every sequence from position 0; inv_freq as for
   * model_run (NULL for learned positions). observe (may be NULL) is called
   * before each linear; a linear whose weight was never set fails the run
   * (INVALID_ARGUMENT naming it). Checks host->cancelled between linears.
   * On failure hidden is undefined and no work is left queued. */
  int (*block_run)(void *state, gptq_plugin_block *block, gptq_plugin_buffer *hidden, int64_t batch, int64_t seq,
                   const float *inv_freq, gptq_plugin_observer_fn observe, void *user, char *err, size_t err_cap);

  /* Device memory accounting (issue 16: peak device memory in the quantize
   * report). The bytes of device memory this state's own allocations hold
   * now (live), the most they held at once since open or the last reset
   * (peak), and how many allocations the state has made since open. Not
   * counted: what the driver and libraries hold for themselves (the CUDA
   * context, cuBLAS/cuSOLVER handles). reset_peak non-zero: after reading,
   * the peak restarts from live. */
  int (*memory_use)(void *state, uint64_t *live_bytes, uint64_t *peak_bytes, uint64_t *allocations, int reset_peak,
                    char *err, size_t err_cap);
  /* Test hook (the library itself never calls it): the nth device allocation
   * (kind GPTQ_PLUGIN_FAIL_ALLOCATION) or the nth checked driver/library call
   * (kind GPTQ_PLUGIN_FAIL_CHECK: CUDA, cuBLAS, cuSOLVER calls and kernel
   * launch checks) this state makes, counting from 1 at this call, fails once
   * (a check fails before its call is made, so no handle is created and no
   * work queued by it) through the path a real failure takes: GPTQ_PLUGIN_ERR_OUT_OF_MEMORY naming
   * what was being allocated, or GPTQ_PLUGIN_ERR_DEVICE naming the call. nth 0
   * disarms the kind. Lets tests prove every failure point frees what it
   * holds. */
  int (*inject_failure)(void *state, int32_t kind, int64_t nth, char *err, size_t err_cap);
  /* Version 5, optional (NULL: the core reads such a buffer back and uses
   * block_set_dense). A linear (Q .. DOWN) as block_set_dense sets it, its
   * weight fp32 [rows][cols] in a buffer of this state (a solve's
   * dequant_buffer), read during the call only; bias on the host or NULL.
   * The weight the linear runs with is then the one block_set_dense would
   * give for the same values: the solve's result never visits the host. */
  int (*block_set_dense_buffer)(void *state, gptq_plugin_block *block, int32_t role, const gptq_plugin_buffer *weight,
                                int64_t rows, int64_t cols, const float *bias, char *err, size_t err_cap);
  /* Version 7, optional (NULL: the core brings every row of logits to the
   * host and chooses there). model_run with last_only and a cache (never
   * NULL), then each active sequence's next token chosen on the device by
   * the host sampler's algorithm with sampling's numbers: tokens[b] is the
   * id, GPTQ_PLUGIN_TOKEN_NOT_WANTED, or GPTQ_PLUGIN_TOKEN_ON_HOST when the
   * plugin leaves the choice to the host (a case it does not take, or
   * switched off), having written sequence b's row of logits to
   * logits[b * vocab] (host, fp32 [batch][vocab]; other rows untouched). */
  int (*model_run_sample)(void *state, const gptq_plugin_model *model, const int32_t *ids, int64_t batch,
                          int64_t seq, const int64_t *counts, gptq_plugin_cache *cache, const float *inv_freq,
                          const gptq_plugin_sampling *sampling, int32_t *tokens, float *logits, char *err,
                          size_t err_cap);
  /* Version 8, optional (NULL: such memory stays pageable). Page-locks
   * `bytes` of host memory at `ptr` (the core's, which it keeps until
   * host_unpin) so that buffer_write and buffer_read move it at the bus's
   * speed, straight from and into it. For memory the core keeps long and
   * copies often: the calibration rows parked between block runs
   * (core/pipeline/parked_hidden.h). OUT_OF_MEMORY when the system will not
   * lock that much (the core goes on with it pageable). */
  int (*host_pin)(void *state, void *ptr, size_t bytes, char *err, size_t err_cap);
  /* Undoes host_pin(ptr) before the core frees the memory. */
  void (*host_unpin)(void *state, void *ptr);
} gptq_backend_plugin;

/* inject_failure's kinds. */
#define GPTQ_PLUGIN_FAIL_ALLOCATION 0
#define GPTQ_PLUGIN_FAIL_CHECK 1

typedef const gptq_backend_plugin *(*gptq_backend_plugin_entry_fn)(void);

#endif /* GPTQ_CORE_BACKEND_PLUGIN_H */
