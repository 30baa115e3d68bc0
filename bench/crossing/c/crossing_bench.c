/* The C side of the crossing benchmark (bench/run_crossing_bench.py): the
 * three calls every binding's crossing program times, made straight through
 * gptq.h, by the protocol written in bench/crossing/README.md. Prints one
 * JSON line.
 *   crossing_bench_c <model_dir> <text_file> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gptq/gptq.h"

#define VERSION_CALLS 1000000
#define TOKENIZE_CALLS 200
#define NEW_TOKENS 256

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, by_value);
  return v[n / 2];
}

static void check(gptq_status st, const char *what) {
  if (st != GPTQ_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, gptq_status_name(st), gptq_last_error());
    exit(1);
  }
}

static int count_token(void *user, const char *piece, int32_t id) {
  (void)piece;
  if (id >= 0) ++*(size_t *)user;
  return 0;
}

/* The first 1024 bytes of the file, extended to a UTF-8 character boundary. */
static size_t read_text(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n, len = 1024;
  if (!f) {
    perror(path);
    exit(1);
  }
  n = fread(buf, 1, cap, f);
  fclose(f);
  if (n < len) len = n;
  while (len < n && ((unsigned char)buf[len] & 0xC0) == 0x80) ++len;
  return len;
}

int main(int argc, char **argv) {
  static char text[4096];
  static int32_t ids[4096];
  const char *reps_env = getenv("GPTQ_BENCH_REPS");
  int reps = reps_env ? atoi(reps_env) : 15, r;
  double *version_ns, *tokenize_us, *token_us, *callback_us;
  size_t len, checksum = 0;
  gptq_context *ctx = NULL;
  gptq_model *model = NULL;
  const gptq_tokenizer *tok = NULL;
  gptq_session *session = NULL;
  const char *prompt = "To create a table";

  if (argc != 3 || reps < 1) {
    fprintf(stderr, "usage: %s <model_dir> <text_file> (GPTQ_BENCH_REPS >= 1)\n", argv[0]);
    return 2;
  }
  version_ns = calloc((size_t)reps, sizeof(double));
  tokenize_us = calloc((size_t)reps, sizeof(double));
  token_us = calloc((size_t)reps, sizeof(double));
  callback_us = calloc((size_t)reps, sizeof(double));
  len = read_text(argv[2], text, sizeof text);
  check(gptq_context_create("{\"backend\": \"cpu\", \"threads\": 1}", &ctx), "context");
  check(gptq_model_open(ctx, argv[1], &model), "open");
  check(gptq_model_tokenizer(model, &tok), "tokenizer");
  check(gptq_session_create(ctx, model, "{\"temperature\": 0, \"max_new_tokens\": 256, \"stop_at_eos\": false}",
                            &session),
        "session");

  for (r = -1; r < reps; ++r) { /* r = -1: the warm-up */
    double t0;
    size_t n = 0, tokens = 0;
    int i;
    t0 = now();
    for (i = 0; i < VERSION_CALLS; ++i) checksum += (size_t)(uintptr_t)gptq_version();
    if (r >= 0) version_ns[r] = (now() - t0) / VERSION_CALLS * 1e9;

    t0 = now();
    for (i = 0; i < TOKENIZE_CALLS; ++i) {
      check(gptq_tokenize(tok, text, len, 0, ids, sizeof ids / sizeof ids[0], &n), "tokenize");
      checksum += n;
    }
    if (r >= 0) tokenize_us[r] = (now() - t0) / TOKENIZE_CALLS * 1e6;

    t0 = now();
    check(gptq_generate(session, prompt, strlen(prompt), count_token, &tokens), "generate");
    if (tokens < NEW_TOKENS) {
      fprintf(stderr, "generated %zu tokens, expected %d\n", tokens, NEW_TOKENS);
      return 1;
    }
    if (r >= 0) token_us[r] = (now() - t0) / NEW_TOKENS * 1e6;

    /* The same generation without a callback: what the callback adds. */
    t0 = now();
    check(gptq_generate(session, prompt, strlen(prompt), NULL, NULL), "generate");
    if (r >= 0) callback_us[r] = token_us[r] - (now() - t0) / NEW_TOKENS * 1e6;
  }
  fprintf(stderr, "(checksum %zu)\n", checksum);
  printf("{\"language\": \"c\", \"version_ns\": %.4f, \"tokenize_us\": %.4f, \"tokenize_bytes\": %zu, "
         "\"per_token_us\": %.4f, \"callback_us\": %.4f}\n",
         median(version_ns, reps), median(tokenize_us, reps), len, median(token_us, reps), median(callback_us, reps));
  gptq_session_destroy(session);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
  free(version_ns);
  free(tokenize_us);
  free(token_us);
  free(callback_us);
  return 0;
}
