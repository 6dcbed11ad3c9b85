#include "support/support.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_map>

#include "core/file.h"
#include "core/strings.h"
#include "core/time.h"
#include "nlp/text.h"
#include "store/snapshot.h"

namespace opspilot::support {

using nlohmann::json;

// ---- Lexicon sentiment ----

namespace {

const std::unordered_map<std::string, double>& Lexicon() {
  static const std::unordered_map<std::string, double> kWords = {
      // English
      {"good", 1}, {"great", 1.5}, {"excellent", 2}, {"love", 1.5}, {"loved", 1.5}, {"amazing", 2}, {"perfect", 2},
      {"fast", 0.8}, {"quick", 0.8}, {"happy", 1.2}, {"thanks", 0.5}, {"thank", 0.5}, {"awesome", 2}, {"nice", 1},
      {"wonderful", 2}, {"fantastic", 2}, {"satisfied", 1.2}, {"recommend", 1}, {"delicious", 1.5}, {"fresh", 0.8},
      {"helpful", 1}, {"pleased", 1.2}, {"bad", -1.2}, {"terrible", -2}, {"awful", -2}, {"horrible", -2},
      {"worst", -2.5}, {"broken", -1.2}, {"angry", -1.8}, {"hate", -2}, {"disappointed", -1.5},
      {"disappointing", -1.5}, {"useless", -1.8}, {"slow", -0.8}, {"late", -0.8}, {"scam", -2.5}, {"fraud", -2},
      {"rude", -1.8}, {"unacceptable", -2.2}, {"ridiculous", -1.8}, {"furious", -2.5}, {"disgusting", -2.2},
      {"damaged", -1.2}, {"wrong", -0.8}, {"missing", -0.8}, {"poor", -1.2}, {"annoyed", -1.3}, {"upset", -1.3},
      {"never", -0.3}, {"lied", -2}, {"cheated", -2.2}, {"garbage", -2}, {"sucks", -2}, {"fed", -0.5},
      // Chinese
      {"好", 0.8}, {"很好", 1.2}, {"不错", 1.2}, {"满意", 1.3}, {"喜欢", 1.3}, {"棒", 1.5}, {"赞", 1.5},
      {"谢谢", 0.5}, {"感谢", 0.6}, {"快", 0.6}, {"好喝", 1.3}, {"好吃", 1.3}, {"新鲜", 0.8}, {"推荐", 0.8},
      {"完美", 2}, {"开心", 1.2}, {"好评", 1.5}, {"差", -1.3}, {"垃圾", -2.2}, {"失望", -1.6}, {"生气", -1.8},
      {"愤怒", -2.3}, {"慢", -0.8}, {"坏", -1.2}, {"破", -0.8}, {"骗", -2}, {"骗子", -2.5}, {"投诉", -1.2},
      {"恶心", -2.2}, {"糟糕", -1.8}, {"烂", -1.8}, {"气死", -2.5}, {"无语", -1.5}, {"不满", -1.6}, {"差评", -2},
      {"太差", -2}, {"离谱", -1.8}, {"坑", -1.5}, {"假货", -2.2}, {"退钱", -1.2}, {"过分", -1.6}, {"难喝", -1.5},
      {"难吃", -1.5}};
  return kWords;
}

bool Negator(const std::string& t) {
  static const std::set<std::string> kNeg = {"not", "no", "never", "don't", "didn't", "isn't", "wasn't", "doesn't",
                                             "hardly", "won't", "can't", "cannot", "不", "没", "没有", "别", "未", "非"};
  return kNeg.count(t) > 0;
}

double Booster(const std::string& t) {
  static const std::map<std::string, double> kBoost = {{"very", 1.5}, {"so", 1.4}, {"really", 1.4}, {"extremely", 2},
                                                       {"totally", 1.6}, {"absolutely", 1.8}, {"too", 1.3},
                                                       {"很", 1.4}, {"非常", 1.8}, {"太", 1.6}, {"特别", 1.6},
                                                       {"超", 1.6}, {"极", 1.8}, {"真", 1.3}, {"好", 1.0}};
  const auto it = kBoost.find(t);
  return it == kBoost.end() ? 0 : it->second;
}

bool IsCjkToken(const std::string& t) {
  size_t i = 0;
  return !t.empty() && nlp::IsCjk(nlp::NextCodePoint(t, &i));
}

}  // namespace

SentimentScore LexiconSentiment(std::string_view text) {
  nlp::NormalizeOptions no;
  no.placeholders = false;
  const std::vector<std::string> tokens = nlp::Tokenize(nlp::Normalize(text, no));
  double sum = 0;
  int exclaim = 0;
  double boost = 1;
  int negate = 0;  // tokens left in which a negation applies
  for (size_t i = 0; i < tokens.size();) {
    // Longest lexicon match of up to 4 CJK characters, else one token.
    std::string matched;
    size_t len = 1;
    if (IsCjkToken(tokens[i])) {
      for (size_t l = std::min<size_t>(4, tokens.size() - i); l >= 1; --l) {
        std::string w;
        bool cjk = true;
        for (size_t k = 0; k < l; ++k) cjk = cjk && IsCjkToken(tokens[i + k]), w += tokens[i + k];
        if (cjk && (Lexicon().count(w) || (l > 1 && (Negator(w) || Booster(w) > 0)))) {
          matched = w, len = l;
          break;
        }
      }
      if (matched.empty()) matched = tokens[i];
    } else {
      matched = tokens[i];
    }
    i += len;
    if (matched == "!") {
      ++exclaim;
      continue;
    }
    if (Negator(matched)) {
      negate = 3;
      continue;
    }
    const auto lex = Lexicon().find(matched);
    const double b = Booster(matched);
    if (lex != Lexicon().end() && !(b > 0 && i < tokens.size() && Lexicon().count(tokens[i]))) {
      double w = lex->second * boost;
      if (negate > 0) w = w > 0 ? -0.8 * w : -0.4 * w;  // "not good" is bad; "not bad" is mildly good
      sum += w;
      boost = 1, negate = 0;
      continue;
    }
    if (b > 0) {
      boost *= b;
      continue;
    }
    boost = 1;
    negate = std::max(0, negate - 1);
  }
  if (exclaim > 0 && sum != 0) sum *= 1 + 0.15 * std::min(exclaim, 3);
  SentimentScore s;
  s.score = std::tanh(sum / 2);
  s.intensity = std::fabs(s.score);
  s.label = s.score <= -0.25 ? "negative" : s.score >= 0.25 ? "positive" : "neutral";
  s.source = "lexicon";
  return s;
}

// ---- JSON ----

json Analysis::ToJson() const {
  json ents = json::array();
  for (const auto& e : entities) {
    ents.push_back({{"type", e.type}, {"text", e.text}, {"value", e.value}, {"start", e.char_begin}, {"end", e.char_end},
                    {"byte_start", e.begin}, {"byte_end", e.end}});
  }
  json top = json::array();
  for (const auto& [label, p] : intents) top.push_back({{"intent", label}, {"confidence", p}});
  return {{"language", language}, {"intent", intent}, {"intent_confidence", intent_confidence},
          {"intent_known", intent_known}, {"intent_novel", intent_novel}, {"intents", top},
          {"sentiment", {{"label", sentiment.label}, {"score", sentiment.score}, {"intensity", sentiment.intensity},
                         {"source", sentiment.source}}},
          {"entities", ents}, {"asks_for_human", asks_for_human}, {"entities_only", entities_only}};
}

json Reply::ToJson() const {
  json j = {{"reply", text}, {"language", language}, {"source", source}, {"intent", intent}, {"confidence", confidence},
            {"handoff", handoff}, {"analysis", analysis.ToJson()}};
  if (!faq_id.empty()) j["faq_id"] = faq_id;
  if (handoff) j["handoff_reason"] = handoff_reason;
  if (!pending_slots.empty()) j["pending_slots"] = pending_slots;
  if (!llm_error.empty()) j["llm_error"] = llm_error;
  return j;
}

json Conversation::ToJson() const {
  json t = json::array();
  for (const auto& x : turns) {
    t.push_back({{"role", x.role}, {"text", x.text}, {"time", x.time}, {"intent", x.intent}, {"source", x.source}});
  }
  return {{"id", id}, {"user_id", user_id}, {"language", language}, {"turns", t}, {"pending_intent", pending_intent},
          {"pending_slots", pending_slots}, {"clarifications", clarifications}, {"slots", slots},
          {"handed_off", handed_off}, {"handoff_reason", handoff_reason}};
}

Conversation Conversation::FromJson(const json& j) {
  Conversation c;
  c.id = j.value("id", "");
  c.user_id = j.value("user_id", "");
  c.language = j.value("language", "");
  if (j.contains("turns") && j["turns"].is_array()) {
    for (const auto& x : j["turns"]) {
      Turn t;
      t.role = x.value("role", ""), t.text = x.value("text", ""), t.time = x.value("time", int64_t{0});
      t.intent = x.value("intent", ""), t.source = x.value("source", "");
      c.turns.push_back(std::move(t));
    }
  }
  c.pending_intent = j.value("pending_intent", "");
  c.pending_slots = j.value("pending_slots", std::vector<std::string>{});
  c.clarifications = j.value("clarifications", 0);
  c.slots = j.value("slots", std::map<std::string, std::string>{});
  c.handed_off = j.value("handed_off", false);
  c.handoff_reason = j.value("handoff_reason", "");
  return c;
}

// ---- Facts from the store ----

SnapshotFacts::SnapshotFacts(const Snapshot& snap) {
  std::vector<std::string> titles;
  if (const Table* items = snap.find(Entity::kItems)) {
    const Column& id = items->col("item_id");
    const Column* title = items->find("title");
    titles.resize(snap.items->size());
    for (int64_t r = 0; r < items->rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (id.codes[i] < 0 || !title || title->codes[i] < 0) continue;
      if (static_cast<size_t>(id.codes[i]) < titles.size()) titles[static_cast<size_t>(id.codes[i])] = title->dict->Key(title->codes[i]);
    }
  }
  if (const Table* orders = snap.find(Entity::kOrders)) {
    const Column& oid = orders->col("order_id");
    const Column& item = orders->col("item_id");
    const Column& qty = orders->col("quantity");
    const Column& price = orders->col("unit_price");
    const Column& ts = orders->col("timestamp");
    const Column* user = orders->find("user_id");
    const Column* attr = orders->find("attributes");
    const auto attrs = attr ? JsonStringFields(*attr) : std::vector<std::map<std::string, std::string>>{};
    for (int64_t r = 0; r < orders->rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (oid.codes[i] < 0) continue;
      const std::string id = oid.dict->Key(oid.codes[i]);
      OrderFacts& o = orders_[ToLower(id)];
      o.order_id = id;
      if (user && user->codes[i] >= 0) o.user_id = user->dict->Key(user->codes[i]);
      o.total += qty.reals[i] * price.reals[i];
      o.date = FormatDate(ts.ints[i]);
      if (item.codes[i] >= 0) {
        const auto c = static_cast<size_t>(item.codes[i]);
        o.items.push_back(c < titles.size() && !titles[c].empty() ? titles[c] : item.dict->Key(item.codes[i]));
      }
      if (attr && attr->codes[i] >= 0) {
        const auto& f = attrs[static_cast<size_t>(attr->codes[i])];
        if (const auto it = f.find("status"); it != f.end()) o.status = it->second;
      }
    }
  }
  if (const Table* tickets = snap.find(Entity::kTickets)) {
    const Column* user = tickets->find("user_id");
    const Column& ts = tickets->col("timestamp");
    for (int64_t r = 0; user && r < tickets->rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (user->codes[i] >= 0) contacts_[user->dict->Key(user->codes[i])].push_back(ts.ints[i]);
    }
    for (auto& [u, times] : contacts_) std::sort(times.begin(), times.end());
  }
}

std::optional<OrderFacts> SnapshotFacts::Order(const std::string& order_id) const {
  const auto it = orders_.find(ToLower(order_id));
  if (it == orders_.end()) return std::nullopt;
  return it->second;
}

int SnapshotFacts::RecentContacts(const std::string& user_id, int64_t now, int days) const {
  const auto it = contacts_.find(user_id);
  if (it == contacts_.end()) return 0;
  const auto lo = std::upper_bound(it->second.begin(), it->second.end(), now - int64_t{days} * 86400);
  const auto hi = std::upper_bound(it->second.begin(), it->second.end(), now);
  return static_cast<int>(hi - lo);
}

std::vector<std::string> SnapshotFacts::OrderIds() const {
  std::vector<std::string> out;
  for (const auto& [k, o] : orders_) out.push_back(o.order_id);
  return out;
}

// ---- Templates ----

std::vector<ReplyTemplate> DefaultTemplates() {
  auto t = [](std::string intent, std::vector<std::string> slots, std::string en, std::string zh, bool handoff = false) {
    ReplyTemplate r;
    r.intent = std::move(intent);
    r.slots = std::move(slots);
    r.text = {{"en", std::move(en)}, {"zh", std::move(zh)}};
    if (!r.slots.empty()) {
      r.ask = {{"en", "Could you tell me your order number, please?"}, {"zh", "请提供一下您的订单号，我马上为您查询。"}};
    }
    r.handoff = handoff;
    return r;
  };
  return {
      t("order_status", {"order_id"}, "Your order {order_id} ({items}) is {status}. It was placed on {order_date}.",
        "您的订单{order_id}（{items}）{status}，下单时间{order_date}。"),
      t("refund", {"order_id"},
        "I've noted a refund request for order {order_id} ({order_total}); its status is {status}. Refunds reach the "
        "original payment method within 3-5 working days.",
        "已为订单{order_id}（{order_total}）登记退款申请，当前状态：{status}。退款将在3-5个工作日内原路退回。"),
      t("shipping_delay", {"order_id"},
        "Sorry for the wait. Order {order_id} is {status}; I've asked the warehouse to prioritise it.",
        "抱歉让您久等了。订单{order_id}{status}，我已通知仓库优先处理。"),
      t("payment_failed", {},
        "Sorry the payment didn't go through. Please try again or switch method (Alipay, WeChat Pay, card); you have "
        "not been charged for a failed payment.",
        "抱歉支付没有成功。请重试或更换支付方式（支付宝、微信、银行卡），失败的支付不会扣款。"),
      t("cancel_order", {"order_id"},
        "I've asked to cancel order {order_id} ({status}). If it has already shipped you can refuse delivery or return it.",
        "已为您申请取消订单{order_id}（{status}）。如已发货，您可以拒收或退货。"),
      t("change_address", {"order_id"},
        "I can update the delivery address of order {order_id} while it hasn't shipped ({status}). Please send the new "
        "address.",
        "订单{order_id}（{status}）发货前可以修改收货地址，请发送新的地址。"),
      t("invoice", {"order_id"}, "The invoice for order {order_id} ({order_total}) will be emailed within 24 hours.",
        "订单{order_id}（{order_total}）的发票将在24小时内发送到您的邮箱。"),
      t("coupon", {}, "Coupons apply at checkout; each order takes one coupon, and its conditions are shown under My Coupons.",
        "优惠券在结算时使用，每个订单限用一张，使用条件见“我的优惠券”。"),
      t("account", {}, "You can reset your password from the login page (Forgot password); the code is sent to your phone or email.",
        "您可以在登录页点击“忘记密码”重置，验证码会发送到您的手机或邮箱。"),
      t("complaint", {}, "I'm sorry about this experience. I've recorded your complaint and a colleague will contact you.",
        "非常抱歉给您带来不好的体验，已记录您的投诉，专员会尽快联系您。", true),
      t("praise", {}, "Thank you so much for the kind words! We're glad you enjoy it.", "感谢您的认可，我们会继续努力！"),
  };
}

StatusOr<std::vector<ReplyTemplate>> ReadTemplates(const std::string& path, std::vector<ReplyTemplate> base) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot open " + path);
  const json j = json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(path + ": not a JSON object of intents");
  for (const auto& [intent, v] : j.items()) {
    const std::string where = path + ": intent '" + intent + "'";
    if (!v.is_object() || !v.contains("text") || !v["text"].is_object() || v["text"].empty()) {
      return InvalidArgument(where + ": field 'text': needs an object of language -> text");
    }
    ReplyTemplate t;
    t.intent = intent;
    try {
      t.text = v["text"].get<std::map<std::string, std::string>>();
      t.slots = v.value("slots", std::vector<std::string>{});
      t.ask = v.value("ask", std::map<std::string, std::string>{});
      t.handoff = v.value("handoff", false);
    } catch (const json::exception& e) {
      return InvalidArgument(where + ": " + e.what());
    }
    if (!t.slots.empty() && t.ask.empty()) {
      t.ask = {{"en", "Could you tell me your order number, please?"}, {"zh", "请提供一下您的订单号。"}};
    }
    std::erase_if(base, [&](const ReplyTemplate& b) { return b.intent == intent; });
    base.push_back(std::move(t));
  }
  return base;
}

