#include "core/backend/backend_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/backend/backend_plugin.h"
#include "core/backend/plugin_forward_engine.h"
#include "core/backend/plugin_quantize_engine.h"
#include "core/backend/plugin_status.h"
#include "core/base/error.h"

namespace gptq {
namespace {

#ifdef GPTQ_WITH_CUDA_BACKEND
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
#endif

// Where to look, most specific first: $GPTQ_CUDA_PLUGIN (also how tests load
// a fake plugin, in any build), then in a build with the CUDA backend: beside
// this module, ../lib from it (executables in bin/), the dynamic linker's
// search path.
std::vector<std::string> plugin_candidates() {
  std::vector<std::string> out;
  if (const char *env = std::getenv("GPTQ_CUDA_PLUGIN"); env && *env) out.emplace_back(env);
#ifdef GPTQ_WITH_CUDA_BACKEND
  if (auto dir = this_module_dir(); !dir.empty()) {
    out.push_back((dir / kPluginFile).string());
    out.push_back((dir.parent_path() / "lib" / kPluginFile).string());
  }
  out.emplace_back(kPluginFile);
#endif
  return out;
}

// The host services a plugin state gets (gptq_backend_host): the context's
// log, and the cancellation of the library call on the calling thread.
struct HostBridge {
  explicit HostBridge(Logger &logger) : log(&logger) {
    host.size = sizeof host;
    host.user = this;
    host.log = [](void *user, int level, const char *message) {
      auto *self = static_cast<HostBridge *>(user);
      if (level < static_cast<int>(LogLevel::Error) || level > static_cast<int>(LogLevel::Debug))
        level = static_cast<int>(LogLevel::Info);
      self->log->log(static_cast<LogLevel>(level), std::string(self->name) + ": " + (message ? message : ""));
    };
    host.cancelled = [](void *) -> int { return plugin_call_cancelled() ? 1 : 0; };
  }
  Logger *log;
  const char *name = "plugin";
  gptq_backend_host host{};
};

static_assert(static_cast<int>(InjectedFailure::Allocation) == GPTQ_PLUGIN_FAIL_ALLOCATION);
static_assert(static_cast<int>(InjectedFailure::Check) == GPTQ_PLUGIN_FAIL_CHECK);

class PluginBackend final : public Backend {
 public:
  PluginBackend(void *library, const gptq_backend_plugin *table, std::unique_ptr<HostBridge> bridge, void *state)
      : library_(library), table_(table), bridge_(std::move(bridge)), state_(state) {}
  ~PluginBackend() override {
    forward_.reset();
    quantize_.reset();
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
    check_plugin(table_->device_name(state_, buf, sizeof buf, err, sizeof err), table_->name, "device name", err);
    return buf;
  }

  void self_test() override {
    char err[512] = {0};
    check_plugin(table_->self_test(state_, err, sizeof err), table_->name, "self-test failed", err);
  }

  std::optional<DeviceMemory> memory() const override {
    if (!table_->memory_info) return std::nullopt;
    char err[512] = {0};
    DeviceMemory m;
    check_plugin(table_->memory_info(state_, &m.free, &m.total, err, sizeof err), table_->name, "memory query", err);
    return m;
  }

  std::optional<DeviceMemoryUse> memory_use(bool reset_peak) const override {
    if (!table_->memory_use) return std::nullopt;
    char err[512] = {0};
    DeviceMemoryUse u;
    check_plugin(table_->memory_use(state_, &u.live, &u.peak, &u.allocations, reset_peak ? 1 : 0, err, sizeof err),
                 table_->name, "memory use", err);
    return u;
  }

  void inject_failure(InjectedFailure kind, std::int64_t nth) override {
    if (!table_->inject_failure) Backend::inject_failure(kind, nth);
    char err[512] = {0};
    check_plugin(table_->inject_failure(state_, static_cast<int32_t>(kind), nth, err, sizeof err), table_->name,
                 "failure injection", err);
  }

