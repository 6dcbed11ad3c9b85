// The linear text model's torch-free half: its features, its weights file
// and the runtime that loads and runs it. Training is in classifier.cc (it
// goes through ml/sparse_linear.h, LIBLINEAR).
//
// A text is two L2-normalised blocks of sublinear term frequencies
// (1 + ln count): its word n-grams and Chinese character n-grams
// (Features()), and the character n-grams (2..5) of its Latin words. Each
// class has a weight per feature and a bias; the scores, divided by the
// temperature found on the hold-out, go through a softmax. Unlike fasttext's
// mean of 64-dimensional embeddings, nothing is shared between features, and
// the two blocks count equally however many character n-grams a word has.
#include <algorithm>
#include <cmath>

#include "core/file.h"
#include "nlp/classifier_internal.h"

namespace opspilot::nlp::internal {
namespace {

using nlohmann::json;

constexpr char kMagic[4] = {'O', 'P', 'L', 'N'};
constexpr uint32_t kVersion = 1;

// One block's ids -> (id, 1 + ln count), L2-normalised, appended to `out`.
void AddBlock(std::vector<uint32_t> ids, std::vector<std::pair<uint32_t, float>>* out) {
  if (ids.empty()) return;
  std::sort(ids.begin(), ids.end());
  const size_t first = out->size();
  double norm = 0;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    const float v = j - i == 1 ? 1.f : 1.f + std::log(static_cast<float>(j - i));
    out->emplace_back(ids[i], v);
    norm += static_cast<double>(v) * v;
    i = j;
  }
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (size_t k = first; k < out->size(); ++k) (*out)[k].second *= inv;
}

class NativeLinear final : public SingleClassifier {
 public:
  NativeLinear(ClassifierOptions o, std::vector<std::string> labels, LinearTextWeights w, float temperature,
               float threshold, json report)
      : SingleClassifier("linear", std::move(o), std::move(labels), temperature, threshold, std::move(report)),
        w_(std::move(w)), rows_(w_.ids) {}

  std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const override {
    std::vector<float> known(texts.size());
    const std::vector<float> scores = LinearScores(w_, rows_, options_, texts, &known);
    auto preds = PredictionsFromLogits(scores, labels_, temperature_, threshold_, top);
    MarkNovel(known, min_known_, &preds);
    return preds;
  }

  // The class scores, L2-normalised: texts the model would label alike lie close.
  std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) const override {
    const std::vector<float> scores = LinearScores(w_, rows_, options_, texts, nullptr);
    const size_t c = labels_.size();
    std::vector<std::vector<float>> out(texts.size());
    for (size_t r = 0; r < texts.size(); ++r) out[r].assign(scores.begin() + static_cast<std::ptrdiff_t>(r * c), scores.begin() + static_cast<std::ptrdiff_t>((r + 1) * c));
    NormalizeRows(&out);
    return out;
  }
  int embedding_dim() const override { return static_cast<int>(labels_.size()); }

  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(SaveMeta(dir));
    return WriteLinearWeights(w_, dir + "/linear.bin");
  }

 private:
  LinearTextWeights w_;
  BucketRows rows_;  // of w_.ids
};

}  // namespace

std::vector<float> LinearScores(const LinearTextWeights& w, const BucketRows& rows, const ClassifierOptions& o,
                                const std::vector<std::string>& texts, std::vector<float>* known) {
  const auto c = static_cast<size_t>(w.weights.classes);
  std::vector<float> out(texts.size() * c);
  std::vector<int32_t> index;
  std::vector<float> value;
  for (size_t r = 0; r < texts.size(); ++r) {
    const auto features = LinearFeatures(texts[r], o, w.char_min, w.char_max);
    index.clear(), value.clear();
    for (const auto& [id, v] : features) {
      if (const int64_t row = rows.Find(id); row >= 0) index.push_back(static_cast<int32_t>(row)), value.push_back(v);
    }
    w.weights.Scores(index.data(), value.data(), index.size(), &out[r * c]);
    if (known) (*known)[r] = features.empty() ? 0.f : static_cast<float>(index.size()) / static_cast<float>(features.size());
  }
  return out;
}