// ---- The agent ----

namespace {

// The message with its entity spans cut out (spans are in order, byte offsets).
std::string WithoutEntities(std::string_view text, const std::vector<nlp::EntitySpan>& entities) {
  std::string rest(text);
  for (auto e = entities.rbegin(); e != entities.rend(); ++e) rest.erase(e->begin, e->end - e->begin);
  return rest;
}

// Whether the message has a letter, digit or CJK character outside its entities.
bool HasWords(std::string_view text, const std::vector<nlp::EntitySpan>& entities) {
  const std::string rest = WithoutEntities(text, entities);
  for (size_t i = 0; i < rest.size();) {
    const char32_t cp = nlp::NextCodePoint(rest, &i);
    const bool ascii_alnum = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    const bool other_letter = (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x370 && cp <= 0x1FFF);
    if (ascii_alnum || other_letter || nlp::IsCjk(cp)) return true;
  }
  return false;
}

bool AsksForHuman(const std::string& text) {
  static const char* kPhrases[] = {"human", "real person", "speak to someone", "talk to someone", "talk to a person",
                                   "representative", "live agent", "an agent", "customer service agent", "转人工",
                                   "人工客服", "真人", "找人工", "人工服务"};
  const std::string lower = ToLower(text);
  for (const char* p : kPhrases) {
    if (lower.find(p) != std::string::npos) return true;
  }
  return false;
}

std::string StatusText(const std::string& status, const std::string& lang) {
  static const std::map<std::string, std::pair<const char*, const char*>> kText = {
      {"paid", {"paid and being prepared for shipping", "已付款，正在备货"}},
      {"shipped", {"on its way", "已发货，正在运输途中"}},
      {"delivered", {"delivered", "已签收"}},
      {"refunded", {"refunded", "已退款"}},
      {"failed", {"not paid (the payment failed)", "支付失败，未付款"}},
      {"cancelled", {"cancelled", "已取消"}}};
  const auto it = kText.find(ToLower(status));
  if (it != kText.end()) return lang == "zh" ? it->second.second : it->second.first;
  if (status.empty()) return lang == "zh" ? "正在处理中" : "being processed";
  return status;
}

std::string Pick(const std::map<std::string, std::string>& by_lang, const std::string& lang) {
  if (auto it = by_lang.find(lang); it != by_lang.end()) return it->second;
  if (auto it = by_lang.find("en"); it != by_lang.end()) return it->second;
  return by_lang.empty() ? std::string() : by_lang.begin()->second;
}

std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [k, v] : values) {
    const std::string key = "{" + k + "}";
    for (size_t at = 0; (at = text.find(key, at)) != std::string::npos; at += v.size()) text.replace(at, key.size(), v);
  }
  return text;
}

