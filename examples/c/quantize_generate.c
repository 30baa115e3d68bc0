/* Quantizes a Hugging Face model to 4 bits with GPTQ (or loads the GPTQ
 * checkpoint already in the output folder), then streams a greedy
 * continuation of a prompt: the C version of every example in examples/.
 *
 *   example_c_quantize_generate <model_dir> <calibration.txt> <out_dir> [prompt]
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gptq/gptq.h"

/* Prints "quantizing: N%" at every quarter. */
static int on_progress(void *user, const char *stage, uint64_t done, uint64_t total) {
  uint64_t *last_quarter = user;
  uint64_t percent = total ? done * 100 / total : 0;
  if (strcmp(stage, "quantize") == 0 && percent / 25 != *last_quarter) {
    *last_quarter = percent / 25;
    printf("quantizing: %llu%%\n", (unsigned long long)percent);
    fflush(stdout);
  }
  return 0; /* non-zero would cancel */
}

static int on_token(void *user, const char *piece, int32_t id) {
  (void)user;
  (void)id;
  fputs(piece, stdout);
  fflush(stdout);
  return 0; /* non-zero would stop */
}

static int fail(const char *what) {
  fprintf(stderr, "error: %s: %s\n", what, gptq_last_error());
  return 1;
}

static int run(gptq_context *ctx, const char *model_dir, const char *calibration, const char *out_dir,
               const char *prompt) {
  struct stat st;
  gptq_model *model = NULL;
  gptq_session *session = NULL;
  const char *backend = "", *device = "";
  int rc = 0;

  gptq_context_backend(ctx, &backend);
  gptq_context_device_name(ctx, &device);
  printf("libgptq %s on %s (%s)\n", gptq_version(), backend, device);

  if (stat(out_dir, &st) == 0) {
    printf("loading the GPTQ checkpoint in %s\n", out_dir);
  } else {
    char config[1024];
    uint64_t last_quarter = UINT64_MAX;
    const char *report = NULL; /* QuantizeReport JSON, owned by ctx */
    snprintf(config, sizeof config,
             "{\"bits\": 4, \"group_size\": 128, \"calibration\": "
             "{\"files\": [\"%s\"], \"nsamples\": 16, \"seqlen\": 128}}",
             calibration); /* a path with '"' or '\\' would need escaping */
    if (gptq_quantize_model(ctx, model_dir, config, out_dir, on_progress, &last_quarter, &report)) return fail("quantize");
    printf("wrote %s\n", out_dir);
  }

  if (gptq_model_open(ctx, out_dir, &model)) return fail("open");
  fputs(prompt, stdout);
  if (gptq_session_create(ctx, model, "{\"temperature\": 0, \"max_new_tokens\": 24}", &session)) rc = fail("session");
  else if (gptq_generate(session, prompt, strlen(prompt), on_token, NULL)) rc = fail("generate");
  putchar('\n');
  gptq_session_destroy(session);
  gptq_model_destroy(model);
  return rc;
}

int main(int argc, char **argv) {
  gptq_context *ctx = NULL;
  int rc;
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: %s <model_dir> <calibration.txt> <out_dir> [prompt]\n", argv[0]);
    return 2;
  }
  if (gptq_context_create(NULL, &ctx)) return fail("context"); /* GPTQ_OK is 0 */
  rc = run(ctx, argv[1], argv[2], argv[3], argc == 5 ? argv[4] : "To create a table in PostgreSQL, use the");
  gptq_context_destroy(ctx);
  return rc;
}
