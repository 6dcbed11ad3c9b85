// Internals of the text classifiers shared by the torch-free library (the
// fasttext runtime, loading, evaluation) and the libtorch one (training):
// fasttext features and weights file, the hold-out, calibration, the
// out-of-scope threshold and the model.json metadata. Not a public header.
#ifndef OPSPILOT_NLP_CLASSIFIER_INTERNAL_H_
#define OPSPILOT_NLP_CLASSIFIER_INTERNAL_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ml/sparse_linear.h"
#include "nlp/classifier.h"

namespace opspilot::nlp::internal {

inline constexpr const char* kMetaFormat = "opspilot-text-2";

// ---- weights files ----

// Little-endian 4-byte scalars, whatever the host order.
template <typename T>
void PutLe(std::string* out, T v) {
  static_assert(sizeof(T) == 4);
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
  out->append(reinterpret_cast<const char*>(&u), 4);
}

template <typename T>
T GetLe(const char* p) {
  static_assert(sizeof(T) == 4);
  uint32_t u;
  std::memcpy(&u, p, 4);
  if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
  T v;
  std::memcpy(&v, &u, 4);
  return v;
}

// The whole weights file at `path`, checked to start with the 4-byte `magic`
// (then a u32 version equal to `version`) and to hold at least `header`
// bytes. NotFound without the file; InvalidArgument naming it otherwise
// ("not a <kind> weights file", "unsupported version N").
StatusOr<std::string> ReadWeightsFile(const std::string& path, const char* magic, uint32_t version, size_t header,
                                      const std::string& kind);

// `rows` bucket ids at *p (advancing it): true when they ascend strictly
// and stay below `buckets`.
inline bool GetBucketIds(const char** p, uint32_t rows, uint32_t buckets, std::vector<uint32_t>* ids) {
  ids->resize(rows);
  for (uint32_t k = 0; k < rows; ++k, *p += 4) {
    (*ids)[k] = GetLe<uint32_t>(*p);
    if ((*ids)[k] >= buckets || (k > 0 && (*ids)[k] <= (*ids)[k - 1])) return false;
  }
  return true;
}

// `n` floats at *p (advancing it).
inline void GetFloats(const char** p, uint64_t n, std::vector<float>* v) {
  v->resize(n);
  for (uint64_t k = 0; k < n; ++k, *p += 4) (*v)[k] = GetLe<float>(*p);
}

// Hashed ids in [0, buckets) of the character n-grams (min..max) of the
// Latin words among a text's tokens (Tokenize(Normalize(text))), each word
// marked "<word>"; with `skip_whole`, not the n-gram that is the whole marked
// word (fasttext has it as a word feature).
void LatinCharNgrams(const std::vector<std::string>& tokens, int min, int max, uint32_t buckets, bool skip_whole,
                     std::vector<uint32_t>* ids);

using ModelMaker =
    std::function<StatusOr<std::unique_ptr<TextClassifier>>(ClassifierOptions options, std::vector<std::string> labels)>;
// Reads model.json's options and labels (`meta`) and calls `make`; a JSON
// error is InvalidArgument naming dir/model.json.
StatusOr<std::unique_ptr<TextClassifier>> LoadFromMeta(const std::string& dir, const nlohmann::json& meta,
                                                       const ModelMaker& make);

// ---- fasttext ----

// Hashed feature ids of one text in [0, buckets): Features() plus, when
// options ask for them, character n-grams of Latin words; at most
// max_features.
std::vector<uint32_t> FastTextFeatures(const std::string& text, const ClassifierOptions& options);

// The trained fasttext weights, restricted to the buckets seen in training
// (the others never get a gradient and stay zero, so they add nothing to the
// sum; the mean still divides by every feature of the text).
struct FastTextWeights {
  int32_t dim = 0, classes = 0;
  uint32_t buckets = 0;            // the hash space the ids live in
  std::vector<uint32_t> ids;       // sorted bucket ids of the rows
  std::vector<float> rows;         // ids.size() × dim, row-major
  std::vector<float> out_weight;   // classes × dim, row-major
  std::vector<float> out_bias;     // classes
};

// fasttext.bin, little-endian: "OPFT", u32 version (1), u32 dim, u32 classes,
// u32 buckets, u32 rows, then rows × u32 bucket ids (ascending), rows × dim
// f32, classes × dim f32 output weights, classes f32 biases.
Status WriteFastTextWeights(const FastTextWeights& w, const std::string& path);
StatusOr<FastTextWeights> ReadFastTextWeights(const std::string& path);

// The torch-free fasttext model (what LoadClassifier returns for fasttext).
std::unique_ptr<TextClassifier> MakeNativeFastText(ClassifierOptions options, std::vector<std::string> labels,
                                                   FastTextWeights weights, float temperature, float threshold,
                                                   nlohmann::json report);

// ---- linear (classifier_linear.cc; trained in classifier.cc) ----

// A text's features for the linear model, sorted by id: Features() and the
// character n-grams (char_min..char_max, 0 = none) of its Latin words, each
// block's sublinear counts (1 + ln n) L2-normalised.
std::vector<std::pair<uint32_t, float>> LinearFeatures(const std::string& text, const ClassifierOptions& options,
                                                       int char_min, int char_max);

// The linear model's weights over the buckets it kept (those in at least
// two training texts, or one when the set is small).
struct LinearTextWeights {
  uint32_t buckets = 0;            // the hash space the ids live in
  int char_min = 2, char_max = 5;  // character n-grams of Latin words
  std::vector<uint32_t> ids;       // sorted bucket ids: row k of `weights` is bucket ids[k]
  ml::LinearWeights weights;       // ids.size() features × classes
};

// The row of bucket `id` in sorted `ids`, or -1 when it has none.
inline int64_t RowOf(const std::vector<uint32_t>& ids, uint32_t id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  return it != ids.end() && *it == id ? it - ids.begin() : -1;
}

// RowOf by hashing: an open-addressing table (a power of two, at most half
// full, linear probing) from bucket id to row. Prediction looks up every
// feature of every text, and most of them are in no row (n-grams never seen
// in training); a binary search over the ids mispredicts a branch at each of
// its ~14 steps and was 70% of the linear model's scoring time (`text
// predict`, 1M texts: 31.5 s on one thread; fastText 21.0 s).
class BucketRows {
 public:
  BucketRows() : BucketRows(std::vector<uint32_t>{}) {}
  explicit BucketRows(const std::vector<uint32_t>& ids) {
    int bits = 4;
    while ((size_t{1} << bits) < 2 * ids.size()) ++bits;
    shift_ = 64 - bits;
    slots_.assign(size_t{1} << bits, Slot{0, -1});
    const size_t mask = slots_.size() - 1;
    for (size_t r = 0; r < ids.size(); ++r) {
      size_t h = Hash(ids[r]);
      while (slots_[h].row >= 0) h = (h + 1) & mask;
      slots_[h] = Slot{ids[r], static_cast<int32_t>(r)};
    }
  }
  // The row of `id`, or -1. REQUIRES: built from ids.
  int64_t Find(uint32_t id) const {
    const size_t mask = slots_.size() - 1;
    for (size_t h = Hash(id);; h = (h + 1) & mask) {
      const Slot& s = slots_[h];
      if (s.row < 0 || s.id == id) return s.row;
    }
  }