std::string HandoffText(const std::string& lang) {
  return lang == "zh" ? "已为您转接人工客服，请稍候，专员会尽快回复您。"
                      : "I'm passing your conversation to a colleague, who will reply shortly.";
}

std::string Money(double v, const std::string& lang) {
  char buf[48];
  std::snprintf(buf, sizeof buf, lang == "zh" ? "¥%.2f" : "CNY %.2f", v);
  return buf;
}

}  // namespace

SupportAgent::SupportAgent(Parts parts) : parts_(std::move(parts)) {
  nlp::EmbedFn embed;
  if (parts_.intent) {
    if (parts_.intent->embedding_dim() > 0) {
      auto model = parts_.intent;
      embed = [model](const std::vector<std::string>& texts) { return model->Embed(texts); };
    }
  }
  faq_ = nlp::FaqIndex(parts_.faq, embed);
  for (const auto& t : parts_.templates) by_intent_[t.intent] = &t;
}

std::vector<Analysis> SupportAgent::Analyze(const std::vector<std::string>& texts, const nlp::EntityOptions& options) const {
  std::vector<Analysis> out(texts.size());
  std::vector<nlp::Prediction> intents, sentiments;
  if (parts_.intent) intents = parts_.intent->Predict(texts, 3);
  if (parts_.sentiment) sentiments = parts_.sentiment->Predict(texts, 3);
  for (size_t k = 0; k < texts.size(); ++k) {
    Analysis& a = out[k];
    a.text = texts[k];
    a.language = nlp::DetectLanguage(texts[k]);
    if (a.language.empty()) a.language = "en";
    if (!intents.empty()) {
      a.intent = intents[k].label;
      a.intent_confidence = intents[k].confidence;
      a.intent_known = intents[k].known;
      a.intent_novel = intents[k].novel;
      a.intents = intents[k].top;
    }
    const SentimentScore lex = LexiconSentiment(texts[k]);
    a.sentiment = lex;
    if (!sentiments.empty()) {
      double pos = 0, neg = 0;
      for (const auto& [label, p] : sentiments[k].top) {
        if (label == "positive") pos = p;
        if (label == "negative") neg = p;
      }
      // The model, with the lexicon as a floor for strong words it never saw.
      a.sentiment.score = std::clamp(0.7 * (pos - neg) + 0.3 * lex.score, -1.0, 1.0);
      a.sentiment.intensity = std::fabs(a.sentiment.score);
      a.sentiment.label = sentiments[k].top.empty() ? "neutral" : sentiments[k].top[0].first;
      a.sentiment.source = "model";
    }
    a.entities = parts_.entities.Extract(texts[k], options);
    a.asks_for_human = AsksForHuman(texts[k]);
    if (!a.entities.empty() && !HasWords(texts[k], a.entities)) {
      a.entities_only = true;
      a.intent = nlp::kOutOfScope;
      a.intent_confidence = 0;
    }
  }
  return out;
}

