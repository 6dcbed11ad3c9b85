#include "forecast/global.h"

#include <algorithm>
#include <cmath>

#include "forecast/internal.h"
#include "ml/nn.h"

namespace opspilot::forecast {

namespace {

using ml::nn::Mlp;
using ml::nn::MlpOptions;
using ml::nn::TensorData;

int InputSize(const GlobalOptions& g, int m, int h) {
  if (g.input_size > 0) return g.input_size;
  return std::min(std::max(2 * h, m + h), 4 * h + m);
}

// The input window ending before `end` (exclusive), left-padded with y[0].
void FillInput(const std::vector<double>& y, int64_t end, int L, float* out) {
  for (int i = 0; i < L; ++i) {
    const int64_t idx = end - L + i;
    out[i] = static_cast<float>(idx < 0 ? y[0] : y[static_cast<size_t>(idx)]);
  }
}

// Mean absolute value of the window: the unit the network sees it in.
float ScaleOf(const float* in, int L) {
  double s = 0;
  for (int i = 0; i < L; ++i) s += std::abs(in[i]);
  s /= L;
  return s > 1e-6 ? static_cast<float>(s) : 1.0f;
}

// Training windows of every series: the most recent `max_windows` ends with
// a full h-step target, inputs and targets divided by the input's scale.
TensorData MakeWindows(const std::vector<const std::vector<double>*>& ys, int L, int h, int max_windows) {
  std::vector<float> xs, ts;
  std::vector<float> in(static_cast<size_t>(L));
  int64_t n = 0;
  for (const auto* y : ys) {
    const auto len = static_cast<int64_t>(y->size());
    int made = 0;
    for (int64_t end = len - h; end >= 2 && made < max_windows; --end, ++made) {
      FillInput(*y, end, L, in.data());
      const float scale = ScaleOf(in.data(), L);
      for (float v : in) xs.push_back(v / scale);
      for (int k = 0; k < h; ++k) ts.push_back(static_cast<float>((*y)[static_cast<size_t>(end + k)]) / scale);
      ++n;
    }
  }
  TensorData d;
  d.x = torch::from_blob(xs.data(), {n, L}, torch::kFloat).clone();
  d.y = torch::from_blob(ts.data(), {n, h}, torch::kFloat).clone();
  return d;
}

// The last window of each series as a batch, with its scale.
torch::Tensor LastInputs(const std::vector<const std::vector<double>*>& ys, int L, std::vector<float>* scales) {
  std::vector<float> xs(ys.size() * static_cast<size_t>(L));
  scales->clear();
  for (size_t i = 0; i < ys.size(); ++i) {
    float* row = xs.data() + i * static_cast<size_t>(L);
    FillInput(*ys[i], static_cast<int64_t>(ys[i]->size()), L, row);
    const float scale = ScaleOf(row, L);
    for (int k = 0; k < L; ++k) row[k] /= scale;
    scales->push_back(scale);
  }
  return torch::from_blob(xs.data(), {static_cast<int64_t>(ys.size()), L}, torch::kFloat).clone();
}

struct Trained {
  Mlp net{nullptr};
  int epochs = 0;
};

StatusOr<Trained> Fit(const Context& ctx, const GlobalOptions& g, const TensorData& train, const TensorData* valid,
                      int L, int h, int epochs) {
  ml::nn::SetUpTorch(ctx);  // initial weights follow the seed
  Trained t;
  t.net = Mlp(MlpOptions{L, h, g.hidden, 0.0, "none"});
  auto fwd = [&](const torch::Tensor& x) { return t.net->forward(x); };
  ml::TrainerOptions o = g.trainer;
  if (valid == nullptr) {
    o.epochs = epochs;
    o.early_stopping_patience = 0;
  }
  ASSIGN_OR_RETURN(auto log, ml::nn::Train(ctx, *t.net, fwd, train, valid, ml::nn::LossKind::kMse, o));
  t.epochs = valid ? std::max(log.best_epoch, 1) : epochs;
  return t;
}

}  // namespace

StatusOr<std::vector<Forecast>> ForecastGlobal(const Context& ctx, const std::vector<Series>& series,
                                               const ForecastOptions& o, const GlobalOptions& g) {
  RETURN_IF_ERROR(ValidateForecastOptions(o));
  RETURN_IF_ERROR(ml::ValidateTrainerOptions(g.trainer));
  if (series.empty()) return InvalidArgument("no series to forecast");
  const int h = o.horizon;
  const int m = SeasonOf(series[0], o);
  const int L = InputSize(g, m, h);
  // 1. Hold out the last h points of every long-enough series: early stopping and interval widths.
  std::vector<std::vector<double>> cut;
  std::vector<const std::vector<double>*> cut_ptr, full_ptr, valid_ptr;
  std::vector<size_t> valid_of;
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& y = series[i].y;
    if (y.size() < 2) return InvalidArgument("series '" + series[i].id + "' needs at least 2 points");
    full_ptr.push_back(&y);
    if (y.size() >= static_cast<size_t>(h) + 3) {
      cut.emplace_back(y.begin(), y.end() - h);
      valid_of.push_back(i);
    }
  }
  for (const auto& c : cut) cut_ptr.push_back(&c);
  std::vector<double> step_sd(static_cast<size_t>(h), 0);
  int epochs = g.trainer.epochs;
  if (!cut.empty()) {
    TensorData train = MakeWindows(cut_ptr, L, h, g.max_windows_per_series);
    std::vector<float> vscales;
    TensorData valid;
    valid.x = LastInputs(cut_ptr, L, &vscales);
    valid.y = torch::empty({static_cast<int64_t>(cut.size()), h});
    for (size_t j = 0; j < cut.size(); ++j) {
      const auto& y = series[valid_of[j]].y;
      for (int k = 0; k < h; ++k) {
        valid.y[static_cast<int64_t>(j)][k] = static_cast<float>(y[y.size() - static_cast<size_t>(h) + static_cast<size_t>(k)]) / vscales[j];
      }
    }
    if (train.size() > 0) {
      ASSIGN_OR_RETURN(Trained t, Fit(ctx, g, train, &valid, L, h, 0));
      epochs = t.epochs;
      auto fwd = [&](const torch::Tensor& x) { return t.net->forward(x); };
      const torch::Tensor err = (ml::nn::Predict(*t.net, fwd, valid.x) - valid.y).to(torch::kDouble);
      for (int k = 0; k < h; ++k) step_sd[static_cast<size_t>(k)] = err.select(1, k).pow(2).mean().sqrt().item<double>();
    }
  }
  // 2. Retrain on everything for the epochs that worked, and forecast.
  TensorData all = MakeWindows(full_ptr, L, h, g.max_windows_per_series);
  if (all.size() == 0) return InvalidArgument("the series are too short for a " + std::to_string(h) + "-step global model");
  ASSIGN_OR_RETURN(Trained t, Fit(ctx, g, all, nullptr, L, h, std::max(epochs, 5)));
  std::vector<float> scales;
  auto fwd = [&](const torch::Tensor& x) { return t.net->forward(x); };
  const torch::Tensor pred = ml::nn::Predict(*t.net, fwd, LastInputs(full_ptr, L, &scales)).to(torch::kDouble).contiguous();
  const double* p = pred.data_ptr<double>();
  std::vector<Forecast> out;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    Forecast f;
    f.series_id = s.id;
    f.model = "global";
    f.detail = "MLP on " + std::to_string(L) + "-step windows across " + std::to_string(series.size()) + " series";
    const int64_t gap = Spacing(s);
    f.lo.assign(o.levels.size(), {});
    f.hi.assign(o.levels.size(), {});
    for (int k = 0; k < h; ++k) {
      f.time.push_back(StepTime(s.time.back(), k + 1, gap));
      const double mean = p[i * static_cast<size_t>(h) + static_cast<size_t>(k)] * scales[i];
      f.mean.push_back(mean);
      for (size_t l = 0; l < o.levels.size(); ++l) {
        const double z = NormalQuantile(1 - (100.0 - o.levels[l]) / 200.0);
        const double sd = step_sd[static_cast<size_t>(k)] * scales[i];
        f.lo[l].push_back(mean - z * sd);
        f.hi[l].push_back(mean + z * sd);
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<ModelScore> EvaluateGlobal(const Context& ctx, const std::vector<Series>& series, const ForecastOptions& o,
                                    int origins, const GlobalOptions& g) {
  if (origins < 1) return InvalidArgument("origins must be >= 1");
  internal::ScoreSum sum;
  for (int origin = origins; origin >= 1; --origin) {
    std::vector<Series> train;
    std::vector<std::vector<double>> tests;
    for (const auto& s : series) {
      const int m = SeasonOf(s, o);
      const auto cut = static_cast<long>(s.y.size()) - static_cast<long>(origin) * o.horizon;
      if (cut < std::max<long>(2L * m, 4)) continue;
      Series t;
      t.id = s.id;
      t.time.assign(s.time.begin(), s.time.begin() + cut);
      t.y.assign(s.y.begin(), s.y.begin() + cut);
      train.push_back(std::move(t));
      tests.emplace_back(s.y.begin() + cut, s.y.begin() + cut + o.horizon);
    }
    if (train.empty()) continue;
    ASSIGN_OR_RETURN(auto fs, ForecastGlobal(ctx, train, o, g));
    for (size_t i = 0; i < fs.size(); ++i) sum.Add(train[i].y, tests[i], fs[i], SeasonOf(train[i], o));
  }
  return sum.Finish("global", o.levels.size());
}

}  // namespace opspilot::forecast
