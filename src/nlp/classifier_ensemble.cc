// The ensemble text model: the mean of its members' calibrated
// probabilities, with its own out-of-scope threshold. `auto` builds one when
// the mean beats every member on the hold-out (classifier.cc); this half
// runs and loads it, torch-free when every member is.
#include <algorithm>
#include <filesystem>
#include <tuple>

#include "nlp/classifier_internal.h"

namespace opspilot::nlp::internal {
namespace {

using nlohmann::json;

class Ensemble final : public TextClassifier {
 public:
  Ensemble(std::vector<std::unique_ptr<TextClassifier>> members, float threshold, json report)
      : members_(std::move(members)), threshold_(threshold), report_(std::move(report)) {}

  std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const override {
    std::vector<std::pair<float, bool>> novelty;
    std::vector<const TextClassifier*> members;
    for (const auto& m : members_) members.push_back(m.get());
    auto preds = PredictionsFromProbabilities(MeanProbabilities(members, texts, &novelty), labels(), threshold_, top);
    for (size_t r = 0; r < preds.size(); ++r) {
      std::tie(preds[r].known, preds[r].novel) = novelty[r];
      if (preds[r].novel) preds[r].label = kOutOfScope;
    }
    return preds;
  }

  // The first member's that is not linear (a linear model's embedding is
  // its class scores; fasttext's mean n-gram vector says more about a text).
  std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) const override {
    return EmbeddingMember().Embed(texts);
  }
  int embedding_dim() const override { return EmbeddingMember().embedding_dim(); }

  Status Save(const std::string& dir) const override {
    json report = report_;
    report["members"] = json::array();
    for (size_t m = 0; m < members_.size(); ++m) {
      RETURN_IF_ERROR(members_[m]->Save(dir + "/member_" + std::to_string(m)));
      report["members"].push_back(members_[m]->model());
    }
    ClassifierOptions o;
    o.model = "ensemble";
    return WriteMeta(dir, "ensemble", o, labels(), 1.f, threshold_, report);
  }

  const std::string& model() const override { return model_; }
  const std::vector<std::string>& labels() const override { return members_.front()->labels(); }
  float threshold() const override { return threshold_; }
  float temperature() const override { return 1.f; }
  json report() const override { return report_; }

 private:
  const TextClassifier& EmbeddingMember() const {
    for (const auto& m : members_) {
      if (m->model() != "linear") return *m;
    }
    return *members_.front();
  }

  const std::string model_ = "ensemble";
  std::vector<std::unique_ptr<TextClassifier>> members_;
  float threshold_;
  json report_;
};

}  // namespace

std::vector<float> MeanProbabilities(const std::vector<const TextClassifier*>& members,
                                     const std::vector<std::string>& texts,
                                     std::vector<std::pair<float, bool>>* novelty) {
  const std::vector<std::string>& labels = members.front()->labels();
  const size_t c = labels.size();
  std::vector<float> mean(texts.size() * c, 0.f);
  if (novelty) novelty->assign(texts.size(), {1.f, false});
  const float w = 1.f / static_cast<float>(members.size());
  for (const TextClassifier* m : members) {
    // The member's own labels are the same set, sorted the same way (LabelSet).
    const auto preds = m->Predict(texts, static_cast<int>(c));
    for (size_t r = 0; r < preds.size(); ++r) {
      if (novelty) {
        auto& [known, novel] = (*novelty)[r];
        known = std::min(known, preds[r].known);
        novel = novel || preds[r].novel;
      }
      for (const auto& [label, p] : preds[r].top) {
        const auto it = std::lower_bound(labels.begin(), labels.end(), label);
        if (it != labels.end() && *it == label) mean[r * c + static_cast<size_t>(it - labels.begin())] += w * p;
      }
    }
  }
  return mean;
}

std::vector<Prediction> PredictionsFromProbabilities(const std::vector<float>& probabilities,
                                                     const std::vector<std::string>& labels, float threshold, int top) {
  const size_t c = labels.size();
  const size_t rows = c == 0 ? 0 : probabilities.size() / c;
  const size_t k = std::clamp<size_t>(static_cast<size_t>(std::max(top, 1)), 1, c);
  std::vector<Prediction> out(rows);
  std::vector<size_t> order(c);
  for (size_t r = 0; r < rows; ++r) {
    const float* p = &probabilities[r * c];
    for (size_t j = 0; j < c; ++j) order[j] = j;
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    Prediction& pr = out[r];
    for (size_t j = 0; j < k; ++j) pr.top.emplace_back(labels[order[j]], p[order[j]]);
    pr.confidence = pr.top[0].second;
    pr.label = pr.confidence < threshold ? std::string(kOutOfScope) : pr.top[0].first;
  }
  return out;
}

StatusOr<std::unique_ptr<TextClassifier>> MakeEnsemble(std::vector<std::unique_ptr<TextClassifier>> members,
                                                       float threshold, json report) {
  if (members.size() < 2) return InvalidArgument("an ensemble needs at least two members");
  for (const auto& m : members) {
    if (m->labels() != members.front()->labels()) return InvalidArgument("ensemble members were trained on different labels");
    if (!std::is_sorted(m->labels().begin(), m->labels().end())) return InvalidArgument("ensemble member labels are not sorted");
  }
  return std::unique_ptr<TextClassifier>(std::make_unique<Ensemble>(std::move(members), threshold, std::move(report)));
}

std::vector<std::string> EnsembleMemberDirs(const std::string& dir) {
  std::vector<std::string> out;
  for (int m = 0;; ++m) {
    const std::string d = dir + "/member_" + std::to_string(m);
    std::error_code ec;
    if (!std::filesystem::exists(d + "/model.json", ec)) break;
    out.push_back(d);
  }
  return out;
}

StatusOr<std::unique_ptr<TextClassifier>> LoadEnsemble(const std::string& dir, const json& meta) {
  std::vector<std::unique_ptr<TextClassifier>> members;
  for (const std::string& d : EnsembleMemberDirs(dir)) {
    ASSIGN_OR_RETURN(auto m, LoadClassifier(d));
    members.push_back(std::move(m));
  }
  if (members.size() < 2) return InvalidArgument(dir + ": an ensemble model without its member_0/ and member_1/ directories");
  try {
    if (meta.at("labels").get<std::vector<std::string>>() != members.front()->labels()) {
      return InvalidArgument(dir + "/model.json: labels differ from the members'");
    }
    return MakeEnsemble(std::move(members), meta.value("threshold", 0.0f), meta.value("report", json::object()));
  } catch (const json::exception& e) {
    return InvalidArgument(dir + "/model.json: " + e.what());
  }
}

}  // namespace opspilot::nlp::internal
