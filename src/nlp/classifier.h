// Text classifiers for intents and sentiment (issue 9), trained through the
// ML core. Four models:
//   linear       one-vs-rest linear SVMs (LIBLINEAR) over L2-normalised
//                sublinear counts of word and character n-grams;
//   fasttext     the mean of hashed word and character n-gram embeddings, a
//                linear layer and a softmax, trained by sparse SGD with a
//                linearly decaying learning rate (fastText's recipe);
//   cnn          TextCNN over subword tokens (nlp/tokenizer.h: BPE trained on the data);
//   transformer  a small Transformer encoder over the same subword tokens,
//                pre-trained by masked-language modelling, then fine-tuned.
// Confidences are calibrated by temperature scaling on a stratified hold-out;
// messages the model is unsure of (confidence below a threshold tuned on the
// hold-out to a target precision) are out of scope: label "oos".
//
// Builds: training and the cnn/transformer models live in the libtorch
// library (opspilot_nlp_nn). Loading and running a fasttext model needs no
// libtorch (opspilot_nlp): the server and the plain `opspilot` binary serve
// fasttext models; other kinds need the loaders that RegisterTorchTextModels()
// adds. libtorch stays out of this header.
//
// Thread-safety: a trained or loaded TextClassifier is immutable; Predict and
// Embed may be called from many threads at once.
#ifndef OPSPILOT_NLP_CLASSIFIER_H_
#define OPSPILOT_NLP_CLASSIFIER_H_

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/context.h"
#include "core/status.h"
#include "nlp/text.h"

namespace opspilot {
class CsvReader;
}  // namespace opspilot

namespace opspilot::nlp {

inline constexpr const char* kOutOfScope = "oos";

struct LabelledText {
  std::string id, text, label;
};

// A CSV with a `text` column, and `label` when `need_label`; `id` optional
// (the row number otherwise); other columns are ignored. Errors name the
// file, line and field.
StatusOr<std::vector<LabelledText>> ReadTextCsv(const std::string& path, bool need_label);

// The same rows, streamed: memory is bounded by one batch, whatever the file's
// size (`text predict` over millions of texts).
class TextCsvReader {
 public:
  // Reads the header; errors when the file cannot be opened or lacks a column.
  static StatusOr<std::unique_ptr<TextCsvReader>> Open(const std::string& path, bool need_label);
  ~TextCsvReader();

  // Replaces *batch with the next rows, at most max_rows of them; an empty
  // batch at the end of the file. A bad row is an error naming its line and
  // field, and the rows before it in this batch are dropped with it.
  Status Next(size_t max_rows, std::vector<LabelledText>* batch);
  int64_t rows_read() const { return row_; }