 private:
  struct Slot {
    uint32_t id;
    int32_t row;  // -1: empty
  };
  size_t Hash(uint32_t id) const { return static_cast<size_t>((uint64_t{id} * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<Slot> slots_;
  int shift_ = 60;
};

// linear.bin, little-endian: "OPLN", u32 version (1), u32 classes, u32
// buckets, u32 char_min, u32 char_max, u32 rows, then rows × u32 bucket ids
// (ascending), rows × classes f32 weights, classes f32 biases.
Status WriteLinearWeights(const LinearTextWeights& w, const std::string& path);
StatusOr<LinearTextWeights> ReadLinearWeights(const std::string& path);

// Row-major texts x classes decision values; with `known`, per text the
// share of its features the weights cover.
std::vector<float> LinearScores(const LinearTextWeights& w, const BucketRows& rows, const ClassifierOptions& options,
                                const std::vector<std::string>& texts, std::vector<float>* known);

std::unique_ptr<TextClassifier> MakeNativeLinear(ClassifierOptions options, std::vector<std::string> labels,
                                                 LinearTextWeights weights, float temperature, float threshold,
                                                 nlohmann::json report);
StatusOr<std::unique_ptr<TextClassifier>> LoadLinear(const std::string& dir, const nlohmann::json& meta);

// ---- shared by all models ----

// Stratified hold-out: each label with at least 4 rows gives round(n ×
// fraction) rows to `valid`; the order is shuffled by `seed`.
void HoldOut(const std::vector<LabelledText>& data, double fraction, uint64_t seed, std::vector<size_t>* train,
             std::vector<size_t>* valid);

// The labels of `data`, sorted and unique.
std::vector<std::string> LabelSet(const std::vector<LabelledText>& data);
// label -> its position in `labels` (a model's class ids).
std::map<std::string, int64_t> LabelIndex(const std::vector<std::string>& labels);

// Predictions from raw logits (rows × labels.size(), row-major): softmax of
// logits / temperature, the best `top`, "oos" below `threshold`.
std::vector<Prediction> PredictionsFromLogits(const std::vector<float>& logits, const std::vector<std::string>& labels,
                                              float temperature, float threshold, int top);

// The temperature minimising the negative log-likelihood of `truth` (class
// indexes; -1 = not a known class, skipped) under softmax(logits / T);
// 1 when there is nothing to fit. Golden-section search over log T.
float FitTemperature(const std::vector<float>& logits, int classes, const std::vector<int>& truth);

// Sets each prediction's `known` and refuses ("oos") the rows below
// `min_known` (0 = never).
void MarkNovel(const std::vector<float>& known, float min_known, std::vector<Prediction>* preds);

// The novelty floor of a fasttext model from its hold-out: the share of
// features known that all but the most novel 1% of the in-scope rows reach,
// at most 0.5 (no floor when nothing is held out).
float NoveltyFloor(const std::vector<float>& known, const std::vector<std::string>& truth);

// The lowest confidence at which hold-out answers reach `target_precision`
// (an answer is right when it names the true label). A row whose truth is
// "oos" is always an answer, and a wrong one, at the confidence of its best
// in-scope label with the "oos" class set aside (p / (1 - p_oos)): the cut-off
// must stop out-of-scope texts that class has not learnt. Such rows weigh as
// if they were `oos_share` of the hold-out when they are fewer (never less
// than 1 each). `preds` must list every label of a model with an "oos" class
// (ThresholdTop), or the set-aside probability is unknown.
float TuneThreshold(const std::vector<Prediction>& preds, const std::vector<std::string>& truth,
                    double target_precision, double oos_share = 0);
// How many labels the hold-out predictions for TuneThreshold need: all of
// them when one is "oos", else the best.
int ThresholdTop(const std::vector<std::string>& labels);

// `auto`'s choice among candidates scored on the same hold-out rows
// (right[i][r]: candidate i got row r right): candidate 0 unless a later one
// beats the current choice on more rows than it loses by more than one
// standard error of that difference (the square root of the rows the two
// disagree on: a sign test), each later one against the choice so far.
size_t ClearWinner(const std::vector<std::vector<char>>& right);

// Calibration, out-of-scope threshold and the report fields they give, from
// the hold-out logits: sets *temperature and *threshold and adds
// "valid_accuracy", "temperature", "threshold", "valid_nll" (after scaling)
// to *report.
void FinishOnHoldOut(const std::vector<float>& logits, const std::vector<std::string>& labels,
                     const std::vector<std::string>& truth, const ClassifierOptions& options, float* temperature,
                     float* threshold, nlohmann::json* report);

// L2-normalises each row in place (zero rows stay zero).
void NormalizeRows(std::vector<std::vector<float>>* rows);

// model.json: format, model, options, labels, temperature, threshold, report.
// ReadModelJson: NotFound without model.json, InvalidArgument when it is not
// a text model of this format (an older one is named). WriteModelJson
// replaces it whole (written beside, then renamed).
StatusOr<nlohmann::json> ReadModelJson(const std::string& dir);
Status WriteModelJson(const std::string& dir, const nlohmann::json& meta);
nlohmann::json OptionsJson(const ClassifierOptions& o);
ClassifierOptions OptionsFrom(const nlohmann::json& j);
Status WriteMeta(const std::string& dir, const std::string& model, const ClassifierOptions& options,
                 const std::vector<std::string>& labels, float temperature, float threshold,
                 const nlohmann::json& report);

// What every single (not ensemble) classifier keeps, and the accessors
// TextClassifier asks for: its name, options, labels, calibration
// temperature, out-of-scope threshold, novelty floor (report's "min_known")
// and report. Training code fills the protected fields as it goes.
class SingleClassifier : public TextClassifier {
 public:
  const std::string& model() const override { return model_; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float threshold() const override { return threshold_; }
  float temperature() const override { return temperature_; }
  nlohmann::json report() const override { return report_; }

 protected:
  SingleClassifier(std::string model, ClassifierOptions options, std::vector<std::string> labels, float temperature = 1,
                   float threshold = 0, nlohmann::json report = nlohmann::json::object())
      : model_(std::move(model)), options_(std::move(options)), labels_(std::move(labels)), temperature_(temperature),
        threshold_(threshold), min_known_(report.value("min_known", 0.f)), report_(std::move(report)) {}
  // model.json from these fields.
  Status SaveMeta(const std::string& dir) const {
    return WriteMeta(dir, model_, options_, labels_, temperature_, threshold_, report_);
  }

  const std::string model_;
  ClassifierOptions options_;
  std::vector<std::string> labels_;
  float temperature_, threshold_, min_known_;
  nlohmann::json report_;
};

// The fasttext loader (torch-free) behind LoadClassifier.
StatusOr<std::unique_ptr<TextClassifier>> LoadFastText(const std::string& dir, const nlohmann::json& meta);

// ---- the ensemble (classifier_ensemble.cc) ----

// Row-major texts x labels: the mean of the members' calibrated
// probabilities. With `novelty`, per text the least `known` of the members
// and whether any found the text novel. REQUIRES: members share one sorted
// label set.
std::vector<float> MeanProbabilities(const std::vector<const TextClassifier*>& members,
                                     const std::vector<std::string>& texts,
                                     std::vector<std::pair<float, bool>>* novelty = nullptr);
// Predictions from row-major texts x labels probabilities: the best `top`,
// "oos" below `threshold`.
std::vector<Prediction> PredictionsFromProbabilities(const std::vector<float>& probabilities,
                                                     const std::vector<std::string>& labels, float threshold, int top);
// Predict averages the members' probabilities and refuses below `threshold`;
// Embed is the first member's; Save writes model.json ("ensemble") and each
// member under member_<k>/. InvalidArgument for fewer than two members or
// differing labels.
StatusOr<std::unique_ptr<TextClassifier>> MakeEnsemble(std::vector<std::unique_ptr<TextClassifier>> members,
                                                       float threshold, nlohmann::json report);
StatusOr<std::unique_ptr<TextClassifier>> LoadEnsemble(const std::string& dir, const nlohmann::json& meta);
// member_0, member_1, ... under an ensemble directory, as long as they exist.
std::vector<std::string> EnsembleMemberDirs(const std::string& dir);

// ---- the sequence models (defined in the libtorch library, classifier_seq.cc) ----

// cnn or transformer, as options.model says.
StatusOr<std::unique_ptr<TextClassifier>> TrainSequenceClassifier(const Context& ctx, const std::vector<LabelledText>& data,
                                                                  const ClassifierOptions& options);
// The loader RegisterTorchTextModels registers for "cnn" and "transformer".
StatusOr<std::unique_ptr<TextClassifier>> LoadSequenceClassifier(const std::string& dir, const nlohmann::json& meta);

}  // namespace opspilot::nlp::internal

#endif  // OPSPILOT_NLP_CLASSIFIER_INTERNAL_H_
