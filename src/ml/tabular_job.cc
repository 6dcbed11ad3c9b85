#include "ml/tabular_job.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/csv.h"
#include "core/file.h"
#include "core/hash.h"
#include "ml/metrics.h"
#include "ml/drift.h"
#include "ml/splits.h"
#include "ml/tuning.h"

namespace opspilot::ml {

using nlohmann::json;

namespace {

json GbmParams(const GbmOptions& g) {
  return {{"rounds", g.rounds},
          {"learning_rate", g.learning_rate},
          {"max_depth", g.max_depth},
          {"min_child_weight", g.min_child_weight},
          {"subsample", g.subsample},
          {"colsample_bytree", g.colsample_bytree},
          {"reg_lambda", g.reg_lambda},
          {"early_stopping_rounds", g.early_stopping_rounds},
          {"class_weight", g.class_weight},
          {"max_bin", g.max_bin},
          {"one_hot_max_categories", g.one_hot_max_categories}};
}

Split HoldOut(const TabularData& d, double fraction, uint64_t seed) {
  return d.schema.task == TaskKind::kRegression ? RandomSplit(d.rows, fraction, seed)
                                                : StratifiedSplit(d.labels(), fraction, seed);
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Higher is better: AUC (binary), -logloss (multi-class), -RMSE (regression).
double SelectionScore(const json& m) {
  if (m.contains("auc")) return m["auc"].get<double>();
  if (m.contains("logloss")) return -m["logloss"].get<double>();
  return -m["rmse"].get<double>();
}

}  // namespace

json TabularMetrics(const TabularData& d, const std::vector<float>& p) {
  json m;
  m["rows"] = d.rows;
  if (d.schema.task == TaskKind::kRegression) {
    std::vector<double> y(d.y.begin(), d.y.end()), yp(p.begin(), p.end());
    double mean = 0, ss = 0;
    for (double v : y) mean += v / static_cast<double>(y.size());
    for (double v : y) ss += (v - mean) * (v - mean);
    const double mse = Mse(y, yp);
    m["rmse"] = std::sqrt(mse);
    m["mae"] = Mae(y, yp);
    m["r2"] = ss > 0 ? 1 - mse * static_cast<double>(y.size()) / ss : NAN;
    return m;
  }
  const std::vector<int> labels = d.labels();
  const int k = static_cast<int>(d.schema.classes.size());
  std::vector<int> pred;
  if (d.schema.task == TaskKind::kBinary) {
    std::vector<double> probs(p.begin(), p.end());
    for (float v : p) pred.push_back(v > 0.5f);
    m["auc"] = RocAuc(labels, probs);
    m["pr_auc"] = PrAuc(labels, probs);
    m["logloss"] = LogLoss(labels, probs);
    m["brier"] = Brier(labels, probs);
    m["lift_at_10pct"] = Lift(labels, probs, 0.1);
  } else {
    std::vector<double> probs(p.begin(), p.end());
    for (int64_t r = 0; r < d.rows; ++r) {
      const float* row = p.data() + r * k;
      pred.push_back(static_cast<int>(std::max_element(row, row + k) - row));
    }
    m["logloss"] = LogLossMulti(labels, probs, k);
  }
  const auto report = Classify(labels, pred, k);
  m["accuracy"] = report.accuracy;
  m["macro_f1"] = report.macro.f1;
  json per = json::object();
  for (int c = 0; c < k; ++c) {
    const auto& s = report.per_class[static_cast<size_t>(c)];
    per[d.schema.classes[static_cast<size_t>(c)]] = {{"precision", s.precision}, {"recall", s.recall},
                                                     {"f1", s.f1}, {"support", s.support}};
  }
  m["per_class"] = per;
  return m;
}

StatusOr<TabularTrainResult> TrainTabular(const Context& ctx, const TabularTrainOptions& o, ModelRegistry* registry) {
  RETURN_IF_ERROR(ValidateGbmOptions(o.gbm));
  if (o.read.target.empty()) return InvalidArgument("--target is required");
  if (!(o.valid_fraction >= 0 && o.valid_fraction < 0.9)) return InvalidArgument("valid fraction must be in [0, 0.9)");
  ASSIGN_OR_RETURN(TabularData all, ReadTabularCsv(o.data, o.read));
  ASSIGN_OR_RETURN(std::string fingerprint, FileFingerprint(o.data));
  GbmHistory history;
  json metrics = json::object();
  GbmModel model;
  if (o.valid_fraction == 0) {
    // No hold-out: all rows, the given number of rounds, no validation metrics.
    GbmOptions all_rounds = o.gbm;
    all_rounds.early_stopping_rounds = 0;
    ASSIGN_OR_RETURN(model, GbmModel::Train(ctx, all, nullptr, all_rounds, &history));
  } else {
    const Split s = HoldOut(all, o.valid_fraction, ctx.seed());
    TabularData train = all.Take(s.train), valid = all.Take(s.test);
    GbmOptions chosen = o.gbm;
    if (o.tune_trials > 0) {
      // Random search on the hold-out; rounds are the budget, early stopping trims each trial.
      const std::vector<ParamRange> space = {{"learning_rate", {}, 0.02, 0.3, true},
                                             {"max_depth", {}, 3, 10, false, true},
                                             {"min_child_weight", {}, 1, 20, true},
                                             {"subsample", {}, 0.6, 1.0}};
      auto objective = [&](const ParamSet& p, int budget) -> StatusOr<double> {
        GbmOptions g = o.gbm;
        g.learning_rate = p.at("learning_rate");
        g.max_depth = static_cast<int>(p.at("max_depth"));
        g.min_child_weight = p.at("min_child_weight");
        g.subsample = p.at("subsample");
        g.rounds = budget;
        ASSIGN_OR_RETURN(GbmModel m, GbmModel::Train(ctx, train, &valid, g, nullptr));
        ASSIGN_OR_RETURN(std::vector<float> vp, m.Predict(valid));
        return SelectionScore(TabularMetrics(valid, vp));
      };
      ASSIGN_OR_RETURN(SearchResult search, RandomSearch(ctx, space, objective, o.gbm.rounds, o.tune_trials));
      chosen.learning_rate = search.best.params.at("learning_rate");
      chosen.max_depth = static_cast<int>(search.best.params.at("max_depth"));
      chosen.min_child_weight = search.best.params.at("min_child_weight");
      chosen.subsample = search.best.params.at("subsample");
      json trials = json::array();
      for (const auto& t : search.trials) trials.push_back({{"params", t.params}, {"score", t.score}});
      metrics["tuning"] = {{"trials", trials}, {"best", search.best.params}, {"best_score", search.best.score}};
    }
    ASSIGN_OR_RETURN(model, GbmModel::Train(ctx, train, &valid, chosen, &history));
    ASSIGN_OR_RETURN(std::vector<float> vp, model.Predict(valid));
    metrics["validation"] = TabularMetrics(valid, vp);
    if (o.refit) {
      GbmOptions refit = chosen;
      refit.rounds = history.best_round + 1;
      refit.early_stopping_rounds = 0;
      ASSIGN_OR_RETURN(model, GbmModel::Train(ctx, all, nullptr, refit, nullptr));
    }
  }
  ASSIGN_OR_RETURN(auto importance, model.Importance());
  json imp = json::array();
  for (const auto& [f, v] : importance) imp.push_back({{"feature", f}, {"gain_share", v}});
  TabularTrainResult r;
  r.metadata = {{"algorithm", "xgboost-gbm"},
                {"objective", TaskKindName(all.schema.task)},
                {"target", o.read.target},
                {"parameters", GbmParams(o.gbm)},
                {"best_rounds", history.best_round + 1},
                {"refit_on_all_rows", o.refit && o.valid_fraction > 0},
                {"training_data", {{"file", o.data}, {"sha256", fingerprint}, {"rows", all.rows},
                                   {"features", all.cols()}}},
                {"metrics", metrics},
                {"importance", imp}};
  auto write = [&](const std::string& dir) -> Status {
    RETURN_IF_ERROR(model.Save(dir));
    std::ofstream(std::filesystem::path(dir) / "metadata.json") << r.metadata.dump(2);
    return Status::Ok();
  };
  if (!o.out.empty()) {
    RETURN_IF_ERROR(ReplaceDirAtomic(o.out, write));
    r.model_dir = o.out;
  }
  if (!o.register_task.empty()) {
    if (registry == nullptr) return FailedPrecondition("no model registry to register into");
    ASSIGN_OR_RETURN(ModelInfo info, registry->Register(ctx, o.register_task, r.metadata,
                                                        [&](const std::string& dir) { return model.Save(dir); }));
    r.version = info.version;
    if (r.model_dir.empty()) r.model_dir = info.dir;
  }
  return r;
}

Status PredictTabular(const Context& ctx, const std::string& model_dir, const std::string& input, int explain_k,
                      std::ostream& out) {
  ASSIGN_OR_RETURN(GbmModel model, GbmModel::Load(model_dir));
  ASSIGN_OR_RETURN(TabularData d, ReadTabularCsvWithSchema(input, model.schema()));
  ASSIGN_OR_RETURN(std::vector<float> p, model.Predict(d));
  std::vector<float> contrib;
  if (explain_k > 0) {
    ASSIGN_OR_RETURN(contrib, model.Contributions(d));
  }
  const TabularSchema& s = model.schema();
  const int k = s.task == TaskKind::kMulticlass ? static_cast<int>(s.classes.size()) : 1;
  const size_t nf = s.features.size();
  std::string line = s.task == TaskKind::kRegression ? "id,prediction" : "id,prediction,probability";
  if (explain_k > 0) line += ",reasons";
  out << line << "\n";
  for (int64_t r = 0; r < d.rows; ++r) {
    std::vector<std::string> fields = {d.ids[static_cast<size_t>(r)]};
    int cls = 0;
    if (s.task == TaskKind::kRegression) {
      fields.push_back(FormatNumber(p[static_cast<size_t>(r)]));
    } else if (s.task == TaskKind::kBinary) {
      const float prob = p[static_cast<size_t>(r)];
      cls = 1;  // explain the positive class's score
      fields.push_back(s.classes[prob > 0.5f ? 1 : 0]);
      fields.push_back(FormatNumber(prob));
    } else {
      const float* row = p.data() + r * k;
      cls = static_cast<int>(std::max_element(row, row + k) - row);
      fields.push_back(s.classes[static_cast<size_t>(cls)]);
      fields.push_back(FormatNumber(row[cls]));
    }
    if (explain_k > 0) {
      const size_t base = static_cast<size_t>(r) * static_cast<size_t>(k) * (nf + 1) +
                          (k > 1 ? static_cast<size_t>(cls) * (nf + 1) : 0);
      std::vector<std::pair<double, size_t>> c;
      for (size_t f = 0; f < nf; ++f) c.emplace_back(contrib[base + f], f);
      std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return std::abs(a.first) > std::abs(b.first); });
      std::string reasons;
      for (size_t i = 0; i < c.size() && static_cast<int>(i) < explain_k; ++i) {
        const size_t f = c[i].second;
        const float v = d.x[static_cast<size_t>(r) * nf + f];
        std::string value = std::isnan(v) ? "missing"
                            : s.features[f].kind == FeatureKind::kCategorical
                                ? s.features[f].categories[static_cast<size_t>(v)]
                                : FormatNumber(v);
        reasons += (reasons.empty() ? "" : "; ") + s.features[f].name + "=" + value + " (" +
                   (c[i].first >= 0 ? "+" : "") + FormatNumber(c[i].first) + ")";
      }
      fields.push_back(reasons);
    }
    out << CsvLine(fields) << "\n";
  }
  ctx.logger().Info("predicted", {{"rows", d.rows}, {"model", model_dir}});
  if (!out) return Internal("cannot write predictions");
  return Status::Ok();
}

