#include "ml/gbm.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

namespace opspilot::ml {

using nlohmann::json;

namespace {

struct DMatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using DMatrixPtr = std::unique_ptr<void, DMatrixDeleter>;
using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;

Status XgbError(const char* what) { return Internal(std::string("xgboost: ") + what + ": " + XGBGetLastError()); }

#define XGB_CALL(call, what)              \
  do {                                    \
    if ((call) != 0) return XgbError(what); \
  } while (0)

StatusOr<DMatrixPtr> MakeDMatrix(const TabularData& d, const std::vector<float>* weights) {
  DMatrixHandle h = nullptr;
  XGB_CALL(XGDMatrixCreateFromMat(d.x.data(), static_cast<bst_ulong>(d.rows),
                                  static_cast<bst_ulong>(d.cols()), std::nanf(""), &h),
           "create DMatrix");
  DMatrixPtr m(h);
  std::vector<const char*> names, types;
  for (const auto& f : d.schema.features) {
    names.push_back(f.name.c_str());
    types.push_back(f.kind == FeatureKind::kCategorical ? "c" : "q");
  }
  XGB_CALL(XGDMatrixSetStrFeatureInfo(h, "feature_name", names.data(), names.size()), "feature names");
  XGB_CALL(XGDMatrixSetStrFeatureInfo(h, "feature_type", types.data(), types.size()), "feature types");
  if (!d.y.empty()) {
    XGB_CALL(XGDMatrixSetFloatInfo(h, "label", d.y.data(), d.y.size()), "labels");
  }
  if (weights) XGB_CALL(XGDMatrixSetFloatInfo(h, "weight", weights->data(), weights->size()), "weights");
  return m;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

}  // namespace

struct GbmModel::Impl {
  BoosterPtr booster;
  TabularSchema schema;
  mutable std::mutex mu;

  // Names and types on the booster itself (slicing and loading drop them).
  Status SetFeatureInfo() {
    std::vector<const char*> names, types;
    for (const auto& f : schema.features) {
      names.push_back(f.name.c_str());
      types.push_back(f.kind == FeatureKind::kCategorical ? "c" : "q");
    }
    XGB_CALL(XGBoosterSetStrFeatureInfo(booster.get(), "feature_name", names.data(), names.size()), "feature names");
    XGB_CALL(XGBoosterSetStrFeatureInfo(booster.get(), "feature_type", types.data(), types.size()), "feature types");
    return Status::Ok();
  }

  int classes() const {
    return schema.task == TaskKind::kMulticlass ? static_cast<int>(schema.classes.size()) : 1;
  }