 private:
  TextCsvReader() = default;
  std::string path_;
  bool need_label_ = false;
  int ctext_ = -1, clabel_ = -1, cid_ = -1;
  size_t fields_ = 0;  // the header's
  int64_t row_ = 0;
  std::unique_ptr<CsvReader> reader_;
};

// One text per line, or, when the first line is a CSV header with a `text`
// column, that column (pre-training corpora). Empty lines are skipped.
StatusOr<std::vector<std::string>> ReadCorpus(const std::string& path);

struct ClassifierOptions {
  std::string model = "fasttext";  // linear | fasttext | cnn | transformer | ensemble (the mean of linear, fasttext and
                                   // cnn, and the transformer when an encoder is given) | auto (that mean, unless one
                                   // model or a smaller mean is clearly better on the hold-out)
  // Fields left at 0 take the model's default (in brackets: fasttext / cnn / transformer).
  int dim = 0;                     // embedding size [64 / 128 / 128]
  int epochs = 0;                  // passes over the data [25 / 20 / 30]
  int batch_size = 0;              // [16 / 32 / 32]
  double learning_rate = 0;        // fasttext: SGD start rate, decayed linearly to 0 [0.5]; others: Adam [1e-3 / 5e-4]
  int patience = 4;                // cnn, transformer: early stopping on the hold-out loss (epochs)
  double valid_fraction = 0.15;    // stratified hold-out: calibration, threshold, early stopping, `auto`
  double target_precision = 0.9;   // in-scope precision the out-of-scope threshold aims for
  double oos_share = 0.1;          // out-of-scope share of traffic the threshold assumes: the hold-out's `oos`
                                   // rows are weighted up to it (training files hold far fewer than traffic)
  bool out_of_scope = true;        // refuse unsure messages with label "oos"
  bool calibrate = true;           // temperature scaling on the hold-out
  bool refit = true;               // fasttext: once the hold-out has served, train again on all the rows
  // fasttext features.
  FeatureOptions features{};       // word n-grams 1..2, CJK character n-grams 1..3, 2M hash buckets
  int char_ngrams_min = 3;         // character n-grams of Latin words ("<word>"), this length ..
  int char_ngrams_max = 6;         // .. this one; 0 = none (fastText's -minn/-maxn)
  int max_features = 1024;         // per text, the first ones
  // cnn and transformer: subword (BPE) tokens, the tokenizer trained on the texts.
  int vocab_size = 4000;           // subword vocabulary (fewer when the corpus is small)
  std::string tokenizer = "bpe";   // subword model: bpe | unigram (nlp/tokenizer.h)
  int max_len = 0;                 // tokens per text (longer texts are cut); 0 = the length 99% of the
                                   // training texts fit in, 16 to 256 (saved with the model; 256 on hotel reviews)
  int layers = 2;                  // transformer layers
  int heads = 4;                   // transformer attention heads
  int pretrain_epochs = 0;         // transformer: MLM epochs on the training texts without `pretrained` [20]
  std::string pretrained;          // transformer: a directory written by PretrainEncoder (tokenizer + encoder)
  std::string encoder;             // transformer: a TorchScript encoder file (tokens int64 [N, L] -> [N, dim],
                                   // 0 pads); its token ids come from `vocab`, else `pretrained`'s tokenizer,
                                   // else one trained here
  std::string vocab;               // with `encoder`: the encoder's own WordPiece vocab.txt (BERT-style; nlp/wordpiece.h)
  bool finetune_encoder = false;   // with `encoder`: train its weights too (default: frozen, only the head learns);
                                   // then the rate defaults to 5e-5 and the epochs to 4
};

// Whether a model for `task` trained on `data` should refuse unsure texts
// when the user has not said: never for "sentiment" (every text has one);
// for intents (any other task) only when the data holds "oos" examples, the
// sign that traffic is open. A closed set with no such example would have
// its threshold tuned on in-scope mistakes alone and refuse texts it mostly
// gets right (BANKING77's few-shot split: 83.0% -> 78.3%).
bool RefusesByDefault(const std::string& task, const std::vector<LabelledText>& data);

// InvalidArgument for unknown models and out-of-range values.
Status ValidateClassifierOptions(const ClassifierOptions& options);

struct Prediction {
  std::vector<std::pair<std::string, float>> top;  // best first: label, calibrated probability
  std::string label;                                // top[0], or "oos" when refused
  float confidence = 0;                             // top[0]'s probability
  // The share of the text's features the model saw in training (fasttext;
  // 1 for the others). Below the model's floor (model.json report
  // "min_known") the text is novel: "oos" whatever the confidence, since a
  // confident softmax over features never seen in training says nothing.
  float known = 1;
  bool novel = false;
};

class TextClassifier {
 public:
  virtual ~TextClassifier() = default;
  virtual std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const = 0;
  // Sentence embeddings, L2-normalised: one row of `embedding_dim()` floats per
  // text (fasttext: the mean n-gram vector; cnn: the pooled filters;
  // transformer: the mean-pooled encoder output). A text without features
  // gives a zero row.
  virtual std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) const = 0;
  virtual int embedding_dim() const = 0;
  virtual Status Save(const std::string& dir) const = 0;
  virtual const std::string& model() const = 0;  // fasttext | cnn | transformer | ensemble
  virtual const std::vector<std::string>& labels() const = 0;
  virtual float threshold() const = 0;    // below it: out of scope (0 = never)
  virtual float temperature() const = 0;  // logits are divided by it before the softmax
  virtual nlohmann::json report() const = 0;
};

