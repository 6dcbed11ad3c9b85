// The torch-free half of the text classifiers: the fasttext runtime over a
// hand-made weights file, calibration, folds and corpora.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "nlp/classifier.h"
#include "nlp/classifier_internal.h"
#include "nlp/text.h"
#include "testing/temp_dir.h"

namespace opspilot::nlp {
namespace {

// A 2-d, 2-class model whose table holds the features of "refund" only: the
// prediction is the softmax of W * mean(rows) + b, with unknown features
// counting in the mean.
TEST(ClassifierIo, FastTextRuntimeComputesTheMeanOfKnownRowsOverAllFeatures) {
  ClassifierOptions o;
  o.dim = 2;
  const auto refund = internal::FastTextFeatures("refund", o);
  const auto both = internal::FastTextFeatures("refund zzz", o);
  ASSERT_FALSE(refund.empty());
  ASSERT_GT(both.size(), refund.size());
  internal::FastTextWeights w;
  w.dim = 2;
  w.classes = 2;
  w.buckets = o.features.buckets;
  std::vector<uint32_t> ids = refund;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (uint32_t id : ids) {
    w.ids.push_back(id);
    w.rows.insert(w.rows.end(), {1.f, -1.f});
  }
  w.out_weight = {2.f, 0.f, 0.f, 1.f};  // logits: 2 h0, h1
  w.out_bias = {0.f, 0.5f};
  testing::TempDir dir;
  const std::string m = dir.file("m");
  ASSERT_TRUE(internal::WriteMeta(m, "fasttext", o, {"refund", "other"}, 2.f, 0.f, nlohmann::json::object()).ok());
  ASSERT_TRUE(internal::WriteFastTextWeights(w, m + "/fasttext.bin").ok());
  auto model = LoadClassifier(m);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto expect = [](double h0, double h1) {  // P(refund) at temperature 2
    const double z0 = 2 * h0 / 2, z1 = (h1 + 0.5) / 2;
    return 1 / (1 + std::exp(z1 - z0));
  };
  // Duplicated ids count twice, as in training.
  const double known = static_cast<double>(refund.size()) / static_cast<double>(both.size());
  const auto p = (*model)->Predict({"refund", "refund zzz", "qqq"}, 2);
  EXPECT_NEAR(p[0].top[0].second, expect(1, -1), 1e-6);
  EXPECT_EQ(p[1].top[0].first, "refund");
  EXPECT_NEAR(p[1].top[0].second, expect(known, -known), 1e-6);
  EXPECT_NEAR(p[2].top[0].second, 1 - expect(0, 0), 1e-6);  // nothing known: the bias decides
  EXPECT_EQ(p[2].top[0].first, "other");
  const auto e = (*model)->Embed({"refund zzz", "qqq"});
  EXPECT_NEAR(e[0][0], std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(e[0][1], -std::sqrt(0.5), 1e-6);
  EXPECT_EQ(e[1], std::vector<float>(2, 0.f));
  // A damaged file is refused with its name.
  std::filesystem::resize_file(m + "/fasttext.bin", std::filesystem::file_size(m + "/fasttext.bin") - 4);
  auto bad = LoadClassifier(m);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fasttext.bin"), std::string::npos) << bad.status().message();
}

// The hashed row lookup of prediction agrees with the binary search it
// replaced, for ids in and out of the table (and an empty table).
TEST(ClassifierIo, BucketRowsFindsWhatRowOfFinds) {
  std::mt19937 rng(5);
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}, size_t{20000}}) {
    std::set<uint32_t> pick;
    while (pick.size() < n) pick.insert(static_cast<uint32_t>(rng() % 2000000));
    const std::vector<uint32_t> ids(pick.begin(), pick.end());
    const internal::BucketRows rows(ids);
    for (size_t k = 0; k < ids.size(); ++k) ASSERT_EQ(rows.Find(ids[k]), static_cast<int64_t>(k));
    for (int q = 0; q < 20000; ++q) {
      const auto id = static_cast<uint32_t>(rng() % 2000000);
      ASSERT_EQ(rows.Find(id), internal::RowOf(ids, id)) << id;
    }
  }
  EXPECT_EQ(internal::BucketRows().Find(42), -1);
}

