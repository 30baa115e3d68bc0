// gptq quantize: GPTQ a float model into a Hugging Face GPTQ checkpoint, with
// a progress bar and a per-layer loss table.
#include <cstdio>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/progress_bar.h"
#include "cli/read_file.h"
#include "cli/schema_defaults.h"
#include "cli/session.h"

namespace gptq::cli {
namespace {

// Problems in a --config file: exit code 1 with the message (cli/main.cpp).
[[noreturn]] void bad_config_file(const std::string &file, const std::string &what) {
  throw std::runtime_error("--config " + file + ": " + what);
}

nlohmann::json config_from_args(const Args &args) {
  args.require_utf8("calib", "the library takes file names inside its JSON configuration, whose strings are "
                             "UTF-8; rename the file, or give a symbolic link with a UTF-8 name");
  nlohmann::json cfg = nlohmann::json::object();
  if (auto file = args.get("config")) {
    std::string text;
    if (auto why = try_read_file(*file, &text)) bad_config_file(*file, "cannot read it: " + *why);
    try {
      cfg = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception &e) {
      bad_config_file(*file, std::string("not JSON: ") + e.what());
    }
    // The library checks every field; what is checked here is only what the
    // merging below reaches into.
    if (!cfg.is_object()) bad_config_file(*file, "expected a JSON object (a QuantizeConfig), got " +
                                                     std::string(cfg.type_name()));
    if (cfg.contains("calibration") && !cfg["calibration"].is_object() && !cfg["calibration"].is_null())
      bad_config_file(*file, "field \"calibration\" must be an object (a CalibrationConfig), got " +
                                 std::string(cfg["calibration"].type_name()) + " " + cfg["calibration"].dump());
  }
  // A field neither --config nor a flag sets keeps the schema's default, as in
  // gptq_quantize_model: the CLI has no defaults of its own.
  if (auto v = args.get_int("bits")) cfg["bits"] = *v;
  if (auto v = args.get_int("group-size")) cfg["group_size"] = *v;
  if (args.has("act-order") && args.has("no-act-order"))
    throw UsageError{"--act-order and --no-act-order exclude each other"};
  if (args.has("act-order")) cfg["desc_act"] = true;
  if (args.has("no-act-order")) cfg["desc_act"] = false;
  if (args.has("sym") && args.has("asym")) throw UsageError{"--sym and --asym exclude each other"};
  if (args.has("sym")) cfg["sym"] = true;
  if (args.has("asym")) cfg["sym"] = false;
  if (auto v = args.get_double("damp")) cfg["damp_percent"] = *v;
  if (args.has("v2")) cfg["checkpoint_format"] = "gptq_v2";
  if (args.has("force")) cfg["overwrite"] = true;
  if (args.has("compare-rtn")) cfg["compare_rtn"] = true;
  if (auto v = args.get("method")) {
    if (*v != "gptq" && *v != "rtn") throw UsageError{"--method must be gptq or rtn, not '" + *v + "'"};
    cfg["method"] = *v;
  }
  nlohmann::json &cal = cfg["calibration"];
  if (cal.is_null()) cal = nlohmann::json::object();
  if (auto v = args.get("calib")) cal["files"] = nlohmann::json::array({*v});
  if (auto v = args.get_int("nsamples")) cal["nsamples"] = *v;
  if (auto v = args.get_int("seqlen")) cal["seqlen"] = *v;
  if (auto v = args.get_int("seed")) cal["seed"] = *v;
  const bool rtn = cfg.contains("method") && cfg["method"] == "rtn";
  if (!rtn && !cal.contains("files") && !cal.contains("token_ids"))
    throw UsageError{"give calibration text with --calib FILE (or calibration.files in --config)"};
  return cfg;
}

void print_table(const nlohmann::json &report, bool rtn) {
  std::printf("\n%-44s %14s %8s %8s%s\n", "layer", "GPTQ loss", "damp", "seconds", rtn ? "       RTN loss" : "");
  for (const auto &l : report["layers"]) {
    char loss[32] = "-";  // a loss of -1 was not measured (method rtn)
    if (l["loss"].get<double>() >= 0) std::snprintf(loss, sizeof loss, "%.6g", l["loss"].get<double>());
    std::printf("%-44s %14s %8.4f %8.2f", l["name"].get<std::string>().c_str(), loss, l["damp"].get<double>(),
                l["seconds"].get<double>());
    if (rtn) std::printf(" %14.6g", l["rtn_loss"].get<double>());
    std::printf("\n");
  }
  std::printf("\n%zu layers in %.1f s, peak memory %.1f MB", report["layers"].size(),
              report["seconds"].get<double>(), report["peak_rss_bytes"].get<double>() / 1e6);
  // The device's, when the backend counts one (0 on the CPU).
  if (const double device = report.value("peak_device_bytes", 0.0); device > 0)
    std::printf(", peak device memory %.1f MB", device / 1e6);
  std::printf("\n");
  if (!report.contains("phases")) return;
  const nlohmann::json &p = report["phases"];
  const std::string forward_on = report.value("forward_backend", "");
  std::printf("time: read %.1f s, calibration text %.1f s, forward %.1f s%s, Hessians %.1f s, Cholesky %.1f s, "
              "solves %.1f s, packing %.1f s, writing %.1f s\n",
              p.value("read", 0.0), p.value("calibration", 0.0), p.value("forward", 0.0),
              forward_on.empty() ? "" : (" (" + forward_on + ")").c_str(), p.value("hessian", 0.0),
              p.value("factor", 0.0), p.value("solve", 0.0), p.value("pack", 0.0), p.value("write", 0.0));
}

}  // namespace

int run_quantize(int argc, char **argv) {
  // Every default below is the library's (schema/gptq.fbs), read at run time.
  const nlohmann::json d = schema_defaults(GPTQ_CONFIG_QUANTIZE);
  const nlohmann::json &dc = d["calibration"];
  const auto is_default = [&](const char *key, bool value) { return d[key].get<bool>() == value ? " (default)" : ""; };
  const std::string seqlen_default =
      dc["seqlen"].get<int>() == 0 ? "the model's context, at most 2048" : default_text(dc["seqlen"]);
  Args args("quantize", "MODEL_DIR --out DIR --calib FILE [options]",
            "Quantizes every linear layer of a float Hugging Face model with GPTQ, layer by\n"
            "layer on calibration text, and writes a Hugging Face GPTQ checkpoint to DIR.\n"
            "With --method rtn, rounds every weight to the nearest grid point instead (the\n"
            "baseline; no calibration text needed).\n"
            "Defaults are the library's, the same as gptq_quantize_model's (`gptq config\n"
            "quantize '{}'` prints them all); they follow GPTQModel's GPTQConfig.");
  args.positional("MODEL_DIR", "the float model directory")
      .option("out", "DIR", "where to write the checkpoint (must not exist, unless --force)")
      .option("calib", "FILE", "calibration text (plain text, or .jsonl with a \"text\" field)")
      .option("bits", "N", "2, 3, 4 or 8 (default " + default_text(d["bits"]) + ")")
      .option("group-size", "N", "columns per group, -1 for per-channel (default " + default_text(d["group_size"]) + ")")
      .flag("act-order", std::string("quantize columns by decreasing Hessian diagonal (desc_act)") +
                             is_default("desc_act", true))
      .flag("no-act-order", std::string("quantize columns in their order") + is_default("desc_act", false))
      .flag("sym", std::string("symmetric grid") + is_default("sym", true))
      .flag("asym", std::string("asymmetric grid (min/max with a zero point)") + is_default("sym", false))
      .option("damp", "F",
              "dampening as a fraction of the Hessian's mean diagonal (default " + default_text(d["damp_percent"]) +
                  ")")
      .option("nsamples", "N", "calibration windows (default " + default_text(dc["nsamples"]) + ")")
      .option("seqlen", "N", "tokens per window (default: " + seqlen_default + ")")
      .option("seed", "N", "seed of the window offsets (default " + default_text(dc["seed"]) + ")")
      .option("config", "FILE", "a QuantizeConfig JSON; flags override its fields")
      .flag("v2", "write zero points in the gptq_v2 layout (default: " + default_text(d["checkpoint_format"]) + ")")
      .option("method", "M", "gptq or rtn: round-to-nearest, no calibration (default " + default_text(d["method"]) + ")")
      .flag("compare-rtn", "also report each layer's round-to-nearest loss on the same inputs")
      .flag("force", "replace DIR if it is empty or a checkpoint gptq wrote (once the new one is complete)")
      .option("backend", "NAME",
              "where the calibration forward passes, Hessians and solves run: auto (default: CUDA when a GPU is "
              "usable, else the CPU), cpu or cuda")
      .option("threads", "N", "CPU threads (default: one per core)")
      .flag("verbose", "print the library's log lines on stderr (what it decided and why)", "v")
      .flag("json", "print the QuantizeReport JSON on stdout instead of the table");
  if (!args.parse(argc, argv)) return 0;
  auto out = args.get("out");
  if (!out) throw UsageError{"missing --out DIR"};
  const nlohmann::json cfg = config_from_args(args);
  Session session;
  const std::string backend = args.get_choice("backend", {"auto", "cpu", "cuda"}, "auto");
  if (gptq_status st = session.create_backend_context(backend, args.get_int("threads"), !args.has("json"),
                                                        args.has("verbose")); st != GPTQ_OK)
    return report_failure(st);
  ProgressBar bar;
  ProgressBar::cancel_on_interrupt();
  const char *report = nullptr;
  const std::string cfg_text = cfg.dump();
  gptq_status st = gptq_quantize_model(session.context, args.get("MODEL_DIR")->c_str(), cfg_text.c_str(),
                                       out->c_str(), ProgressBar::callback, &bar, &report);
  bar.finish_line();
  if (st != GPTQ_OK) return report_failure(st);
  if (args.has("json")) {
    std::printf("%s\n", report);
  } else {
    print_table(nlohmann::json::parse(report), args.has("compare-rtn"));
    std::printf("checkpoint written to %s\n", out->c_str());
  }
  return 0;
}

}  // namespace gptq::cli
