// The gptq subcommands. Each takes the arguments after its name and returns
// the process exit code: 0 ok, 1 runtime error (the library's message is
// printed), 2 usage error.
#pragma once

namespace gptq::cli {

int run_info(int argc, char **argv);
int run_config(int argc, char **argv);
int run_inspect(int argc, char **argv);
int run_tokenize(int argc, char **argv);
int run_quantize(int argc, char **argv);
int run_eval(int argc, char **argv);
int run_generate(int argc, char **argv);

}  // namespace gptq::cli
