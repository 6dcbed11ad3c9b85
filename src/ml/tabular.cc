#include "ml/tabular.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/dictionary.h"

namespace opspilot::ml {

using nlohmann::json;

namespace {
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

bool ParseNumber(std::string_view s, double* v) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*v);
}

bool IsBlank(std::string_view s) {
  return s.empty() || s == "NA" || s == "NaN" || s == "nan" || s == "null" || s == "NULL";
}

// One column read in a single pass: numbers as parsed, and every value's
// dictionary code, so the kind can be decided at the end.
struct RawColumn {
  std::string name;
  bool numeric = true;
  std::vector<double> num;
  std::vector<int32_t> code;  // -1 for blank, -2 for a number not interned
  Dictionary dict;
  bool overflow = false;  // a numeric column with too many distinct values to intern
  bool always_intern = false;
  int64_t numbers = 0, texts = 0;  // non-blank values that parse as numbers, and those that do not
  int64_t first_text_line = 0;     // where the first of the latter is
  std::string first_text;
};

// Numeric columns keep their distinct values only while few (the target's
// task detection needs them); past this they are not interned.
constexpr int32_t kMaxNumericDistinct = 4096;

// `keep`: columns always interned whatever their values (target, id).
Status ReadColumns(const std::string& path, const std::vector<std::string>& keep,
                   std::vector<RawColumn>* cols, int64_t* rows) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": empty file (expected a header row)");
  RETURN_IF_ERROR(CheckCsvHeader(path, rec));
  for (size_t i = 0; i < rec.num_fields; ++i) {
    RawColumn c;
    c.name = rec.field(i);
    c.always_intern = std::find(keep.begin(), keep.end(), c.name) != keep.end();
    cols->push_back(std::move(c));
  }
  *rows = 0;
  while (reader.Next(&rec)) {
    if (!rec.error.empty()) {
      return InvalidArgument(path + ":" + std::to_string(rec.line) + ": " + rec.error);
    }
    if (rec.num_fields != cols->size()) {
      return InvalidArgument(path + ":" + std::to_string(rec.line) + ": expected " +
                             std::to_string(cols->size()) + " fields, found " +
                             std::to_string(rec.num_fields));
    }
    for (size_t i = 0; i < cols->size(); ++i) {
      RawColumn& c = (*cols)[i];
      std::string_view v = rec.field(i);
      double d = 0;
      if (IsBlank(v)) {
        c.num.push_back(std::numeric_limits<double>::quiet_NaN());
        c.code.push_back(-1);
        continue;
      }
      const bool is_number = ParseNumber(v, &d);
      is_number ? ++c.numbers : ++c.texts;
      if (!is_number && c.texts == 1) c.first_text_line = rec.line, c.first_text = std::string(v.substr(0, 40));
      if (c.numeric && !is_number) {
        c.numeric = false;
        if (c.overflow) {
          return InvalidArgument(path + ":" + std::to_string(rec.line) + ": field '" + c.name +
                                 "': text '" + std::string(v.substr(0, 40)) +
                                 "' in a column of thousands of distinct numbers");
        }
      }
      c.num.push_back(d);
      if (c.numeric && !c.always_intern && (c.overflow || c.dict.size() >= kMaxNumericDistinct)) {
        c.overflow = true;
        c.code.push_back(-2);
      } else {
        c.code.push_back(c.dict.Intern(v));
      }
    }
    ++*rows;
  }
  RETURN_IF_ERROR(reader.status());
  if (*rows == 0) return InvalidArgument(path + ": no data rows");
  return Status::Ok();
}

