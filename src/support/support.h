// The support workflow on top of src/nlp: analyse a customer message
// (intent, sentiment with intensity, entities with spans), then answer it:
// a per-intent template filled with the message's entities and the store's
// facts (order status), or the best FAQ answer, optionally redrafted by an
// LLM grounded in those passages; or hand the conversation to a human, with
// the reason. Conversations keep their state (pending slots such as a
// missing order number) across messages. Torch-free: the classifiers come
// in through nlp::TextClassifier.
#ifndef OPSPILOT_SUPPORT_SUPPORT_H_
#define OPSPILOT_SUPPORT_SUPPORT_H_

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "nlp/classifier.h"
#include "nlp/entities.h"
#include "nlp/retrieval.h"
#include "support/llm.h"

namespace opspilot {
struct Snapshot;
}

namespace opspilot::support {

struct SentimentScore {
  std::string label = "neutral";  // negative | neutral | positive
  double score = 0;               // p(positive) - p(negative), in [-1, 1]
  double intensity = 0;           // |score|
  std::string source = "lexicon"; // model | lexicon
};

// Lexicon sentiment for Chinese and English (negation flips the next
// opinion word, intensifiers scale it): the fallback when no sentiment
// model was trained, and a floor for strong language a model never saw.
SentimentScore LexiconSentiment(std::string_view text);

struct Analysis {
  std::string text, language;      // "zh" | "en"
  std::string intent = nlp::kOutOfScope;
  double intent_confidence = 0;
  double intent_known = 1;          // share of the message's features the intent model saw in training
  bool intent_novel = false;        // below the model's floor: out of scope whatever the confidence
  std::vector<std::pair<std::string, float>> intents;  // top 3
  SentimentScore sentiment;
  std::vector<nlp::EntitySpan> entities;
  bool asks_for_human = false;
  // Nothing but entities and punctuation ("o0045140"): the words carry no
  // intent, so intent is oos whatever the model guessed (intents keeps its
  // guesses); a pending intent continues, otherwise the agent asks.
  bool entities_only = false;
  nlohmann::json ToJson() const;
};

// Facts the replies may quote.
struct OrderFacts {
  std::string order_id, user_id, status, date;  // status as stored: paid | refunded | failed | shipped ...
  double total = 0;
  std::vector<std::string> items;               // titles (or ids)
};

class Facts {
 public:
  virtual ~Facts() = default;
  virtual std::optional<OrderFacts> Order(const std::string& order_id) const = 0;
  // Earlier contacts (tickets) of the user in (now - days, now].
  virtual int RecentContacts(const std::string& user_id, int64_t now, int days) const = 0;
};

// Facts from a store snapshot with the orders, items and tickets tables;
// an order's status is the `status` column or attribute.
class SnapshotFacts : public Facts {
 public:
  explicit SnapshotFacts(const Snapshot& snap);
  std::optional<OrderFacts> Order(const std::string& order_id) const override;
  int RecentContacts(const std::string& user_id, int64_t now, int days) const override;
  std::vector<std::string> OrderIds() const;

