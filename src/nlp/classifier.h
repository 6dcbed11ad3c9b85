// Text classifiers for intents and sentiment (issue 9), trained through the
// ML core. The first model is fastText's: the mean of hashed word and
// character n-gram embeddings, then a linear layer and a softmax. Messages
// the model is unsure of (maximum probability below a threshold tuned on a
// validation split to a target precision) are out of scope: label "oos".
// libtorch stays out of this header; the implementation lives in the
// libtorch build (opspilot-nn).
#ifndef OPSPILOT_NLP_CLASSIFIER_H_
#define OPSPILOT_NLP_CLASSIFIER_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/context.h"
#include "core/status.h"
#include "nlp/text.h"

namespace opspilot::nlp {

inline constexpr const char* kOutOfScope = "oos";

struct LabelledText {
  std::string id, text, label;
};

// A CSV with a `text` column, and `label` when `need_label`; `id` optional
// (the row number otherwise); other columns are ignored. Errors name the
// file, line and field.
StatusOr<std::vector<LabelledText>> ReadTextCsv(const std::string& path, bool need_label);

struct ClassifierOptions {
  std::string model = "fasttext";
  int dim = 64;
  int epochs = 25;
  int batch_size = 64;
  double learning_rate = 0.01;
  int patience = 4;               // early stopping on the validation loss
  int max_features = 256;         // per text, the first ones
  FeatureOptions features = {2, 3, 20000};  // dense Adam touches every bucket each step (see docs/design.md)
  double valid_fraction = 0.15;   // stratified hold-out for early stopping and the threshold
  double target_precision = 0.9;  // in-scope precision the out-of-scope threshold aims for
  bool out_of_scope = true;       // refuse unsure messages with label "oos"
};

struct Prediction {
  std::vector<std::pair<std::string, float>> top;  // best first: label, probability
  std::string label;                                // top[0], or "oos" when refused
  float confidence = 0;
};

class TextClassifier {
 public:
  virtual ~TextClassifier() = default;
  virtual std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const = 0;
  virtual Status Save(const std::string& dir) const = 0;
  virtual const std::vector<std::string>& labels() const = 0;
  virtual float threshold() const = 0;  // below it: out of scope (0 = never)
  virtual nlohmann::json report() const = 0;
};

// Trains on `data` (a stratified validation part is held out internally).
StatusOr<std::unique_ptr<TextClassifier>> TrainClassifier(const Context& ctx, const std::vector<LabelledText>& data,
                                                          const ClassifierOptions& options);
StatusOr<std::unique_ptr<TextClassifier>> LoadClassifier(const std::string& dir);

// Accuracy, macro F1, per-class precision/recall/F1, the confusion matrix,
// and, when the data has "oos" rows, out-of-scope recall and precision and
// in-scope accuracy.
nlohmann::json EvaluateClassifier(const TextClassifier& model, const std::vector<LabelledText>& data);

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_CLASSIFIER_H_
