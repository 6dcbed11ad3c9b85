#include "nlp/classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "nlp/tokenizer.h"
#include "nlp/wordpiece.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::nlp {
namespace {

// Tickets with planted intents in Chinese and English: a template per intent
// and language, filled with random order numbers, products and filler words.
std::vector<LabelledText> Tickets(int n, uint64_t seed, bool with_oos_only = false) {
  struct Intent {
    const char* label;
    std::vector<const char*> templates;
  };
  const std::vector<Intent> intents = {
      {"refund", {"i want a refund for order {n}", "please refund my money for the {p}", "我要退款 订单{n}", "{p}能退款吗"}},
      {"order_status", {"where is my order {n}", "when will my {p} arrive", "我的订单{n}到哪了", "{p}什么时候发货"}},
      {"invoice", {"can i get an invoice for order {n}", "please send the invoice for the {p}", "订单{n}开发票", "{p}的发票怎么开"}},
      {"complaint", {"the {p} is broken and your service is terrible", "very bad quality {p}, i am angry", "{p}质量太差了 很生气", "服务态度太差 投诉"}},
      {"change_address", {"please change the delivery address of order {n}", "wrong address for my {p}", "订单{n}改地址", "{p}的收货地址写错了"}},
  };
  const std::vector<const char*> products = {"green tea", "teapot", "coffee beans", "龙井", "茶杯", "咖啡豆"};
  const std::vector<const char*> fillers = {"", " thanks", " 谢谢", " asap", " hello", " 麻烦了"};
  const std::vector<const char*> oos = {"what is the weather in paris tomorrow", "tell me a joke about cats",
                                        "how tall is mount everest", "今天股市怎么样", "推荐一部好看的电影",
                                        "what time is the football match"};
  std::mt19937_64 rng(seed);
  std::vector<LabelledText> out;
  for (int k = 0; k < n; ++k) {
    LabelledText t;
    if (with_oos_only) {
      t.text = std::string(oos[rng() % oos.size()]) + fillers[rng() % fillers.size()];
      t.label = kOutOfScope;
    } else {
      const auto& in = intents[rng() % intents.size()];
      std::string s = in.templates[rng() % in.templates.size()];
      for (auto [key, val] : {std::pair<std::string, std::string>{"{n}", std::to_string(100000 + rng() % 900000)},
                              {"{p}", products[rng() % products.size()]}}) {
        for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), val);
      }
      t.text = s + fillers[rng() % fillers.size()];
      t.label = in.label;
    }
    t.id = std::to_string(k);
    out.push_back(t);
  }
  return out;
}

