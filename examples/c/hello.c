/* The smallest libgptq program: create a context, say where it runs, show the
 * quantization defaults, and show what a bad config is told. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptq/gptq.h"

static void print_log(void *user, gptq_log_level level, const char *msg) {
  (void)user;
  fprintf(stderr, "[libgptq %d] %s\n", (int)level, msg);
}

int main(void) {
  gptq_context *ctx = NULL;
  const char *backend = NULL, *device = NULL;
  const char *bad = "{\"bits\": 5}";
  char json[4096];
  size_t len = 0;
  gptq_status st;

  st = gptq_context_create("{\"log_level\": \"info\"}", &ctx);
  if (st != GPTQ_OK) {
    fprintf(stderr, "error: %s\n", gptq_last_error());
    return 1;
  }
  gptq_context_set_log(ctx, print_log, NULL);
  gptq_context_backend(ctx, &backend);
  gptq_context_device_name(ctx, &device);
  printf("libgptq %s running on %s (%s)\n", gptq_version(), backend, device);

  st = gptq_config_convert(GPTQ_CONFIG_QUANTIZE, "", 0, GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON,
                           json, sizeof json, &len);
  if (st == GPTQ_OK) printf("default quantize config:\n%s\n", json);

  st = gptq_config_convert(GPTQ_CONFIG_QUANTIZE, bad, strlen(bad), GPTQ_ENCODING_JSON,
                           GPTQ_ENCODING_JSON, json, sizeof json, &len);
  printf("%s -> %s: %s\n", bad, gptq_status_name(st), gptq_last_error());
  gptq_context_destroy(ctx);
  return 0;
}
