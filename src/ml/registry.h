// The model registry: data-dir/models/<task>/<version>/ holding
// metadata.json (task, algorithm, parameters, training data fingerprint,
// metrics, created-at, code version) and the model's files. Versions are
// written into a temporary directory and renamed into place, so a crash
// never leaves a half version; the serving version is a file (SERVING)
// replaced by rename, with a history for rollback.
//
// Thread-safety: one writer per task at a time (the version number is taken
// by an exclusive rename, so two writers never share one); readers any time.
#ifndef OPSPILOT_ML_REGISTRY_H_
#define OPSPILOT_ML_REGISTRY_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/context.h"

namespace opspilot::ml {

inline constexpr const char* kCodeVersion = "opspilot 0.1.0";

struct ModelInfo {
  std::string task, version, dir;
  bool serving = false;
  nlohmann::json metadata;
};

class ModelRegistry {
 public:
  // `root` is data-dir/models.
  explicit ModelRegistry(std::string root);

  // Creates the next version of `task`: `write` fills a fresh directory,
  // then metadata.json is written (created_at and code_version added) and
  // the directory renamed to vNNNN. The first version of a task serves.
  StatusOr<ModelInfo> Register(const Context& ctx, const std::string& task, nlohmann::json metadata,
                               const std::function<Status(const std::string& dir)>& write);

  StatusOr<std::vector<std::string>> Tasks() const;
  StatusOr<std::vector<ModelInfo>> List(const std::string& task) const;  // oldest first
  StatusOr<ModelInfo> Show(const std::string& task, const std::string& version) const;
  // The version that serves.
  StatusOr<ModelInfo> Serving(const std::string& task) const;
  Status Promote(const std::string& task, const std::string& version);
  // Serves the version promoted before the current one; returns it.
  StatusOr<std::string> Rollback(const std::string& task);
  // Deletes a version; the serving one is refused.
  Status Delete(const std::string& task, const std::string& version);

 private:
  std::string TaskDir(const std::string& task) const;
  StatusOr<std::vector<std::string>> History(const std::string& task) const;
  Status WriteHistory(const std::string& task, const std::vector<std::string>& history);

  std::string root_;
};

// Task names: lower-case letters, digits, '_', '-', ':' and '.' (e.g. "churn", "recommend:ease").
Status ValidateTaskName(const std::string& task);

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_REGISTRY_H_
