// Tabular data for the gradient-boosting and neural tabular models: a dense
// float matrix (row-major, NaN = missing) with typed features, read from CSV
// with no hand preparation: numeric columns stay numbers, anything else is a
// categorical column (codes into its category list), blanks are missing.
#ifndef OPSPILOT_ML_TABULAR_H_
#define OPSPILOT_ML_TABULAR_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "store/snapshot.h"

namespace opspilot::ml {

enum class FeatureKind { kNumeric, kCategorical };
enum class TaskKind { kBinary, kMulticlass, kRegression };

std::string_view TaskKindName(TaskKind t);
StatusOr<TaskKind> ParseTaskKind(std::string_view name);

struct Feature {
  std::string name;
  FeatureKind kind = FeatureKind::kNumeric;
  std::vector<std::string> categories;  // categorical: code i is categories[i]
};

// How a table was encoded; saved with a model so new data is encoded alike.
struct TabularSchema {
  std::vector<Feature> features;
  std::string target, id;        // column names ("" if none)
  TaskKind task = TaskKind::kBinary;
  std::vector<std::string> classes;  // classification: label i is classes[i]

  nlohmann::json ToJson() const;
  static StatusOr<TabularSchema> FromJson(const nlohmann::json& j);
};

struct TabularData {
  TabularSchema schema;
  int64_t rows = 0;
  std::vector<float> x;            // rows x features, row-major; NaN = missing
  std::vector<float> y;            // class index or value; empty without a target
  std::vector<std::string> ids;    // the id column, or row numbers from 1

  int64_t cols() const { return static_cast<int64_t>(schema.features.size()); }
  float at(int64_t r, int64_t c) const { return x[static_cast<size_t>(r * cols() + c)]; }
  std::vector<int> labels() const;  // y as ints (classification)
  // The rows `idx`, same schema.
  TabularData Take(std::span<const int64_t> idx) const;
};

struct TabularReadOptions {
  std::string target;             // "" = no target (prediction input)
  std::string id;                 // "" = row numbers
  std::string task = "auto";      // auto | binary | multiclass | regression
  std::vector<std::string> drop;  // columns to ignore
  int max_categories = 1000;      // more distinct strings than this: refused as an id-like column
};

// Reads a CSV for training: infers feature kinds and, with task "auto", the
// task: a non-numeric target or one with at most 10 distinct integer values
// is classification (2 classes: binary), otherwise regression.
StatusOr<TabularData> ReadTabularCsv(const std::string& path, const TabularReadOptions& options);

// Reads a CSV for prediction with a saved schema: same features by name
// (extra columns ignored, missing ones are an error), unknown categories
// become missing. The target, when present, is read too (for evaluation).
StatusOr<TabularData> ReadTabularCsvWithSchema(const std::string& path, const TabularSchema& schema);

// Rows given as JSON objects (feature name -> number or string; absent or
// null = missing), encoded with a saved schema (HTTP scoring). "id" names a
// row when present. Unknown categories become missing.
StatusOr<TabularData> TabularFromJsonRows(const TabularSchema& schema, const nlohmann::json& rows);

// Builds TabularData from a snapshot Table (engine mode): the named columns
// become features (numbers, timestamps and booleans numeric; text and JSON
// categorical), `target` (may be "") the label, `id` the row ids. Task as in
// ReadTabularCsv ("auto" decides from the target column).
StatusOr<TabularData> TabularFromTable(const Table& table, const std::vector<std::string>& features,
                                       const std::string& target, const std::string& id,
                                       const std::string& task = "auto");

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_TABULAR_H_