Reply SupportAgent::Respond(Conversation* conv, std::string_view message, const Facts* facts, int64_t now) const {
  nlp::EntityOptions eo;
  eo.reference_date = FormatDate(now);
  return RespondAnalyzed(conv, message, Analyze({std::string(message)}, eo)[0], facts, now);
}

Reply SupportAgent::Respond(Conversation* conv, std::string_view message, Analysis analysis, const Facts* facts, int64_t now) const {
  nlp::EntityOptions eo;
  eo.reference_date = FormatDate(now);
  analysis.entities = parts_.entities.Extract(message, eo);
  return RespondAnalyzed(conv, message, std::move(analysis), facts, now);
}

Reply SupportAgent::RespondAnalyzed(Conversation* conv, std::string_view message, Analysis analysis, const Facts* facts,
                                    int64_t now) const {
  Reply r;
  r.analysis = std::move(analysis);
  const Analysis& a = r.analysis;
  const HandoffPolicy& policy = parts_.policy;
  // The language of the words around the entities: a message that is only
  // an order number keeps the conversation's language.
  std::string lang = nlp::DetectLanguage(WithoutEntities(message, a.entities));
  if (lang.empty()) lang = conv->language.empty() ? a.language : conv->language;
  if (lang.empty()) lang = "en";
  r.analysis.language = lang;
  conv->language = lang;
  r.language = lang;
  for (const auto& e : a.entities) conv->slots[e.type] = e.value;  // the latest mention wins
  conv->turns.push_back({"customer", std::string(message), now, a.intent, ""});

  auto finish = [&](Reply& reply) {
    if (reply.handoff) {
      conv->handed_off = true;
      conv->handoff_reason = reply.handoff_reason;
      conv->pending_intent.clear();
      conv->pending_slots.clear();
    }
    conv->turns.push_back({"agent", reply.text, now, a.intent, reply.source});
    return reply;
  };
  auto handoff = [&](std::string reason) {
    r.handoff = true;
    r.handoff_reason = std::move(reason);
    r.source = "handoff";
    r.text = HandoffText(lang);
    r.confidence = a.intent_confidence;
    return finish(r);
  };

  // Hand-off rules first: an explicit request, strong negative sentiment, repeated contact.
  if (a.asks_for_human) return handoff("the customer asked for a human");
  if (a.sentiment.score <= policy.negative_score) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "strong negative sentiment (score %.2f)", a.sentiment.score);
    return handoff(buf);
  }
  if (facts && !conv->user_id.empty() && conv->turns.size() <= 1) {
    const int earlier = facts->RecentContacts(conv->user_id, now - 1, policy.repeat_days);
    if (earlier + 1 >= policy.repeat_contacts) {
      return handoff("repeated contact: " + std::to_string(earlier + 1) + " contacts in " +
                     std::to_string(policy.repeat_days) + " days");
    }
  }

  // The intent: a pending one continues when this message only supplies the slot.
  std::string intent = a.intent;
  double confidence = a.intent_confidence;
  const bool trusted = intent != nlp::kOutOfScope && confidence >= policy.min_intent_confidence;
  if (!conv->pending_intent.empty()) {
    bool supplies = false;
    for (const auto& s : conv->pending_slots) supplies = supplies || conv->slots.count(s);
    if (supplies && (!trusted || intent == conv->pending_intent || a.entities.size() * 4 >= nlp::Tokenize(nlp::Normalize(message)).size())) {
      intent = conv->pending_intent;
      confidence = std::max(confidence, policy.min_intent_confidence);
    }
  }
  const bool usable = intent != nlp::kOutOfScope && confidence >= policy.min_intent_confidence;
  // Only an order number (or another entity) and nothing pending: keep it
  // and ask what it is about, instead of guessing an intent from the number.
  if (!usable && a.entities_only) {
    const nlp::EntitySpan& e = a.entities.front();
    r.source = "clarify";
    r.confidence = 0;
    const bool order = e.type == "order_id";
    r.text = lang == "zh" ? (order ? "收到订单号" + e.text + "。" : "关于" + e.text + "，") + "请问有什么可以帮您？"
                          : (order ? "Thanks, I have order " + e.text + ". What" : "About " + e.text + ": what") +
                                " can I help you with?";
    return finish(r);
  }

  // The same intent answered twice already: the answers are not helping.
  int answered = 0;
  for (const auto& t : conv->turns) answered += t.role == "agent" && t.intent == intent && (t.source == "template" || t.source == "faq" || t.source == "llm");
  if (usable && answered >= 2) return handoff("asked again after two answers about " + intent);

  const auto faq_hits = faq_.Search(message, 3, lang);
  std::string grounding;  // facts and passages for the LLM
  const auto tmpl = usable ? by_intent_.find(intent) : by_intent_.end();
  if (tmpl != by_intent_.end()) {
    const ReplyTemplate& t = *tmpl->second;
    std::vector<std::string> missing;
    for (const auto& s : t.slots) {
      if (!conv->slots.count(s)) missing.push_back(s);
    }
    std::map<std::string, std::string> values = conv->slots;
    bool order_known = true;
    if (conv->slots.count("order_id")) {
      values["status"] = StatusText("", lang);
      values["items"] = "-";
      values["order_date"] = "-";
      values["order_total"] = "-";
      if (facts) {
        const auto o = facts->Order(conv->slots["order_id"]);
        order_known = o.has_value();
        if (o) {
          values["status"] = StatusText(o->status, lang);
          std::string items;
          for (size_t k = 0; k < o->items.size() && k < 3; ++k) items += (k ? ", " : "") + o->items[k];
          if (o->items.size() > 3) items += lang == "zh" ? " 等" : ", ...";
          values["items"] = items;
          values["order_date"] = o->date;
          values["order_total"] = Money(o->total, lang);
          grounding += "Order " + o->order_id + ": status " + (o->status.empty() ? "unknown" : o->status) + ", placed " +
                       o->date + ", total " + Money(o->total, "en") + ", items: " + items + "\n";
        }
      }
    }
    // A close FAQ match beats a template that would first have to ask, or
    // one with no slots: a closed-set intent model is confident about
    // questions it never saw ("运费怎么算" came out as praise at 1.00).
    const bool strong_faq = !faq_hits.empty() && faq_hits[0].confidence >= policy.strong_faq_confidence &&
                            conv->pending_intent != intent;
    // Only a template that can answer from slots it already has (an order
    // number) keeps the message; one that would ask, or has nothing to
    // fill, yields to the curated answer.
    const bool fills_slots = !t.slots.empty() && missing.empty() && order_known;
    if (strong_faq && !fills_slots) {
      const auto& e = faq_.entries()[faq_hits[0].index];
      r.text = e.answer;
      r.source = "faq";
      r.faq_id = e.id;
      r.confidence = faq_hits[0].confidence;
      return finish(r);
    }
    if (!missing.empty() || !order_known) {
      if (conv->pending_intent == intent && conv->clarifications >= policy.max_clarifications) {
        return handoff("still missing " + (missing.empty() ? std::string("a valid order number") : missing[0]) +
                       " after " + std::to_string(conv->clarifications) + " questions");
      }
      conv->clarifications = conv->pending_intent == intent ? conv->clarifications + 1 : 1;
      conv->pending_intent = intent;
      conv->pending_slots = missing.empty() ? std::vector<std::string>{"order_id"} : missing;
      if (!order_known) conv->slots.erase("order_id");
      r.source = "clarify";
      r.intent = intent;
      r.confidence = confidence;
      r.pending_slots = conv->pending_slots;
      r.text = order_known ? Pick(t.ask, lang)
                           : (lang == "zh" ? "没有找到订单" + values["order_id"] + "，请核对一下订单号。"
                                           : "I couldn't find order " + values["order_id"] + ". Could you check the number?");
      return finish(r);
    }
    conv->pending_intent.clear();
    conv->pending_slots.clear();
    conv->clarifications = 0;
    r.intent = intent;
    r.text = Fill(Pick(t.text, lang), values);
    r.source = "template";
    r.confidence = confidence;
    if (t.handoff) {
      r.handoff = true;
      r.handoff_reason = "the " + intent + " template hands off to a human";
    }
  } else if (!faq_hits.empty() && faq_hits[0].confidence >= policy.min_faq_confidence) {
    const auto& e = faq_.entries()[faq_hits[0].index];
    r.text = e.answer;
    r.source = "faq";
    r.faq_id = e.id;
    r.confidence = faq_hits[0].confidence;
  } else {
    const std::string best_faq = ", best FAQ " + (faq_hits.empty() ? std::string("none") : std::to_string(faq_hits[0].confidence).substr(0, 4));
    if (usable) return handoff("no reply template or confident FAQ answer for " + intent);
    if (a.intent_novel) {
      return handoff("unlike the training messages (" + std::to_string(static_cast<int>(std::lround(100 * a.intent_known))) +
                     "% of its features known)" + best_faq);
    }
    return handoff("low confidence: intent " + a.intent + " at " + std::to_string(a.intent_confidence).substr(0, 4) + best_faq);
  }

  // An optional LLM redrafts the reply from the same facts and passages;
  // any failure keeps the template or FAQ answer.
  if (parts_.llm && parts_.llm->enabled()) {
    for (const auto& h : faq_hits) {
      if (h.confidence < policy.min_faq_confidence / 2) continue;
      const auto& e = faq_.entries()[h.index];
      grounding += "FAQ: Q: " + e.question + " A: " + e.answer + "\n";
    }
    std::vector<ChatMessage> messages;
    messages.push_back({"system", std::string("You are the customer support assistant of an online shop. Reply in ") +
                                      (lang == "zh" ? "Simplified Chinese" : "English") +
                                      ", in at most three sentences, using only the facts, FAQ passages and draft "
                                      "below. Never invent order details, prices or policies.\n" + grounding +
                                      "Draft reply: " + r.text});
    const size_t first = conv->turns.size() > 7 ? conv->turns.size() - 7 : 0;
    for (size_t k = first; k + 1 < conv->turns.size(); ++k) {
      messages.push_back({conv->turns[k].role == "agent" ? "assistant" : "user", conv->turns[k].text});
    }
    messages.push_back({"user", std::string(message)});
    auto drafted = parts_.llm->Complete(messages);
    if (drafted.ok()) {
      r.text = *drafted;
      r.source = "llm";
    } else {
      r.llm_error = drafted.status().message();
    }
  }
  return finish(r);
}