// The character n-grams, hashed as they grow, are the hashes of "g:" + each
// n-gram of each marked Latin word ("<word>"), whole word skipped on request.
TEST(ClassifierIo, LatinCharNgramsHashEveryNgramOfTheMarkedWords) {
  const std::vector<std::string> tokens = Tokenize(Normalize("Refund 退款 it"));
  for (bool skip : {false, true}) {
    std::vector<uint32_t> ids;
    internal::LatinCharNgrams(tokens, 2, 4, 1000003, skip, &ids);
    std::vector<uint32_t> want;
    for (const std::string w : {"<refund>", "<it>"}) {
      for (size_t i = 0; i < w.size(); ++i) {
        for (size_t n = 2; n <= 4 && i + n <= w.size(); ++n) {
          if (!(skip && n == w.size())) want.push_back(Fnv1a("g:" + w.substr(i, n)) % 1000003);
        }
      }
    }
    EXPECT_EQ(ids, want) << skip;
  }
}

// With a tiny hash space the two blocks share ids: they are merged into one
// sorted list of distinct ids whose values add up, as the old sort did.
TEST(ClassifierIo, LinearFeaturesMergeBlocksThatShareIds) {
  ClassifierOptions o;
  o.features.buckets = 3;
  const auto f = internal::LinearFeatures("refund my order please, 我要退款", o, 2, 5);
  ASSERT_FALSE(f.empty());
  ASSERT_LE(f.size(), 3u);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_LT(f[i - 1].first, f[i].first);
  // Each block has unit norm, so the merged values sum to what the blocks' values sum to.
  const auto w = internal::LinearFeatures("refund my order please, 我要退款", o, 0, 0);  // the first block alone
  const auto c = internal::LinearFeatures("refund my order please", o, 2, 5);
  double total = 0, norm_w = 0;
  for (const auto& [id, v] : f) total += v;
  for (const auto& [id, v] : w) norm_w += static_cast<double>(v) * v;
  EXPECT_NEAR(norm_w, 1.0, 1e-5);
  double sum_w = 0;
  for (const auto& [id, v] : w) sum_w += v;
  const auto c_words = internal::LinearFeatures("refund my order please", o, 0, 0);
  double sum_c = 0, sum_cw = 0;
  for (const auto& [id, v] : c) sum_c += v;
  for (const auto& [id, v] : c_words) sum_cw += v;
  const double sum_chars = sum_c - sum_cw;  // the character block: the same Latin words
  EXPECT_NEAR(total, sum_w + sum_chars, 1e-4);
}

