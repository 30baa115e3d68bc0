// A backend plugin built in the tests (not a GPU backend): exports the v3
// entry symbol and behaves as $GPTQ_FAKE_PLUGIN_MODE says, so the loader,
// the status mapping and the CPU fallback are exercised on any machine.
//   oom:      open fails with GPTQ_PLUGIN_ERR_OUT_OF_MEMORY and a message;
//   ok:       one device that opens (logging through the host), passes its
//             self-test and reports memory; every engine entry NULL;
//   bad:      self_test returns a status outside the list (42).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/backend/backend_plugin.h"

namespace {

const char *mode() {
  const char *m = std::getenv("GPTQ_FAKE_PLUGIN_MODE");
  return m ? m : "ok";
}

void reason(char *err, size_t cap, const char *text) { std::snprintf(err, cap, "%s", text); }

int device_count(int *count, char *, size_t) {
  *count = 1;
  return GPTQ_PLUGIN_OK;
}

int open(int, const gptq_backend_host *host, void **state, char *err, size_t cap) {
  if (std::strcmp(mode(), "oom") == 0) {
    reason(err, cap, "fake device: 3221225472 bytes of workspace requested, 1073741824 free");
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  }
  if (!host || host->size != sizeof(gptq_backend_host) || !host->log || !host->cancelled) {
    reason(err, cap, "no host services");
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
  host->log(host->user, 2, "fake device opened");
  *state = const_cast<gptq_backend_host *>(host);
  return GPTQ_PLUGIN_OK;
}

void close(void *) {}

int device_name(void *, char *buf, size_t buf_cap, char *, size_t) {
  std::snprintf(buf, buf_cap, "%s", "Fake Device");
  return GPTQ_PLUGIN_OK;
}

int self_test(void *, char *err, size_t cap) {
  if (std::strcmp(mode(), "bad") == 0) {
    reason(err, cap, "fake self-test says no");
    return 42;
  }
  return GPTQ_PLUGIN_OK;
}

int memory_info(void *, uint64_t *free_bytes, uint64_t *total_bytes, char *, size_t) {
  *free_bytes = 1ull << 30;
  *total_bytes = 2ull << 30;
  return GPTQ_PLUGIN_OK;
}

gptq_backend_plugin make_table() {
  gptq_backend_plugin t{};
  t.size = sizeof t;
  t.version = GPTQ_BACKEND_PLUGIN_VERSION;
  t.name = "cuda";
  t.device_count = device_count;
  t.open = open;
  t.close = close;
  t.device_name = device_name;
  t.self_test = self_test;
  t.memory_info = memory_info;
  return t;
}

const gptq_backend_plugin kTable = make_table();

}  // namespace

extern "C" __attribute__((visibility("default"))) const gptq_backend_plugin *gptq_backend_plugin_v3(void) {
  return &kTable;
}