// ---- Model directories ----

json TemplatesToJson(const std::vector<ReplyTemplate>& templates) {
  json j = json::object();
  for (const auto& t : templates) j[t.intent] = {{"slots", t.slots}, {"text", t.text}, {"ask", t.ask}, {"handoff", t.handoff}};
  return j;
}

namespace {

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  return f ? Status::Ok() : Internal("cannot write " + path);
}

}  // namespace

Status SaveSupportModel(const std::string& dir, const nlp::TextClassifier* intent, const nlp::TextClassifier* sentiment,
                        const std::vector<nlp::FaqEntry>& faq, const std::vector<ReplyTemplate>& templates,
                        const HandoffPolicy& policy) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  if (intent) RETURN_IF_ERROR(intent->Save(dir + "/intent"));
  if (sentiment) RETURN_IF_ERROR(sentiment->Save(dir + "/sentiment"));
  std::string lines;
  for (const auto& e : faq) {
    lines += json{{"id", e.id}, {"question", e.question}, {"answer", e.answer}, {"language", e.language},
                  {"intent", e.intent}, {"alternatives", e.alternatives}}.dump() + "\n";
  }
  RETURN_IF_ERROR(WriteText(dir + "/faq.jsonl", lines));
  RETURN_IF_ERROR(WriteText(dir + "/templates.json", TemplatesToJson(templates).dump(1)));
  return WriteText(dir + "/policy.json", policy.ToJson().dump(1));
}