// The linear runtime over a hand-made weights file: each block of features
// (words and Chinese characters; Latin character n-grams) is L2-normalised
// sublinear counts, and the probabilities are the softmax of W x + b over
// the temperature.
TEST(ClassifierIo, LinearRuntimeScoresNormalisedFeatureBlocks) {
  ClassifierOptions o;
  const auto f = internal::LinearFeatures("refund refund", o, 2, 5);
  ASSERT_FALSE(f.empty());
  ASSERT_TRUE(std::is_sorted(f.begin(), f.end()));
  const auto words = Features("refund refund", o.features);
  double norm = 0;
  for (const auto& [id, v] : f) norm += static_cast<double>(v) * v;
  EXPECT_NEAR(norm, 2.0, 1e-5);  // two blocks of unit norm (no collisions among these few ids)
  // Without character n-grams one block: "refund" twice weighs 1 + ln 2 before
  // normalisation against the bigram "refund refund" once.
  const auto w_only = internal::LinearFeatures("refund refund", o, 0, 0);
  ASSERT_EQ(w_only.size(), 2u);
  std::vector<uint32_t> uniq = words;
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  ASSERT_EQ(uniq.size(), 2u);
  const double a = 1 + std::log(2.0), n = std::sqrt(a * a + 1);
  const size_t twice = std::count(words.begin(), words.end(), uniq[0]) == 2 ? 0 : 1;
  EXPECT_NEAR(w_only[twice].second, a / n, 1e-6);
  EXPECT_NEAR(w_only[1 - twice].second, 1 / n, 1e-6);

  internal::LinearTextWeights w;
  w.buckets = o.features.buckets;
  w.char_min = 0;
  w.char_max = 0;
  w.ids = uniq;
  w.weights.features = 2;
  w.weights.classes = 2;
  w.weights.w = {3.f, 0.f, 1.f, -1.f};  // rows: uniq[0], uniq[1]; columns: the two classes
  w.weights.bias = {0.f, 0.25f};
  testing::TempDir dir;
  const std::string m = dir.file("m");
  ASSERT_TRUE(internal::WriteMeta(m, "linear", o, {"refund", "other"}, 0.5f, 0.f, nlohmann::json::object()).ok());
  ASSERT_TRUE(internal::WriteLinearWeights(w, m + "/linear.bin").ok());
  EXPECT_FALSE(ClassifierNeedsTorch(m));
  auto model = LoadClassifier(m);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ((*model)->model(), "linear");
  double z0 = 0, z1 = 0.25;
  for (const auto& [id, v] : w_only) {
    const size_t row = id == uniq[0] ? 0 : 1;
    z0 += v * w.weights.w[row * 2], z1 += v * w.weights.w[row * 2 + 1];
  }
  const auto p = (*model)->Predict({"refund refund", "qqq"}, 2);
  EXPECT_EQ(p[0].top[0].first, "refund");
  EXPECT_NEAR(p[0].top[0].second, 1 / (1 + std::exp((z1 - z0) / 0.5)), 1e-5);
  EXPECT_FLOAT_EQ(p[0].known, 1.f);
  EXPECT_EQ(p[1].top[0].first, "other");  // nothing known: the bias decides
  EXPECT_NEAR(p[1].top[0].second, 1 / (1 + std::exp(-0.25 / 0.5)), 1e-5);
  EXPECT_FLOAT_EQ(p[1].known, 0.f);
  // A damaged file is refused with its name.
  std::filesystem::resize_file(m + "/linear.bin", std::filesystem::file_size(m + "/linear.bin") - 4);
  auto bad = LoadClassifier(m);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("linear.bin"), std::string::npos) << bad.status().message();
}

// `auto` keeps the first candidate (the mean of all) unless a later one is
// clearly better where they differ: ties and one-row wins are noise.
TEST(ClassifierIo, AutoKeepsTheDefaultUnlessAnotherIsClearlyBetter) {
  using Rows = std::vector<char>;
  EXPECT_EQ(internal::ClearWinner({Rows(100, 1)}), 0u);
  // Level, or one row ahead: the default stays.
  Rows a(100, 1), b(100, 1);
  a[0] = 0, b[1] = 0;
  EXPECT_EQ(internal::ClearWinner({a, b}), 0u);
  b[1] = 1;
  EXPECT_EQ(internal::ClearWinner({a, b}), 0u);  // wins 1, losses 0: 1 is not above sqrt(1)
  // Ten rows ahead and two behind: 8 > sqrt(12).
  Rows c(100, 1), d(100, 1);
  for (int r = 0; r < 10; ++r) c[static_cast<size_t>(r)] = 0;
  d[50] = d[51] = 0;
  EXPECT_EQ(internal::ClearWinner({c, d}), 1u);
  // Six ahead and four behind is not clear: 2 < sqrt(10).
  Rows e(100, 1), f(100, 1);
  for (int r = 0; r < 6; ++r) e[static_cast<size_t>(r)] = 0;
  for (int r = 50; r < 54; ++r) f[static_cast<size_t>(r)] = 0;
  EXPECT_EQ(internal::ClearWinner({e, f}), 0u);
  // Each later candidate is compared with the choice so far, not the default.
  Rows g = d;
  g[50] = 1;  // one row better than d only
  EXPECT_EQ(internal::ClearWinner({c, d, g}), 1u);
  Rows h(100, 1);
  EXPECT_EQ(internal::ClearWinner({c, d, h}), 2u);  // 2 ahead of d, none behind: 2 > sqrt(2)
}