int FindColumn(const std::vector<RawColumn>& cols, const std::string& name) {
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// Fills y from the raw target column according to schema.task/classes.
Status EncodeTarget(const RawColumn& t, const std::string& path, TabularData* d, bool allow_unknown) {
  const auto& s = d->schema;
  d->y.resize(static_cast<size_t>(d->rows));
  for (int64_t r = 0; r < d->rows; ++r) {
    const auto i = static_cast<size_t>(r);
    if (t.code[i] == -1) {
      if (allow_unknown) {
        d->y[i] = kMissing;
        continue;
      }
      return InvalidArgument(path + ":" + std::to_string(r + 2) + ": field '" + s.target +
                             "': the target is blank");
    }
    if (s.task == TaskKind::kRegression) {
      if (!t.numeric) return InvalidArgument(path + ": regression target '" + s.target + "' is not numeric");
      d->y[i] = static_cast<float>(t.num[i]);
    } else {
      const std::string& key = t.dict.Key(t.code[i]);
      auto it = std::find(s.classes.begin(), s.classes.end(), key);
      if (it == s.classes.end()) {
        if (allow_unknown) {
          d->y[i] = kMissing;
          continue;
        }
        return InvalidArgument(path + ":" + std::to_string(r + 2) + ": unknown class '" + key + "'");
      }
      d->y[i] = static_cast<float>(it - s.classes.begin());
    }
  }
  return Status::Ok();
}

void FillIds(const std::vector<RawColumn>& cols, int id_col, TabularData* d) {
  d->ids.resize(static_cast<size_t>(d->rows));
  for (int64_t r = 0; r < d->rows; ++r) {
    const auto i = static_cast<size_t>(r);
    if (id_col >= 0 && cols[static_cast<size_t>(id_col)].code[i] >= 0) {
      d->ids[i] = cols[static_cast<size_t>(id_col)].dict.Key(cols[static_cast<size_t>(id_col)].code[i]);
    } else {
      d->ids[i] = std::to_string(r + 1);
    }
  }
}
}  // namespace

std::string_view TaskKindName(TaskKind t) {
  switch (t) {
    case TaskKind::kBinary: return "binary";
    case TaskKind::kMulticlass: return "multiclass";
    case TaskKind::kRegression: return "regression";
  }
  return "binary";
}

StatusOr<TaskKind> ParseTaskKind(std::string_view n) {
  if (n == "binary") return TaskKind::kBinary;
  if (n == "multiclass") return TaskKind::kMulticlass;
  if (n == "regression") return TaskKind::kRegression;
  return InvalidArgument("task must be auto, binary, multiclass or regression, got '" + std::string(n) + "'");
}

json TabularSchema::ToJson() const {
  json feats = json::array();
  for (const auto& f : features) {
    feats.push_back({{"name", f.name},
                     {"kind", f.kind == FeatureKind::kNumeric ? "numeric" : "categorical"},
                     {"categories", f.categories}});
  }
  return {{"features", feats}, {"target", target}, {"id", id},
          {"task", TaskKindName(task)}, {"classes", classes}};
}

StatusOr<TabularSchema> TabularSchema::FromJson(const json& j) {
  TabularSchema s;
  try {
    for (const auto& f : j.at("features")) {
      Feature feat;
      feat.name = f.at("name").get<std::string>();
      feat.kind = f.at("kind").get<std::string>() == "numeric" ? FeatureKind::kNumeric : FeatureKind::kCategorical;
      feat.categories = f.at("categories").get<std::vector<std::string>>();
      s.features.push_back(std::move(feat));
    }
    s.target = j.at("target").get<std::string>();
    s.id = j.at("id").get<std::string>();
    ASSIGN_OR_RETURN(s.task, ParseTaskKind(j.at("task").get<std::string>()));
    s.classes = j.at("classes").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("bad tabular schema: ") + e.what());
  }
  return s;
}

std::vector<int> TabularData::labels() const {
  std::vector<int> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) out[i] = static_cast<int>(y[i]);
  return out;
}

TabularData TabularData::Take(std::span<const int64_t> idx) const {
  TabularData d;
  d.schema = schema;
  d.rows = static_cast<int64_t>(idx.size());
  const auto c = static_cast<size_t>(cols());
  d.x.reserve(idx.size() * c);
  for (int64_t r : idx) {
    d.x.insert(d.x.end(), x.begin() + static_cast<long>(static_cast<size_t>(r) * c),
               x.begin() + static_cast<long>((static_cast<size_t>(r) + 1) * c));
    if (!y.empty()) d.y.push_back(y[static_cast<size_t>(r)]);
    d.ids.push_back(ids[static_cast<size_t>(r)]);
  }
  return d;
}