  StatusOr<std::vector<float>> Run(const TabularData& d, int type) const {
    if (d.cols() != static_cast<int64_t>(schema.features.size())) {
      return InvalidArgument("data has " + std::to_string(d.cols()) + " features, the model " +
                             std::to_string(schema.features.size()));
    }
    TabularData unlabeled;
    const TabularData* src = &d;
    if (!d.y.empty()) {  // labels are not needed and may hold NaN
      unlabeled.schema = d.schema;
      unlabeled.rows = d.rows;
      unlabeled.x = d.x;
      src = &unlabeled;
    }
    ASSIGN_OR_RETURN(DMatrixPtr m, MakeDMatrix(*src, nullptr));
    std::lock_guard<std::mutex> lock(mu);
    const std::string config = "{\"type\": " + std::to_string(type) +
                               ", \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                               "\"strict_shape\": false}";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    XGB_CALL(XGBoosterPredictFromDMatrix(booster.get(), m.get(), config.c_str(), &shape, &dim, &out), "predict");
    size_t n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return std::vector<float>(out, out + n);
  }
};

GbmModel::GbmModel() : impl_(std::make_unique<Impl>()) {}
GbmModel::~GbmModel() = default;
GbmModel::GbmModel(GbmModel&&) noexcept = default;
GbmModel& GbmModel::operator=(GbmModel&&) noexcept = default;

const TabularSchema& GbmModel::schema() const { return impl_->schema; }
int GbmModel::num_classes() const { return impl_->classes(); }

Status ValidateGbmOptions(const GbmOptions& o) {
  if (o.rounds < 1 || o.rounds > 100000) return InvalidArgument("rounds must be 1..100000");
  if (!(o.learning_rate > 0 && o.learning_rate <= 1)) return InvalidArgument("learning rate must be in (0, 1]");
  if (o.max_depth < 1 || o.max_depth > 32) return InvalidArgument("max depth must be 1..32");
  if (!(o.subsample > 0 && o.subsample <= 1)) return InvalidArgument("subsample must be in (0, 1]");
  if (!(o.colsample_bytree > 0 && o.colsample_bytree <= 1)) return InvalidArgument("colsample must be in (0, 1]");
  if (o.early_stopping_rounds < 0) return InvalidArgument("early stopping rounds must be >= 0");
  if (!o.class_weight.empty() && o.class_weight != "balanced") {
    return InvalidArgument("class weight must be empty or 'balanced'");
  }
  if (o.one_hot_max_categories < 0) return InvalidArgument("one-hot max categories must be >= 0");
  return Status::Ok();
}

StatusOr<GbmModel> GbmModel::Train(const Context& ctx, const TabularData& train, const TabularData* valid,
                                   const GbmOptions& o, GbmHistory* history) {
  RETURN_IF_ERROR(ValidateGbmOptions(o));
  if (train.y.empty() || train.rows == 0) return InvalidArgument("training data needs a target and rows");
  const TabularSchema& s = train.schema;
  std::vector<float> weights;
  const std::vector<float>* wp = nullptr;
  if (o.class_weight == "balanced" && s.task != TaskKind::kRegression) {
    std::vector<double> counts(s.classes.size(), 0);
    for (float y : train.y) counts[static_cast<size_t>(y)] += 1;
    for (float y : train.y) {
      weights.push_back(static_cast<float>(static_cast<double>(train.rows) /
                                           (static_cast<double>(s.classes.size()) * counts[static_cast<size_t>(y)])));
    }
    wp = &weights;
  }
  ASSIGN_OR_RETURN(DMatrixPtr dtrain, MakeDMatrix(train, wp));
  DMatrixPtr dvalid;
  if (valid) {
    ASSIGN_OR_RETURN(dvalid, MakeDMatrix(*valid, nullptr));
  }
  std::vector<DMatrixHandle> cache = {dtrain.get()};
  if (dvalid) cache.push_back(dvalid.get());
  BoosterHandle bh = nullptr;
  XGB_CALL(XGBoosterCreate(cache.data(), cache.size(), &bh), "create booster");
  BoosterPtr booster(bh);
  std::string metric;
  std::vector<std::pair<std::string, std::string>> params = {
      {"tree_method", "hist"},
      {"eta", Num(o.learning_rate)},
      {"max_depth", std::to_string(o.max_depth)},
      {"min_child_weight", Num(o.min_child_weight)},
      {"subsample", Num(o.subsample)},
      {"colsample_bytree", Num(o.colsample_bytree)},
      {"lambda", Num(o.reg_lambda)},
      {"max_bin", std::to_string(o.max_bin)},
      {"max_cat_to_onehot", std::to_string(std::max(1, o.one_hot_max_categories))},
      {"nthread", std::to_string(ctx.threads())},
      {"seed", std::to_string(ctx.seed() % 2147483647)},
      {"verbosity", "0"},
  };
  switch (s.task) {
    case TaskKind::kBinary:
      params.emplace_back("objective", "binary:logistic");
      metric = "logloss";
      break;
    case TaskKind::kMulticlass:
      params.emplace_back("objective", "multi:softprob");
      params.emplace_back("num_class", std::to_string(s.classes.size()));
      metric = "mlogloss";
      break;
    case TaskKind::kRegression:
      params.emplace_back("objective", "reg:squarederror");
      metric = "rmse";
      break;
  }
  params.emplace_back("eval_metric", metric);
  for (const auto& [k, v] : params) XGB_CALL(XGBoosterSetParam(bh, k.c_str(), v.c_str()), k.c_str());

  GbmHistory local;
  GbmHistory* h = history ? history : &local;
  h->metric = metric;
  h->valid_metric.clear();
  double best = INFINITY;
  int best_round = o.rounds - 1, since_best = 0;
  auto progress = ctx.StartProgress("gbm train", o.rounds, "rounds");
  for (int it = 0; it < o.rounds; ++it) {
    XGB_CALL(XGBoosterUpdateOneIter(bh, it, dtrain.get()), "update");
    progress->Update(it + 1);
    if (!dvalid) continue;
    DMatrixHandle evs[] = {dvalid.get()};
    const char* names[] = {"valid"};
    const char* out = nullptr;
    XGB_CALL(XGBoosterEvalOneIter(bh, it, evs, names, 1, &out), "eval");
    const std::string text(out);
    const size_t colon = text.rfind(':');
    const double value = colon == std::string::npos ? NAN : std::atof(text.c_str() + colon + 1);
    h->valid_metric.push_back(value);
    if (value < best) {
      best = value;
      best_round = it;
      since_best = 0;
    } else if (o.early_stopping_rounds > 0 && ++since_best >= o.early_stopping_rounds) {
      break;
    }
  }
  progress->Finish();
  h->best_round = best_round;
  GbmModel model;
  model.impl_->schema = s;
  // Keep only the trees up to the best round.
  BoosterHandle sliced = nullptr;
  XGB_CALL(XGBoosterSlice(bh, 0, best_round + 1, 1, &sliced), "slice");
  model.impl_->booster.reset(sliced);
  RETURN_IF_ERROR(model.impl_->SetFeatureInfo());
  ctx.logger().Info("gbm trained", {{"task", std::string(TaskKindName(s.task))},
                                    {"rounds", best_round + 1}, {"metric", metric},
                                    {"valid", dvalid ? best : NAN}});
  return model;
}

StatusOr<std::vector<float>> GbmModel::Predict(const TabularData& d) const { return impl_->Run(d, 0); }

StatusOr<std::vector<float>> GbmModel::Contributions(const TabularData& d) const { return impl_->Run(d, 2); }

StatusOr<std::vector<Contribution>> GbmModel::TopReasons(const TabularData& d, int64_t row, int k, int cls) const {
  if (row < 0 || row >= d.rows) return InvalidArgument("row out of range");
  TabularData one = d.Take(std::vector<int64_t>{row});
  ASSIGN_OR_RETURN(std::vector<float> c, Contributions(one));
  const size_t nf = impl_->schema.features.size();
  const size_t offset = impl_->classes() > 1 ? static_cast<size_t>(std::max(cls, 0)) * (nf + 1) : 0;
  std::vector<Contribution> out;
  for (size_t f = 0; f < nf; ++f) out.push_back({impl_->schema.features[f].name, c[offset + f]});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return std::abs(a.value) > std::abs(b.value); });
  if (static_cast<int>(out.size()) > k) out.resize(static_cast<size_t>(k));
  return out;
}