TEST(TextClassifier, LearnsPlantedIntentsInBothLanguagesAndRefusesOutOfScope) {
  const Context ctx(testing::QuietOptions(2));
  ClassifierOptions o;  // the defaults: 2M buckets, sparse SGD
  auto model = TrainClassifier(ctx, Tickets(1500, 1), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  // Epochs left to the model: both schedules were tried on the hold-out.
  const auto trained = (*model)->report();
  EXPECT_TRUE(trained["epochs_tried"].contains("10") && trained["epochs_tried"].contains("25")) << trained.dump();
  std::vector<LabelledText> test = Tickets(400, 2);
  const auto oos = Tickets(100, 3, true);
  test.insert(test.end(), oos.begin(), oos.end());
  const auto report = EvaluateClassifier(**model, test);
  EXPECT_GT(report["in_scope_accuracy"].get<double>(), 0.95) << report.dump();
  EXPECT_GT(report["oos_recall"].get<double>(), 0.6) << report.dump();
  EXPECT_GT(report["per_class"]["refund"]["f1"].get<double>(), 0.9) << report.dump();
  // Both languages on their own.
  const auto p = (*model)->Predict({"我要退款 订单123456", "i want a refund for order 98765", "订单556677到哪了"}, 2);
  EXPECT_EQ(p[0].label, "refund");
  EXPECT_EQ(p[1].label, "refund");
  EXPECT_EQ(p[2].label, "order_status");
  EXPECT_EQ(p[0].top.size(), 2u);
  EXPECT_GE(p[0].top[0].second, p[0].top[1].second);
  // A message in words and characters no ticket used is novel; the planted
  // test tickets are not (the floor comes from the hold-out's 1% quantile).
  const float floor = trained["min_known"].get<float>();
  EXPECT_GT(floor, 0.f);
  EXPECT_LE(floor, 0.5f);
  const auto novel = (*model)->Predict({"明天北京天气预报说会下雪吗", "xylophone zebra quokka"}, 1);
  for (const auto& r : novel) {
    EXPECT_TRUE(r.novel) << r.known;
    EXPECT_EQ(r.label, kOutOfScope);
  }
  std::vector<std::string> in_scope;
  for (const auto& t : Tickets(400, 2)) in_scope.push_back(t.text);
  int novel_in_scope = 0;
  for (const auto& r : (*model)->Predict(in_scope, 1)) novel_in_scope += r.novel;
  EXPECT_LE(novel_in_scope, 8);

  testing::TempDir dir;
  ASSERT_TRUE((*model)->Save(dir.path() + "/m").ok());
  auto back = LoadClassifier(dir.path() + "/m");
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto q = (*back)->Predict({"我要退款 订单123456"}, 1);
  EXPECT_EQ(q[0].label, p[0].label);
  EXPECT_NEAR(q[0].confidence, p[0].confidence, 1e-5);
  EXPECT_FLOAT_EQ((*back)->threshold(), (*model)->threshold());
}

// The torch-free runtime (what the server and the plain binary load) gives
// the trained libtorch model's probabilities and embeddings, also for texts
// with features never seen in training, and the file keeps only the rows
// training touched.
TEST(TextClassifier, TorchFreeFastTextMatchesTheTorchModel) {
  const Context ctx(testing::QuietOptions(2));
  ClassifierOptions o;
  o.epochs = 5;
  o.char_ngrams_min = 3;
  o.char_ngrams_max = 5;
  auto model = TrainClassifier(ctx, Tickets(600, 4), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  testing::TempDir dir;
  ASSERT_TRUE((*model)->Save(dir.path() + "/m").ok());
  EXPECT_FALSE(ClassifierNeedsTorch(dir.path() + "/m"));
  auto back = LoadClassifier(dir.path() + "/m");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->model(), "fasttext");
  std::vector<std::string> texts;
  for (const auto& t : Tickets(200, 5)) texts.push_back(t.text);
  for (const auto& t : Tickets(50, 6, true)) texts.push_back(t.text);
  texts.push_back("");                              // no features: the bias alone
  texts.push_back("zzzz qqqq unseen words only");   // no known features
  texts.push_back("refunds REFUNDED 退款退款 😀");
  const auto p = (*model)->Predict(texts, 5), q = (*back)->Predict(texts, 5);
  ASSERT_EQ(p.size(), q.size());
  for (size_t k = 0; k < p.size(); ++k) {
    ASSERT_EQ(p[k].top.size(), q[k].top.size());
    for (size_t j = 0; j < p[k].top.size(); ++j) {
      EXPECT_EQ(p[k].top[j].first, q[k].top[j].first) << texts[k];
      EXPECT_NEAR(p[k].top[j].second, q[k].top[j].second, 1e-5) << texts[k];
    }
    EXPECT_EQ(p[k].label, q[k].label);
  }
  const auto e = (*model)->Embed(texts), f = (*back)->Embed(texts);
  ASSERT_EQ(e.size(), texts.size());
  ASSERT_EQ(e[0].size(), static_cast<size_t>((*model)->embedding_dim()));
  for (size_t k = 0; k < e.size(); ++k) {
    for (size_t d = 0; d < e[k].size(); ++d) ASSERT_NEAR(e[k][d], f[k][d], 1e-5);
  }
  // Rows: only the training buckets, a tiny part of the 2M hash space.
  const auto rows = (*model)->report()["table_rows"].get<int64_t>();
  EXPECT_GT(rows, 100);
  EXPECT_LT(rows, 20000);
  EXPECT_LT(std::filesystem::file_size(dir.path() + "/m/fasttext.bin"), static_cast<uintmax_t>(rows * (o.dim ? o.dim : 64) * 4 + 4096 + rows * 4));
}

// Sentence embeddings: paraphrases of one intent are closer than texts of
// different intents.
TEST(TextClassifier, EmbeddingsGroupTextsByIntent) {
  const Context ctx(testing::QuietOptions(2));
  auto model = TrainClassifier(ctx, Tickets(1500, 7), ClassifierOptions{});
  ASSERT_TRUE(model.ok()) << model.status().message();
  const auto e = (*model)->Embed({"i want a refund for order 123456", "please refund my money for the teapot",
                                   "where is my order 555555"});
  auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t d = 0; d < a.size(); ++d) s += a[d] * b[d];
    return s;
  };
  EXPECT_NEAR(dot(e[0], e[0]), 1.0, 1e-5);
  EXPECT_GT(dot(e[0], e[1]), dot(e[0], e[2]));
}

TEST(TextClassifier, LoadingNeedsARegisteredLoaderForTorchModels) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("m"));
  dir.Write("m/model.json", R"({"format": "opspilot-text-2", "model": "nosuchmodel", "options": {}, "labels": ["a", "b"]})");
  EXPECT_TRUE(ClassifierNeedsTorch(dir.path() + "/m"));
  auto r = LoadClassifier(dir.path() + "/m");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("opspilot-nn"), std::string::npos) << r.status().message();
  RegisterClassifierLoader("nosuchmodel", [](const std::string&, const nlohmann::json&) -> StatusOr<std::unique_ptr<TextClassifier>> {
    return NotFound("the test loader ran");
  });
  r = LoadClassifier(dir.path() + "/m");
  EXPECT_EQ(r.status().message(), "the test loader ran");
  EXPECT_EQ(LoadClassifier(dir.path() + "/none").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ClassifierNeedsTorch(dir.path() + "/none"));
}