// A text whose features the model mostly never saw is novel: "oos" below
// the floor saved in the report, whatever the softmax says, in the model and
// in an ensemble holding it.
TEST(ClassifierIo, FastTextRefusesNovelTextsBelowItsFloor) {
  ClassifierOptions o;
  o.dim = 2;
  const auto refund = internal::FastTextFeatures("refund", o);
  const auto both = internal::FastTextFeatures("refund zzz", o);
  const double known = static_cast<double>(refund.size()) / static_cast<double>(both.size());
  ASSERT_LT(known, 0.9);
  internal::FastTextWeights w;
  w.dim = 2, w.classes = 2, w.buckets = o.features.buckets;
  std::vector<uint32_t> ids = refund;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (uint32_t id : ids) w.ids.push_back(id), w.rows.insert(w.rows.end(), {1.f, -1.f});
  w.out_weight = {0.f, 1.f, 20.f, 0.f};  // logits: other h1, refund 20 h0: "refund" alone or diluted, certain
  w.out_bias = {0.f, 0.f};
  testing::TempDir dir;
  const float floor = static_cast<float>((known + 1) / 2);
  for (const std::string m : {"floored", "plain"}) {
    const auto report = m == "floored" ? nlohmann::json{{"min_known", floor}} : nlohmann::json::object();
    ASSERT_TRUE(internal::WriteMeta(dir.file(m), "fasttext", o, {"other", "refund"}, 1.f, 0.f, report).ok());
    ASSERT_TRUE(internal::WriteFastTextWeights(w, dir.file(m) + "/fasttext.bin").ok());
  }
  auto floored = LoadClassifier(dir.file("floored"));
  auto plain = LoadClassifier(dir.file("plain"));
  ASSERT_TRUE(floored.ok() && plain.ok());
  const std::vector<std::string> texts = {"refund", "refund zzz", "qqq"};
  const auto p = (*floored)->Predict(texts, 1), q = (*plain)->Predict(texts, 1);
  EXPECT_FLOAT_EQ(p[0].known, 1.f);
  EXPECT_NEAR(p[1].known, known, 1e-6);
  EXPECT_FLOAT_EQ(p[2].known, 0.f);
  EXPECT_EQ(p[0].label, "refund");
  EXPECT_FALSE(p[0].novel);
  EXPECT_GT(p[1].confidence, 0.99f);  // certain, and still refused
  EXPECT_TRUE(p[1].novel);
  EXPECT_EQ(p[1].label, kOutOfScope);
  EXPECT_TRUE(p[2].novel);
  // Without a floor (old models, sentiment) nothing is novel.
  for (const auto& r : q) EXPECT_FALSE(r.novel);
  EXPECT_EQ(q[1].label, "refund");
  EXPECT_NEAR(q[1].known, known, 1e-6);
  // In an ensemble: novel when a member says so, `known` the least of them.
  std::vector<std::unique_ptr<TextClassifier>> members;
  members.push_back(std::move(*plain));
  members.push_back(std::move(*floored));
  auto ensemble = internal::MakeEnsemble(std::move(members), 0.f, nlohmann::json::object());
  ASSERT_TRUE(ensemble.ok());
  const auto e = (*ensemble)->Predict(texts, 1);
  EXPECT_EQ(e[0].label, "refund");
  EXPECT_EQ(e[1].label, kOutOfScope);
  EXPECT_TRUE(e[1].novel);
  EXPECT_NEAR(e[1].known, known, 1e-6);
}

