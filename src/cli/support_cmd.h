// `opspilot support ...` (engine mode): train the support model on the
// store's tickets, classify every ticket, answer a message, ticket
// analytics. Training runs in opspilot-nn (libtorch); the rest runs in the
// plain binary when the model is a fasttext one.
#ifndef OPSPILOT_CLI_SUPPORT_CMD_H_
#define OPSPILOT_CLI_SUPPORT_CMD_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/context.h"
#include "core/status.h"
#include "store/store.h"
#include "support/support.h"

namespace opspilot::cli {

struct SupportFlags {
  CLI::App* cmd = nullptr;
  CLI::App *train = nullptr, *reply = nullptr, *classify = nullptr, *analytics = nullptr;
  std::string message, conversation, user, faq, templates, model = "fasttext", tokenizer = "bpe", out;
  int epochs = 0, limit = 0;
  double target_precision = 0.9;  // train: the intent model's out-of-scope cut-off
  support::HandoffPolicy policy;  // train: saved with the model
  support::LlmOptions llm;
};

struct SupportEnv {
  std::string data_dir, tenant;
  bool json = false;
  std::function<StatusOr<std::unique_ptr<Store>>()> open_store;
};

void AddSupportCommands(CLI::App& app, SupportFlags* f);
// True when the tenant's serving support model needs opspilot-nn (it is not fasttext).
bool SupportModelNeedsTorch(const std::string& data_dir, const std::string& tenant);
// reply, classify, analytics.
Status RunSupport(const Context& ctx, const SupportFlags& f, const SupportEnv& env);

// `support train` (libtorch build only: support_train.cc).
Status RunSupportTrain(const Context& ctx, const SupportFlags& f, const SupportEnv& env);
// Trains and registers the support model (libtorch build only: support_train.cc).
StatusOr<nlohmann::json> TrainSupport(const Context& ctx, Store& store, const std::string& models_dir,
                                      const std::string& tenant, const SupportFlags& f);

}  // namespace opspilot::cli

#endif  // OPSPILOT_CLI_SUPPORT_CMD_H_
