// `opspilot support train`: libtorch build only (the classifiers train in libtorch).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/support_cmd.h"
#include "ml/registry.h"
#include "store/snapshot.h"
#include "support/engine.h"

namespace opspilot::cli {

using nlohmann::json;

StatusOr<json> TrainSupport(const Context& ctx, Store& store, const std::string& models_dir, const std::string& tenant,
                            const SupportFlags& f) {
  SnapshotSpec spec;
  spec.tenant = tenant;
  spec.events = false;
  spec.tables = {Entity::kTickets};
  ASSIGN_OR_RETURN(Snapshot snap, LoadSnapshot(ctx, store, spec));
  const Table& tickets = snap.table(Entity::kTickets);
  const Column& id = tickets.col("ticket_id");
  const Column& text = tickets.col("text");
  const Column* intent = tickets.find("intent");
  const Column* sentiment = tickets.find("sentiment");
  std::vector<nlp::LabelledText> intents, sentiments;
  for (int64_t r = 0; r < tickets.rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    if (text.codes[i] < 0) continue;
    nlp::LabelledText t;
    t.id = id.dict->Key(id.codes[i]);
    t.text = text.dict->Key(text.codes[i]);
    if (intent && intent->codes[i] >= 0) intents.push_back({t.id, t.text, intent->dict->Key(intent->codes[i])});
    if (sentiment && sentiment->codes[i] >= 0) sentiments.push_back({t.id, t.text, sentiment->dict->Key(sentiment->codes[i])});
  }
  if (intents.size() < 20) {
    return FailedPrecondition("support train needs tickets with an 'intent' label (found " + std::to_string(intents.size()) +
                              " of " + std::to_string(tickets.rows()) + "); load tickets with intent labels first");
  }
  nlp::ClassifierOptions o;
  o.model = f.model;
  o.epochs = f.epochs;
  o.tokenizer = f.tokenizer;
  o.target_precision = f.target_precision;
  ASSIGN_OR_RETURN(auto intent_model, nlp::TrainClassifier(ctx, intents, o));
  std::unique_ptr<nlp::TextClassifier> sentiment_model;
  if (sentiments.size() >= 20) {
    nlp::ClassifierOptions so = o;
    so.out_of_scope = false;  // every message has a sentiment
    ASSIGN_OR_RETURN(sentiment_model, nlp::TrainClassifier(ctx, sentiments, so));
  }
  std::vector<nlp::FaqEntry> faq;
  if (!f.faq.empty()) {
    ASSIGN_OR_RETURN(faq, nlp::ReadFaq(f.faq));
  }
  std::vector<support::ReplyTemplate> templates = support::DefaultTemplates();
  if (!f.templates.empty()) {
    ASSIGN_OR_RETURN(templates, support::ReadTemplates(f.templates, std::move(templates)));
  }
  const json ir = intent_model->report();
  json meta = {{"algorithm", "support:" + intent_model->model()}, {"intent_examples", intents.size()},
               {"sentiment_examples", sentiments.size()}, {"faq_entries", faq.size()},
               {"metrics", {{"intent_valid_accuracy", ir.value("valid_accuracy", 0.0)}}},
               {"intent_report", ir}, {"handoff", f.policy.ToJson()}};
  if (sentiment_model) meta["sentiment_report"] = sentiment_model->report();
  ml::ModelRegistry registry(models_dir);
  const std::string task = support::SupportTask(tenant);
  ASSIGN_OR_RETURN(ml::ModelInfo info, registry.Register(ctx, task, meta, [&](const std::string& dir) {
    return support::SaveSupportModel(dir + "/support", intent_model.get(), sentiment_model.get(), faq, templates,
                                     f.policy);
  }));
  return json{{"task", task}, {"version", info.version}, {"intent_model", intent_model->model()},
              {"intent_examples", intents.size()}, {"intent_accuracy", ir.value("valid_accuracy", 0.0)},
              {"intent_labels", intent_model->labels()},
              {"sentiment_model", sentiment_model ? sentiment_model->model() : std::string("lexicon")},
              {"sentiment_accuracy", sentiment_model ? sentiment_model->report().value("valid_accuracy", 0.0) : 0.0},
              {"faq_entries", faq.size()}, {"dir", info.dir}};
}

Status RunSupportTrain(const Context& ctx, const SupportFlags& f, const SupportEnv& env) {
  ASSIGN_OR_RETURN(auto store, env.open_store());
  const std::string models = (std::filesystem::path(env.data_dir) / "models").string();
  ASSIGN_OR_RETURN(json report, TrainSupport(ctx, *store, models, env.tenant, f));
  if (env.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::printf("registered %s %s: intent %s on %lld tickets (hold-out accuracy %.3f), sentiment %s, %lld FAQ entries\n",
                report["task"].get<std::string>().c_str(), report["version"].get<std::string>().c_str(),
                report["intent_model"].get<std::string>().c_str(), static_cast<long long>(report["intent_examples"].get<int64_t>()),
                report.value("intent_accuracy", 0.0), report["sentiment_model"].get<std::string>().c_str(),
                static_cast<long long>(report["faq_entries"].get<int64_t>()));
  }
  return Status::Ok();
}

}  // namespace opspilot::cli
