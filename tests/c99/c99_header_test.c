/* gptq.h is valid C99: this file is compiled with -std=c99 -pedantic -Werror
 * and exercises the API a C caller would use first. */
#include <stdio.h>
#include <string.h>

#include "gptq/gptq.h"

static void on_log(void *user, gptq_log_level level, const char *msg) {
  int *count = (int *)user;
  (void)level;
  (void)msg;
  ++*count;
}

/* A matrix result read the way a binding without borrowed pointers reads it:
 * size with a capacity of 0, then copy. */
static int copy_out_from_c(void) {
  static float w[32 * 32];
  static int32_t qweight[32 * 32];
  gptq_context *ctx = NULL;
  gptq_matrix_result *r = NULL;
  size_t count = 0;
  int64_t rows = 0, cols = 0;
  int i;
  for (i = 0; i < 32 * 32; ++i) w[i] = (float)((i * 7) % 13) - 6.0f;
  if (gptq_context_create("{\"backend\": \"cpu\", \"threads\": 1}", &ctx) != GPTQ_OK ||
      gptq_rtn_matrix(ctx, w, 32, 32, "{\"group_size\": 32}", &r) != GPTQ_OK) {
    fprintf(stderr, "rtn: %s\n", gptq_last_error());
    return 1;
  }
  if (gptq_matrix_result_qweight_copy(r, NULL, 0, &count, &rows, &cols) != GPTQ_ERR_BUFFER_TOO_SMALL ||
      count != (size_t)(rows * cols) || rows != 32 * 4 / 32 || cols != 32 ||
      gptq_matrix_result_qweight_copy(r, qweight, sizeof qweight / sizeof qweight[0], &count, NULL,
                                      NULL) != GPTQ_OK) {
    fprintf(stderr, "qweight copy: %s\n", gptq_last_error());
    return 1;
  }
  gptq_matrix_result_destroy(r);
  gptq_context_destroy(ctx);
  return 0;
}

int main(void) {
  gptq_context *ctx = NULL;
  const char *backend = NULL;
  int lines = 0;
  gptq_status st;

  if (gptq_abi_version() != GPTQ_ABI_VERSION) {
    fprintf(stderr, "ABI mismatch: header %d, library %u\n", GPTQ_ABI_VERSION,
            (unsigned)gptq_abi_version());
    return 1;
  }
  st = gptq_context_create("{\"backend\": \"cpu\", \"log_level\": \"info\"}", &ctx);
  if (st != GPTQ_OK) {
    fprintf(stderr, "create: %s: %s\n", gptq_status_name(st), gptq_last_error());
    return 1;
  }
  gptq_context_set_log(ctx, on_log, &lines);
  gptq_context_backend(ctx, &backend);
  printf("libgptq %s, backend %s, %d log line(s)\n", gptq_version(), backend, lines);
  if (strcmp(backend, "cpu") != 0 || lines == 0) return 1;
  gptq_context_destroy(ctx);
  gptq_context_destroy(NULL);

  st = gptq_context_create("{\"bits\": 4}", &ctx);
  if (st != GPTQ_ERR_INVALID_ARGUMENT || strstr(gptq_last_error(), "bits") == NULL) {
    fprintf(stderr, "expected an error naming 'bits', got %s: %s\n", gptq_status_name(st),
            gptq_last_error());
    return 1;
  }
  /* gptq_generate_batch and its callback type from C: argument errors name
   * the argument (no session needed to see that). */
  {
    const char *prompts[1] = {"hi"};
    const size_t lens[1] = {2};
    gptq_batch_token_fn fn = NULL;
    st = gptq_generate_batch(NULL, prompts, lens, 1, fn, NULL);
    if (st != GPTQ_ERR_INVALID_ARGUMENT || strstr(gptq_last_error(), "session") == NULL) {
      fprintf(stderr, "generate_batch: expected an error naming 'session', got %s: %s\n", gptq_status_name(st),
              gptq_last_error());
      return 1;
    }
  }
  return copy_out_from_c();
}