StatusOr<TabularData> ReadTabularCsv(const std::string& path, const TabularReadOptions& o) {
  std::vector<RawColumn> cols;
  TabularData d;
  RETURN_IF_ERROR(ReadColumns(path, {o.target, o.id}, &cols, &d.rows));
  const int target = o.target.empty() ? -1 : FindColumn(cols, o.target);
  if (!o.target.empty() && target < 0) {
    return InvalidArgument(path + ":1: field '" + o.target + "': target column not in the header");
  }
  const int id = o.id.empty() ? -1 : FindColumn(cols, o.id);
  if (!o.id.empty() && id < 0) return InvalidArgument(path + ":1: field '" + o.id + "': id column not in the header");
  d.schema.target = o.target;
  d.schema.id = o.id;
  for (const std::string& name : o.drop) {
    if (std::none_of(cols.begin(), cols.end(), [&](const RawColumn& c) { return c.name == name; })) {
      return InvalidArgument(path + ":1: no column '" + name + "' to drop");
    }
  }
  std::vector<int> feature_cols;
  for (size_t i = 0; i < cols.size(); ++i) {
    const int ii = static_cast<int>(i);
    if (ii == target || ii == id) continue;
    if (std::find(o.drop.begin(), o.drop.end(), cols[i].name) != o.drop.end()) continue;
    Feature f;
    f.name = cols[i].name;
    // A feature of numbers with a stray word in it is dirty data, not a
    // category: read as text it would silently turn every number into a label.
    if (const RawColumn& c = cols[i]; c.texts > 0 && c.numbers >= 20 && c.texts <= std::max<int64_t>(1, c.numbers / 100)) {
      return InvalidArgument(path + ":" + std::to_string(c.first_text_line) + ": field '" + c.name + "': '" + c.first_text +
                             "' is not a finite number, in a column whose other " + std::to_string(c.numbers) +
                             " values are (fix it, leave it blank for a missing value, or --drop the column)");
    }
    if (!cols[i].numeric) {
      if (cols[i].dict.size() > o.max_categories) {
        return InvalidArgument(path + ": field '" + f.name + "' has " + std::to_string(cols[i].dict.size()) +
                               " distinct text values (an id?); pass it as --id or drop it");
      }
      f.kind = FeatureKind::kCategorical;
      for (int32_t k = 0; k < cols[i].dict.size(); ++k) f.categories.push_back(cols[i].dict.Key(k));
    }
    d.schema.features.push_back(std::move(f));
    feature_cols.push_back(ii);
  }
  if (feature_cols.empty()) return InvalidArgument(path + ": no feature columns");
  d.x.resize(static_cast<size_t>(d.rows) * feature_cols.size());
  for (size_t f = 0; f < feature_cols.size(); ++f) {
    const RawColumn& c = cols[static_cast<size_t>(feature_cols[f])];
    const bool numeric = d.schema.features[f].kind == FeatureKind::kNumeric;
    for (int64_t r = 0; r < d.rows; ++r) {
      const auto i = static_cast<size_t>(r);
      float v = kMissing;
      if (c.code[i] != -1) v = numeric ? static_cast<float>(c.num[i]) : static_cast<float>(c.code[i]);
      d.x[i * feature_cols.size() + f] = v;
    }
  }
  if (target >= 0) {
    const RawColumn& t = cols[static_cast<size_t>(target)];
    std::string task = o.task;
    if (task == "auto") {
      bool small_int = t.numeric && !t.overflow && t.dict.size() <= 10;
      for (size_t i = 0; small_int && i < t.num.size(); ++i) {
        small_int = t.code[i] == -1 || t.num[i] == std::floor(t.num[i]);
      }
      task = (!t.numeric || small_int) ? (t.dict.size() == 2 ? "binary" : "multiclass") : "regression";
    }
    ASSIGN_OR_RETURN(d.schema.task, ParseTaskKind(task));
    if (d.schema.task != TaskKind::kRegression) {
      std::vector<std::string> classes;
      for (int32_t k = 0; k < t.dict.size(); ++k) classes.push_back(t.dict.Key(k));
      // Numeric labels sort numerically ("0" < "1" < "10"), others as text.
      std::sort(classes.begin(), classes.end(), [&](const std::string& a, const std::string& b) {
        double x = 0, y = 0;
        if (t.numeric && ParseNumber(a, &x) && ParseNumber(b, &y)) return x < y;
        return a < b;
      });
      if (classes.size() < 2) return InvalidArgument(path + ": target '" + o.target + "' has a single class");
      if (d.schema.task == TaskKind::kBinary && classes.size() != 2) {
        std::string listed;
        for (size_t k = 0; k < classes.size() && k < 6; ++k) listed += (k ? ", '" : "'") + classes[k].substr(0, 40) + "'";
        if (classes.size() > 6) listed += ", ...";
        return InvalidArgument(path + ": field '" + o.target + "': a binary target needs two values, found " +
                               std::to_string(classes.size()) + " (" + listed + ")");
      }
      d.schema.classes = std::move(classes);
    }
    RETURN_IF_ERROR(EncodeTarget(t, path, &d, false));
  }
  FillIds(cols, id, &d);
  return d;
}

