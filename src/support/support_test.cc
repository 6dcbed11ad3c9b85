#include "support/support.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <set>
#include <thread>

#include "core/strings.h"
#include "core/time.h"
#include "testing/temp_dir.h"

namespace opspilot::support {
namespace {

using nlohmann::json;

// A keyword classifier standing in for a trained model, so these tests
// check the workflow's rules, not a model's accuracy (the classifier tests
// and the demo test do that).
class KeywordClassifier : public nlp::TextClassifier {
 public:
  KeywordClassifier(std::vector<std::pair<std::string, std::string>> rules, std::vector<std::string> labels)
      : rules_(std::move(rules)), labels_(std::move(labels)) {}
  std::vector<nlp::Prediction> Predict(const std::vector<std::string>& texts, int top) const override {
    std::vector<nlp::Prediction> out;
    for (const auto& t : texts) {
      nlp::Prediction p;
      std::string label;
      for (const auto& [word, l] : rules_) {
        if (label.empty() && t.find(word) != std::string::npos) label = l;
      }
      p.label = label.empty() ? nlp::kOutOfScope : label;
      p.confidence = label.empty() ? 0.2f : 0.9f;
      if (t.find("zork") != std::string::npos) {  // words it never saw: novel, however confident
        label = "praise", p.confidence = 0.99f, p.known = 0.2f, p.novel = true, p.label = nlp::kOutOfScope;
      }
      p.top = {{label.empty() ? labels_[0] : label, p.confidence}};
      for (const auto& l : labels_) {
        if (static_cast<int>(p.top.size()) < top && l != p.top[0].first) p.top.emplace_back(l, (1 - p.confidence) / 2);
      }
      out.push_back(p);
    }
    return out;
  }
  std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) const override { return {}; }
  int embedding_dim() const override { return 0; }
  Status Save(const std::string&) const override { return Status::Ok(); }
  const std::string& model() const override { return name_; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float threshold() const override { return 0.5f; }
  float temperature() const override { return 1; }
  json report() const override { return json::object(); }

 private:
  std::vector<std::pair<std::string, std::string>> rules_;
  std::vector<std::string> labels_;
  std::string name_ = "keyword";
};

class FakeFacts : public Facts {
 public:
  std::optional<OrderFacts> Order(const std::string& id) const override {
    if (id != "O20250304-1234") return std::nullopt;
    OrderFacts o;
    o.order_id = id, o.status = "shipped", o.date = "2025-03-04", o.total = 256, o.items = {"West Lake Longjing"};
    return o;
  }
  int RecentContacts(const std::string& user, int64_t, int) const override { return user == "u_frequent" ? 2 : 0; }
};

SupportAgent::Parts ShopParts() {
  SupportAgent::Parts p;
  p.intent = std::make_shared<KeywordClassifier>(
      std::vector<std::pair<std::string, std::string>>{{"where is my order", "order_status"}, {"到哪", "order_status"},
                                                       {"refund", "refund"}, {"退款", "refund"}, {"invoice", "invoice"},
                                                       {"packaging", "complaint"}, {"love", "praise"},
                                                       {"how much does shipping", "praise"}},  // planted mistake
      std::vector<std::string>{"order_status", "refund", "invoice", "complaint", "praise"});
  nlp::FaqEntry shipping;
  shipping.id = "shipping_cost", shipping.question = "How much does shipping cost?";
  shipping.answer = "Shipping is free above 99 yuan.";
  shipping.language = "en";
  p.faq = {shipping};
  p.entities.AddProduct("West Lake Longjing", "i001");
  return p;
}

const int64_t kNow = 1741600000;  // 2025-03-10

TEST(Support, LexiconSentimentReadsNegationAndIntensity) {
  const auto strong = LexiconSentiment("This is terrible, the worst service ever!!!");
  EXPECT_EQ(strong.label, "negative");
  EXPECT_LT(strong.score, -0.8);
  EXPECT_EQ(LexiconSentiment("not bad at all").label, "neutral");
  EXPECT_GT(LexiconSentiment("not bad at all").score, 0);
  EXPECT_EQ(LexiconSentiment("not good").label, "negative");
  EXPECT_EQ(LexiconSentiment("很好喝，非常满意").label, "positive");
  const auto zh = LexiconSentiment("太差了，非常生气！");
  EXPECT_EQ(zh.label, "negative");
  EXPECT_LT(zh.score, -0.8);
  EXPECT_EQ(LexiconSentiment("不好喝").label, "negative");
  EXPECT_EQ(LexiconSentiment("where is my order").label, "neutral");
  // Intensifiers raise the intensity.
  EXPECT_GT(LexiconSentiment("very very bad").intensity, LexiconSentiment("bad").intensity);
}

TEST(Support, MultiTurnAsksForTheMissingOrderNumberThenAnswersFromTheStore) {
  const SupportAgent agent(ShopParts());
  const FakeFacts facts;
  Conversation c;
  c.id = "c1";
  Reply r1 = agent.Respond(&c, "Hi, where is my order?", &facts, kNow);
  EXPECT_EQ(r1.source, "clarify");
  EXPECT_EQ(r1.pending_slots, std::vector<std::string>{"order_id"});
  EXPECT_EQ(c.pending_intent, "order_status");
  // The next message only carries the number: the pending intent continues.
  Reply r2 = agent.Respond(&c, "O20250304-1234", &facts, kNow + 30);
  EXPECT_EQ(r2.source, "template") << r2.text;
  EXPECT_NE(r2.text.find("O20250304-1234"), std::string::npos) << r2.text;
  EXPECT_NE(r2.text.find("on its way"), std::string::npos) << r2.text;  // status "shipped" from the facts
  EXPECT_NE(r2.text.find("West Lake Longjing"), std::string::npos) << r2.text;
  EXPECT_TRUE(c.pending_intent.empty());
  EXPECT_EQ(c.turns.size(), 4u);
  // Chinese in, Chinese out, with the entities of the message.
  Conversation z;
  Reply r3 = agent.Respond(&z, "订单O20250304-1234到哪了", &facts, kNow);
  EXPECT_EQ(r3.language, "zh");
  EXPECT_EQ(r3.source, "template");
  EXPECT_NE(r3.text.find("已发货"), std::string::npos) << r3.text;
  ASSERT_FALSE(r3.analysis.entities.empty());
  EXPECT_EQ(r3.analysis.entities[0].type, "order_id");
  EXPECT_EQ(r3.analysis.entities[0].char_begin, 2u);
  // A reply that is only the order number keeps the conversation's language.
  Conversation z2;
  EXPECT_EQ(agent.Respond(&z2, "我要退款", &facts, kNow).source, "clarify");
  const Reply r4 = agent.Respond(&z2, "O20250304-1234", &facts, kNow);
  EXPECT_EQ(r4.language, "zh");
  EXPECT_EQ(r4.intent, "refund");
  EXPECT_NE(r4.text.find("退款"), std::string::npos) << r4.text;
  EXPECT_TRUE(r4.analysis.entities_only);
}

// A message that is only an order number, with nothing pending, is kept and
// the agent asks what it is about, whatever a model would guess from the
// number; the next message then answers from it without asking again.
TEST(Support, AnOrderNumberAloneIsKeptAndTheAgentAsksWhatItIsAbout) {
  SupportAgent::Parts parts = ShopParts();
  // A model that reads the number as a refund request with confidence 0.9.
  parts.intent = std::make_shared<KeywordClassifier>(
      std::vector<std::pair<std::string, std::string>>{{"where is my order", "order_status"}, {"O2025", "refund"}},
      std::vector<std::string>{"order_status", "refund"});
  const SupportAgent agent(std::move(parts));
  const FakeFacts facts;
  Conversation c;
  const Reply r1 = agent.Respond(&c, "  O20250304-1234 ", &facts, kNow);
  EXPECT_TRUE(r1.analysis.entities_only);
  EXPECT_EQ(r1.analysis.intent, nlp::kOutOfScope);
  EXPECT_EQ(r1.source, "clarify") << r1.text;
  EXPECT_FALSE(r1.handoff);
  EXPECT_NE(r1.text.find("O20250304-1234"), std::string::npos) << r1.text;
  EXPECT_EQ(c.slots["order_id"], "O20250304-1234");
  const Reply r2 = agent.Respond(&c, "where is my order?", &facts, kNow + 20);
  EXPECT_EQ(r2.source, "template") << r2.text;
  EXPECT_NE(r2.text.find("on its way"), std::string::npos) << r2.text;
  // Words around the number: the model speaks.
  Conversation d;
  const Reply r3 = agent.Respond(&d, "refund O20250304-1234 please", &facts, kNow);
  EXPECT_FALSE(r3.analysis.entities_only);
  EXPECT_EQ(r3.analysis.intent, "refund");
  // Chinese punctuation around the number is still only the number.
  Conversation z;
  z.language = "zh";
  const Reply r4 = agent.Respond(&z, "O20250304-1234。", &facts, kNow);
  EXPECT_TRUE(r4.analysis.entities_only);
  EXPECT_EQ(r4.language, "zh");
  EXPECT_NE(r4.text.find("请问有什么可以帮您"), std::string::npos) << r4.text;
}

TEST(Support, HandsOffWithTheReason) {
  const SupportAgent agent(ShopParts());
  const FakeFacts facts;
  {
    Conversation c;
    const Reply r = agent.Respond(&c, "I want to talk to a real person", &facts, kNow);
    EXPECT_TRUE(r.handoff);
    EXPECT_EQ(r.handoff_reason, "the customer asked for a human");
    EXPECT_TRUE(c.handed_off);
  }
  {
    Conversation c;
    const Reply r = agent.Respond(&c, "转人工", &facts, kNow);
    EXPECT_TRUE(r.handoff);
    EXPECT_EQ(r.language, "zh");
  }
  {
    Conversation c;
    const Reply r = agent.Respond(&c, "This is absolutely terrible, the worst shop, I am furious!!!", &facts, kNow);
    EXPECT_TRUE(r.handoff);
    EXPECT_NE(r.handoff_reason.find("strong negative sentiment"), std::string::npos) << r.handoff_reason;
  }
  {
    Conversation c;
    c.user_id = "u_frequent";  // two earlier tickets this week: this is the third contact
    const Reply r = agent.Respond(&c, "where is my order O20250304-1234", &facts, kNow);
    EXPECT_TRUE(r.handoff);
    EXPECT_NE(r.handoff_reason.find("repeated contact: 3"), std::string::npos) << r.handoff_reason;
  }
  {
    Conversation c;  // nothing the agent knows, and no FAQ close enough
    const Reply r = agent.Respond(&c, "can you recommend a movie for tonight", &facts, kNow);
    EXPECT_TRUE(r.handoff);
    EXPECT_NE(r.handoff_reason.find("low confidence"), std::string::npos) << r.handoff_reason;
  }
  {
    Conversation c;  // a confident intent on a novel message is not trusted: the reason says why
    const Reply r = agent.Respond(&c, "zork the grue tonight", &facts, kNow);
    EXPECT_TRUE(r.handoff);
    EXPECT_TRUE(r.analysis.intent_novel);
    EXPECT_EQ(r.analysis.intent, nlp::kOutOfScope);
    EXPECT_NE(r.handoff_reason.find("unlike the training messages (20% of its features known)"), std::string::npos)
        << r.handoff_reason;
    EXPECT_EQ(r.ToJson()["analysis"]["intent_novel"], true);
  }
  {
    Conversation c;  // a confident but wrong intent with no slots yields to a close FAQ answer
    const Reply r = agent.Respond(&c, "how much does shipping cost?", &facts, kNow);
    EXPECT_EQ(r.analysis.intent, "praise");
    EXPECT_EQ(r.source, "faq") << r.text;
  }
  {
    Conversation c;  // out of the intents, but the FAQ answers it
    const Reply r = agent.Respond(&c, "how much is shipping", &facts, kNow);
    EXPECT_FALSE(r.handoff) << r.handoff_reason;
    EXPECT_EQ(r.source, "faq");
    EXPECT_EQ(r.faq_id, "shipping_cost");
  }
  {
    Conversation c;  // an unknown order number twice, then a human
    EXPECT_EQ(agent.Respond(&c, "where is my order O99999999", &facts, kNow).source, "clarify");
    const Reply again = agent.Respond(&c, "O88888888", &facts, kNow);
    EXPECT_EQ(again.source, "clarify");
    EXPECT_NE(again.text.find("couldn't find"), std::string::npos) << again.text;
    const Reply third = agent.Respond(&c, "O77777777", &facts, kNow);
    EXPECT_TRUE(third.handoff) << third.text;
  }
  {
    Conversation c;  // complaints are answered and handed off
    const Reply r = agent.Respond(&c, "the packaging was bad", &facts, kNow);
    EXPECT_EQ(r.source, "template");
    EXPECT_TRUE(r.handoff);
  }
}

// A small OpenAI-compatible server: each test sets how it behaves.
class FakeLlm {
 public:
  enum Mode { kOk, kSlow, kMalformed, kRefusal, kFlaky, kServerError };
  FakeLlm() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      ++calls_;
      last_body_ = req.body;
      last_auth_ = req.get_header_value("Authorization");
      switch (mode_.load()) {
        case kSlow:
          std::this_thread::sleep_for(std::chrono::milliseconds(1500));
          break;
        case kMalformed:
          res.set_content("{\"choices\": \"oops\"", "application/json");
          return;
        case kRefusal:
          res.set_content(R"({"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]})", "application/json");
          return;
        case kFlaky:
          if (calls_ == 1) {
            res.status = 503;
            return;
          }
          break;
        case kServerError:
          res.status = 500;
          return;
        case kOk:
          break;
      }
      res.set_content(R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Drafted: your parcel is on its way."},"finish_reason":"stop"}],"usage":{"prompt_tokens":90,"completion_tokens":10,"total_tokens":100}})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeLlm() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  void set(Mode m) { mode_ = m, calls_ = 0; }
  int calls() const { return calls_; }
  std::string last_body_, last_auth_;

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<Mode> mode_{kOk};
  std::atomic<int> calls_{0};
};

TEST(Support, LlmDraftsGroundedRepliesAndFallsBackOnEveryFailure) {
  FakeLlm server;
  LlmOptions o;
  o.base_url = server.url();
  o.api_key = "sk-test";
  o.timeout_ms = 300;
  o.retries = 1;
  o.backoff_ms = 10;
  auto llm = std::make_shared<LlmClient>(o);
  SupportAgent::Parts parts = ShopParts();
  parts.llm = llm;
  const SupportAgent agent(std::move(parts));
  const FakeFacts facts;
  auto ask = [&] {
    Conversation c;
    return agent.Respond(&c, "where is my order O20250304-1234", &facts, kNow);
  };

  server.set(FakeLlm::kOk);
  Reply r = ask();
  EXPECT_EQ(r.source, "llm");
  EXPECT_EQ(r.text, "Drafted: your parcel is on its way.");
  EXPECT_EQ(server.last_auth_, "Bearer sk-test");
  // Grounded: the prompt carries the store's facts and the template draft.
  const json sent = json::parse(server.last_body_);
  const std::string system = sent["messages"][0]["content"];
  EXPECT_NE(system.find("Order O20250304-1234: status shipped"), std::string::npos) << system;
  EXPECT_NE(system.find("Draft reply:"), std::string::npos);
  EXPECT_EQ(sent["messages"].back()["content"], "where is my order O20250304-1234");
  EXPECT_EQ(llm->tokens_used(), 100);

  for (auto [mode, want] : {std::pair{FakeLlm::kSlow, "timeout"}, {FakeLlm::kMalformed, "malformed"},
                            {FakeLlm::kRefusal, "refused"}, {FakeLlm::kServerError, "HTTP 500"}}) {
    server.set(mode);
    r = ask();
    EXPECT_EQ(r.source, "template") << want;  // the template's reply, not an error
    EXPECT_NE(r.text.find("on its way"), std::string::npos) << want;
    EXPECT_NE(ToLower(r.llm_error).find(ToLower(want)), std::string::npos) << r.llm_error;
  }
  EXPECT_EQ(server.calls(), 2);  // a 500 is retried once
  // A 503 then a good answer: the retry succeeds.
  server.set(FakeLlm::kFlaky);
  EXPECT_EQ(ask().source, "llm");
  EXPECT_EQ(server.calls(), 2);
}

TEST(Support, LlmTokenBudgetStopsCallsAndRefusalPhrasesCount) {
  FakeLlm server;
  LlmOptions o;
  o.base_url = server.url();
  o.token_budget = 120;  // one call of 100 tokens, then the budget is spent
  o.max_tokens = 20;
  LlmClient llm(o);
  ASSERT_TRUE(llm.Complete({{"user", "hello"}}).ok());
  const auto second = llm.Complete({{"user", "hello again, a longer message that will not fit the budget any more"}});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("budget"), std::string::npos);
  EXPECT_EQ(server.calls(), 1);
  LlmClient off(LlmOptions{});
  EXPECT_FALSE(off.enabled());
  EXPECT_FALSE(off.Complete({{"user", "x"}}).ok());
  EXPECT_GT(EstimateTokens("你好世界"), EstimateTokens("abcd"));
}

