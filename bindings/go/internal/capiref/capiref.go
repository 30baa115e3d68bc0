// Package capiref calls gptq.h directly from C, with no SWIG in between, so
// that the binding's tests compare what the binding gives with what the C API
// gives in the same process.
package capiref

/*
#cgo pkg-config: gptq
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gptq/gptq.h"

typedef struct { int32_t *ids; size_t n, cap; } capiref_ids;

static int capiref_on_token(void *user, const char *piece, int32_t id) {
  capiref_ids *s = (capiref_ids *)user;
  (void)piece;
  if (s->n < s->cap) s->ids[s->n] = id;
  s->n++;
  return 0;
}

// Greedy generation of max_new tokens with the C API alone: the streamed ids
// into ids (up to cap), their count returned, -1 on an error.
static long capiref_greedy(const char *dir, const char *prompt, int max_new, int32_t *ids, size_t cap) {
  gptq_context *ctx = NULL;
  gptq_model *model = NULL;
  gptq_session *session = NULL;
  char config[128];
  capiref_ids s = {ids, 0, cap};
  long result = -1;
  snprintf(config, sizeof config, "{\"temperature\": 0, \"max_new_tokens\": %d}", max_new);
  if (gptq_context_create("{\"backend\": \"cpu\"}", &ctx) == GPTQ_OK &&
      gptq_model_open(ctx, dir, &model) == GPTQ_OK &&
      gptq_session_create(ctx, model, config, &session) == GPTQ_OK &&
      gptq_generate(session, prompt, strlen(prompt), capiref_on_token, &s) == GPTQ_OK)
    result = (long)s.n;
  gptq_session_destroy(session);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
  return result;
}

static size_t capiref_malloc_in_use(void) { return mallinfo2().uordblks; }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// GreedyIDs returns the token ids that gptq_generate streams for prompt with
// the model in dir, greedy, maxNew new tokens, on a CPU context.
func GreedyIDs(dir, prompt string, maxNew int) ([]int32, error) {
	cdir, cprompt := C.CString(dir), C.CString(prompt)
	defer C.free(unsafe.Pointer(cdir))
	defer C.free(unsafe.Pointer(cprompt))
	ids := make([]int32, maxNew+8)
	n := C.capiref_greedy(cdir, cprompt, C.int(maxNew), (*C.int32_t)(unsafe.Pointer(&ids[0])), C.size_t(len(ids)))
	if n < 0 {
		return nil, fmt.Errorf("capiref: the C API's generation failed")
	}
	if int(n) > len(ids) {
		return nil, fmt.Errorf("capiref: %d ids streamed, more than %d", n, len(ids))
	}
	return ids[:n], nil
}

// MallocInUse is the bytes the C heap (glibc malloc) has handed out and not
// got back: a leak test's exact measure of what C allocated.
func MallocInUse() int64 { return int64(C.capiref_malloc_in_use()) }