// Temperature scaling: a model trained on few, noisily labelled texts is
// over-confident; the temperature fitted on its hold-out (T > 1) lowers the
// log loss on fresh data and keeps every ranking (the same accuracy).
TEST(TextClassifier, TemperatureScalingCalibratesConfidence) {
  const Context ctx(testing::QuietOptions(2));
  auto noisy = [](std::vector<LabelledText> d, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const std::vector<std::string> labels = {"refund", "order_status", "invoice", "complaint", "change_address"};
    for (auto& t : d) {
      if (rng() % 4 == 0) t.label = labels[rng() % labels.size()];  // 20% wrong labels
    }
    return d;
  };
  ClassifierOptions o;
  o.out_of_scope = false;
  o.epochs = 25;  // long training on noisy labels: an over-confident model, which scaling must temper
  auto model = TrainClassifier(ctx, noisy(Tickets(400, 8), 9), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  o.calibrate = false;  // the same weights (same seed), temperature 1
  auto raw = TrainClassifier(ctx, noisy(Tickets(400, 8), 9), o);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  EXPECT_FLOAT_EQ((*raw)->temperature(), 1.f);
  const auto r = (*model)->report();
  EXPECT_LE(r["valid_nll"].get<double>(), r["valid_nll_uncalibrated"].get<double>() + 1e-9) << r.dump();
  const auto test = noisy(Tickets(2000, 10), 11);
  const auto eval = EvaluateClassifier(**model, test), eval_raw = EvaluateClassifier(**raw, test);
  EXPECT_GT((*model)->temperature(), 1.2f);
  EXPECT_LT(eval["log_loss"].get<double>(), eval_raw["log_loss"].get<double>()) << eval.dump();
  EXPECT_DOUBLE_EQ(eval["accuracy"].get<double>(), eval_raw["accuracy"].get<double>());  // scaling keeps the ranking
  ASSERT_EQ(eval["reliability"].size(), 10u);
  int64_t count = 0;
  for (const auto& bin : eval["reliability"]) count += bin["count"].get<int64_t>();
  EXPECT_EQ(count, 2000);
  EXPECT_FLOAT_EQ((*model)->threshold(), 0.f);
}

// Two requests in either order with filler words around and between them;
// the label is the one asked for first ("want_refund": refund before
// exchange). Unigrams, and bigrams (always keyword + filler), are the same
// for both labels: a bag of n-grams is at chance, a model of order is not.
std::vector<LabelledText> Ordered(int n, uint64_t seed) {
  const std::vector<std::string> fill = {"please", "hello", "now", "today", "thanks", "ok", "so", "maybe"};
  std::mt19937_64 rng(seed);
  std::vector<LabelledText> out;
  for (int k = 0; k < n; ++k) {
    const bool refund_first = rng() % 2;
    const std::string a = refund_first ? "refund" : "exchange", b = refund_first ? "exchange" : "refund";
    auto f = [&] { return fill[rng() % fill.size()]; };
    out.push_back({std::to_string(k), f() + " " + a + " " + f() + " " + f() + " " + b + " " + f(), "want_" + a});
  }
  return out;
}

double Accuracy(const TextClassifier& m, const std::vector<LabelledText>& data) {
  return EvaluateClassifier(m, data)["accuracy"].get<double>();
}

ClassifierOptions Small(const std::string& model) {
  ClassifierOptions o;
  o.model = model;
  o.dim = 64;
  o.vocab_size = 500;
  o.max_len = 32;
  o.pretrain_epochs = 8;
  return o;
}

// Fresh planted tickets (seed) and out-of-scope ones (seed + 1): the intents
// are learned and most out-of-scope messages refused.
void ExpectPlantedIntentsAndRefusals(const TextClassifier& model, uint64_t seed) {
  std::vector<LabelledText> test = Tickets(300, seed);
  const auto oos = Tickets(60, seed + 1, true);
  test.insert(test.end(), oos.begin(), oos.end());
  const auto report = EvaluateClassifier(model, test);
  EXPECT_GT(report["in_scope_accuracy"].get<double>(), 0.95) << report.dump();
  EXPECT_GT(report["oos_recall"].get<double>(), 0.5) << report.dump();
}

// Few-shot intents, like BANKING77 or CLINC150 with 20-30 texts a class: 40
// intents, each with its own cue word and one of 8 topic words, among 12
// filler words from a pool of 300; `per_class` texts each. (Words of
// letters only: digits are normalised away.)
std::vector<LabelledText> FewShot(int per_class, uint64_t seed) {
  auto word = [](char prefix, size_t i) {
    const char* consonants = "bcdfghjklmnprstvz";
    const char* vowels = "aeiou";
    char w[8] = {prefix};
    for (int k = 0; k < 3; ++k, i /= 85) w[1 + 2 * k] = consonants[i % 17], w[2 + 2 * k] = vowels[(i / 17) % 5];
    return std::string(w);
  };
  std::mt19937_64 rng(seed);
  std::vector<LabelledText> out;
  for (size_t c = 0; c < 40; ++c) {
    for (int k = 0; k < per_class; ++k) {
      std::vector<std::string> words = {word('q', c * 7 + 3), word('t', c % 8 + 500)};
      for (int f = 0; f < 12; ++f) words.push_back(word('f', 1000 + rng() % 300));
      std::shuffle(words.begin(), words.end(), rng);
      std::string text = words[0];
      for (size_t w = 1; w < words.size(); ++w) text.append(" ").append(words[w]);
      out.push_back({std::to_string(out.size()), text, word('i', c)});
    }
  }
  return out;
}

// With the epochs left to the model, a few-shot set gets a longer schedule
// than 25 epochs (chosen on the hold-out, where 10 and 25 epochs are both at
// chance), and the held-out texts are then trained on too. Measured: 0.65
// against 0.025 (chance) for 25 epochs on 85% of the rows.
TEST(TextClassifier, FewShotIntentsGetALongerScheduleAndAllTheRows) {
  const Context ctx(testing::QuietOptions(2));
  const std::vector<LabelledText> train = FewShot(10, 5), test = FewShot(20, 6);
  ClassifierOptions o;
  o.out_of_scope = false;
  auto chosen = TrainClassifier(ctx, train, o);
  ASSERT_TRUE(chosen.ok()) << chosen.status().message();
  const auto report = (*chosen)->report();
  EXPECT_TRUE(report["epochs_tried"].contains("100")) << report.dump();
  EXPECT_GE(report["epochs_run"].get<int>(), 50) << report.dump();
  EXPECT_EQ(report["refit_examples"].get<size_t>(), train.size()) << report.dump();
  o.epochs = 25;
  o.refit = false;
  auto fixed = TrainClassifier(ctx, train, o);
  ASSERT_TRUE(fixed.ok());
  EXPECT_FALSE((*fixed)->report().contains("refit_examples"));
  const double acc_chosen = Accuracy(**chosen, test), acc_fixed = Accuracy(**fixed, test);
  RecordProperty("accuracy_chosen", std::to_string(acc_chosen));
  RecordProperty("accuracy_25_epochs", std::to_string(acc_fixed));
  EXPECT_GT(acc_chosen, 0.5);
  EXPECT_GT(acc_chosen, acc_fixed + 0.3);
}

// With either of sentencepiece's subword models.
TEST(TextClassifier, CnnLearnsPlantedIntentsAndReloads) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  for (const std::string tokenizer : {"bpe", "unigram"}) {
    SCOPED_TRACE(tokenizer);
    ClassifierOptions o = Small("cnn");
    o.epochs = 8;
    o.tokenizer = tokenizer;
    auto model = TrainClassifier(ctx, Tickets(1200, 21), o);
    ASSERT_TRUE(model.ok()) << model.status().message();
    ExpectPlantedIntentsAndRefusals(**model, 22);
    testing::TempDir dir;
    ASSERT_TRUE((*model)->Save(dir.file("m")).ok());
    EXPECT_TRUE(ClassifierNeedsTorch(dir.file("m")));
    auto tok = Tokenizer::Load(dir.file("m/tokenizer.json"));
    ASSERT_TRUE(tok.ok()) << tok.status().message();
    EXPECT_EQ(tok->model(), tokenizer);
    auto back = LoadClassifier(dir.file("m"));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ((*back)->model(), "cnn");
    const std::vector<std::string> texts = {"我要退款 订单123456", "where is my order 98765", "tell me a joke"};
    const auto p = (*model)->Predict(texts, 3), q = (*back)->Predict(texts, 3);
    for (size_t k = 0; k < texts.size(); ++k) {
      EXPECT_EQ(p[k].label, q[k].label);
      // The reloaded model runs on the CPU; the trained one on the Context's device,
      // where a GPU's TF32 convolutions round differently.
      for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(p[k].top[j].second, q[k].top[j].second, ctx.device() == "cpu" ? 1e-5 : 1e-3);
    }
    EXPECT_EQ((*back)->Embed(texts)[0].size(), static_cast<size_t>((*back)->embedding_dim()));
  }
}