json HandoffPolicy::ToJson() const {
  return {{"min_intent_confidence", min_intent_confidence}, {"min_faq_confidence", min_faq_confidence},
          {"strong_faq_confidence", strong_faq_confidence}, {"negative_score", negative_score},
          {"repeat_contacts", repeat_contacts}, {"repeat_days", repeat_days}, {"max_clarifications", max_clarifications}};
}

StatusOr<SupportAgent::Parts> LoadSupportModel(const std::string& dir) {
  SupportAgent::Parts parts;
  if (std::filesystem::exists(dir + "/intent/model.json")) {
    ASSIGN_OR_RETURN(auto m, nlp::LoadClassifier(dir + "/intent"));
    parts.intent = std::shared_ptr<const nlp::TextClassifier>(std::move(m));
  }
  if (std::filesystem::exists(dir + "/sentiment/model.json")) {
    ASSIGN_OR_RETURN(auto m, nlp::LoadClassifier(dir + "/sentiment"));
    parts.sentiment = std::shared_ptr<const nlp::TextClassifier>(std::move(m));
  }
  std::error_code ec;
  if (std::filesystem::file_size(dir + "/faq.jsonl", ec) > 0 && !ec) {
    ASSIGN_OR_RETURN(parts.faq, nlp::ReadFaq(dir + "/faq.jsonl"));
  } else {
    parts.faq.clear();
  }
  if (std::filesystem::exists(dir + "/templates.json")) {
    ASSIGN_OR_RETURN(parts.templates, ReadTemplates(dir + "/templates.json", {}));
  }
  std::ifstream pf(dir + "/policy.json");
  if (pf) {
    const json p = json::parse(pf, nullptr, false);
    if (p.is_discarded()) return InvalidArgument(dir + "/policy.json: not valid JSON");
    HandoffPolicy& h = parts.policy;
    h.min_intent_confidence = p.value("min_intent_confidence", h.min_intent_confidence);
    h.min_faq_confidence = p.value("min_faq_confidence", h.min_faq_confidence);
    h.strong_faq_confidence = p.value("strong_faq_confidence", h.strong_faq_confidence);
    h.negative_score = p.value("negative_score", h.negative_score);
    h.repeat_contacts = p.value("repeat_contacts", h.repeat_contacts);
    h.repeat_days = p.value("repeat_days", h.repeat_days);
    h.max_clarifications = p.value("max_clarifications", h.max_clarifications);
  }
  return parts;
}

