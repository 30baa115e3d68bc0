/* The table through which libgptq.so drives a backend that lives in its own
 * shared object (today: the CUDA backend, libgptq-cuda.so), as ONNX Runtime
 * loads execution providers and ggml its backends. Plain C types only, so no
 * C++ object, exception or CUDA type crosses the dlopen boundary.
 *
 * Not a public API: the plugin and the library are built from the same tree
 * and the loader insists on the exact GPTQ_BACKEND_PLUGIN_VERSION. Every
 * function returns 0 on success, or non-zero after writing a NUL-terminated
 * reason into err (capacity err_cap). */
#ifndef GPTQ_CORE_BACKEND_PLUGIN_H
#define GPTQ_CORE_BACKEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define GPTQ_BACKEND_PLUGIN_VERSION 1
/* The one symbol a plugin exports: returns its table (static storage). */
#define GPTQ_BACKEND_PLUGIN_ENTRY "gptq_backend_plugin_v1"

typedef struct gptq_backend_plugin {
  uint32_t size;    /* sizeof(gptq_backend_plugin) of the plugin's build */
  uint32_t version; /* GPTQ_BACKEND_PLUGIN_VERSION of the plugin's build */
  const char *name; /* "cuda" */
  /* Number of usable devices; fails with the driver's reason when none. */
  int (*device_count)(int *count, char *err, size_t err_cap);
  /* Opens `device` (stream, workspaces); *state is the plugin's handle. */
  int (*open)(int device, void **state, char *err, size_t err_cap);
  void (*close)(void *state);
  /* The device's name, NUL-terminated, truncated to cap. */
  int (*device_name)(void *state, char *buf, size_t cap, char *err, size_t err_cap);
  /* Runs a kernel and checks its result on the host. */
  int (*self_test)(void *state, char *err, size_t err_cap);
} gptq_backend_plugin;

typedef const gptq_backend_plugin *(*gptq_backend_plugin_entry_fn)(void);

#endif /* GPTQ_CORE_BACKEND_PLUGIN_H */