StatusOr<TabularData> ReadTabularCsvWithSchema(const std::string& path, const TabularSchema& schema) {
  std::vector<RawColumn> cols;
  TabularData d;
  d.schema = schema;
  RETURN_IF_ERROR(ReadColumns(path, {schema.target, schema.id}, &cols, &d.rows));
  const size_t nf = schema.features.size();
  d.x.assign(static_cast<size_t>(d.rows) * nf, kMissing);
  for (size_t f = 0; f < nf; ++f) {
    const Feature& feat = schema.features[f];
    const int ci = FindColumn(cols, feat.name);
    if (ci < 0) return InvalidArgument(path + ":1: field '" + feat.name + "': feature column missing from the header");
    const RawColumn& c = cols[static_cast<size_t>(ci)];
    std::vector<float> code_map;  // this file's dictionary -> schema category code
    if (feat.kind == FeatureKind::kCategorical) {
      std::map<std::string, float> known;
      for (size_t k = 0; k < feat.categories.size(); ++k) known[feat.categories[k]] = static_cast<float>(k);
      for (int32_t k = 0; k < c.dict.size(); ++k) {
        auto it = known.find(c.dict.Key(k));
        code_map.push_back(it == known.end() ? kMissing : it->second);
      }
    } else if (!c.numeric) {
      for (int64_t r = 0; r < d.rows; ++r) {
        const auto i = static_cast<size_t>(r);
        double v = 0;
        if (c.code[i] >= 0 && !ParseNumber(c.dict.Key(c.code[i]), &v)) {
          return InvalidArgument(path + ":" + std::to_string(r + 2) + ": field '" + feat.name +
                                 "': expected a number, got '" + c.dict.Key(c.code[i]) + "'");
        }
      }
    }
    for (int64_t r = 0; r < d.rows; ++r) {
      const auto i = static_cast<size_t>(r);
      if (c.code[i] == -1) continue;
      d.x[i * nf + f] = feat.kind == FeatureKind::kCategorical ? code_map[static_cast<size_t>(c.code[i])]
                                                               : static_cast<float>(c.num[i]);
    }
  }
  const int target = schema.target.empty() ? -1 : FindColumn(cols, schema.target);
  if (target >= 0) RETURN_IF_ERROR(EncodeTarget(cols[static_cast<size_t>(target)], path, &d, true));
  FillIds(cols, schema.id.empty() ? -1 : FindColumn(cols, schema.id), &d);
  return d;
}

StatusOr<TabularData> TabularFromJsonRows(const TabularSchema& schema, const json& rows) {
  if (!rows.is_array()) return InvalidArgument("expected a JSON array of objects");
  TabularData d;
  d.schema = schema;
  d.rows = static_cast<int64_t>(rows.size());
  const size_t nf = schema.features.size();
  d.x.assign(rows.size() * nf, kMissing);
  std::vector<std::map<std::string, float>> codes(nf);
  for (size_t f = 0; f < nf; ++f) {
    for (size_t k = 0; k < schema.features[f].categories.size(); ++k) {
      codes[f][schema.features[f].categories[k]] = static_cast<float>(k);
    }
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& row = rows[r];
    if (!row.is_object()) return InvalidArgument("row " + std::to_string(r + 1) + ": expected a JSON object");
    for (size_t f = 0; f < nf; ++f) {
      const Feature& feat = schema.features[f];
      auto it = row.find(feat.name);
      if (it == row.end() || it->is_null()) continue;
      float& cell = d.x[r * nf + f];
      if (feat.kind == FeatureKind::kCategorical) {
        const std::string key = it->is_string() ? it->get<std::string>() : it->dump();
        auto c = codes[f].find(key);
        if (c != codes[f].end()) cell = c->second;
      } else if (it->is_number()) {
        cell = it->get<float>();
      } else if (it->is_boolean()) {
        cell = it->get<bool>() ? 1.0f : 0.0f;
      } else {
        double v = 0;
        if (!it->is_string() || !ParseNumber(it->get<std::string>(), &v)) {
          return InvalidArgument("row " + std::to_string(r + 1) + ": field '" + feat.name + "': expected a number");
        }
        cell = static_cast<float>(v);
      }
    }
    auto id = row.find("id");
    d.ids.push_back(id != row.end() && !id->is_null() ? (id->is_string() ? id->get<std::string>() : id->dump())
                                                      : std::to_string(r + 1));
  }
  return d;
}

