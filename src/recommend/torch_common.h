// Pieces shared by the libtorch recommenders (sasrec.cc, mlp_ranker.cc):
// weight snapshots and early stopping on a validation metric. Internal:
// includes libtorch, so only their .cc files include it.
#ifndef OPSPILOT_RECOMMEND_TORCH_COMMON_H_
#define OPSPILOT_RECOMMEND_TORCH_COMMON_H_

#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace opspilot::recommend::torch_common {

// Params must be a JSON object (or null) whose keys are all known.
inline Status CheckParamKeys(const nlohmann::json& p, std::span<const char* const> keys, const std::string& model) {
  if (p.is_null()) return Status::Ok();
  if (!p.is_object()) return InvalidArgument(model + ": params must be a JSON object");
  for (const auto& [key, value] : p.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string known;
      for (const char* k : keys) known += std::string(known.empty() ? "" : ", ") + k;
      return InvalidArgument(model + ": unknown param '" + key + "' (known: " + known + ")");
    }
  }
  return Status::Ok();
}

using State = std::vector<std::pair<std::string, torch::Tensor>>;

inline State Snapshot(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  State s;
  for (const auto& p : m.named_parameters()) s.emplace_back(p.key(), p.value().detach().clone());
  return s;
}

inline void Restore(torch::nn::Module& m, const State& s) {
  torch::NoGradGuard ng;
  auto params = m.named_parameters();
  for (const auto& [k, v] : s) params[k].copy_(v);
}

// Keeps the weights of the best epoch by a validation metric (higher is
// better) and says when `patience` epochs have passed without improvement.
struct EarlyStopping {
  int patience = 5;
  double best = -1;
  int best_epoch = 0, since_best = 0;
  State best_state;

  // Records epoch `epoch` (1-based); true when training should stop.
  bool Update(double metric, int epoch, torch::nn::Module& m) {
    if (metric > best + 1e-9) {
      best = metric;
      best_epoch = epoch;
      best_state = Snapshot(m);
      since_best = 0;
      return false;
    }
    return ++since_best >= patience;
  }
  // Puts the best epoch's weights back (if any epoch was validated).
  void RestoreBest(torch::nn::Module& m) const {
    if (!best_state.empty()) Restore(m, best_state);
  }
};

}  // namespace opspilot::recommend::torch_common

#endif  // OPSPILOT_RECOMMEND_TORCH_COMMON_H_