bool SupportNeedsTorch(const std::string& dir) {
  return nlp::ClassifierNeedsTorch(dir + "/intent") || nlp::ClassifierNeedsTorch(dir + "/sentiment");
}

// ---- Conversations on disk ----

namespace {
bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }) &&
         id != "." && id != "..";
}
}  // namespace

StatusOr<Conversation> ConversationStore::Load(const std::string& id) const {
  if (!ValidId(id)) return InvalidArgument("conversation id '" + id + "': use 1-128 of A-Z a-z 0-9 _ - .");
  const std::string path = dir_ + "/" + id + ".json";
  std::ifstream f(path);
  if (!f) {
    Conversation c;
    c.id = id;
    return c;
  }
  const json j = json::parse(f, nullptr, false);
  if (j.is_discarded()) return Internal(path + ": not valid JSON");
  Conversation c = Conversation::FromJson(j);
  c.id = id;
  return c;
}

Status ConversationStore::Save(const Conversation& c) const {
  if (!ValidId(c.id)) return InvalidArgument("conversation id '" + c.id + "': use 1-128 of A-Z a-z 0-9 _ - .");
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Internal("cannot create " + dir_ + ": " + ec.message());
  return WriteFileAtomic(dir_ + "/" + c.id + ".json", c.ToJson().dump());
}

