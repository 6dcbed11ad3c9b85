// The demo job behind `make demo` / `opspilot demo`: generate the demo shop
// into a fresh directory, ingest it through the real ingestion path, read it
// back through a snapshot and describe what was loaded.
#ifndef OPSPILOT_DEMO_DEMO_JOB_H_
#define OPSPILOT_DEMO_DEMO_JOB_H_

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/context.h"
#include "demo/demo_shop.h"
#include "nlp/classifier.h"
#include "store/ingest.h"

namespace opspilot::demo {

struct DemoJobOptions {
  DemoOptions shop;
  // Recreated on every run. Holds shop/ (generated files) and data/ (the
  // data directory: store, rejects). A non-empty directory that is not a
  // previous demo is never touched.
  std::string dir = "./opspilot-demo";
  std::string tenant = "default";
  // Trains a text classifier: the libtorch build passes nlp::TrainClassifier.
  // Without one the support section is skipped (the plain binary re-runs
  // the demo as opspilot-nn).
  std::function<StatusOr<std::unique_ptr<nlp::TextClassifier>>(const Context&, const std::vector<nlp::LabelledText>&,
                                                               const nlp::ClassifierOptions&)>
      train_text;
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