StatusOr<std::vector<std::pair<std::string, double>>> GbmModel::Importance() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  bst_ulong n = 0, dim = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  XGB_CALL(XGBoosterFeatureScore(impl_->booster.get(), "{\"importance_type\": \"total_gain\"}", &n, &names,
                                 &dim, &shape, &scores),
           "feature score");
  std::vector<std::pair<std::string, double>> out;
  double total = 0;
  for (bst_ulong i = 0; i < n; ++i) {
    out.emplace_back(names[i], scores[i]);
    total += scores[i];
  }
  for (const auto& f : impl_->schema.features) {  // features never split on
    if (std::none_of(out.begin(), out.end(), [&](const auto& p) { return p.first == f.name; })) out.emplace_back(f.name, 0);
  }
  for (auto& p : out) p.second = total > 0 ? p.second / total : 0;
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

Status GbmModel::Save(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = (std::filesystem::path(dir) / "model.json").string();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    XGB_CALL(XGBoosterSaveModel(impl_->booster.get(), path.c_str()), "save");
  }
  std::ofstream out(std::filesystem::path(dir) / "schema.json");
  out << impl_->schema.ToJson().dump(2);
  if (!out) return Internal("cannot write " + dir + "/schema.json");
  return Status::Ok();
}

StatusOr<GbmModel> GbmModel::Load(const std::string& dir) {
  std::ifstream in(std::filesystem::path(dir) / "schema.json");
  if (!in) return NotFound("no schema.json in " + dir);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(dir + "/schema.json is not valid JSON");
  GbmModel model;
  ASSIGN_OR_RETURN(model.impl_->schema, TabularSchema::FromJson(j));
  BoosterHandle bh = nullptr;
  XGB_CALL(XGBoosterCreate(nullptr, 0, &bh), "create booster");
  model.impl_->booster.reset(bh);
  const std::string path = (std::filesystem::path(dir) / "model.json").string();
  XGB_CALL(XGBoosterLoadModel(bh, path.c_str()), "load model");
  RETURN_IF_ERROR(model.impl_->SetFeatureInfo());
  return model;
}

}  // namespace opspilot::ml
