// The demo's support section end to end (it needs a text trainer, so it
// lives in the libtorch test binary): models trained on the generated
// tickets, then the tour's new messages answered.
#include <gtest/gtest.h>

#include "demo/demo_job.h"
#include "nlp/classifier.h"
#include "testing/temp_dir.h"

namespace opspilot::demo {
namespace {

using nlohmann::json;

TEST(DemoSupport, AnswersTheTourMessagesFromTemplatesFaqAndHandsOff) {
  testing::TempDir dir;
  ContextOptions o;
  o.progress = ProgressMode::kQuiet;
  o.log.level = LogLevel::kOff;
  const Context ctx(o);
  DemoJobOptions jo;
  jo.shop.scale = 0.3;
  jo.dir = dir.file("demo");
  jo.train_text = nlp::TrainClassifier;
  auto res = RunDemo(ctx, jo);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  const json& s = res->summary;
  // The planted intents and sentiments are learned from earlier tickets.
  EXPECT_GT(s["support_eval"]["intent"]["accuracy"].get<double>(), 0.9) << s["support_eval"].dump();
  EXPECT_GT(s["support_eval"]["sentiment"]["accuracy"].get<double>(), 0.8) << s["support_eval"].dump();
  const json& r = s["support_replies"];
  ASSERT_EQ(r.size(), 7u) << r.dump();
  // Where is my order: the order_status template, filled from the store.
  EXPECT_EQ(r[0]["source"], "template") << r[0].dump();
  EXPECT_EQ(r[0]["intent"], "order_status") << r[0].dump();
  // An invoice needs the order number: asked for, then answered.
  EXPECT_EQ(r[1]["source"], "clarify") << r[1].dump();
  EXPECT_EQ(r[2]["source"], "template") << r[2].dump();
  EXPECT_EQ(r[2]["intent"], "invoice") << r[2].dump();
  // Shipping cost is no ticket intent: the message is novel to the intent
  // model, and the FAQ answers it.
  EXPECT_TRUE(r[3]["analysis"]["intent_novel"].get<bool>()) << r[3].dump();
  EXPECT_EQ(r[3]["source"], "faq") << r[3].dump();
  EXPECT_EQ(r[3]["faq_id"], "shipping_zh") << r[3].dump();
  EXPECT_EQ(r[4]["faq_id"], "storage_en") << r[4].dump();
  // Fury and an explicit request go to a human, with the reason.
  EXPECT_TRUE(r[5]["handoff"].get<bool>()) << r[5].dump();
  EXPECT_NE(r[5]["handoff_reason"].get<std::string>().find("negative"), std::string::npos) << r[5].dump();
  EXPECT_TRUE(r[6]["handoff"].get<bool>()) << r[6].dump();
  EXPECT_EQ(r[6]["handoff_reason"], "the customer asked for a human") << r[6].dump();
}

}  // namespace
}  // namespace opspilot::demo
