// `opspilot text ...`: train, predict and evaluate text classifiers (file
// mode). The commands are declared in both builds; they run in opspilot-nn
// (libtorch), which `opspilot` re-runs itself as.
#ifndef OPSPILOT_CLI_TEXT_CMD_H_
#define OPSPILOT_CLI_TEXT_CMD_H_

#include <CLI/CLI.hpp>
#include <string>

#include "core/context.h"
#include "core/status.h"

namespace opspilot::cli {

struct TextFlags {
  CLI::App* cmd = nullptr;
  CLI::App *train = nullptr, *predict = nullptr, *evaluate = nullptr;
  std::string data, input, model = "auto", task = "intent", out, model_dir;
  int top = 1, epochs = 25, dim = 64;
  double target_precision = 0.9;
  bool no_oos = false;
};

void AddTextCommands(CLI::App& app, TextFlags* f);

// Defined only in the libtorch build (text_run.cc).
Status RunText(const Context& ctx, const TextFlags& f, bool json_out);

}  // namespace opspilot::cli

#endif  // OPSPILOT_CLI_TEXT_CMD_H_