StatusOr<json> TabularDrift(const std::string& reference, const std::string& current,
                            const TabularReadOptions& read) {
  ASSIGN_OR_RETURN(TabularData ref, ReadTabularCsv(reference, read));
  TabularSchema schema = ref.schema;
  schema.target.clear();  // the current data need not have a target
  ASSIGN_OR_RETURN(TabularData cur, ReadTabularCsvWithSchema(current, schema));
  ASSIGN_OR_RETURN(auto report, DriftReport(ref, cur));
  json features = json::array();
  int moved = 0;
  for (const auto& d : report) {
    moved += d.drifted;
    features.push_back({{"feature", d.feature}, {"psi", d.psi},
                        {"ks", std::isnan(d.ks) ? json(nullptr) : json(d.ks)},
                        {"ks_p_value", std::isnan(d.ks_p_value) ? json(nullptr) : json(d.ks_p_value)},
                        {"drifted", d.drifted}});
  }
  return json{{"reference_rows", ref.rows}, {"current_rows", cur.rows}, {"drifted_features", moved},
              {"features", features}};
}

StatusOr<json> EvaluateTabular(const Context& ctx, const std::string& data, const TabularReadOptions& read,
                               const GbmOptions& gbm, int folds) {
  if (folds < 2 || folds > 50) return InvalidArgument("folds must be 2..50");
  ASSIGN_OR_RETURN(TabularData all, ReadTabularCsv(data, read));
  const std::vector<int> labels = all.schema.task == TaskKind::kRegression ? std::vector<int>{} : all.labels();
  const auto splits = KFold(all.rows, folds, ctx.seed(), labels);
  json per_fold = json::array();
  std::map<std::string, std::vector<double>> values;
  for (const auto& s : splits) {
    TabularData train = all.Take(s.train), test = all.Take(s.test);
    // Early stopping inside the training part only: the test fold stays unseen.
    const Split inner = HoldOut(train, 0.15, ctx.seed() + 1);
    TabularData fit = train.Take(inner.train), stop = train.Take(inner.test);
    ASSIGN_OR_RETURN(GbmModel model, GbmModel::Train(ctx, fit, &stop, gbm, nullptr));
    ASSIGN_OR_RETURN(std::vector<float> p, model.Predict(test));
    json m = TabularMetrics(test, p);
    for (const auto& [k, v] : m.items()) {
      if (v.is_number() && k != "rows") values[k].push_back(v.get<double>());
    }
    per_fold.push_back(m);
  }
  json summary = json::object();
  for (const auto& [k, v] : values) {
    double mean = 0, var = 0;
    for (double x : v) mean += x / static_cast<double>(v.size());
    for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(std::max<size_t>(1, v.size() - 1));
    summary[k] = {{"mean", mean}, {"std", std::sqrt(var)}};
  }
  return json{{"task", TaskKindName(all.schema.task)}, {"rows", all.rows}, {"folds", folds},
              {"summary", summary}, {"per_fold", per_fold}};
}

}  // namespace opspilot::ml
