#include "cli/support_cmd.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "cli/text_cmd.h"
#include "core/csv.h"
#include "ml/registry.h"
#include "nlp/text.h"
#include "store/snapshot.h"
#include "support/engine.h"

namespace opspilot::cli {

using nlohmann::json;

void AddSupportCommands(CLI::App& app, SupportFlags* f) {
  f->cmd = app.add_subcommand("support", "Customer support: intents, sentiment, entities, FAQ answers, replies, hand-off");
  f->cmd->require_subcommand(1);
  f->train = f->cmd->add_subcommand("train", "Train intent and sentiment models on the store's labelled tickets; register task 'support'");
  f->train->add_option("--faq", f->faq, "FAQ: CSV (question,answer[,id,language,intent,alternatives]) or JSON lines")->check(CLI::ExistingFile);
  f->train->add_option("--templates", f->templates, "Reply templates (JSON) replacing the built-in ones per intent")->check(CLI::ExistingFile);
  f->train->add_option("--model", f->model, "auto | linear | fasttext | cnn | transformer | ensemble")->capture_default_str();
  f->train->add_option("--epochs", f->epochs, "Training epochs (0 = the model's default)");
  AddTokenizerOption(f->train, &f->tokenizer);
  f->train->add_option("--target-precision", f->target_precision,
                       "Intent model: answered hold-out texts reach this precision; less confident ones are out of scope")
      ->capture_default_str()->check(CLI::Range(0.01, 1.0));
  f->train->add_option("--handoff-confidence", f->policy.min_intent_confidence,
                       "Hand-off: an intent below this confidence is not trusted (FAQ, clarification or a human)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  f->train->add_option("--negative-score", f->policy.negative_score,
                       "Hand-off: sentiment at or below this score (-1 .. 0) goes to a human")
      ->capture_default_str()->check(CLI::Range(-1.0, 0.0));
  f->train->add_option("--repeat-contacts", f->policy.repeat_contacts,
                       "Hand-off: this many contacts of one customer (earlier tickets + this one) ...")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  f->train->add_option("--repeat-days", f->policy.repeat_days, "... within this many days")
      ->capture_default_str()->check(CLI::Range(1, 3650));
  f->train->add_option("--max-clarifications", f->policy.max_clarifications,
                       "Hand-off: asking for the same missing detail more often than this")
      ->capture_default_str()->check(CLI::Range(0, 100));
  f->reply = f->cmd->add_subcommand("reply", "Answer one customer message (with --conversation, continue a conversation)");
  f->reply->add_option("message", f->message, "The customer's message")->required();
  f->reply->add_option("--conversation", f->conversation, "Conversation id: its state is kept in the data directory");
  f->reply->add_option("--user", f->user, "The customer's user id (repeated-contact hand-off, order ownership)");
  f->classify = f->cmd->add_subcommand("classify", "Classify every ticket in the store: CSV on stdout");
  f->classify->add_option("--limit", f->limit, "At most this many tickets (0 = all)");
  f->analytics = f->cmd->add_subcommand("analytics", "Ticket analytics: weekly intent and sentiment, complaint topics, "
                                                     "first-contact resolution candidates");
  {
    CLI::App* c = f->reply;
    c->add_option("--llm-url", f->llm.base_url, "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (key: $OPSPILOT_LLM_API_KEY)");
    c->add_option("--llm-model", f->llm.model, "Model name sent to the endpoint")->capture_default_str();
    c->add_option("--llm-timeout-ms", f->llm.timeout_ms, "Per attempt")->capture_default_str();
    c->add_option("--llm-retries", f->llm.retries, "Extra attempts on timeouts, 429 and 5xx")->capture_default_str();
    c->add_option("--llm-max-tokens", f->llm.max_tokens, "Per reply")->capture_default_str();
    c->add_option("--llm-token-budget", f->llm.token_budget, "Tokens this process may spend")->capture_default_str();
  }
}


bool SupportModelNeedsTorch(const std::string& data_dir, const std::string& tenant) {
  ml::ModelRegistry registry((std::filesystem::path(data_dir) / "models").string());
  auto info = registry.Serving(support::SupportTask(tenant));
  return info.ok() && support::SupportNeedsTorch(info->dir + "/support");
}

namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Status RunSupport(const Context& ctx, const SupportFlags& f, const SupportEnv& env) {
  ASSIGN_OR_RETURN(auto store, env.open_store());
  const std::string models = (std::filesystem::path(env.data_dir) / "models").string();
  // Analytics replays every ticket through the agent: never through the LLM.
  ASSIGN_OR_RETURN(support::LoadedSupport s, support::LoadSupport(ctx, *store, models, env.tenant, *f.reply ? f.llm : support::LlmOptions{}));
  if (*f.reply) {
    support::ConversationStore conversations((std::filesystem::path(env.data_dir) / "support" / env.tenant / "conversations").string());
    support::Conversation c;
    if (!f.conversation.empty()) {
      ASSIGN_OR_RETURN(c, conversations.Load(f.conversation));
    }
    if (!f.user.empty()) c.user_id = f.user;
    const support::Reply r = s.agent->Respond(&c, f.message, s.facts.get(), Now());
    if (!f.conversation.empty()) RETURN_IF_ERROR(conversations.Save(c));
    if (env.json) {
      json j = r.ToJson();
      if (!f.conversation.empty()) j["conversation"] = c.ToJson();
      std::cout << j.dump(2) << "\n";
      return Status::Ok();
    }
    const auto& a = r.analysis;
    std::printf("intent     %s (%.2f)\nsentiment  %s (score %+.2f)\n", a.intent.c_str(), a.intent_confidence,
                a.sentiment.label.c_str(), a.sentiment.score);
    for (const auto& e : a.entities) std::printf("entity     %s \"%s\" -> %s\n", e.type.c_str(), e.text.c_str(), e.value.c_str());
    std::printf("reply      [%s] %s\n", r.source.c_str(), r.text.c_str());
    if (r.handoff) std::printf("hand-off   %s\n", r.handoff_reason.c_str());
    if (!r.llm_error.empty()) std::printf("llm        not used: %s\n", r.llm_error.c_str());
    return Status::Ok();
  }
  // classify / analytics: every ticket in the store.
  const Table& tickets = s.snap->table(Entity::kTickets);
  const Column& tid = tickets.col("ticket_id");
  const Column& text = tickets.col("text");
  const Column& ts = tickets.col("timestamp");
  const Column* user = tickets.find("user_id");
  const Column* resolved = tickets.find("resolved");
  int64_t n = tickets.rows();
  if (f.limit > 0) n = std::min<int64_t>(n, f.limit);
  std::vector<std::string> texts;
  std::vector<support::TicketRow> rows;
  for (int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(r);
    texts.push_back(text.codes[i] >= 0 ? text.dict->Key(text.codes[i]) : "");
    support::TicketRow t;
    t.ticket_id = tid.dict->Key(tid.codes[i]);
    if (user && user->codes[i] >= 0) t.user_id = user->dict->Key(user->codes[i]);
    t.time = ts.ints[i];
    if (resolved && resolved->valid[i]) t.has_resolved = true, t.resolved = resolved->ints[i] != 0;
    rows.push_back(std::move(t));
  }
  // classify writes each batch as it is done; analytics keeps every analysis.
  std::vector<support::Analysis> analyses;
  if (*f.classify) std::cout << "ticket_id,intent,confidence,sentiment,sentiment_score,language,entities\n";
  constexpr size_t kBatch = 4096;
  for (size_t b = 0; b < texts.size(); b += kBatch) {
    const size_t e = std::min(texts.size(), b + kBatch);
    auto part = s.agent->Analyze(std::vector<std::string>(texts.begin() + static_cast<std::ptrdiff_t>(b), texts.begin() + static_cast<std::ptrdiff_t>(e)));
    if (!*f.classify) {
      std::move(part.begin(), part.end(), std::back_inserter(analyses));
      continue;
    }
    std::string out;
    for (size_t k = 0; k < part.size(); ++k) {
      const auto& a = part[k];
      char conf[32], score[32];
      std::snprintf(conf, sizeof conf, "%.4f", a.intent_confidence);
      std::snprintf(score, sizeof score, "%.3f", a.sentiment.score);
      out += CsvLine({rows[b + k].ticket_id, a.intent, conf, a.sentiment.label, score, a.language, a.ToJson()["entities"].dump()});
      out += '\n';
    }
    std::cout << out;
  }
  if (*f.classify) return Status::Ok();
  // Analytics: what the agent would have answered for each ticket, as a first contact.
  std::vector<support::Reply> replies;
  replies.reserve(texts.size());
  for (size_t k = 0; k < texts.size(); ++k) {
    support::Conversation c;
    replies.push_back(s.agent->Respond(&c, texts[k], analyses[k], s.facts.get(), rows[k].time));
  }
  const json report = support::TicketAnalytics(rows, analyses, replies);
  if (env.json) {
    std::cout << report.dump(2) << "\n";
    return Status::Ok();
  }
  std::printf("%lld tickets\n\nweek        tickets  negative\n", static_cast<long long>(report["tickets"].get<int64_t>()));
  for (const auto& w : report["weekly"]) {
    std::printf("%s %8lld  %7.1f%%\n", w["week"].get<std::string>().c_str(), static_cast<long long>(w["tickets"].get<int64_t>()),
                100 * w["negative_share"].get<double>());
  }
  std::printf("\ncomplaint topics (log-odds in negative tickets):");
  for (const auto& t : report["complaint_topics"]) std::printf(" %s", t["term"].get<std::string>().c_str());
  std::printf("\n\n%-18s %8s %10s %10s\n", "intent", "tickets", "automated", "repeat_7d");
  for (const auto& [intent, m] : report["per_intent"].items()) {
    std::printf("%-18s %8lld %9.1f%% %9.1f%%\n", intent.c_str(), static_cast<long long>(m["tickets"].get<int64_t>()),
                100 * m["automated_share"].get<double>(), 100 * m["repeat_within_7d"].get<double>());
  }
  std::printf("\nfirst-contact resolution candidates:");
  for (const auto& c : report["first_contact_resolution_candidates"]) std::printf(" %s", c["intent"].get<std::string>().c_str());
  std::printf("\n");
  return Status::Ok();
}

}  // namespace opspilot::cli
