// `opspilot recommend ...`: the recommendation commands of the CLI.
#ifndef OPSPILOT_CLI_RECOMMEND_CMD_H_
#define OPSPILOT_CLI_RECOMMEND_CMD_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/context.h"
#include "core/status.h"
#include "store/store.h"

namespace opspilot::cli {

struct RecommendFlags {
  CLI::App* cmd = nullptr;
  CLI::App *train = nullptr, *predict = nullptr, *evaluate = nullptr, *similar = nullptr, *show = nullptr;
  std::string interactions, items, format = "auto", model = "auto", params = "{}", out, register_task;
  std::string event_weights, users, protocol = "random", ks = "10,20", category, exclude, item, user, test;
  double min_value = -1e300;
  bool all = false, include_seen = false, reasons = false, include_out_of_stock = false;
  int k = 10, sampled = 0, max_per_category = 0, offset = 0;
  double test_fraction = 0.1, valid_fraction = 0.1;
};

void AddRecommendCommands(CLI::App& app, RecommendFlags* f);

// True when the command needs the libtorch models (sasrec, mlp): the caller
// re-runs itself as opspilot-nn.
bool RecommendNeedsTorch(const RecommendFlags& f, const std::string& data_dir);

struct RecommendEnv {
  std::string data_dir, tenant;
  bool json = false;
  std::function<StatusOr<std::unique_ptr<Store>>()> open_store;
};
Status RunRecommend(const Context& ctx, const RecommendFlags& f, const RecommendEnv& env);

}  // namespace opspilot::cli

#endif  // OPSPILOT_CLI_RECOMMEND_CMD_H_