  // Each engine when the plugin fills every entry of its group; the core
  // runs what a missing one would do on the CPU, saying so once.
  const ForwardEngine *forward_engine() const override { return forward_.get(); }
  const QuantizeEngine *quantize_engine() const override { return quantize_.get(); }

  // Made once the backend has its final address (the engines keep the state).
  void make_engines() {
    if (PluginForwardEngine::supported(*table_))
      forward_ = std::make_unique<PluginForwardEngine>(*table_, state_, *bridge_->log);
    if (PluginQuantizeEngine::supported(*table_)) quantize_ = std::make_unique<PluginQuantizeEngine>(*table_, state_);
  }

 private:
  void *library_;
  const gptq_backend_plugin *table_;
  std::unique_ptr<HostBridge> bridge_;  // lent to the state: outlives it
  void *state_;
  std::unique_ptr<PluginForwardEngine> forward_;    // use state_: destroyed before close
  std::unique_ptr<PluginQuantizeEngine> quantize_;
};

// The required entries of a table, by name, for the error message.
const char *missing_required_entry(const gptq_backend_plugin &t) {
  if (!t.name) return "name";
  if (!t.device_count) return "device_count";
  if (!t.open) return "open";
  if (!t.close) return "close";
  if (!t.device_name) return "device_name";
  if (!t.self_test) return "self_test";
  return nullptr;
}

thread_local const PluginCallScope *current_call = nullptr;

}  // namespace

PluginCallScope::PluginCallScope(std::function<bool()> cancelled)
    : cancelled_(std::move(cancelled)), outer_(current_call) {
  current_call = this;
}

PluginCallScope::PluginCallScope(const Compute &compute)
    : PluginCallScope([&compute] {
        try {
          compute.poll();
          return false;
        } catch (const Error &e) {
          return e.status() == Status::Cancelled;
        } catch (...) {
          return false;
        }
      }) {}

PluginCallScope::~PluginCallScope() { current_call = outer_; }

bool plugin_call_cancelled() { return current_call && current_call->cancelled_ && current_call->cancelled_(); }

std::unique_ptr<Backend> open_cuda_backend(int device, Logger &log) {
  const std::vector<std::string> candidates = plugin_candidates();
  if (candidates.empty())
    fail(Status::Unsupported,
         "cuda: this build of libgptq has no CUDA backend (configured with GPTQ_CUDA=OFF or "
         "without a CUDA toolkit)");
  std::string tried;
  void *lib = nullptr;
  for (const auto &path : candidates) {
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
  if (!entry)
    fail(Status::Device, std::string("cuda: the plugin has no entry point ") + GPTQ_BACKEND_PLUGIN_ENTRY +
                             " (built from another version of libgptq?)");
  const gptq_backend_plugin *table = entry();
  if (!table || table->version != GPTQ_BACKEND_PLUGIN_VERSION || table->size != sizeof(gptq_backend_plugin))
    fail(Status::Device, "cuda: the plugin was built from another version of libgptq");
  if (const char *missing = missing_required_entry(*table))
    fail(Status::Device, std::string("cuda: the plugin's table has no ") + missing);

  char err[512] = {0};
  int count = 0;
  check_plugin(table->device_count(&count, err, sizeof err), table->name, "device count", err);
  if (device < 0 || device >= count)
    fail(Status::Device, "cuda: device " + std::to_string(device) + " does not exist (" +
                             std::to_string(count) + " CUDA device(s) present)");
  auto bridge = std::make_unique<HostBridge>(log);
  bridge->name = table->name;
  void *state = nullptr;
  check_plugin(table->open(device, &bridge->host, &state, err, sizeof err), table->name,
               "opening device " + std::to_string(device), err);
  auto backend = std::make_unique<PluginBackend>(lib, table, std::move(bridge), state);
  // A kernel round trip now, so a fatbin without this GPU's architecture or a
  // broken driver shows up here, with its reason, rather than mid-work.
  backend->self_test();
  backend->make_engines();
  return backend;
}

}  // namespace gptq
