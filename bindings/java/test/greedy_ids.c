/* greedy_ids MODEL_DIR PROMPT MAX_NEW: the token ids gptq_generate streams for a
 * greedy generation, through gptq.h alone, one per line. The Java tests compare the
 * binding's stream with it (as the Go and Rust tests call the C API in-process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptq/gptq.h"

static int print_id(void *user, const char *piece, int32_t id) {
  (void)user;
  (void)piece;
  printf("%d\n", (int)id);
  return 0;
}

int main(int argc, char **argv) {
  gptq_context *ctx = NULL;
  gptq_model *model = NULL;
  gptq_session *session = NULL;
  char config[128];
  gptq_status st;
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL_DIR PROMPT MAX_NEW\n", argv[0]);
    return 2;
  }
  snprintf(config, sizeof config, "{\"temperature\": 0, \"max_new_tokens\": %d}", atoi(argv[3]));
  st = gptq_context_create("{\"backend\": \"cpu\"}", &ctx);
  if (st == GPTQ_OK) st = gptq_model_open(ctx, argv[1], &model);
  if (st == GPTQ_OK) st = gptq_session_create(ctx, model, config, &session);
  if (st == GPTQ_OK) st = gptq_generate(session, argv[2], strlen(argv[2]), print_id, NULL);
  if (st != GPTQ_OK) fprintf(stderr, "greedy_ids: %s: %s\n", gptq_status_name(st), gptq_last_error());
  gptq_session_destroy(session);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
  return st == GPTQ_OK ? 0 : 1;
}