// Long reviews whose verdict comes last, after 70-110 characters of hotel
// talk, as in ChnSentiCorp's hotel set: the automatic max_len (the length
// 99% of the training texts fit in) keeps the verdict; a 32-token cut loses
// it and leaves a coin toss. The length is checked against the model's own
// tokenizer.
TEST(TextClassifier, CnnReadsLongReviewsToTheVerdictWithTheAutomaticLength) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  const std::vector<std::string> talk = {"房间", "前台", "早餐", "位置", "电梯", "窗户", "浴室", "床单", "停车", "大堂",
                                         "楼层", "空调", "地毯", "行李", "客房", "走廊", "毛巾", "网络", "门口", "餐厅"};
  auto reviews = [&](int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<LabelledText> out;
    for (int k = 0; k < n; ++k) {
      std::string text;
      for (int w = 0, words = 35 + static_cast<int>(rng() % 21); w < words; ++w) text += talk[rng() % talk.size()];
      const bool good = rng() % 2;
      text += good ? "总之很满意" : "总之很失望";
      out.push_back({std::to_string(k), text, good ? "positive" : "negative"});
    }
    return out;
  };
  const auto train = reviews(600, 31), test = reviews(200, 32);
  ClassifierOptions o = Small("cnn");
  o.epochs = 6;
  o.out_of_scope = false;
  o.max_len = 0;
  auto full = TrainClassifier(ctx, train, o);
  ASSERT_TRUE(full.ok()) << full.status().message();
  testing::TempDir dir;
  ASSERT_TRUE((*full)->Save(dir.file("m")).ok());
  auto tok = Tokenizer::Load(dir.file("m/tokenizer.json"));
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  std::vector<size_t> lens;
  for (const auto& r : train) lens.push_back(tok->Encode(r.text).size());
  std::sort(lens.begin(), lens.end());
  const int64_t max_len = (*full)->report().at("max_len").get<int64_t>();
  EXPECT_EQ(max_len, static_cast<int64_t>(lens[lens.size() * 99 / 100])) << lens.front() << " .. " << lens.back();
  EXPECT_GT(max_len, 32);
  EXPECT_GT(Accuracy(**full, test), 0.95);
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_GT(Accuracy(**back, test), 0.95);

  o.max_len = 32;
  auto cut = TrainClassifier(ctx, train, o);
  ASSERT_TRUE(cut.ok()) << cut.status().message();
  EXPECT_EQ((*cut)->report().at("max_len").get<int64_t>(), 32);
  EXPECT_LT(Accuracy(**cut, test), 0.7);
}

