// The fastText-style classifier in libtorch: hashed n-gram ids -> mean of
// embeddings -> linear -> softmax, trained by the ML core's trainer.
#include "nlp/classifier.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "ml/nn.h"

namespace opspilot::nlp {

using nlohmann::json;
namespace nn = opspilot::ml::nn;

namespace {

class FastTextNetImpl : public torch::nn::Module {
 public:
  FastTextNetImpl(int64_t buckets, int64_t dim, int64_t classes) {
    nn::SequenceOptions so;
    so.vocab = buckets + 1;  // 0 = padding
    so.dim = dim;
    bag_ = register_module("bag", nn::BagOfEmbeddings(so));
    out_ = register_module("out", torch::nn::Linear(dim, classes));
  }
  torch::Tensor forward(const torch::Tensor& x) { return out_->forward(bag_->forward(x)); }

 private:
  nn::BagOfEmbeddings bag_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(FastTextNet);

json OptionsJson(const ClassifierOptions& o) {
  return {{"model", o.model}, {"dim", o.dim}, {"epochs", o.epochs}, {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate}, {"patience", o.patience}, {"max_features", o.max_features},
          {"word_ngrams", o.features.word_ngrams}, {"cjk_ngrams", o.features.cjk_ngrams},
          {"buckets", o.features.buckets}, {"valid_fraction", o.valid_fraction},
          {"target_precision", o.target_precision}, {"out_of_scope", o.out_of_scope}};
}

ClassifierOptions OptionsFrom(const json& j) {
  ClassifierOptions o;
  o.model = j.value("model", o.model);
  o.dim = j.value("dim", o.dim);
  o.max_features = j.value("max_features", o.max_features);
  o.features.word_ngrams = j.value("word_ngrams", o.features.word_ngrams);
  o.features.cjk_ngrams = j.value("cjk_ngrams", o.features.cjk_ngrams);
  o.features.buckets = j.value("buckets", o.features.buckets);
  o.out_of_scope = j.value("out_of_scope", o.out_of_scope);
  return o;
}

// [N, L] feature ids (+1; 0 pads) of texts.
torch::Tensor Encode(const std::vector<std::string>& texts, const ClassifierOptions& o) {
  std::vector<std::vector<uint32_t>> ids(texts.size());
  size_t len = 1;
  for (size_t k = 0; k < texts.size(); ++k) {
    ids[k] = Features(texts[k], o.features);
    if (ids[k].size() > static_cast<size_t>(o.max_features)) ids[k].resize(static_cast<size_t>(o.max_features));
    len = std::max(len, ids[k].size());
  }
  auto x = torch::zeros({static_cast<int64_t>(texts.size()), static_cast<int64_t>(len)}, torch::kLong);
  auto a = x.accessor<int64_t, 2>();
  for (size_t k = 0; k < ids.size(); ++k) {
    for (size_t j = 0; j < ids[k].size(); ++j) a[static_cast<int64_t>(k)][static_cast<int64_t>(j)] = ids[k][j] + 1;
  }
  return x;
}

class FastTextClassifier : public TextClassifier {
 public:
  FastTextClassifier(ClassifierOptions o, std::vector<std::string> labels)
      : options_(std::move(o)), labels_(std::move(labels)),
        net_(static_cast<int64_t>(options_.features.buckets), options_.dim, static_cast<int64_t>(labels_.size())) {}

  const std::vector<std::string>& labels() const override { return labels_; }
  float threshold() const override { return threshold_; }
  json report() const override { return report_; }

  torch::Tensor Probabilities(const std::vector<std::string>& texts) const {
    if (texts.empty()) return torch::zeros({0, static_cast<int64_t>(labels_.size())});
    torch::NoGradGuard guard;
    auto& net = const_cast<FastTextNet&>(net_);
    const torch::Tensor logits =
        nn::Predict(*net, [&](const torch::Tensor& x) { return net->forward(x); }, Encode(texts, options_), 1024);
    return torch::softmax(logits, 1);
  }

