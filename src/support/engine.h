// The support workflow over the store (engine mode): the serving support
// model of a tenant, with the catalogue's product names and the store's
// order ids in its entity dictionary, and the store's facts. Shared by the
// CLI, the server and the demo.
#ifndef OPSPILOT_SUPPORT_ENGINE_H_
#define OPSPILOT_SUPPORT_ENGINE_H_

#include <memory>
#include <string>

#include "core/context.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "support/support.h"

namespace opspilot::support {

// The registry task: "support", or "support-<tenant>".
std::string SupportTask(const std::string& tenant);

// Product names for the entity dictionary from item titles: the whole
// title, its leading Chinese run, and the prefixes of two or more words of
// its Latin part.
void AddCatalogue(const Snapshot& snap, nlp::EntityExtractor* x);

struct LoadedSupport {
  std::shared_ptr<const Snapshot> snap;  // tickets, orders, items
  std::shared_ptr<const SnapshotFacts> facts;
  std::shared_ptr<const SupportAgent> agent;
  std::string version;
};
// `llm.base_url` empty: no LLM. The API key, when not set, comes from
// $OPSPILOT_LLM_API_KEY.
StatusOr<LoadedSupport> LoadSupport(const Context& ctx, Store& store, const std::string& models_dir,
                                    const std::string& tenant, const LlmOptions& llm);

}  // namespace opspilot::support

#endif  // OPSPILOT_SUPPORT_ENGINE_H_