// The ensemble of linear, fasttext and cnn: its probabilities are the mean
// of its members' (loaded back on their own), it learns the planted intents,
// and it reloads through the torch loader (its cnn member needs libtorch).
TEST(TextClassifier, EnsembleIsTheMeanOfItsMembersAndReloads) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  ClassifierOptions o = Small("ensemble");
  o.epochs = 8;
  auto model = TrainClassifier(ctx, Tickets(1200, 31), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ((*model)->model(), "ensemble");
  ExpectPlantedIntentsAndRefusals(**model, 32);
  testing::TempDir dir;
  ASSERT_TRUE((*model)->Save(dir.file("m")).ok());
  EXPECT_TRUE(ClassifierNeedsTorch(dir.file("m")));
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  std::vector<std::unique_ptr<TextClassifier>> members;
  for (const std::string name : {"linear", "fasttext", "cnn"}) {
    auto m = LoadClassifier(dir.file("m/member_" + std::to_string(members.size())));
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ((*m)->model(), name);
    members.push_back(std::move(*m));
  }
  const std::vector<std::string> texts = {"我要退款 订单123456", "where is my order 98765", "tell me a joke"};
  const int classes = static_cast<int>((*back)->labels().size());
  const auto e = (*back)->Predict(texts, classes);
  for (size_t k = 0; k < texts.size(); ++k) {
    std::map<std::string, double> mean;
    for (const auto& m : members) {
      const auto pm = m->Predict({texts[k]}, classes);
      for (const auto& [label, p] : pm[0].top) mean[label] += p / 3;
    }
    for (const auto& [label, p] : e[k].top) EXPECT_NEAR(p, mean[label], 1e-5) << texts[k] << " " << label;
  }
  // Its embedding is fasttext's (the linear member's would be class scores).
  EXPECT_EQ((*back)->embedding_dim(), members[1]->embedding_dim());
  EXPECT_EQ((*back)->Embed(texts), members[1]->Embed(texts));
}

// auto trains linear, fasttext and cnn, scores every mean of two or more on
// the hold-out, and on planted tickets (where every choice is right on the
// hold-out: none is clearly better) keeps the mean of all three.
TEST(TextClassifier, AutoKeepsTheMeanOfAllUnlessOneIsClearlyBetter) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  ClassifierOptions o = Small("auto");
  o.epochs = 5;
  auto model = TrainClassifier(ctx, Tickets(800, 51), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const auto report = (*model)->report();
  for (const char* key : {"linear", "fasttext", "cnn", "ensemble(linear+fasttext)", "ensemble(linear+cnn)",
                          "ensemble(fasttext+cnn)", "ensemble(linear+fasttext+cnn)"}) {
    EXPECT_TRUE(report["auto"].contains(key)) << key << " " << report.dump();
  }
  EXPECT_EQ((*model)->model(), "ensemble");
  EXPECT_EQ(report["members"].size(), 3u) << report.dump();
  ExpectPlantedIntentsAndRefusals(**model, 52);
}

// The linear model (one-vs-rest linear SVMs over sparse n-grams): learns the
// planted intents in both languages, refuses what it never saw, picks C on
// the hold-out, learns the held-out rows too, and reloads torch-free with
// the same probabilities.
TEST(TextClassifier, LinearLearnsPlantedIntentsAndReloadsTorchFree) {
  const Context ctx(testing::QuietOptions(2));
  ClassifierOptions o;
  o.model = "linear";
  const auto data = Tickets(1200, 41);
  auto model = TrainClassifier(ctx, data, o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ((*model)->model(), "linear");
  ExpectPlantedIntentsAndRefusals(**model, 42);
  const auto report = (*model)->report();
  EXPECT_EQ(report["c_tried"].size(), 4u) << report.dump();
  EXPECT_EQ(report["refit_examples"].get<size_t>(), data.size()) << report.dump();
  EXPECT_GT(report["temperature"].get<double>(), 0.02);
  const auto p = (*model)->Predict({"我要退款 订单123456", "i want a refund for order 98765", "订单556677到哪了"}, 2);
  EXPECT_EQ(p[0].label, "refund");
  EXPECT_EQ(p[1].label, "refund");
  EXPECT_EQ(p[2].label, "order_status");
  testing::TempDir dir;
  ASSERT_TRUE((*model)->Save(dir.file("m")).ok());
  EXPECT_FALSE(ClassifierNeedsTorch(dir.file("m")));
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->model(), "linear");
  std::vector<std::string> texts;
  for (const auto& t : Tickets(100, 43)) texts.push_back(t.text);
  texts.push_back("");
  texts.push_back("zzzz qqqq unseen words only");
  const auto a = (*model)->Predict(texts, 5), b = (*back)->Predict(texts, 5);
  for (size_t k = 0; k < texts.size(); ++k) {
    EXPECT_EQ(a[k].label, b[k].label) << texts[k];
    for (size_t j = 0; j < a[k].top.size(); ++j) EXPECT_FLOAT_EQ(a[k].top[j].second, b[k].top[j].second) << texts[k];
  }
}