// The out-of-scope cut-off: the lowest confidence whose answers keep the
// target precision; the least confident answer when it never binds.
TEST(ClassifierIo, ThresholdIsTheLowestConfidenceThatKeepsPrecision) {
  auto preds = [](const std::vector<std::pair<float, std::string>>& rows) {
    std::vector<Prediction> out;
    for (const auto& [conf, label] : rows) {
      Prediction p;
      p.top = {{label, conf}};
      p.label = label, p.confidence = conf;
      out.push_back(p);
    }
    return out;
  };
  // Ten answers, the two least confident wrong: 90% holds down to 0.5.
  std::vector<std::pair<float, std::string>> rows;
  for (int k = 0; k < 8; ++k) rows.emplace_back(0.9f - 0.05f * static_cast<float>(k), "a");
  rows.emplace_back(0.5f, "b");
  rows.emplace_back(0.4f, "b");
  std::vector<std::string> truth(10, "a");
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), truth, 0.9), 0.55f);  // 8 of 9 at 0.5 misses 90%
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), truth, 0.8), 0.4f);   // never binds: the least confident
  // Refusals (a trained "oos" class) say nothing about the cut-off.
  rows[9].second = kOutOfScope;
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), truth, 0.8), 0.5f);
  // Unreachable: answer everything rather than refuse nearly all.
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), std::vector<std::string>(10, "c"), 0.9), 0.f);

  // Out-of-scope rows weigh as the share of traffic they are assumed to be:
  // 98 right answers at 0.9 and 2 out-of-scope texts answered at 0.5. As they
  // are (2%), answering both keeps 98% precision; as 20% of traffic (12.25
  // each) it would fall to 80%, so they must be refused.
  rows.assign(98, {0.9f, "a"});
  rows.insert(rows.end(), 2, {0.5f, "a"});
  truth.assign(98, "a");
  truth.insert(truth.end(), 2, kOutOfScope);
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), truth, 0.9), 0.5f);
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), truth, 0.9, 0.2), 0.9f);
  // A hold-out with more of them than the share is never weighted down.
  rows.assign(50, {0.9f, "a"});
  rows.insert(rows.end(), 50, {0.5f, "a"});
  truth.assign(50, "a");
  truth.insert(truth.end(), 50, kOutOfScope);
  EXPECT_FLOAT_EQ(internal::TuneThreshold(preds(rows), truth, 0.9, 0.1), 0.9f);

  // An out-of-scope row that the "oos" class catches still counts, at its best
  // in-scope answer with that class set aside: 0.35 / (1 - 0.6) = 0.875.
  std::vector<Prediction> caught = preds(std::vector<std::pair<float, std::string>>(98, {0.9f, "a"}));
  truth.assign(98, "a");
  for (int k = 0; k < 2; ++k) {
    Prediction p;
    p.top = {{kOutOfScope, 0.6f}, {"a", 0.35f}, {"b", 0.05f}};
    p.label = kOutOfScope, p.confidence = 0.6f;
    caught.push_back(p);
    truth.push_back(kOutOfScope);
  }
  EXPECT_FLOAT_EQ(internal::TuneThreshold(caught, truth, 0.9), 0.875f);       // 98 of 100 right at 0.875
  EXPECT_FLOAT_EQ(internal::TuneThreshold(caught, truth, 0.9, 0.2), 0.9f);    // as 20% of traffic: refused
  EXPECT_EQ(internal::ThresholdTop({"a", "b", kOutOfScope}), 3);
  EXPECT_EQ(internal::ThresholdTop({"a", "b"}), 1);
}

TEST(ClassifierIo, OnlyOpenIntentSetsRefuseByDefault) {
  std::vector<LabelledText> closed = {{"1", "where is my card", "card_arrival"}, {"2", "top up failed", "top_up_failed"}};
  std::vector<LabelledText> open = closed;
  open.push_back({"3", "what is the capital of peru", kOutOfScope});
  EXPECT_FALSE(RefusesByDefault("intent", closed));
  EXPECT_TRUE(RefusesByDefault("intent", open));
  EXPECT_TRUE(RefusesByDefault("topic", open));
  EXPECT_FALSE(RefusesByDefault("sentiment", open));  // every text has a sentiment
}

