// The fasttext model's torch-free half: its features, its weights file and
// the runtime that loads and runs it (the server and the plain `opspilot`
// binary have no libtorch). Training is in classifier.cc.
#include <algorithm>
#include <bit>
#include <cmath>

#include "core/file.h"
#include "nlp/classifier_internal.h"

namespace opspilot::nlp::internal {
namespace {

using nlohmann::json;

constexpr char kMagic[4] = {'O', 'P', 'F', 'T'};
constexpr uint32_t kVersion = 1;

class NativeFastText final : public SingleClassifier {
 public:
  NativeFastText(ClassifierOptions o, std::vector<std::string> labels, FastTextWeights w, float temperature,
                 float threshold, json report)
      : SingleClassifier("fasttext", std::move(o), std::move(labels), temperature, threshold, std::move(report)),
        w_(std::move(w)), rows_of_(w_.ids) {}

  std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const override {
    std::vector<float> logits(texts.size() * labels_.size());
    std::vector<float> h(static_cast<size_t>(w_.dim));
    std::vector<float> known(texts.size());
    for (size_t r = 0; r < texts.size(); ++r) {
      known[r] = Hidden(texts[r], h.data());
      for (size_t c = 0; c < labels_.size(); ++c) {
        const float* wc = &w_.out_weight[c * static_cast<size_t>(w_.dim)];
        float z = w_.out_bias[c];
        for (int32_t d = 0; d < w_.dim; ++d) z += wc[d] * h[static_cast<size_t>(d)];
        logits[r * labels_.size() + c] = z;
      }
    }
    auto preds = PredictionsFromLogits(logits, labels_, temperature_, threshold_, top);
    MarkNovel(known, min_known_, &preds);
    return preds;
  }

  std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) const override {
    std::vector<std::vector<float>> out(texts.size(), std::vector<float>(static_cast<size_t>(w_.dim)));
    for (size_t r = 0; r < texts.size(); ++r) static_cast<void>(Hidden(texts[r], out[r].data()));
    NormalizeRows(&out);
    return out;
  }

  int embedding_dim() const override { return w_.dim; }

  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(SaveMeta(dir));
    return WriteFastTextWeights(w_, dir + "/fasttext.bin");
  }

 private:
  // The mean of the text's feature rows: features outside the table (never
  // seen in training) add zero but count in the mean. Returns the share of
  // the features in the table.
  float Hidden(const std::string& text, float* h) const {
    std::fill(h, h + w_.dim, 0.f);
    const std::vector<uint32_t> ids = FastTextFeatures(text, options_);
    if (ids.empty()) return 0.f;
    size_t found = 0;
    for (uint32_t id : ids) {
      const int64_t k = rows_of_.Find(id);
      if (k < 0) continue;
      ++found;
      const float* row = &w_.rows[static_cast<size_t>(k) * static_cast<size_t>(w_.dim)];
      for (int32_t d = 0; d < w_.dim; ++d) h[d] += row[d];
    }
    const float inv = 1.f / static_cast<float>(ids.size());
    for (int32_t d = 0; d < w_.dim; ++d) h[d] *= inv;
    return static_cast<float>(found) * inv;
  }

  FastTextWeights w_;
  BucketRows rows_of_;  // of w_.ids
};

}  // namespace

namespace {

bool LatinWord(const std::string& t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'';
  });
}

}  // namespace

void LatinCharNgrams(const std::vector<std::string>& tokens, int min, int max, uint32_t buckets, bool skip_whole,
                     std::vector<uint32_t>* ids) {
  if (min <= 0 || max <= 0) return;
  // Fnv1a("g:" + w.substr(i, n)) for every n at once: the hash of "g:" and
  // the n-gram's bytes, extended a byte at a time (no string per n-gram).
  const uint32_t prefix = Fnv1a("g:");
  std::string w;
  for (const std::string& t : tokens) {
    if (!LatinWord(t)) continue;
    w.assign(1, '<').append(t).push_back('>');
    for (size_t i = 0; i < w.size(); ++i) {
      uint32_t h = prefix;
      for (size_t n = 1; n <= static_cast<size_t>(max) && i + n <= w.size(); ++n) {
        h = Fnv1aExtend(h, std::string_view(&w[i + n - 1], 1));
        if (n < static_cast<size_t>(min) || (skip_whole && n == w.size())) continue;
        ids->push_back(h % buckets);
      }
    }
  }
}