// On few-shot intents the linear model needs no schedule: every feature has
// its own weight per class (40 intents, 10 texts each).
TEST(TextClassifier, LinearLearnsFewShotIntents) {
  const Context ctx(testing::QuietOptions(2));
  ClassifierOptions o;
  o.model = "linear";
  o.out_of_scope = false;
  auto model = TrainClassifier(ctx, FewShot(10, 5), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const double acc = Accuracy(**model, FewShot(20, 6));
  RecordProperty("accuracy", std::to_string(acc));
  EXPECT_GT(acc, 0.8);
}

// On a large set C is searched on a sample of at most 20,000 fit rows, then
// trained once on all the rows; the planted intents are still learned.
TEST(TextClassifier, LinearSearchesCOnASampleOfALargeSet) {
  const Context ctx(testing::QuietOptions(2));
  ClassifierOptions o;
  o.model = "linear";
  const auto data = Tickets(26000, 61);
  auto model = TrainClassifier(ctx, data, o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const auto report = (*model)->report();
  EXPECT_LE(report["c_search_examples"].get<size_t>(), 20000u) << report.dump();
  EXPECT_GE(report["c_search_examples"].get<size_t>(), 10000u) << report.dump();
  EXPECT_EQ(report["refit_examples"].get<size_t>(), data.size());
  ExpectPlantedIntentsAndRefusals(**model, 62);
}

// A single model that `auto` keeps is saved with the report of what was tried.
TEST(TextClassifier, AutoSavesWhatItTried) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  ClassifierOptions o = Small("auto");
  o.epochs = 3;
  auto model = TrainClassifier(ctx, FewShot(10, 5), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  testing::TempDir dir;
  ASSERT_TRUE((*model)->Save(dir.file("m")).ok());
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->model(), (*model)->model());
  EXPECT_TRUE((*back)->report()["auto"].contains("linear")) << (*back)->report().dump();
}

// Word order: the bag of n-grams cannot tell "refund ... exchange" from
// "exchange ... refund"; the Transformer (positions, attention) can.
TEST(TextClassifier, TransformerSeparatesWordOrderThatTheBagCannot) {
  const Context ctx(testing::QuietOptions(2));
  const auto train = Ordered(1500, 31), test = Ordered(400, 32);
  ClassifierOptions ft;
  ft.out_of_scope = false;
  auto bag = TrainClassifier(ctx, train, ft);
  ASSERT_TRUE(bag.ok()) << bag.status().message();
  ClassifierOptions o = Small("transformer");
  o.out_of_scope = false;
  o.epochs = 15;
  auto tf = TrainClassifier(ctx, train, o);
  ASSERT_TRUE(tf.ok()) << tf.status().message();
  EXPECT_LT(Accuracy(**bag, test), 0.65);
  EXPECT_GT(Accuracy(**tf, test), 0.9) << (*tf)->report().dump();
}

// Pre-training on unlabeled text: the masked-token loss falls below its
// start and below the context-free (unigram) loss; the encoder then
// fine-tunes to the planted intents.
TEST(TextClassifier, MaskedLanguageModelPretrainingThenFineTuning) {
  const Context ctx(testing::QuietOptions(2));
  std::vector<std::string> corpus;
  for (const auto& t : Tickets(1500, 41)) corpus.push_back(t.text);
  PretrainOptions po;
  po.dim = 64;
  po.vocab_size = 500;
  po.max_len = 32;
  po.epochs = 6;
  testing::TempDir dir;
  auto r = PretrainEncoder(ctx, corpus, po, dir.file("enc"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LT((*r)["final_loss"].get<double>(), 0.7 * (*r)["initial_loss"].get<double>()) << r->dump();
  EXPECT_LT((*r)["final_loss"].get<double>(), (*r)["unigram_loss"].get<double>()) << r->dump();
  ClassifierOptions o = Small("transformer");
  o.pretrained = dir.file("enc");
  o.epochs = 6;
  auto model = TrainClassifier(ctx, Tickets(600, 42), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_GT(EvaluateClassifier(**model, Tickets(300, 43))["in_scope_accuracy"].get<double>(), 0.9);
  EXPECT_FALSE((*model)->report().contains("pretraining"));  // the given encoder was used
}

// A TorchScript encoder: the masked mean of `table`'s rows (0 pads).
std::string WriteMeanEncoder(testing::TempDir& dir, const std::string& name, const torch::Tensor& table) {
  torch::jit::Module enc("MeanEncoder");
  enc.register_parameter("emb", table, false);
  enc.define(R"JIT(
def forward(self, tokens):
    e = torch.embedding(self.emb, tokens, 0)
    mask = (tokens != 0).unsqueeze(-1).to(e.dtype)
    return (e * mask).sum(1) / mask.sum(1).clamp_min(1.0)
)JIT");
  enc.save(dir.file(name));
  return dir.file(name);
}

// An encoder exported to TorchScript (here built in C++: the masked mean of
// a random embedding table) is loaded, a head trained on it, and the model
// saved and loaded with the encoder inside.
TEST(TextClassifier, TorchScriptEncoderTrainsAHead) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  testing::TempDir dir;
  torch::manual_seed(5);
  ClassifierOptions o = Small("transformer");
  o.encoder = WriteMeanEncoder(dir, "enc.pt", torch::randn({600, 64}));
  o.epochs = 30;
  o.learning_rate = 1e-2;
  auto model = TrainClassifier(ctx, Tickets(1000, 51), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ((*model)->embedding_dim(), 64);
  EXPECT_GT(Accuracy(**model, Tickets(300, 52)), 0.8);  // chance: 0.2
  ASSERT_TRUE((*model)->Save(dir.file("m")).ok());
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto p = (*model)->Predict({"我要退款"}, 1), q = (*back)->Predict({"我要退款"}, 1);
  EXPECT_EQ(p[0].label, q[0].label);
  EXPECT_NEAR(p[0].confidence, q[0].confidence, 1e-5);
}

// A WordPiece vocab.txt holding every word of the tickets (BERT's split).
std::string WriteVocab(testing::TempDir& dir, std::vector<std::string>* pieces) {
  const std::string seed = dir.Write("seed.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  auto wp = WordPiece::FromVocab(seed);
  EXPECT_TRUE(wp.ok());
  std::set<std::string> words;
  for (const auto& t : Tickets(2000, 71)) {
    for (const auto& w : wp->Split(t.text)) words.insert(w);
  }
  *pieces = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
  pieces->insert(pieces->end(), words.begin(), words.end());
  std::string text;
  for (const auto& p : *pieces) text += p + "\n";
  return dir.Write("vocab.txt", text);
}

// A transformer head on that encoder, ids from `vocab`, nothing refused.
ClassifierOptions OnMeanEncoder(testing::TempDir& dir, const torch::Tensor& table, const std::string& vocab, int epochs,
                                double rate) {
  ClassifierOptions o = Small("transformer");
  o.encoder = WriteMeanEncoder(dir, "enc.pt", table);
  o.vocab = vocab;
  o.max_len = 0;
  o.epochs = epochs;
  o.learning_rate = rate;
  o.out_of_scope = false;
  return o;
}

// The encoder's ids must be its vocabulary's: a frozen encoder whose rows
// for each intent's keywords point one way (every other row zero) separates
// the intents only when the tokens reach it with the vocab.txt's ids.
TEST(TextClassifier, WordPieceVocabGivesTheEncoderItsOwnIds) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  testing::TempDir dir;
  std::vector<std::string> pieces;
  const std::string vocab = WriteVocab(dir, &pieces);
  const std::vector<std::vector<std::string>> keywords = {
      {"refund", "退"}, {"where", "arrive", "到", "时"}, {"invoice", "票"}, {"terrible", "angry", "差"}, {"address", "址"}};
  auto table = torch::zeros({static_cast<int64_t>(pieces.size()), 5});
  for (size_t c = 0; c < keywords.size(); ++c) {
    for (const auto& k : keywords[c]) {
      const auto at = std::find(pieces.begin(), pieces.end(), k);
      ASSERT_NE(at, pieces.end()) << k;
      table[at - pieces.begin()][static_cast<int64_t>(c)] = 1.0;
    }
  }
  ClassifierOptions o = OnMeanEncoder(dir, table, vocab, 40, 5e-2);
  auto model = TrainClassifier(ctx, Tickets(600, 72), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_GT(Accuracy(**model, Tickets(300, 73)), 0.97);
  EXPECT_EQ((*model)->report()["vocab"].get<int>(), static_cast<int>(pieces.size()));
  EXPECT_FALSE((*model)->report().contains("encoder_finetuned"));
  ASSERT_TRUE((*model)->Save(dir.file("m")).ok());
  EXPECT_TRUE(WordPiece::IsWordPieceFile(dir.file("m/tokenizer.json")));
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto p = (*model)->Predict({"我要退款", "where is my teapot"}, 1), q = (*back)->Predict({"我要退款", "where is my teapot"}, 1);
  EXPECT_EQ(p[0].label, "refund");
  EXPECT_EQ(p[1].label, "order_status");
  for (size_t k = 0; k < p.size(); ++k) {
    EXPECT_EQ(p[k].label, q[k].label);
    EXPECT_NEAR(p[k].confidence, q[k].confidence, 1e-5);
  }
  // The same encoder fed the ids of a tokenizer trained here sees rows
  // that mean nothing.
  o.vocab.clear();
  auto wrong = TrainClassifier(ctx, Tickets(600, 72), o);
  ASSERT_TRUE(wrong.ok()) << wrong.status().message();
  EXPECT_LT(Accuracy(**wrong, Tickets(300, 73)), 0.8);
  // A vocab without an encoder is refused.
  ClassifierOptions bad = Small("transformer");
  bad.vocab = vocab;
  EXPECT_FALSE(TrainClassifier(ctx, Tickets(100, 74), bad).ok());
}

// Fine-tuning trains the encoder's weights with the head: a random
// two-dimensional embedding cannot hold five intents frozen, but can once
// it learns; the tuned encoder is saved and loaded with the model.
TEST(TextClassifier, FineTunedTorchScriptEncoderLearnsItsWeights) {
  const Context ctx(testing::QuietOptions(2));
  RegisterTorchTextModels();
  testing::TempDir dir;
  std::vector<std::string> pieces;
  const std::string vocab = WriteVocab(dir, &pieces);
  torch::manual_seed(7);
  const auto table = torch::randn({static_cast<int64_t>(pieces.size()), 2});
  ClassifierOptions o = OnMeanEncoder(dir, table, vocab, 30, 3e-2);
  auto frozen = TrainClassifier(ctx, Tickets(800, 75), o);
  ASSERT_TRUE(frozen.ok()) << frozen.status().message();
  o.finetune_encoder = true;
  auto tuned = TrainClassifier(ctx, Tickets(800, 75), o);
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  const auto test = Tickets(300, 76);
  const double a_frozen = Accuracy(**frozen, test), a_tuned = Accuracy(**tuned, test);
  EXPECT_LT(a_frozen, 0.85);
  EXPECT_GT(a_tuned, 0.95);
  EXPECT_TRUE((*tuned)->report().value("encoder_finetuned", false));
  ASSERT_TRUE((*tuned)->Save(dir.file("m")).ok());
  auto back = LoadClassifier(dir.file("m"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_NEAR(Accuracy(**back, test), a_tuned, 1e-9);
  // The saved encoder is the tuned one, not the file it started from.
  auto saved = torch::jit::load(dir.file("m/encoder.pt"));
  EXPECT_FALSE(torch::allclose(saved.attr("emb").toTensor(), table));
}

TEST(TextClassifier, CrossValidationReportsEveryFold) {
  const Context ctx(testing::QuietOptions(2));
  ClassifierOptions o;
  o.epochs = 5;
  auto r = CrossValidateClassifier(ctx, Tickets(500, 61), o, 4);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)["folds"].size(), 4u);
  int64_t rows = 0;
  double sum = 0;
  for (const auto& f : (*r)["folds"]) rows += f["examples"].get<int64_t>(), sum += f["accuracy"].get<double>();
  EXPECT_EQ(rows, 500);
  EXPECT_NEAR((*r)["accuracy_mean"].get<double>(), sum / 4, 1e-12);
  EXPECT_GT((*r)["accuracy_mean"].get<double>(), 0.9);
  EXPECT_GE((*r)["accuracy_std"].get<double>(), 0.0);
  EXPECT_TRUE((*r).contains("macro_f1_std"));
  EXPECT_FALSE(CrossValidateClassifier(ctx, Tickets(50, 62), o, 1).ok());
}

TEST(TextClassifier, ReadsLabelledCsvWithClearErrors) {
  testing::TempDir dir;
  const std::string good = dir.Write("t.csv", "id,text,label,extra\na1,\"hello, world\",greet,x\na2,退款,refund,y\n");
  auto rows = ReadTextCsv(good, true);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].text, "hello, world");
  EXPECT_EQ((*rows)[1].id, "a2");
  const std::string bad = dir.Write("b.csv", "text,label\nhi,greet\nbye,\n");
  auto r = ReadTextCsv(bad, true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("b.csv:3: field 'label'"), std::string::npos) << r.status().message();
  EXPECT_FALSE(ReadTextCsv(dir.Write("c.csv", "words\nhi\n"), false).ok());
}


// The streaming reader gives the same rows in batches, numbers rows without
// an id across batches, and reports a bad row with its line.
TEST(TextClassifier, TextCsvReaderStreamsInBatches) {
  testing::TempDir dir;
  std::string csv = "text,label\n";
  for (int k = 0; k < 25; ++k) csv += "text " + std::to_string(k) + ",l" + std::to_string(k % 3) + "\n";
  auto reader = TextCsvReader::Open(dir.Write("t.csv", csv), true);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  std::vector<LabelledText> batch, all;
  std::vector<size_t> sizes;
  for (;;) {
    ASSERT_TRUE((*reader)->Next(10, &batch).ok());
    if (batch.empty()) break;
    sizes.push_back(batch.size());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  ASSERT_EQ(all.size(), 25u);
  EXPECT_EQ(all[17].id, "18");
  EXPECT_EQ(all[17].text, "text 17");
  EXPECT_EQ(all[17].label, "l2");
  auto bad = TextCsvReader::Open(dir.Write("b.csv", csv + "\xff\xfe,l1\n"), true);
  ASSERT_TRUE(bad.ok());
  Status st;
  do {
    st = (*bad)->Next(10, &batch);
  } while (st.ok() && !batch.empty());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("b.csv:27: field 'text': invalid UTF-8"), std::string::npos) << st.message();
  EXPECT_FALSE(TextCsvReader::Open(dir.Write("e.csv", ""), false).ok());
  EXPECT_FALSE(TextCsvReader::Open(dir.file("missing.csv"), false).ok());
}

}  // namespace
}  // namespace opspilot::nlp