std::vector<std::pair<uint32_t, float>> LinearFeatures(const std::string& text, const ClassifierOptions& o, int char_min,
                                                       int char_max) {
  std::vector<std::pair<uint32_t, float>> out;
  const std::vector<std::string> tokens = Tokenize(Normalize(text));
  std::vector<uint32_t> ids;
  TokenFeatures(tokens, o.features, &ids);
  AddBlock(std::move(ids), &out);
  const auto second = static_cast<std::ptrdiff_t>(out.size());
  ids.clear();
  LatinCharNgrams(tokens, char_min, char_max, o.features.buckets, /*skip_whole=*/false, &ids);
  AddBlock(std::move(ids), &out);
  // Each block is sorted; the two may share an id (a hash collision): merge, keep sorted.
  std::inplace_merge(out.begin(), out.begin() + second, out.end());
  size_t k = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (k > 0 && out[k - 1].first == out[i].first) {
      out[k - 1].second += out[i].second;
    } else {
      out[k++] = out[i];
    }
  }
  out.resize(k);
  return out;
}

Status WriteLinearWeights(const LinearTextWeights& w, const std::string& path) {
  const ml::LinearWeights& lw = w.weights;
  if (lw.features != static_cast<int32_t>(w.ids.size()) || lw.w.size() != w.ids.size() * static_cast<size_t>(lw.classes) ||
      lw.bias.size() != static_cast<size_t>(lw.classes)) {
    return Internal("linear weights: sizes disagree");
  }
  std::string buf(kMagic, 4);
  buf.reserve(32 + w.ids.size() * 4 + (lw.w.size() + lw.bias.size()) * 4);
  PutLe<uint32_t>(&buf, kVersion);
  PutLe<uint32_t>(&buf, static_cast<uint32_t>(lw.classes));
  PutLe<uint32_t>(&buf, w.buckets);
  PutLe<uint32_t>(&buf, static_cast<uint32_t>(w.char_min));
  PutLe<uint32_t>(&buf, static_cast<uint32_t>(w.char_max));
  PutLe<uint32_t>(&buf, static_cast<uint32_t>(w.ids.size()));
  for (uint32_t id : w.ids) PutLe<uint32_t>(&buf, id);
  for (float v : lw.w) PutLe<float>(&buf, v);
  for (float v : lw.bias) PutLe<float>(&buf, v);
  return WriteFileAtomic(path, buf);
}

StatusOr<LinearTextWeights> ReadLinearWeights(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string buf, ReadWeightsFile(path, kMagic, kVersion, 28, "linear"));
  auto bad = [&](const std::string& why) { return InvalidArgument(path + ": " + why); };
  const char* p = buf.data() + 4;
  LinearTextWeights w;
  const uint32_t classes = GetLe<uint32_t>(p + 4), rows = GetLe<uint32_t>(p + 20);
  w.buckets = GetLe<uint32_t>(p + 8);
  w.char_min = static_cast<int>(GetLe<uint32_t>(p + 12));
  w.char_max = static_cast<int>(GetLe<uint32_t>(p + 16));
  if (classes < 2 || classes > 1000000 || w.buckets == 0 || w.char_min > 64 || w.char_max > 64) return bad("bad header");
  const uint64_t need = 28 + uint64_t{rows} * 4 * (1 + uint64_t{classes}) + uint64_t{classes} * 4;
  if (buf.size() != need) return bad("size " + std::to_string(buf.size()) + " bytes, the header says " + std::to_string(need));
  p = buf.data() + 28;
  if (!GetBucketIds(&p, rows, w.buckets, &w.ids)) return bad("bucket ids out of order or range");
  ml::LinearWeights& lw = w.weights;
  lw.features = static_cast<int32_t>(rows);
  lw.classes = static_cast<int32_t>(classes);
  GetFloats(&p, uint64_t{rows} * classes, &lw.w);
  GetFloats(&p, classes, &lw.bias);
  return w;
}

std::unique_ptr<TextClassifier> MakeNativeLinear(ClassifierOptions options, std::vector<std::string> labels,
                                                 LinearTextWeights weights, float temperature, float threshold,
                                                 json report) {
  return std::make_unique<NativeLinear>(std::move(options), std::move(labels), std::move(weights), temperature,
                                        threshold, std::move(report));
}

StatusOr<std::unique_ptr<TextClassifier>> LoadLinear(const std::string& dir, const json& meta) {
  return LoadFromMeta(dir, meta, [&](ClassifierOptions o, std::vector<std::string> labels) -> StatusOr<std::unique_ptr<TextClassifier>> {
    ASSIGN_OR_RETURN(LinearTextWeights w, ReadLinearWeights(dir + "/linear.bin"));
    if (w.weights.classes != static_cast<int32_t>(labels.size()) || w.buckets != o.features.buckets) {
      return InvalidArgument(dir + ": linear.bin does not match model.json (classes or buckets)");
    }
    return MakeNativeLinear(std::move(o), std::move(labels), std::move(w), meta.value("temperature", 1.0f),
                            meta.value("threshold", 0.0f), meta.value("report", json::object()));
  });
}

}  // namespace opspilot::nlp::internal
