#include "nlp/classifier.h"

#include <gtest/gtest.h>

#include <random>

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
  ClassifierOptions o;
  o.epochs = 15;
  o.batch_size = 64;
  o.features.buckets = 20000;  // dense Adam updates every bucket each step: keep the test quick
  auto model = TrainClassifier(ctx, Tickets(1500, 1), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
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

  testing::TempDir dir;
  ASSERT_TRUE((*model)->Save(dir.path() + "/m").ok());
  auto back = LoadClassifier(dir.path() + "/m");
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto q = (*back)->Predict({"我要退款 订单123456"}, 1);
  EXPECT_EQ(q[0].label, p[0].label);
  EXPECT_NEAR(q[0].confidence, p[0].confidence, 1e-5);
  EXPECT_FLOAT_EQ((*back)->threshold(), (*model)->threshold());
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

}  // namespace
}  // namespace opspilot::nlp
