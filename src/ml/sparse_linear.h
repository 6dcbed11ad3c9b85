// Linear models over sparse features (text n-grams, one-hot categories):
// L2-regularised one-vs-rest linear SVMs or logistic regressions, trained
// by LIBLINEAR's dual coordinate descent. The weights come back as plain
// arrays, so running a model needs no LIBLINEAR.
//
// Thread-safety: TrainSparseLinear may be called from several threads; the
// calls are serialised (LIBLINEAR draws from the C library's rand(), which
// is seeded per call so that a training is reproducible).
#ifndef OPSPILOT_ML_SPARSE_LINEAR_H_
#define OPSPILOT_ML_SPARSE_LINEAR_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace opspilot::ml {

// Rows in compressed sparse row form: row r's features are
// index[starts[r] .. starts[r+1]) (0-based, ascending within a row) with
// their values.
struct SparseRows {
  std::vector<int32_t> index;
  std::vector<float> value;
  std::vector<size_t> starts{0};

  size_t size() const { return starts.size() - 1; }
  // Appends a row; `features` must be sorted by index with no repeats.
  void Add(const std::vector<std::pair<int32_t, float>>& features);
};

enum class LinearLoss { kSvm, kLogistic };

struct SparseLinearOptions {
  LinearLoss loss = LinearLoss::kSvm;  // squared hinge (a linear SVM) or logistic
  double c = 1.0;                      // inverse regularisation strength
  double tolerance = 0.1;              // LIBLINEAR's stopping tolerance (its default for the dual solvers)
  uint64_t seed = 0;
};

// Decision values: score(class k) = sum_f x_f * w[f * classes + k] + bias[k].
struct LinearWeights {
  int32_t features = 0, classes = 0;
  std::vector<float> w;     // features × classes, row-major
  std::vector<float> bias;  // classes

  // Decision values of one row (features index[k] with values value[k])
  // into out[0 .. classes). Inline: the torch-free text runtime scores with
  // it without linking the ML core.
  void Scores(const int32_t* index, const float* value, size_t n, float* out) const {
    const auto c = static_cast<size_t>(classes);
    std::copy(bias.begin(), bias.end(), out);
    for (size_t k = 0; k < n; ++k) {
      const float* row = &w[static_cast<size_t>(index[k]) * c];
      for (size_t j = 0; j < c; ++j) out[j] += value[k] * row[j];
    }
  }
};

// Trains one scorer per class (one-vs-rest; a single one, mirrored, for two
// classes) on rows `x` with classes `y` in [0, classes). A class with no
// rows gets zero weights and a bias of -10, below any trained score.
// InvalidArgument when sizes disagree, a class or feature index is out of
// range, or fewer than two classes have rows.
StatusOr<LinearWeights> TrainSparseLinear(const SparseRows& x, int32_t features, const std::vector<int32_t>& y,
                                          int32_t classes, const SparseLinearOptions& options);

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_SPARSE_LINEAR_H_
