#include "core/backend/backend_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/backend/backend_plugin.h"
#include "core/error.h"

namespace gptq {
#ifdef GPTQ_WITH_CUDA_BACKEND
namespace {

// Plugin file name; the suffix is the ABI version so a plugin of another ABI
// is never picked up (GPTQ_ABI_VERSION_NUMBER comes from CMake).
#define GPTQ_STR2(x) #x
#define GPTQ_STR(x) GPTQ_STR2(x)
constexpr const char *kPluginFile = "libgptq-cuda.so." GPTQ_STR(GPTQ_ABI_VERSION_NUMBER);
#undef GPTQ_STR
#undef GPTQ_STR2

// The folder of the module (libgptq.so, or an executable that links core
// statically) this code is in.
std::filesystem::path this_module_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void *>(&this_module_dir), &info) && info.dli_fname) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(info.dli_fname, ec);
    if (!ec) return p.parent_path();
  }
  return {};
}

// Where to look, most specific first: $GPTQ_CUDA_PLUGIN, beside this module,
// ../lib from it (executables in bin/), then the dynamic linker's search path.
std::vector<std::string> plugin_candidates() {
  std::vector<std::string> out;
  if (const char *env = std::getenv("GPTQ_CUDA_PLUGIN"); env && *env) out.emplace_back(env);
  if (auto dir = this_module_dir(); !dir.empty()) {
    out.push_back((dir / kPluginFile).string());
    out.push_back((dir.parent_path() / "lib" / kPluginFile).string());
  }
  out.emplace_back(kPluginFile);
  return out;
}

class PluginBackend final : public Backend {
 public:
  PluginBackend(void *library, const gptq_backend_plugin *table, void *state)
      : library_(library), table_(table), state_(state) {}
  ~PluginBackend() override {
    table_->close(state_);
    // The library stays loaded: CUDA runtimes do not like being unloaded while
    // the process runs, and a later context will want it again.
    (void)library_;
  }
  PluginBackend(const PluginBackend &) = delete;
  PluginBackend &operator=(const PluginBackend &) = delete;

  std::string_view name() const override { return table_->name; }

  std::string device_name() const override {
    char buf[256] = {0};
    char err[512] = {0};
    if (table_->device_name(state_, buf, sizeof buf, err, sizeof err) != 0)
      fail(Status::Device, std::string("cuda: device name: ") + err);
    return buf;
  }

  void self_test() override {
    char err[512] = {0};
    if (table_->self_test(state_, err, sizeof err) != 0)
      fail(Status::Device, std::string("cuda: self-test failed: ") + err);
  }

 private:
  void *library_;
  const gptq_backend_plugin *table_;
  void *state_;
};

}  // namespace
#endif  // GPTQ_WITH_CUDA_BACKEND

std::unique_ptr<Backend> open_cuda_backend(int device, Logger &log) {
#ifndef GPTQ_WITH_CUDA_BACKEND
  (void)device;
  (void)log;
  fail(Status::Unsupported,
       "cuda: this build of libgptq has no CUDA backend (configured with GPTQ_CUDA=OFF or "
       "without a CUDA toolkit)");
#else
  std::string tried;
  void *lib = nullptr;
  for (const auto &path : plugin_candidates()) {
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      log.debug("cuda: loaded backend plugin " + path);
      break;
    }
    const char *why = dlerror();
    tried += "\n  " + path + ": " + (why ? why : "not loadable");
  }
  if (!lib) fail(Status::Device, std::string("cuda: cannot load the CUDA backend plugin; tried:") + tried);

  auto entry = reinterpret_cast<gptq_backend_plugin_entry_fn>(dlsym(lib, GPTQ_BACKEND_PLUGIN_ENTRY));
  if (!entry) fail(Status::Device, std::string("cuda: the plugin has no entry point ") + GPTQ_BACKEND_PLUGIN_ENTRY);
  const gptq_backend_plugin *table = entry();
  if (!table || table->version != GPTQ_BACKEND_PLUGIN_VERSION || table->size != sizeof(gptq_backend_plugin))
    fail(Status::Device, "cuda: the plugin was built from another version of libgptq");

  char err[512] = {0};
  int count = 0;
  if (table->device_count(&count, err, sizeof err) != 0) fail(Status::Device, std::string("cuda: ") + err);
  if (device < 0 || device >= count)
    fail(Status::Device, "cuda: device " + std::to_string(device) + " does not exist (" +
                             std::to_string(count) + " CUDA device(s) present)");
  void *state = nullptr;
  if (table->open(device, &state, err, sizeof err) != 0) fail(Status::Device, std::string("cuda: ") + err);
  auto backend = std::make_unique<PluginBackend>(lib, table, state);
  // A kernel round trip now, so a fatbin without this GPU's architecture or a
  // broken driver shows up here, with its reason, rather than mid-work.
  backend->self_test();
  return backend;
#endif
}

}  // namespace gptq
