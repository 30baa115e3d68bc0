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
  return 0;
}
