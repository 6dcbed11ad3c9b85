// The demo job behind `make demo` / `opspilot demo`: generate the demo shop
// into a fresh directory, ingest it through the real ingestion path, read it
// back through a snapshot and describe what was loaded.
#ifndef OPSPILOT_DEMO_DEMO_JOB_H_
#define OPSPILOT_DEMO_DEMO_JOB_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/context.h"
#include "demo/demo_shop.h"
#include "store/ingest.h"

namespace opspilot::demo {

struct DemoJobOptions {
  DemoOptions shop;
  // Recreated on every run. Holds shop/ (generated files) and data/ (the
  // data directory: store, rejects). A non-empty directory that is not a
  // previous demo is never touched.
  std::string dir = "./opspilot-demo";
  std::string tenant = "default";
};

struct DemoJobResult {
  DemoSummary generated;
  std::vector<IngestReport> loads;
  std::string data_dir;
  std::string tour;         // human-readable
  nlohmann::json summary;   // the same, for --json
};

StatusOr<DemoJobResult> RunDemo(const Context& ctx, const DemoJobOptions& options);

// The shop's files in load order: (entity, file name).
const std::vector<std::pair<Entity, std::string>>& DemoFiles();

}  // namespace opspilot::demo

#endif  // OPSPILOT_DEMO_DEMO_JOB_H_