 private:
  std::map<std::string, OrderFacts> orders_;                 // by lower-cased id
  std::map<std::string, std::vector<int64_t>> contacts_;     // user -> sorted ticket times
};

struct ReplyTemplate {
  std::string intent;
  std::vector<std::string> slots;               // needed before answering, e.g. {"order_id"}
  std::map<std::string, std::string> text;      // language -> text with {placeholders}
  std::map<std::string, std::string> ask;       // language -> the question asking for the missing slot
  bool handoff = false;                         // answer, then pass to a human (complaints)
};

// Templates for the common shop intents (order_status, refund,
// shipping_delay, payment_failed, cancel_order, change_address, invoice,
// coupon, account, complaint, praise) in Chinese and English.
std::vector<ReplyTemplate> DefaultTemplates();
// A JSON file: {"intent": {"slots": [..], "text": {"en": .., "zh": ..}, "ask": {..}, "handoff": bool}}.
// Entries replace the defaults of the same intent.
StatusOr<std::vector<ReplyTemplate>> ReadTemplates(const std::string& path, std::vector<ReplyTemplate> base);

struct HandoffPolicy {
  double min_intent_confidence = 0.5;  // below (or out of scope) the intent is not trusted
  double min_faq_confidence = 0.35;    // a FAQ answer needs this confidence
  double strong_faq_confidence = 0.6;  // a FAQ answer this close beats a template that must ask for a slot
  double negative_score = -0.7;        // sentiment at or below: a human takes over
  int repeat_contacts = 3;             // this many contacts (earlier tickets + this conversation)...
  int repeat_days = 7;                 // ...within this many days
  int max_clarifications = 2;          // asking for the same slot more often hands off
  nlohmann::json ToJson() const;       // policy.json's fields
};

struct Turn {
  std::string role;  // customer | agent
  std::string text;
  int64_t time = 0;
  std::string intent, source;
};

struct Conversation {
  std::string id, user_id, language;
  std::vector<Turn> turns;
  std::string pending_intent;                 // waiting for slots
  std::vector<std::string> pending_slots;
  int clarifications = 0;
  std::map<std::string, std::string> slots;   // order_id, phone, email, product, amount, date
  bool handed_off = false;
  std::string handoff_reason;
  nlohmann::json ToJson() const;
  static Conversation FromJson(const nlohmann::json& j);
};

struct Reply {
  std::string text, language;
  std::string source;        // template | faq | llm | clarify | handoff
  std::string intent;        // the intent acted on (a pending one may continue); "" for FAQ answers and hand-offs
  std::string faq_id;
  double confidence = 0;
  bool handoff = false;
  std::string handoff_reason;
  std::vector<std::string> pending_slots;
  std::string llm_error;     // why an LLM draft was not used ("" when unused or used)
  Analysis analysis;
  nlohmann::json ToJson() const;
};

class SupportAgent {
 public:
  struct Parts {
    std::shared_ptr<const nlp::TextClassifier> intent;     // may be null: FAQ and hand-off only
    std::shared_ptr<const nlp::TextClassifier> sentiment;  // may be null: the lexicon
    std::vector<nlp::FaqEntry> faq;
    std::vector<ReplyTemplate> templates = DefaultTemplates();
    nlp::EntityExtractor entities;
    HandoffPolicy policy;
    std::shared_ptr<LlmClient> llm;                        // may be null or disabled
  };
  explicit SupportAgent(Parts parts);

  std::vector<Analysis> Analyze(const std::vector<std::string>& texts, const nlp::EntityOptions& options = {}) const;

  // Answers `message` in `conversation` (updated: turns, slots, pending
  // state, hand-off). `facts` may be null. `now` in unix seconds.
  Reply Respond(Conversation* conversation, std::string_view message, const Facts* facts, int64_t now) const;
  // The same with the models' part of the analysis already computed (a batch
  // Analyze over many tickets); entities are extracted again against `now`.
  Reply Respond(Conversation* conversation, std::string_view message, Analysis analysis, const Facts* facts, int64_t now) const;

  const nlp::FaqIndex& faq() const { return faq_; }
  const Parts& parts() const { return parts_; }

 private:
  // Respond with the analysis complete (entities against `now` included).
  Reply RespondAnalyzed(Conversation* conversation, std::string_view message, Analysis analysis, const Facts* facts,
                        int64_t now) const;

  Parts parts_;
  nlp::FaqIndex faq_;
  std::map<std::string, const ReplyTemplate*> by_intent_;
};

// A support model directory (a registry version of task "support"):
// intent/ and sentiment/ (classifier directories; either may be absent),
// faq.jsonl, templates.json and policy.json.
Status SaveSupportModel(const std::string& dir, const nlp::TextClassifier* intent, const nlp::TextClassifier* sentiment,
                        const std::vector<nlp::FaqEntry>& faq, const std::vector<ReplyTemplate>& templates,
                        const HandoffPolicy& policy);
// The parts, without entities (add the catalogue and orders) and LLM.
StatusOr<SupportAgent::Parts> LoadSupportModel(const std::string& dir);
// True when a classifier in `dir` needs the libtorch build.
bool SupportNeedsTorch(const std::string& dir);
nlohmann::json TemplatesToJson(const std::vector<ReplyTemplate>& templates);

// Conversations as JSON files in a directory, written by atomic rename.
class ConversationStore {
 public:
  explicit ConversationStore(std::string dir) : dir_(std::move(dir)) {}
  // A new conversation when the id is unknown. Ids: [A-Za-z0-9_.-], 1-128 chars.
  StatusOr<Conversation> Load(const std::string& id) const;
  Status Save(const Conversation& c) const;

 private:
  std::string dir_;
};

// Ticket analytics over analysed tickets.
struct TicketRow {
  std::string ticket_id, user_id;
  int64_t time = 0;
  bool resolved = false, has_resolved = false;
};
// Per-week intent counts and negative share, top complaint terms (log-odds
// of terms in negative tickets against the rest), and first-contact
// resolution candidates: intents the agent answers itself with confidence
// whose customers rarely come back within 7 days.
nlohmann::json TicketAnalytics(const std::vector<TicketRow>& tickets, const std::vector<Analysis>& analyses,
                               const std::vector<Reply>& replies);

}  // namespace opspilot::support

#endif  // OPSPILOT_SUPPORT_SUPPORT_H_