// ---- Ticket analytics ----

json TicketAnalytics(const std::vector<TicketRow>& tickets, const std::vector<Analysis>& analyses,
                     const std::vector<Reply>& replies) {
  const size_t n = std::min(tickets.size(), analyses.size());
  // Weekly trends (weeks start on Monday, UTC).
  std::map<std::string, std::map<std::string, int64_t>> weekly;
  std::map<std::string, std::pair<int64_t, int64_t>> weekly_negative;  // week -> negative, all
  for (size_t k = 0; k < n; ++k) {
    const int64_t day = DayOf(tickets[k].time);
    const int64_t monday = day - WeekdayOfDay(day);
    const std::string week = FormatDate(monday * 86400);
    ++weekly[week][analyses[k].intent];
    auto& [neg, all] = weekly_negative[week];
    neg += analyses[k].sentiment.label == "negative";
    ++all;
  }
  json trend = json::array();
  for (const auto& [week, counts] : weekly) {
    const auto& [neg, all] = weekly_negative[week];
    trend.push_back({{"week", week}, {"tickets", all}, {"negative_share", all ? static_cast<double>(neg) / static_cast<double>(all) : 0.0},
                     {"intents", counts}});
  }
  // Complaint topics: smoothed log-odds of a term in negative tickets against the others.
  std::map<std::string, std::pair<double, double>> terms;  // term -> (negative count, other count)
  double neg_total = 0, other_total = 0;
  for (size_t k = 0; k < n; ++k) {
    const bool neg = analyses[k].sentiment.label == "negative";
    std::set<std::string> seen;
    for (const auto& t : nlp::RetrievalTokens(analyses[k].text)) {
      if (!seen.insert(t).second) continue;
      (neg ? terms[t].first : terms[t].second) += 1;
      (neg ? neg_total : other_total) += 1;
    }
  }
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [t, c] : terms) {
    if (c.first < 3) continue;
    const double lo = std::log((c.first + 0.5) / (neg_total - c.first + 0.5)) - std::log((c.second + 0.5) / (other_total - c.second + 0.5));
    ranked.emplace_back(lo, t);
  }
  std::sort(ranked.rbegin(), ranked.rend());
  json topics = json::array();
  for (size_t k = 0; k < ranked.size() && k < 15; ++k) {
    topics.push_back({{"term", ranked[k].second}, {"log_odds", ranked[k].first}, {"negative_tickets", terms[ranked[k].second].first}});
  }
  // First-contact resolution candidates.
  std::map<std::string, std::vector<int64_t>> by_user;
  for (size_t k = 0; k < n; ++k) by_user[tickets[k].user_id].push_back(tickets[k].time);
  for (auto& [u, times] : by_user) std::sort(times.begin(), times.end());
  struct IntentStats {
    int64_t tickets = 0, automated = 0, repeat = 0, resolved = 0, with_resolved = 0;
  };
  std::map<std::string, IntentStats> stats;
  for (size_t k = 0; k < n; ++k) {
    IntentStats& s = stats[analyses[k].intent];
    ++s.tickets;
    if (k < replies.size() && !replies[k].handoff && replies[k].source != "clarify") ++s.automated;
    if (k < replies.size() && replies[k].source == "clarify" && replies[k].pending_slots.size() == 1) ++s.automated;  // one question away
    const auto& times = by_user[tickets[k].user_id];
    const auto next = std::upper_bound(times.begin(), times.end(), tickets[k].time);
    if (!tickets[k].user_id.empty() && next != times.end() && *next - tickets[k].time <= 7 * 86400) ++s.repeat;
    if (tickets[k].has_resolved) ++s.with_resolved, s.resolved += tickets[k].resolved;
  }
  json candidates = json::array(), per_intent = json::object();
  for (const auto& [intent, s] : stats) {
    const double automated = static_cast<double>(s.automated) / static_cast<double>(s.tickets);
    const double repeat = static_cast<double>(s.repeat) / static_cast<double>(s.tickets);
    json j = {{"tickets", s.tickets}, {"automated_share", automated}, {"repeat_within_7d", repeat}};
    if (s.with_resolved) j["resolved_share"] = static_cast<double>(s.resolved) / static_cast<double>(s.with_resolved);
    per_intent[intent] = j;
    if (intent != nlp::kOutOfScope && s.tickets >= 5 && automated >= 0.6 && repeat <= 0.3) {
      j["intent"] = intent;
      candidates.push_back(j);
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const json& x, const json& y) { return x["tickets"].get<int64_t>() > y["tickets"].get<int64_t>(); });
  return {{"tickets", n}, {"weekly", trend}, {"complaint_topics", topics}, {"per_intent", per_intent},
          {"first_contact_resolution_candidates", candidates}};
}

}  // namespace opspilot::support