StatusOr<TabularData> TabularFromTable(const Table& table, const std::vector<std::string>& features,
                                       const std::string& target, const std::string& id, const std::string& task) {
  TabularData d;
  d.rows = table.rows();
  d.schema.target = target;
  d.schema.id = id;
  auto column = [&](const std::string& name) -> StatusOr<const Column*> {
    const Column* c = table.find(name);
    if (c == nullptr) return InvalidArgument("snapshot has no column '" + name + "'");
    return c;
  };
  auto value = [](const Column& c, size_t r) -> float {
    if (!c.valid[r]) return kMissing;
    switch (c.type) {
      case ColumnType::kReal: return static_cast<float>(c.reals[r]);
      case ColumnType::kText:
      case ColumnType::kJson: return static_cast<float>(c.codes[r]);
      default: return static_cast<float>(c.ints[r]);
    }
  };
  std::vector<const Column*> cols;
  for (const auto& name : features) {
    ASSIGN_OR_RETURN(const Column* c, column(name));
    Feature f;
    f.name = name;
    if (c->type == ColumnType::kText || c->type == ColumnType::kJson) {
      f.kind = FeatureKind::kCategorical;
      // Codes index the whole (possibly shared) dictionary.
      for (int32_t k = 0; k < c->dict->size(); ++k) f.categories.push_back(c->dict->Key(k));
    }
    d.schema.features.push_back(std::move(f));
    cols.push_back(c);
  }
  if (cols.empty()) return InvalidArgument("no feature columns");
  d.x.resize(static_cast<size_t>(d.rows) * cols.size());
  for (size_t r = 0; r < static_cast<size_t>(d.rows); ++r) {
    for (size_t f = 0; f < cols.size(); ++f) d.x[r * cols.size() + f] = value(*cols[f], r);
  }
  if (!target.empty()) {
    ASSIGN_OR_RETURN(const Column* t, column(target));
    const bool text = t->type == ColumnType::kText || t->type == ColumnType::kJson;
    std::string kind = task;
    if (kind == "auto") kind = text || t->type == ColumnType::kBool ? "classification" : "regression";
    if (kind == "regression") {
      if (text) return InvalidArgument("regression target '" + target + "' is text");
      d.schema.task = TaskKind::kRegression;
      for (size_t r = 0; r < static_cast<size_t>(d.rows); ++r) d.y.push_back(value(*t, r));
    } else {
      // Classes: the distinct values in first-seen order of their codes.
      std::map<int64_t, int> index;
      std::vector<int64_t> raw;
      for (size_t r = 0; r < static_cast<size_t>(d.rows); ++r) {
        if (!t->valid[r]) return InvalidArgument("target '" + target + "' is missing in row " + std::to_string(r + 1));
        raw.push_back(text ? t->codes[r] : t->type == ColumnType::kReal ? static_cast<int64_t>(t->reals[r]) : t->ints[r]);
        index.emplace(raw.back(), 0);
      }
      int k = 0;
      for (auto& [v, i] : index) {
        i = k++;
        d.schema.classes.push_back(text ? t->dict->Key(static_cast<int32_t>(v)) : std::to_string(v));
      }
      if (k < 2) return InvalidArgument("target '" + target + "' has a single class");
      d.schema.task = k == 2 ? TaskKind::kBinary : TaskKind::kMulticlass;
      for (int64_t v : raw) d.y.push_back(static_cast<float>(index[v]));
    }
  }
  const Column* idc = nullptr;
  if (!id.empty()) {
    ASSIGN_OR_RETURN(idc, column(id));
  }
  for (size_t r = 0; r < static_cast<size_t>(d.rows); ++r) {
    if (idc && idc->valid[r] && idc->dict) {
      d.ids.push_back(idc->dict->Key(idc->codes[r]));
    } else {
      d.ids.push_back(std::to_string(r + 1));
    }
  }
  return d;
}

}  // namespace opspilot::ml