  std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const override {
    const torch::Tensor p = Probabilities(texts).contiguous();
    const int64_t k = std::min<int64_t>(std::max(top, 1), static_cast<int64_t>(labels_.size()));
    std::vector<Prediction> out(texts.size());
    auto a = p.accessor<float, 2>();
    for (size_t r = 0; r < texts.size(); ++r) {
      std::vector<std::pair<float, int>> row;
      for (int c = 0; c < static_cast<int>(labels_.size()); ++c) row.emplace_back(a[static_cast<int64_t>(r)][c], c);
      std::partial_sort(row.begin(), row.begin() + k, row.end(), [](auto& x, auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
      for (int64_t j = 0; j < k; ++j) out[r].top.emplace_back(labels_[static_cast<size_t>(row[static_cast<size_t>(j)].second)], row[static_cast<size_t>(j)].first);
      out[r].confidence = out[r].top[0].second;
      out[r].label = out[r].confidence < threshold_ ? std::string(kOutOfScope) : out[r].top[0].first;
    }
    return out;
  }

  Status Fit(const Context& ctx, const std::vector<LabelledText>& data) {
    std::map<std::string, int64_t> index;
    for (size_t c = 0; c < labels_.size(); ++c) index[labels_[c]] = static_cast<int64_t>(c);
    // Stratified hold-out.
    std::mt19937_64 rng(ctx.seed());
    std::map<std::string, std::vector<size_t>> by_label;
    for (size_t k = 0; k < data.size(); ++k) by_label[data[k].label].push_back(k);
    std::vector<size_t> train_rows, valid_rows;
    for (auto& [label, rows] : by_label) {
      std::shuffle(rows.begin(), rows.end(), rng);
      const auto nv = rows.size() >= 4 ? static_cast<size_t>(static_cast<double>(rows.size()) * options_.valid_fraction + 0.5) : 0;
      for (size_t k = 0; k < rows.size(); ++k) (k < nv ? valid_rows : train_rows).push_back(rows[k]);
    }
    auto tensors = [&](const std::vector<size_t>& rows) {
      std::vector<std::string> texts;
      std::vector<int64_t> y;
      for (size_t r : rows) texts.push_back(data[r].text), y.push_back(index[data[r].label]);
      return nn::TensorData{Encode(texts, options_), torch::tensor(y, torch::kLong)};
    };
    const nn::TensorData train = tensors(train_rows), valid = tensors(valid_rows);
    ml::TrainerOptions to;
    to.epochs = options_.epochs;
    to.batch_size = options_.batch_size;
    to.learning_rate = options_.learning_rate;
    to.early_stopping_patience = valid_rows.empty() ? 0 : options_.patience;
    ASSIGN_OR_RETURN(ml::TrainLog log, nn::Train(ctx, *net_, [&](const torch::Tensor& x) { return net_->forward(x); }, train,
                                                 valid_rows.empty() ? nullptr : &valid, nn::LossKind::kCrossEntropy, to));
    net_->eval();
    // The out-of-scope threshold: the lowest confidence at which validation
    // answers reach the target precision (answers below it are refused).
    threshold_ = 0;
    double valid_accuracy = NAN;
    if (options_.out_of_scope && !valid_rows.empty()) {
      std::vector<std::string> texts;
      for (size_t r : valid_rows) texts.push_back(data[r].text);
      const auto preds = Predict(texts, 1);
      std::vector<std::pair<float, bool>> scored;  // confidence, correct (an "oos" row is never a correct answer)
      int64_t right = 0;
      for (size_t k = 0; k < preds.size(); ++k) {
        const bool ok = preds[k].top[0].first == data[valid_rows[k]].label && data[valid_rows[k]].label != kOutOfScope;
        scored.emplace_back(preds[k].confidence, ok);
        right += preds[k].top[0].first == data[valid_rows[k]].label;
      }
      valid_accuracy = static_cast<double>(right) / static_cast<double>(preds.size());
      std::sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
      // Walk from the most confident down: the last cut-off where precision still holds.
      int64_t answered = 0, correct = 0;
      float cut = scored.empty() ? 0.f : scored.front().first;
      for (const auto& [conf, ok] : scored) {
        ++answered;
        correct += ok;
        if (static_cast<double>(correct) / static_cast<double>(answered) >= options_.target_precision) cut = conf;
      }
      threshold_ = cut;
    }
    report_ = {{"train_examples", train_rows.size()}, {"valid_examples", valid_rows.size()},
               {"epochs_run", log.epochs.size()}, {"best_epoch", log.best_epoch},
               {"valid_accuracy", valid_accuracy}, {"threshold", threshold_}, {"labels", labels_.size()}};
    return Status::Ok();
  }

  Status Save(const std::string& dir) const override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Internal("cannot create " + dir + ": " + ec.message());
    json meta = {{"format", "opspilot-text-1"}, {"options", OptionsJson(options_)}, {"labels", labels_},
                 {"threshold", threshold_}, {"report", report_}};
    std::ofstream f(dir + "/model.json", std::ios::trunc);
    f << meta.dump(1);
    f.close();
    if (!f) return Internal("cannot write " + dir + "/model.json");
    return nn::SaveModule(*const_cast<FastTextNet&>(net_), dir + "/fasttext.pt");
  }

  Status LoadWeights(const std::string& dir, float threshold, json report) {
    threshold_ = threshold;
    report_ = std::move(report);
    RETURN_IF_ERROR(nn::LoadModule(*net_, dir + "/fasttext.pt"));
    net_->eval();
    return Status::Ok();
  }

 private:
  ClassifierOptions options_;
  std::vector<std::string> labels_;
  FastTextNet net_;
  float threshold_ = 0;
  json report_;
};

}  // namespace

StatusOr<std::unique_ptr<TextClassifier>> TrainClassifier(const Context& ctx, const std::vector<LabelledText>& data,
                                                          const ClassifierOptions& options) {
  if (options.model != "fasttext" && options.model != "auto") {
    return InvalidArgument("text model '" + options.model + "': this build has fasttext (cnn and transformer are not built yet)");
  }
  if (options.dim < 1 || options.epochs < 1 || options.features.buckets < 1 || options.max_features < 1) {
    return InvalidArgument("dim, epochs, buckets and max_features must be positive");
  }
  std::vector<std::string> labels;
  for (const auto& d : data) labels.push_back(d.label);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() < 2) return InvalidArgument("training needs at least two labels");
  nn::SetUpTorch(ctx);
  auto model = std::make_unique<FastTextClassifier>(options, labels);
  RETURN_IF_ERROR(model->Fit(ctx, data));
  return std::unique_ptr<TextClassifier>(std::move(model));
}

StatusOr<std::unique_ptr<TextClassifier>> LoadClassifier(const std::string& dir) {
  std::ifstream f(dir + "/model.json");
  if (!f) return NotFound("no text model in " + dir + " (model.json missing)");
  const json meta = json::parse(f, nullptr, false);
  if (meta.is_discarded() || meta.value("format", "") != "opspilot-text-1") {
    return InvalidArgument(dir + "/model.json: not an opspilot text model");
  }
  try {
    auto model = std::make_unique<FastTextClassifier>(OptionsFrom(meta.at("options")),
                                                      meta.at("labels").get<std::vector<std::string>>());
    RETURN_IF_ERROR(model->LoadWeights(dir, meta.value("threshold", 0.0f), meta.value("report", json::object())));
    return std::unique_ptr<TextClassifier>(std::move(model));
  } catch (const json::exception& e) {
    return InvalidArgument(dir + "/model.json: " + e.what());
  }
}

}  // namespace opspilot::nlp