StatusOr<std::unique_ptr<TextClassifier>> LoadFromMeta(const std::string& dir, const json& meta, const ModelMaker& make) {
  try {
    return make(OptionsFrom(meta.at("options")), meta.at("labels").get<std::vector<std::string>>());
  } catch (const json::exception& e) {
    return InvalidArgument(dir + "/model.json: " + e.what());
  }
}

std::vector<uint32_t> FastTextFeatures(const std::string& text, const ClassifierOptions& o) {
  const std::vector<std::string> tokens = Tokenize(Normalize(text));
  std::vector<uint32_t> ids;
  TokenFeatures(tokens, o.features, &ids);
  LatinCharNgrams(tokens, o.char_ngrams_min, o.char_ngrams_max, o.features.buckets, /*skip_whole=*/true, &ids);
  if (ids.size() > static_cast<size_t>(o.max_features)) ids.resize(static_cast<size_t>(o.max_features));
  return ids;
}

Status WriteFastTextWeights(const FastTextWeights& w, const std::string& path) {
  std::string buf(kMagic, 4);
  buf.reserve(24 + w.ids.size() * 4 + (w.rows.size() + w.out_weight.size() + w.out_bias.size()) * 4);
  PutLe(&buf, kVersion);
  PutLe(&buf, static_cast<uint32_t>(w.dim));
  PutLe(&buf, static_cast<uint32_t>(w.classes));
  PutLe(&buf, w.buckets);
  PutLe(&buf, static_cast<uint32_t>(w.ids.size()));
  for (uint32_t id : w.ids) PutLe(&buf, id);
  for (float v : w.rows) PutLe(&buf, v);
  for (float v : w.out_weight) PutLe(&buf, v);
  for (float v : w.out_bias) PutLe(&buf, v);
  return WriteFileAtomic(path, buf);
}

StatusOr<FastTextWeights> ReadFastTextWeights(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string buf, ReadWeightsFile(path, kMagic, kVersion, 24, "fasttext"));
  auto bad = [&](const std::string& why) { return InvalidArgument(path + ": " + why); };
  const char* p = buf.data() + 4;
  FastTextWeights w;
  const uint32_t dim = GetLe<uint32_t>(p + 4), classes = GetLe<uint32_t>(p + 8), rows = GetLe<uint32_t>(p + 16);
  w.buckets = GetLe<uint32_t>(p + 12);
  if (dim == 0 || dim > 65536 || classes == 0 || classes > 1000000 || w.buckets == 0) return bad("bad header");
  const uint64_t need = 24 + uint64_t{rows} * 4 * (1 + uint64_t{dim}) + uint64_t{classes} * 4 * (uint64_t{dim} + 1);
  if (buf.size() != need) {
    return bad("size " + std::to_string(buf.size()) + " bytes, the header says " + std::to_string(need));
  }
  w.dim = static_cast<int32_t>(dim);
  w.classes = static_cast<int32_t>(classes);
  p = buf.data() + 24;
  if (!GetBucketIds(&p, rows, w.buckets, &w.ids)) return bad("bucket ids out of order or range");
  GetFloats(&p, uint64_t{rows} * dim, &w.rows);
  GetFloats(&p, uint64_t{classes} * dim, &w.out_weight);
  GetFloats(&p, classes, &w.out_bias);
  return w;
}

std::unique_ptr<TextClassifier> MakeNativeFastText(ClassifierOptions options, std::vector<std::string> labels,
                                                   FastTextWeights weights, float temperature, float threshold,
                                                   json report) {
  return std::make_unique<NativeFastText>(std::move(options), std::move(labels), std::move(weights), temperature,
                                          threshold, std::move(report));
}

StatusOr<std::unique_ptr<TextClassifier>> LoadFastText(const std::string& dir, const json& meta) {
  return LoadFromMeta(dir, meta, [&](ClassifierOptions o, std::vector<std::string> labels) -> StatusOr<std::unique_ptr<TextClassifier>> {
    ASSIGN_OR_RETURN(FastTextWeights w, ReadFastTextWeights(dir + "/fasttext.bin"));
    if (w.classes != static_cast<int32_t>(labels.size()) || w.buckets != o.features.buckets) {
      return InvalidArgument(dir + ": fasttext.bin does not match model.json (classes or buckets)");
    }
    return MakeNativeFastText(std::move(o), std::move(labels), std::move(w), meta.value("temperature", 1.0f),
                              meta.value("threshold", 0.0f), meta.value("report", json::object()));
  });
}

}  // namespace opspilot::nlp::internal