// Trains on `data` (a stratified validation part is held out internally).
// Defined in the libtorch library.
StatusOr<std::unique_ptr<TextClassifier>> TrainClassifier(const Context& ctx, const std::vector<LabelledText>& data,
                                                          const ClassifierOptions& options);

// Loads a model directory written by Save. fasttext models load without
// libtorch; other kinds through a registered loader, else FailedPrecondition
// ("needs opspilot-nn"). NotFound without model.json, InvalidArgument when
// the files are not a model or are damaged.
StatusOr<std::unique_ptr<TextClassifier>> LoadClassifier(const std::string& dir);

// True when the model in `dir` needs a libtorch loader (not fasttext, nor an
// ensemble of fasttext models). False when `dir` holds no readable model
// (LoadClassifier then says why).
bool ClassifierNeedsTorch(const std::string& dir);

using ClassifierLoader =
    std::function<StatusOr<std::unique_ptr<TextClassifier>>(const std::string& dir, const nlohmann::json& meta)>;
// Makes LoadClassifier load models whose model.json says "model": `model`.
// Call at start-up; replaces an earlier loader of the same name. Thread-safe.
void RegisterClassifierLoader(const std::string& model, ClassifierLoader loader);
// Registers the cnn and transformer loaders. Defined in the libtorch library;
// call it once from the main of a libtorch binary (and in tests).
void RegisterTorchTextModels();

// Accuracy, macro F1, per-class precision/recall/F1, the confusion matrix;
// calibration of the in-scope rows (expected calibration error over 10
// equal-width confidence bins, and the reliability table: per bin its range,
// count, mean confidence and accuracy); and, when the data has "oos" rows,
// out-of-scope recall and precision and in-scope accuracy.
nlohmann::json EvaluateClassifier(const TextClassifier& model, const std::vector<LabelledText>& data);

// Stratified K-fold assignment: fold index (0..k-1) per row, each label's
// rows spread evenly over the folds in an order shuffled by `seed`.
std::vector<int> StratifiedFolds(const std::vector<LabelledText>& data, int k, uint64_t seed);

// K-fold cross-validation (libtorch library): trains on K-1 folds, evaluates
// on the held-out one. {"folds": [{"fold", "examples", "accuracy",
// "macro_f1", "seconds"}...], "accuracy_mean", "accuracy_std",
// "macro_f1_mean", "macro_f1_std", "k", "model"}; std is the sample standard
// deviation over folds. InvalidArgument when k < 2 or a fold would be empty.
StatusOr<nlohmann::json> CrossValidateClassifier(const Context& ctx, const std::vector<LabelledText>& data,
                                                 const ClassifierOptions& options, int k);

struct PretrainOptions {
  int vocab_size = 4000;     // subword vocabulary
  std::string tokenizer = "bpe";  // bpe | unigram
  int max_len = 0;           // tokens per text; 0 = as ClassifierOptions::max_len
  int dim = 128;             // encoder width
  int layers = 2;
  int heads = 4;
  int epochs = 20;
  int batch_size = 32;
  double learning_rate = 5e-4;
  double mask_fraction = 0.15;  // of the tokens (at least one per text), masked afresh each epoch; BERT's 80/10/10 mask/random/keep
  double valid_fraction = 0.1;  // held out to report the masked-token loss
};

// Masked-language-model pre-training (libtorch library): trains a tokenizer
// and a Transformer encoder on `texts` and writes them to `dir`
// (tokenizer.json, encoder.pt, encoder.json). Returns a report with the
// held-out masked-token loss before and after training ("initial_loss",
// "final_loss") and that of predicting every masked token by its corpus
// frequency ("unigram_loss": what an encoder that ignores context gets).
StatusOr<nlohmann::json> PretrainEncoder(const Context& ctx, const std::vector<std::string>& texts,
                                         const PretrainOptions& options, const std::string& dir);

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_CLASSIFIER_H_
