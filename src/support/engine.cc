#include "support/engine.h"

#include <cstdlib>

#include "ml/registry.h"
#include "nlp/text.h"

namespace opspilot::support {

std::string SupportTask(const std::string& tenant) { return tenant == "default" ? "support" : "support-" + tenant; }

void AddCatalogue(const Snapshot& snap, nlp::EntityExtractor* x) {
  const Table* items = snap.find(Entity::kItems);
  if (!items) return;
  const Column& id = items->col("item_id");
  const Column* title = items->find("title");
  for (int64_t r = 0; title && r < items->rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    if (id.codes[i] < 0 || title->codes[i] < 0) continue;
    const std::string item = id.dict->Key(id.codes[i]);
    const std::string t = title->dict->Key(title->codes[i]);
    x->AddProduct(t, item);
    std::string cjk, latin;
    for (size_t k = 0; k < t.size();) {
      const size_t b = k;
      const char32_t cp = nlp::NextCodePoint(t, &k);
      if (nlp::IsCjk(cp)) {
        if (latin.empty()) cjk += t.substr(b, k - b);
      } else if (!cjk.empty() || cp != ' ') {
        latin += t.substr(b, k - b);
      }
    }
    if (cjk.size() >= 6) x->AddProduct(cjk, item);
    std::vector<std::string> words;
    for (size_t k = 0; k < latin.size();) {
      const size_t e = latin.find(' ', k);
      std::string w = latin.substr(k, e == std::string::npos ? std::string::npos : e - k);
      if (!w.empty()) words.push_back(w);
      if (e == std::string::npos) break;
      k = e + 1;
    }
    std::string prefix;
    for (size_t w = 0; w < words.size(); ++w) {
      prefix += (w ? " " : "") + words[w];
      if (w >= 1) x->AddProduct(prefix, item);
    }
  }
}

namespace {

support::LlmOptions WithKey(support::LlmOptions o) {
  if (const char* key = std::getenv("OPSPILOT_LLM_API_KEY"); key && o.api_key.empty()) o.api_key = key;
  return o;
}

}  // namespace

StatusOr<LoadedSupport> LoadSupport(const Context& ctx, Store& store, const std::string& models_dir,
                                    const std::string& tenant, const LlmOptions& llm) {
  ml::ModelRegistry registry(models_dir);
  auto info = registry.Serving(SupportTask(tenant));
  if (!info.ok()) {
    return NotFound("no support model serves task '" + SupportTask(tenant) + "': train one with `opspilot support train`");
  }
  ASSIGN_OR_RETURN(SupportAgent::Parts parts, LoadSupportModel(info->dir + "/support"));
  SnapshotSpec spec;
  spec.tenant = tenant;
  spec.events = false;
  spec.tables = {Entity::kTickets, Entity::kOrders, Entity::kItems};
  ASSIGN_OR_RETURN(Snapshot snap, LoadSnapshot(ctx, store, spec));
  LoadedSupport out;
  out.snap = std::make_shared<const Snapshot>(std::move(snap));
  out.facts = std::make_shared<const SnapshotFacts>(*out.snap);
  AddCatalogue(*out.snap, &parts.entities);
  for (const auto& id : out.facts->OrderIds()) parts.entities.AddOrderId(id);
  if (!llm.base_url.empty()) parts.llm = std::make_shared<LlmClient>(WithKey(llm));
  out.agent = std::make_shared<const SupportAgent>(std::move(parts));
  out.version = info->version;
  return out;
}

}  // namespace opspilot::support
