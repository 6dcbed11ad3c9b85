// The parts of the classifiers that need no libtorch: reading labelled CSVs
// and the evaluation report.
#include <map>
#include <set>

#include "core/csv.h"
#include "core/strings.h"
#include "nlp/classifier.h"

namespace opspilot::nlp {

using nlohmann::json;

StatusOr<std::vector<LabelledText>> ReadTextCsv(const std::string& path, bool need_label) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": the file is empty");
  int ctext = -1, clabel = -1, cid = -1;
  for (size_t f = 0; f < rec.num_fields; ++f) {
    const std::string name = ToLower(Trim(rec.field(f)));
    if (name == "text") ctext = static_cast<int>(f);
    else if (name == "label") clabel = static_cast<int>(f);
    else if (name == "id") cid = static_cast<int>(f);
  }
  if (ctext < 0) return InvalidArgument(path + ":1: the header needs a 'text' column");
  if (need_label && clabel < 0) return InvalidArgument(path + ":1: the header needs a 'label' column");
  std::vector<LabelledText> out;
  int64_t row = 0;
  while (reader.Next(&rec)) {
    ++row;
    const std::string where = path + ":" + std::to_string(rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    const int need = std::max({ctext, clabel, cid});
    if (static_cast<int>(rec.num_fields) <= need) {
      return InvalidArgument(where + ": expected " + std::to_string(need + 1) + " fields, found " + std::to_string(rec.num_fields));
    }
    size_t bad = 0;
    const std::string_view text = rec.field(static_cast<size_t>(ctext));
    if (!ValidUtf8(text, &bad)) return InvalidArgument(where + ": field 'text': invalid UTF-8 at byte " + std::to_string(bad));
    LabelledText t;
    t.text = std::string(text);
    t.id = cid >= 0 ? std::string(rec.field(static_cast<size_t>(cid))) : std::to_string(row);
    if (clabel >= 0) t.label = std::string(Trim(rec.field(static_cast<size_t>(clabel))));
    if (need_label && t.label.empty()) return InvalidArgument(where + ": field 'label': empty");
    out.push_back(std::move(t));
  }
  RETURN_IF_ERROR(reader.status());
  if (out.empty()) return InvalidArgument(path + ": no rows");
  return out;
}

json EvaluateClassifier(const TextClassifier& model, const std::vector<LabelledText>& data) {
  std::vector<std::string> texts;
  for (const auto& d : data) texts.push_back(d.text);
  const auto preds = model.Predict(texts, 1);
  std::set<std::string> labels(model.labels().begin(), model.labels().end());
  for (const auto& d : data) labels.insert(d.label);
  std::map<std::string, std::map<std::string, int64_t>> confusion;  // truth -> predicted -> n
  int64_t correct = 0, in_scope = 0, in_scope_correct = 0, oos_true = 0, oos_pred = 0, oos_hit = 0;
  for (size_t k = 0; k < data.size(); ++k) {
    const std::string& truth = data[k].label;
    const std::string& got = preds[k].label;
    ++confusion[truth][got];
    correct += truth == got;
    if (truth == kOutOfScope) {
      ++oos_true;
      oos_hit += got == kOutOfScope;
    } else {
      ++in_scope;
      in_scope_correct += truth == got;
    }
    oos_pred += got == kOutOfScope;
  }
  json per_class = json::object();
  double macro_f1 = 0;
  int classes = 0;
  labels.insert(kOutOfScope);
  for (const auto& l : labels) {
    int64_t tp = 0, fp = 0, fn = 0;
    for (const auto& [truth, row] : confusion) {
      for (const auto& [got, n] : row) {
        if (truth == l && got == l) tp += n;
        else if (got == l) fp += n;
        else if (truth == l) fn += n;
      }
    }
    if (tp + fp + fn == 0) continue;
    const double p = tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0;
    const double r = tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0;
    const double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
    per_class[l] = {{"precision", p}, {"recall", r}, {"f1", f1}, {"support", tp + fn}};
    if (tp + fn > 0) macro_f1 += f1, ++classes;
  }
  json conf = json::object();
  for (const auto& [truth, row] : confusion) conf[truth] = row;
  json out = {{"examples", data.size()},
              {"accuracy", data.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(data.size())},
              {"macro_f1", classes ? macro_f1 / classes : 0.0},
              {"threshold", model.threshold()},
              {"per_class", per_class},
              {"confusion", conf}};
  if (in_scope > 0) out["in_scope_accuracy"] = static_cast<double>(in_scope_correct) / static_cast<double>(in_scope);
  if (oos_true > 0) {
    out["oos_recall"] = static_cast<double>(oos_hit) / static_cast<double>(oos_true);
    out["oos_precision"] = oos_pred ? static_cast<double>(oos_hit) / static_cast<double>(oos_pred) : 0.0;
  }
  return out;
}

}  // namespace opspilot::nlp
