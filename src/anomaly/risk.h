// Transaction risk (issue 8): an isolation forest over numeric features
// (unsupervised, with per-feature reasons), XGBoost with balanced class
// weights when a binary label exists (SHAP reasons, out-of-fold scores), and
// a rules layer (velocity limits, blocklists) combined with the model score:
//   score = 1 - (1 - model) * prod over hit rules (1 - rule.score)
//
// Thread-safety: a fitted IsolationForest is immutable; its const methods may
// be called from several threads.
#ifndef OPSPILOT_ANOMALY_RISK_H_
#define OPSPILOT_ANOMALY_RISK_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/context.h"
#include "ml/gbm.h"
#include "ml/tabular.h"

namespace opspilot::anomaly {

struct IsolationForestOptions {
  int trees = 100;
  int sample_size = 256;              // rows per tree (Liu, Ting & Zhou 2008); height limit ceil(log2)
  uint64_t seed = 42;
  std::vector<std::string> features;  // empty = every numeric feature
};
Status ValidateIsolationForestOptions(const IsolationForestOptions& options);

struct FeatureReason {
  std::string feature;
  double value = 0;   // the row's value (NaN = missing)
  double weight = 0;  // isolation forest: share of the isolation bits; GBM: SHAP contribution (log-odds)
  double z = 0;       // robust z of the value against the training rows (median, 1.4826 MAD); 0 for GBM
};

class IsolationForest {
 public:
  // InvalidArgument without numeric features or with fewer than 2 rows.
  static StatusOr<IsolationForest> Fit(const ml::TabularData& data, const IsolationForestOptions& options);

  // s = 2^(-E[h(x)] / c(sample)) in (0, 1): about 0.5 and below for ordinary
  // rows, towards 1 for rows isolated in few splits. `data` must have the
  // training features (by name; other columns are ignored).
  StatusOr<std::vector<double>> Score(const ml::TabularData& data) const;
  // The k features that did most of the isolating of one row: each split on
  // a row's path credits its feature log2(node size / child size) bits,
  // averaged over trees; weight is the feature's share of the bits.
  StatusOr<std::vector<FeatureReason>> Explain(const ml::TabularData& data, int64_t row, int k) const;
  const std::vector<std::string>& features() const { return names_; }

 private:
  struct Node {
    int32_t feature = -1;  // -1: leaf
    float split = 0;
    bool nan_left = true;  // missing values follow the larger child
    int32_t left = -1, right = -1;
    int32_t size = 0;      // training rows that reached the node
  };
  StatusOr<std::vector<int64_t>> Columns(const ml::TabularData& data) const;
  double PathLength(const std::vector<Node>& tree, const float* x) const;

  std::vector<std::string> names_;
  std::vector<double> median_, mad_;
  std::vector<std::vector<Node>> trees_;
  int sample_ = 0;
};

// ---- Rules ----------------------------------------------------------------------

// Side columns the rules read, row-aligned with the features.
struct RuleInput {
  std::vector<int64_t> time;                               // unix seconds (velocity rules)
  std::map<std::string, std::vector<std::string>> columns; // e.g. "account", "card", "email"
};

// More than max_count rows of one key within window_seconds (this row and
// those before it, by time; no look-ahead) is a hit.
struct VelocityRule {
  std::string name;    // shown in the reasons, e.g. "card_velocity"
  std::string key;     // a RuleInput column
  int64_t window_seconds = 3600;
  int max_count = 5;
  double score = 0.7;  // in [0, 1]
};

struct BlocklistRule {
  std::string name;
  std::string column;  // a RuleInput column
  std::set<std::string> values;
  double score = 1.0;
};

// A velocity rule from KEY:WINDOW_SECONDS:MAX_COUNT (named KEY_velocity, score
// 0.7), or from JSON {"key", "window_seconds", "max_count", "score", "name"}
// (score and name optional). Errors name the spec or start with `where`.
StatusOr<VelocityRule> ParseVelocityRule(const std::string& spec);
StatusOr<VelocityRule> VelocityFromJson(const nlohmann::json& j, const std::string& where);

// A blocklist from a file, `spec` COLUMN:FILE or COLUMN:FILE:SCORE (score in
// [0, 1], default 1): one value a line, trimmed; blank lines and lines that
// start with '#' are skipped. The rule is named COLUMN_blocklist. Errors name
// the spec or the file.
StatusOr<BlocklistRule> ReadBlocklist(const std::string& spec);
// From JSON, {"column": C, "values": [strings], "score": 1, "name": N} (score
// and name optional); errors start with `where`.
StatusOr<BlocklistRule> BlocklistFromJson(const nlohmann::json& j, const std::string& where);

struct RiskOptions;
// A request body's "threshold" (in [0, 1]), "velocity" and "blocklists"
// arrays (each element as above), when present, into *options.
Status RiskRulesFromJson(const nlohmann::json& body, RiskOptions* options);

struct RuleHit {
  std::string rule;
  double score = 0;
};

// Per row, the rules it hits. InvalidArgument for unknown columns or lengths
// that disagree with `rows`.
StatusOr<std::vector<std::vector<RuleHit>>> ApplyRules(int64_t rows, const RuleInput& input,
                                                       const std::vector<VelocityRule>& velocity,
                                                       const std::vector<BlocklistRule>& blocklists);

// ---- Combined scoring -----------------------------------------------------------

struct RiskOptions {
  IsolationForestOptions forest;
  ml::GbmOptions gbm;           // with a binary target; class_weight "" becomes "balanced"
  int folds = 3;                // supervised scores are out-of-fold (each row by a model that never saw it)
  std::vector<VelocityRule> velocity;
  std::vector<BlocklistRule> blocklists;
  double threshold = 0.6;       // flagged = score >= threshold
  int reasons = 3;              // feature reasons per flagged row
};
Status ValidateRiskOptions(const RiskOptions& options);

struct RiskResult {
  std::string id;
  double score = 0;         // combined
  double model = 0;         // supervised probability if a label exists, else the isolation score
  double isolation = 0;     // isolation forest score
  double supervised = -1;   // out-of-fold P(positive class); -1 without a label
  bool flagged = false;
  std::vector<RuleHit> rules;
  std::vector<FeatureReason> reasons;  // flagged rows only: SHAP with a label, else isolation
};

// Scores every row of `data`. With a binary target (data.y non-empty, two
// classes) the supervised model is trained with out-of-fold predictions;
// positive = class 1 (the second of schema.classes).
StatusOr<std::vector<RiskResult>> ScoreRisk(const Context& ctx, const ml::TabularData& data, const RuleInput& input,
                                            const RiskOptions& options);

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_RISK_H_