// Two hand-made fasttext members with opposite views of "refund": the
// ensemble's probabilities are their mean, it refuses below its own
// threshold, and it saves and loads without libtorch.
TEST(ClassifierIo, EnsembleAveragesItsMembersAndLoadsTorchFree) {
  ClassifierOptions o;
  o.dim = 1;
  std::vector<uint32_t> ids = internal::FastTextFeatures("refund", o);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  testing::TempDir dir;
  const std::vector<std::string> labels = {"other", "refund"};
  std::vector<std::unique_ptr<TextClassifier>> members;
  for (float sign : {1.f, -0.5f}) {  // member 0 says refund strongly, member 1 mildly other
    internal::FastTextWeights w;
    w.dim = 1;
    w.classes = 2;
    w.buckets = o.features.buckets;
    for (uint32_t id : ids) w.ids.push_back(id), w.rows.push_back(sign);
    w.out_weight = {0.f, 2.f};  // logits: 0, 2 h
    w.out_bias = {0.f, 0.f};
    const std::string m = dir.file("m" + std::to_string(members.size()));
    ASSERT_TRUE(internal::WriteMeta(m, "fasttext", o, labels, 1.f, 0.f, nlohmann::json::object()).ok());
    ASSERT_TRUE(internal::WriteFastTextWeights(w, m + "/fasttext.bin").ok());
    auto model = LoadClassifier(m);
    ASSERT_TRUE(model.ok()) << model.status().message();
    members.push_back(std::move(model).value());
  }
  auto sigmoid = [](double z) { return 1 / (1 + std::exp(-z)); };
  const double p_refund = (sigmoid(2.0) + sigmoid(-1.0)) / 2;  // "refund": h = sign
  auto ens = internal::MakeEnsemble(std::move(members), 0.6f, nlohmann::json::object());
  ASSERT_TRUE(ens.ok()) << ens.status().message();
  const auto p = (*ens)->Predict({"refund", "qqq"}, 2);
  EXPECT_EQ(p[0].top[0].first, "refund");
  EXPECT_NEAR(p[0].top[0].second, p_refund, 1e-6);
  EXPECT_NEAR(p[0].top[1].second, 1 - p_refund, 1e-6);
  EXPECT_EQ(p[0].label, p_refund >= 0.6 ? "refund" : kOutOfScope);
  EXPECT_NEAR(p[1].confidence, 0.5, 1e-6);  // nothing known: both members say 50/50
  EXPECT_EQ(p[1].label, kOutOfScope);       // below the ensemble's 0.6
  ASSERT_TRUE((*ens)->Save(dir.file("ens")).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.file("ens/member_1/fasttext.bin")));
  EXPECT_FALSE(ClassifierNeedsTorch(dir.file("ens")));
  auto back = LoadClassifier(dir.file("ens"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->model(), "ensemble");
  EXPECT_FLOAT_EQ((*back)->threshold(), 0.6f);
  EXPECT_NEAR((*back)->Predict({"refund"}, 1)[0].confidence, p_refund, 1e-6);
  // A member missing: refused with the directory's name.
  std::filesystem::remove_all(dir.file("ens/member_1"));
  auto broken = LoadClassifier(dir.file("ens"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("member_1"), std::string::npos) << broken.status().message();
}

// Labels drawn from softmax(z / 2): the fitted temperature is close to 2.
TEST(ClassifierIo, TemperatureFitRecoversAPlantedTemperature) {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal(0, 3);
  const int classes = 4, rows = 20000;
  std::vector<float> logits;
  std::vector<int> truth;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> p;
    double s = 0;
    for (int c = 0; c < classes; ++c) {
      logits.push_back(normal(rng));
      p.push_back(std::exp(logits.back() / 2.0));
      s += p.back();
    }
    double u = std::uniform_real_distribution<double>(0, s)(rng);
    int y = 0;
    while (y < classes - 1 && (u -= p[static_cast<size_t>(y)]) > 0) ++y;
    truth.push_back(y);
  }
  EXPECT_NEAR(internal::FitTemperature(logits, classes, truth), 2.0, 0.1);
  EXPECT_FLOAT_EQ(internal::FitTemperature(logits, classes, std::vector<int>(rows, -1)), 1.f);
}

TEST(ClassifierIo, StratifiedFoldsSpreadEveryLabel) {
  std::vector<LabelledText> data;
  for (int k = 0; k < 50; ++k) data.push_back({std::to_string(k), "t", k < 40 ? "big" : "small"});
  const auto fold = StratifiedFolds(data, 5, 7);
  std::map<std::pair<int, std::string>, int> n;
  for (size_t r = 0; r < data.size(); ++r) ++n[{fold[r], data[r].label}];
  for (int f = 0; f < 5; ++f) {
    EXPECT_EQ((n[{f, "big"}]), 8);
    EXPECT_EQ((n[{f, "small"}]), 2);
  }
}

TEST(ClassifierIo, ReadsCorporaAsLinesOrATextColumn) {
  testing::TempDir dir;
  auto lines = ReadCorpus(dir.Write("a.txt", "hello, world\n\n我要退款\r\n"));
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  EXPECT_EQ(*lines, (std::vector<std::string>{"hello, world", "我要退款"}));
  auto csv = ReadCorpus(dir.Write("b.csv", "id,text\n1,\"a, b\"\n2,c\n"));
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  EXPECT_EQ(*csv, (std::vector<std::string>{"a, b", "c"}));
}

}  // namespace
}  // namespace opspilot::nlp
