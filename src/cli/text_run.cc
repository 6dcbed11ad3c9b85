// The text commands' bodies: libtorch build only.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/text_cmd.h"
#include "core/csv.h"
#include "nlp/classifier.h"

namespace opspilot::cli {

using nlohmann::json;

Status RunText(const Context& ctx, const TextFlags& f, bool json_out) {
  if (*f.train) {
    ASSIGN_OR_RETURN(auto data, nlp::ReadTextCsv(f.data, true));
    nlp::ClassifierOptions o;
    o.model = f.model;
    o.epochs = f.epochs;
    o.dim = f.dim;
    o.target_precision = f.target_precision;
    o.out_of_scope = !f.no_oos;
    ASSIGN_OR_RETURN(auto model, nlp::TrainClassifier(ctx, data, o));
    RETURN_IF_ERROR(model->Save(f.out));
    json out = {{"model_dir", f.out}, {"task", f.task}, {"report", model->report()}};
    if (json_out) {
      std::cout << out.dump(2) << "\n";
    } else {
      const json r = model->report();
      std::printf("trained fasttext on %zu texts, %zu labels -> %s; hold-out accuracy %.3f, out-of-scope below confidence %.3f\n",
                  data.size(), model->labels().size(), f.out.c_str(), r.value("valid_accuracy", 0.0), model->threshold());
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto model, nlp::LoadClassifier(f.model_dir));
  if (*f.predict) {
    ASSIGN_OR_RETURN(auto rows, nlp::ReadTextCsv(f.input, false));
    std::vector<std::string> texts;
    for (const auto& r : rows) texts.push_back(r.text);
    const auto preds = model->Predict(texts, f.top);
    std::vector<std::string> header = {"id", "label", "confidence"};
    for (int k = 2; k <= f.top; ++k) {
      header.push_back("label_" + std::to_string(k));
      header.push_back("confidence_" + std::to_string(k));
    }
    std::cout << CsvLine(header) << "\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      char conf[32];
      std::snprintf(conf, sizeof conf, "%.4f", preds[i].confidence);
      std::vector<std::string> line = {rows[i].id, preds[i].label, conf};
      for (size_t k = 1; k < static_cast<size_t>(f.top); ++k) {
        if (k < preds[i].top.size()) {
          std::snprintf(conf, sizeof conf, "%.4f", preds[i].top[k].second);
          line.push_back(preds[i].top[k].first);
          line.push_back(conf);
        } else {
          line.push_back("");
          line.push_back("");
        }
      }
      std::cout << CsvLine(line) << "\n";
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto data, nlp::ReadTextCsv(f.data, true));
  const json report = nlp::EvaluateClassifier(*model, data);
  if (json_out) {
    std::cout << report.dump(2) << "\n";
    return Status::Ok();
  }
  std::printf("%zu texts: accuracy %.4f, macro F1 %.4f", data.size(), report["accuracy"].get<double>(),
              report["macro_f1"].get<double>());
  if (report.contains("oos_recall")) {
    std::printf(", in-scope accuracy %.4f, out-of-scope recall %.4f precision %.4f", report["in_scope_accuracy"].get<double>(),
                report["oos_recall"].get<double>(), report["oos_precision"].get<double>());
  }
  std::printf("\n%-24s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support");
  for (const auto& [label, m] : report["per_class"].items()) {
    std::printf("%-24s %9.4f %9.4f %9.4f %8lld\n", label.c_str(), m["precision"].get<double>(), m["recall"].get<double>(),
                m["f1"].get<double>(), static_cast<long long>(m["support"].get<int64_t>()));
  }
  return Status::Ok();
}

}  // namespace opspilot::cli