TEST(Support, ConversationsPersistAtomically) {
  testing::TempDir dir;
  ConversationStore store(dir.path() + "/conv");
  auto c = store.Load("web-42");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->turns.empty());
  const SupportAgent agent(ShopParts());
  const FakeFacts facts;
  agent.Respond(&*c, "where is my order?", &facts, kNow);
  ASSERT_TRUE(store.Save(*c).ok());
  auto back = store.Load("web-42");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pending_intent, "order_status");
  EXPECT_EQ(back->turns.size(), 2u);
  // The saved state carries on: the number alone completes the request.
  EXPECT_EQ(agent.Respond(&*back, "O20250304-1234", &facts, kNow).source, "template");
  EXPECT_FALSE(store.Load("../etc/passwd").ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/conv/web-42.json.tmp"));
}

TEST(Support, TicketAnalyticsFindsThePlantedComplaintTopic) {
  const SupportAgent agent(ShopParts());
  std::vector<TicketRow> rows;
  std::vector<std::string> texts;
  for (int k = 0; k < 60; ++k) {
    TicketRow t;
    t.ticket_id = std::to_string(k);
    t.user_id = "u" + std::to_string(k);
    t.time = kNow + k * 3600 * 6;
    rows.push_back(t);
    // Every third ticket complains about a broken lid; the rest ask about orders or refunds.
    static const char* kComplaints[] = {"the teapot lid arrived broken, terrible", "broken lid again, so disappointing",
                                        "bad service: a broken lid on my cup"};
    texts.push_back(k % 3 == 0 ? kComplaints[(k / 3) % 3]
                               : (k % 2 ? "where is my order O20250304-1234" : "refund for order O20250304-1234 please"));
  }
  const auto analyses = agent.Analyze(texts);
  std::vector<Reply> replies;
  const FakeFacts facts;
  for (size_t k = 0; k < texts.size(); ++k) {
    Conversation c, c2;
    replies.push_back(agent.Respond(&c, texts[k], &facts, kNow));
    // The batch path (analysis computed once for all tickets) answers the same.
    const Reply batch = agent.Respond(&c2, texts[k], analyses[k], &facts, kNow);
    EXPECT_EQ(batch.text, replies.back().text) << texts[k];
    EXPECT_EQ(batch.source, replies.back().source) << texts[k];
    EXPECT_EQ(batch.analysis.entities.size(), replies.back().analysis.entities.size()) << texts[k];
  }
  const json a = TicketAnalytics(rows, analyses, replies);
  EXPECT_EQ(a["tickets"], 60);
  int64_t total = 0;
  for (const auto& w : a["weekly"]) total += w["tickets"].get<int64_t>();
  EXPECT_EQ(total, 60);
  ASSERT_FALSE(a["complaint_topics"].empty());
  std::set<std::string> top;
  for (size_t k = 0; k < 2 && k < a["complaint_topics"].size(); ++k) top.insert(a["complaint_topics"][k]["term"].get<std::string>());
  EXPECT_TRUE(top.count("broken") && top.count("lid")) << a["complaint_topics"].dump();
  bool order_candidate = false;
  for (const auto& c : a["first_contact_resolution_candidates"]) order_candidate = order_candidate || c["intent"] == "order_status";
  EXPECT_TRUE(order_candidate) << a.dump();
}

}  // namespace
}  // namespace opspilot::support
