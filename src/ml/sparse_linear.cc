#include "ml/sparse_linear.h"

#include <linear.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

namespace opspilot::ml {
namespace {

void Quiet(const char*) {}

std::mutex& TrainMutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void SparseRows::Add(const std::vector<std::pair<int32_t, float>>& features) {
  for (const auto& [i, v] : features) index.push_back(i), value.push_back(v);
  starts.push_back(index.size());
}

StatusOr<LinearWeights> TrainSparseLinear(const SparseRows& x, int32_t features, const std::vector<int32_t>& y,
                                          int32_t classes, const SparseLinearOptions& options) {
  if (x.size() != y.size()) return InvalidArgument("sparse linear: " + std::to_string(x.size()) + " rows but " + std::to_string(y.size()) + " classes");
  if (features < 1 || classes < 2) return InvalidArgument("sparse linear: needs at least one feature and two classes");
  if (!(options.c > 0) || !(options.tolerance > 0)) return InvalidArgument("sparse linear: c and tolerance must be > 0");
  std::set<int32_t> seen;
  for (int32_t c : y) {
    if (c < 0 || c >= classes) return InvalidArgument("sparse linear: class " + std::to_string(c) + " out of range");
    seen.insert(c);
  }
  if (seen.size() < 2) return InvalidArgument("sparse linear: the rows have fewer than two classes");
  // LIBLINEAR's layout: each row's 1-based nodes, a bias node (index
  // features + 1, value 1), then a terminator (index -1).
  const size_t rows = x.size();
  std::vector<feature_node> nodes;
  nodes.reserve(x.index.size() + 2 * rows);
  std::vector<size_t> offset(rows);
  for (size_t r = 0; r < rows; ++r) {
    offset[r] = nodes.size();
    for (size_t k = x.starts[r]; k < x.starts[r + 1]; ++k) {
      if (x.index[k] < 0 || x.index[k] >= features) return InvalidArgument("sparse linear: feature index out of range");
      nodes.push_back({x.index[k] + 1, static_cast<double>(x.value[k])});
    }
    nodes.push_back({features + 1, 1.0});
    nodes.push_back({-1, 0.0});
  }
  std::vector<feature_node*> row_ptr(rows);
  for (size_t r = 0; r < rows; ++r) row_ptr[r] = &nodes[offset[r]];
  std::vector<double> target(y.begin(), y.end());
  problem prob{};
  prob.l = static_cast<int>(rows);
  prob.n = features + 1;
  prob.y = target.data();
  prob.x = row_ptr.data();
  prob.bias = 1.0;
  parameter param{};
  param.solver_type = options.loss == LinearLoss::kSvm ? L2R_L2LOSS_SVC_DUAL : L2R_LR_DUAL;
  param.eps = options.tolerance;
  param.C = options.c;
  if (const char* err = check_parameter(&prob, &param)) return InvalidArgument(std::string("liblinear: ") + err);

  LinearWeights out;
  out.features = features;
  out.classes = classes;
  out.w.assign(static_cast<size_t>(features) * static_cast<size_t>(classes), 0.f);
  out.bias.assign(static_cast<size_t>(classes), -10.f);
  std::lock_guard<std::mutex> lock(TrainMutex());
  set_print_string_function(&Quiet);
  std::srand(static_cast<unsigned>(options.seed));
  model* m = train(&prob, &param);
  if (m == nullptr) return Internal("liblinear: training failed");
  for (int j = 0; j < m->nr_class; ++j) {
    const auto k = static_cast<size_t>(m->label[j]);
    for (int32_t f = 0; f < features; ++f) {
      out.w[static_cast<size_t>(f) * static_cast<size_t>(classes) + k] = static_cast<float>(get_decfun_coef(m, f + 1, j));
    }
    out.bias[k] = static_cast<float>(get_decfun_bias(m, j));
  }
  free_and_destroy_model(&m);
  return out;
}

}  // namespace opspilot::ml
