// The parts of the classifiers that need no libtorch: reading labelled CSVs,
// loading model directories (fasttext natively, other kinds through
// registered loaders), calibration and the out-of-scope threshold, folds and
// the evaluation report.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>

#include "core/csv.h"
#include "core/file.h"
#include "core/strings.h"
#include "nlp/classifier.h"
#include "nlp/classifier_internal.h"

namespace opspilot::nlp {

using nlohmann::json;

StatusOr<std::unique_ptr<TextCsvReader>> TextCsvReader::Open(const std::string& path, bool need_label) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  std::unique_ptr<TextCsvReader> r(new TextCsvReader());
  r->path_ = path;
  r->need_label_ = need_label;
  r->reader_ = std::make_unique<CsvReader>(std::move(src));
  CsvRecord rec;
  if (!r->reader_->Next(&rec)) {
    RETURN_IF_ERROR(r->reader_->status());
    return InvalidArgument(path + ": the file is empty");
  }
  RETURN_IF_ERROR(CheckCsvHeader(path, rec));
  r->fields_ = rec.num_fields;
  for (size_t f = 0; f < rec.num_fields; ++f) {
    const std::string name = ToLower(Trim(rec.field(f)));
    if (name == "text") r->ctext_ = static_cast<int>(f);
    else if (name == "label") r->clabel_ = static_cast<int>(f);
    else if (name == "id") r->cid_ = static_cast<int>(f);
  }
  if (r->ctext_ < 0) return InvalidArgument(path + ":1: the header needs a 'text' column");
  if (need_label && r->clabel_ < 0) return InvalidArgument(path + ":1: the header needs a 'label' column");
  return r;
}

TextCsvReader::~TextCsvReader() = default;

Status TextCsvReader::Next(size_t max_rows, std::vector<LabelledText>* batch) {
  batch->clear();
  CsvRecord rec;
  while (batch->size() < max_rows) {
    if (!reader_->Next(&rec)) return reader_->status();
    ++row_;
    const std::string where = path_ + ":" + std::to_string(rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    RETURN_IF_ERROR(CheckCsvFieldCount(path_, rec, fields_));
    size_t bad = 0;
    const std::string_view text = rec.field(static_cast<size_t>(ctext_));
    if (!ValidUtf8(text, &bad)) return InvalidArgument(where + ": field 'text': invalid UTF-8 at byte " + std::to_string(bad));
    LabelledText t;
    t.text = std::string(text);
    t.id = cid_ >= 0 ? std::string(rec.field(static_cast<size_t>(cid_))) : std::to_string(row_);
    if (!ValidUtf8(t.id, &bad)) return InvalidArgument(where + ": field 'id': invalid UTF-8 at byte " + std::to_string(bad));
    if (clabel_ >= 0) t.label = std::string(Trim(rec.field(static_cast<size_t>(clabel_))));
    if (!ValidUtf8(t.label, &bad)) return InvalidArgument(where + ": field 'label': invalid UTF-8 at byte " + std::to_string(bad));
    if (need_label_ && t.label.empty()) return InvalidArgument(where + ": field 'label': empty");
    batch->push_back(std::move(t));
  }
  return Status::Ok();
}

StatusOr<std::vector<LabelledText>> ReadTextCsv(const std::string& path, bool need_label) {
  ASSIGN_OR_RETURN(auto reader, TextCsvReader::Open(path, need_label));
  std::vector<LabelledText> out;
  RETURN_IF_ERROR(reader->Next(SIZE_MAX, &out));
  if (out.empty()) return InvalidArgument(path + ": no rows");
  return out;
}

json EvaluateClassifier(const TextClassifier& model, const std::vector<LabelledText>& data) {
  std::vector<std::string> texts;
  for (const auto& d : data) texts.push_back(d.text);
  const auto preds = model.Predict(texts, static_cast<int>(model.labels().size()));  // all: the log loss needs the truth's probability
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
  // Calibration of the answers to in-scope rows: is a confidence of 0.8 right
  // 80% of the time? Out-of-scope rows have no right answer to calibrate.
  constexpr int kBins = 10;
  std::vector<double> bin_conf(kBins, 0), bin_right(kBins, 0);
  std::vector<int64_t> bin_n(kBins, 0);
  for (size_t k = 0; k < data.size(); ++k) {
    if (data[k].label == kOutOfScope) continue;
    const double c = preds[k].confidence;
    const int b = std::clamp(static_cast<int>(c * kBins), 0, kBins - 1);
    ++bin_n[static_cast<size_t>(b)];
    bin_conf[static_cast<size_t>(b)] += c;
    bin_right[static_cast<size_t>(b)] += preds[k].top[0].first == data[k].label;
  }
  // Log loss of the rows whose label the model knows.
  double log_loss = 0;
  int64_t known = 0;
  for (size_t k = 0; k < data.size(); ++k) {
    for (const auto& [label, p] : preds[k].top) {
      if (label != data[k].label) continue;
      log_loss -= std::log(std::max(static_cast<double>(p), 1e-12));
      ++known;
    }
  }
  double ece = 0;
  json reliability = json::array();
  for (size_t b = 0; b < static_cast<size_t>(kBins); ++b) {
    const double lo = static_cast<double>(b) / kBins, hi = static_cast<double>(b + 1) / kBins;
    json bin = {{"low", lo}, {"high", hi}, {"count", bin_n[b]}};
    if (bin_n[b] > 0) {
      const double n = static_cast<double>(bin_n[b]);
      bin["confidence"] = bin_conf[b] / n;
      bin["accuracy"] = bin_right[b] / n;
      ece += n / static_cast<double>(std::max<int64_t>(in_scope, 1)) * std::abs(bin_conf[b] / n - bin_right[b] / n);
    }
    reliability.push_back(bin);
  }
  json out = {{"examples", data.size()},
              {"accuracy", data.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(data.size())},
              {"macro_f1", classes ? macro_f1 / classes : 0.0},
              {"threshold", model.threshold()},
              {"temperature", model.temperature()},
              {"ece", ece},
              {"log_loss", known ? log_loss / static_cast<double>(known) : 0.0},
              {"reliability", reliability},
              {"per_class", per_class},
              {"confusion", conf}};
  if (in_scope > 0) out["in_scope_accuracy"] = static_cast<double>(in_scope_correct) / static_cast<double>(in_scope);
  if (oos_true > 0) {
    out["oos_recall"] = static_cast<double>(oos_hit) / static_cast<double>(oos_true);
    out["oos_precision"] = oos_pred ? static_cast<double>(oos_hit) / static_cast<double>(oos_pred) : 0.0;
  }
  return out;
}

StatusOr<std::vector<std::string>> ReadCorpus(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot open " + path);
  std::string first;
  std::getline(f, first);
  // A CSV header naming a text column: read that column.
  bool csv = false;
  for (size_t b = 0, e; b <= first.size(); b = e + 1) {
    e = first.find(',', b);
    if (e == std::string::npos) e = first.size();
    if (ToLower(Trim(std::string_view(first).substr(b, e - b))) == "text") csv = first.find(',') != std::string::npos;
  }
  std::vector<std::string> out;
  if (csv) {
    ASSIGN_OR_RETURN(auto rows, ReadTextCsv(path, false));
    for (auto& r : rows) {
      if (!Trim(r.text).empty()) out.push_back(std::move(r.text));
    }
    return out;
  }
  f.seekg(0);
  int64_t line = 0;
  for (std::string s; std::getline(f, s);) {
    ++line;
    if (!s.empty() && s.back() == '\r') s.pop_back();
    size_t bad = 0;
    if (!ValidUtf8(s, &bad)) return InvalidArgument(path + ":" + std::to_string(line) + ": invalid UTF-8 at byte " + std::to_string(bad));
    if (!Trim(s).empty()) out.push_back(std::move(s));
  }
  if (out.empty()) return InvalidArgument(path + ": no texts");
  return out;
}

Status ValidateClassifierOptions(const ClassifierOptions& o) {
  static const std::set<std::string> kModels = {"fasttext", "linear", "cnn", "transformer", "auto", "ensemble"};
  if (!kModels.count(o.model)) {
    return InvalidArgument("text model '" + o.model + "': expected auto, fasttext, linear, cnn, transformer or ensemble");
  }
  if (o.dim < 0 || o.epochs < 0 || o.batch_size < 0 || o.learning_rate < 0 || o.patience < 0 || o.pretrain_epochs < 0) {
    return InvalidArgument("dim, epochs, batch size, learning rate, patience and pretrain epochs must be >= 0 (0 = the model's default)");
  }
  if (!(o.valid_fraction >= 0 && o.valid_fraction < 1)) return InvalidArgument("valid fraction must be in [0, 1)");
  if (o.tokenizer != "bpe" && o.tokenizer != "unigram") return InvalidArgument("tokenizer '" + o.tokenizer + "': expected bpe or unigram");
  if (!(o.target_precision > 0 && o.target_precision <= 1)) return InvalidArgument("target precision must be in (0, 1]");
  if (!(o.oos_share >= 0 && o.oos_share < 1)) return InvalidArgument("out-of-scope share must be in [0, 1)");
  if (o.features.buckets < 1 || o.features.word_ngrams < 1 || o.features.cjk_ngrams < 1 || o.max_features < 1) {
    return InvalidArgument("buckets, word n-grams, CJK n-grams and max features must be positive");
  }
  if (o.char_ngrams_min < 0 || o.char_ngrams_max < 0 || (o.char_ngrams_max > 0 && o.char_ngrams_min > o.char_ngrams_max)) {
    return InvalidArgument("character n-grams: 0 <= min <= max");
  }
  if (o.vocab_size < 16 || o.max_len < 0 || o.max_len == 1 || o.layers < 1 || o.heads < 1) {
    return InvalidArgument("vocab size >= 16, max len 0 (automatic) or >= 2, layers and heads >= 1");
  }
  if (o.encoder.empty() && (!o.vocab.empty() || o.finetune_encoder)) {
    return InvalidArgument("a WordPiece vocab and fine-tuning are for a TorchScript encoder: give --encoder too");
  }
  if (!o.vocab.empty() && !o.pretrained.empty()) {
    return InvalidArgument("token ids come from either the WordPiece vocab or the pre-trained directory's tokenizer, not both");
  }
  if ((!o.encoder.empty() || !o.pretrained.empty()) && o.model != "transformer" && o.model != "auto" && o.model != "ensemble") {
    return InvalidArgument("a pre-trained encoder (--encoder, --pretrained) is for the transformer model (or auto / ensemble, "
                           "which add it as a member), not " + o.model);
  }
  return Status::Ok();
}

bool RefusesByDefault(const std::string& task, const std::vector<LabelledText>& data) {
  if (task == "sentiment") return false;
  return std::any_of(data.begin(), data.end(), [](const LabelledText& t) { return t.label == kOutOfScope; });
}

// ---- Loading ----

namespace {

struct LoaderRegistry {
  std::mutex mu;
  std::map<std::string, ClassifierLoader> loaders;
};

LoaderRegistry& Loaders() {
  static LoaderRegistry* r = new LoaderRegistry;  // never destroyed: loads may run during exit
  return *r;
}

}  // namespace

void RegisterClassifierLoader(const std::string& model, ClassifierLoader loader) {
  auto& r = Loaders();
  std::lock_guard<std::mutex> lock(r.mu);
  r.loaders[model] = std::move(loader);
}

StatusOr<std::unique_ptr<TextClassifier>> LoadClassifier(const std::string& dir) {
  ASSIGN_OR_RETURN(json meta, internal::ReadModelJson(dir));
  const std::string model = meta["model"].get<std::string>();
  if (model == "fasttext") return internal::LoadFastText(dir, meta);
  if (model == "linear") return internal::LoadLinear(dir, meta);
  if (model == "ensemble") return internal::LoadEnsemble(dir, meta);
  ClassifierLoader loader;
  {
    auto& r = Loaders();
    std::lock_guard<std::mutex> lock(r.mu);
    if (auto it = r.loaders.find(model); it != r.loaders.end()) loader = it->second;
  }
  if (!loader) {
    return FailedPrecondition("the text model in " + dir + " is a '" + model +
                              "' model, which needs libtorch: run it with opspilot-nn");
  }
  return loader(dir, meta);
}

bool ClassifierNeedsTorch(const std::string& dir) {
  auto meta = internal::ReadModelJson(dir);
  if (!meta.ok()) return false;
  const std::string model = (*meta)["model"].get<std::string>();
  if (model == "ensemble") {
    const auto members = internal::EnsembleMemberDirs(dir);
    return std::any_of(members.begin(), members.end(), [](const std::string& d) { return ClassifierNeedsTorch(d); });
  }
  return model != "fasttext" && model != "linear";
}

std::vector<int> StratifiedFolds(const std::vector<LabelledText>& data, int k, uint64_t seed) {
  std::vector<int> fold(data.size(), 0);
  if (k < 1) return fold;
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t r = 0; r < data.size(); ++r) by_label[data[r].label].push_back(r);
  std::mt19937_64 rng(seed);
  int next = 0;  // labels continue where the last one stopped, so small labels do not all land in fold 0
  for (auto& [label, rows] : by_label) {
    std::shuffle(rows.begin(), rows.end(), rng);
    for (size_t r : rows) fold[r] = next++ % k;
  }
  return fold;
}

// ---- Shared by the models ----

namespace internal {

void HoldOut(const std::vector<LabelledText>& data, double fraction, uint64_t seed, std::vector<size_t>* train,
             std::vector<size_t>* valid) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t k = 0; k < data.size(); ++k) by_label[data[k].label].push_back(k);
  train->clear();
  valid->clear();
  for (auto& [label, rows] : by_label) {
    std::shuffle(rows.begin(), rows.end(), rng);
    const auto nv = rows.size() >= 4 ? static_cast<size_t>(static_cast<double>(rows.size()) * fraction + 0.5) : 0;
    for (size_t k = 0; k < rows.size(); ++k) (k < nv ? valid : train)->push_back(rows[k]);
  }
}

std::vector<std::string> LabelSet(const std::vector<LabelledText>& data) {
  std::vector<std::string> labels;
  for (const auto& d : data) labels.push_back(d.label);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

std::map<std::string, int64_t> LabelIndex(const std::vector<std::string>& labels) {
  std::map<std::string, int64_t> index;
  for (size_t c = 0; c < labels.size(); ++c) index[labels[c]] = static_cast<int64_t>(c);
  return index;
}

namespace {

// log softmax(z / t)[y] of one row, in double.
double LogProb(const float* z, int classes, double t, int y) {
  double m = -INFINITY;
  for (int c = 0; c < classes; ++c) m = std::max(m, z[c] / t);
  double s = 0;
  for (int c = 0; c < classes; ++c) s += std::exp(z[c] / t - m);
  return z[y] / t - m - std::log(s);
}

double Nll(const std::vector<float>& logits, int classes, const std::vector<int>& truth, double t) {
  double nll = 0;
  int64_t n = 0;
  for (size_t r = 0; r < truth.size(); ++r) {
    if (truth[r] < 0) continue;
    nll -= LogProb(&logits[r * static_cast<size_t>(classes)], classes, t, truth[r]);
    ++n;
  }
  return n ? nll / static_cast<double>(n) : 0;
}

}  // namespace

std::vector<Prediction> PredictionsFromLogits(const std::vector<float>& logits, const std::vector<std::string>& labels,
                                              float temperature, float threshold, int top) {
  const size_t classes = labels.size();
  const size_t rows = classes ? logits.size() / classes : 0;
  const size_t k = std::min<size_t>(static_cast<size_t>(std::max(top, 1)), classes);
  std::vector<Prediction> out(rows);
  std::vector<std::pair<double, size_t>> row(classes);
  for (size_t r = 0; r < rows; ++r) {
    const float* z = &logits[r * classes];
    double m = -INFINITY;
    for (size_t c = 0; c < classes; ++c) m = std::max(m, static_cast<double>(z[c]) / temperature);
    double s = 0;
    for (size_t c = 0; c < classes; ++c) {
      row[c] = {std::exp(static_cast<double>(z[c]) / temperature - m), c};
      s += row[c].first;
    }
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(k), row.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (size_t j = 0; j < k; ++j) out[r].top.emplace_back(labels[row[j].second], static_cast<float>(row[j].first / s));
    out[r].confidence = out[r].top[0].second;
    out[r].label = out[r].confidence < threshold ? std::string(kOutOfScope) : out[r].top[0].first;
  }
  return out;
}

float FitTemperature(const std::vector<float>& logits, int classes, const std::vector<int>& truth) {
  if (classes < 2 || std::none_of(truth.begin(), truth.end(), [](int y) { return y >= 0; })) return 1.f;
  // The NLL is convex in 1/T, so unimodal in log T: golden-section search.
  double lo = std::log(0.02), hi = std::log(50.0);
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = Nll(logits, classes, truth, std::exp(a)), fb = Nll(logits, classes, truth, std::exp(b));
  for (int it = 0; it < 60; ++it) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - g * (hi - lo);
      fa = Nll(logits, classes, truth, std::exp(a));
    } else {
      lo = a, a = b, fa = fb;
      b = lo + g * (hi - lo);
      fb = Nll(logits, classes, truth, std::exp(b));
    }
  }
  return static_cast<float>(std::exp((lo + hi) / 2));
}

size_t ClearWinner(const std::vector<std::vector<char>>& right) {
  size_t chosen = 0;
  for (size_t i = 1; i < right.size(); ++i) {
    int64_t wins = 0, losses = 0;
    for (size_t r = 0; r < right[i].size() && r < right[chosen].size(); ++r) {
      wins += right[i][r] && !right[chosen][r];
      losses += !right[i][r] && right[chosen][r];
    }
    if (static_cast<double>(wins - losses) > std::sqrt(static_cast<double>(wins + losses))) chosen = i;
  }
  return chosen;
}

void MarkNovel(const std::vector<float>& known, float min_known, std::vector<Prediction>* preds) {
  for (size_t r = 0; r < preds->size() && r < known.size(); ++r) {
    Prediction& p = (*preds)[r];
    p.known = known[r];
    p.novel = known[r] < min_known;
    if (p.novel) p.label = kOutOfScope;
  }
}

float NoveltyFloor(const std::vector<float>& known, const std::vector<std::string>& truth) {
  std::vector<float> in_scope;
  for (size_t r = 0; r < known.size() && r < truth.size(); ++r) {
    if (truth[r] != kOutOfScope) in_scope.push_back(known[r]);
  }
  if (in_scope.empty()) return 0.f;
  const size_t k = in_scope.size() / 100;
  std::nth_element(in_scope.begin(), in_scope.begin() + static_cast<std::ptrdiff_t>(k), in_scope.end());
  return std::min(0.5f, in_scope[k]);
}

int ThresholdTop(const std::vector<std::string>& labels) {
  const bool has_oos = std::find(labels.begin(), labels.end(), kOutOfScope) != labels.end();
  return has_oos ? static_cast<int>(labels.size()) : 1;
}

float TuneThreshold(const std::vector<Prediction>& preds, const std::vector<std::string>& truth, double target_precision,
                    double oos_share) {
  // Training files hold far fewer out-of-scope examples than traffic does
  // (CLINC150: 0.7-1.6% against 18% of its test set), so the hold-out's `oos`
  // rows are weighted up to `oos_share` of it; answering one of them wrongly
  // then costs what it would cost in traffic. A hold-out with more stays as
  // it is.
  size_t n_oos = 0;
  for (const auto& t : truth) n_oos += t == kOutOfScope;
  const size_t n_in = truth.size() - n_oos;
  double oos_weight = 1;
  if (n_oos > 0 && n_in > 0 && oos_share > 0 && oos_share < 1) {
    oos_weight = std::max(1.0, oos_share / (1 - oos_share) * static_cast<double>(n_in) / static_cast<double>(n_oos));
  }
  // In-scope rows: answers only; a row whose best class is "oos" (trained as
  // a class) is a refusal already and says nothing about the cut-off.
  // Out-of-scope rows: always, at the confidence of their best in-scope answer
  // with the "oos" class set aside (p / (1 - p_oos)). Traffic's out-of-scope
  // messages are mostly unlike the few in the training file (CLINC150's test
  // topics are not its training topics), so the cut-off must hold where the
  // "oos" class does not catch them: the hold-out's out-of-scope rows, which
  // that class has learnt from their siblings, stand in for those it has not.
  struct Scored {
    float confidence;
    bool right;
    double weight;
  };
  std::vector<Scored> scored;
  for (size_t k = 0; k < preds.size(); ++k) {
    const auto& top = preds[k].top;
    if (truth[k] != kOutOfScope) {
      if (top[0].first == kOutOfScope) continue;
      scored.push_back({preds[k].confidence, top[0].first == truth[k], 1.0});
      continue;
    }
    double p_oos = 0, p_best = -1;
    for (const auto& [label, p] : top) {
      if (label == kOutOfScope) {
        p_oos = p;
      } else if (p_best < 0) {
        p_best = p;
      }
    }
    if (p_best < 0) continue;  // only "oos" listed: nothing to answer with
    const double rest = 1 - p_oos;
    const auto confidence = static_cast<float>(rest > 1e-12 ? std::min(1.0, p_best / rest) : 1.0);
    scored.push_back({confidence, false, oos_weight});
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.confidence > b.confidence; });
  // Walk from the most confident down: the last cut-off where precision still holds.
  double answered = 0, correct = 0;
  float cut = -1;
  // Ties are answered or refused together, so precision is judged after the
  // last of them.
  for (size_t k = 0; k < scored.size(); ++k) {
    answered += scored[k].weight;
    if (scored[k].right) correct += scored[k].weight;
    const bool last_of_tie = k + 1 == scored.size() || scored[k + 1].confidence < scored[k].confidence;
    if (last_of_tie && correct >= target_precision * answered) cut = scored[k].confidence;
  }
  // Never reached: refusing nearly everything would help no one; answer all.
  // Reached by every answer: the least confident answer of the hold-out (on
  // a separable hold-out every answer is certain, and so must new ones be).
  return cut < 0 ? 0.f : cut;
}

void FinishOnHoldOut(const std::vector<float>& logits, const std::vector<std::string>& labels,
                     const std::vector<std::string>& truth, const ClassifierOptions& options, float* temperature,
                     float* threshold, json* report) {
  *temperature = 1.f;
  *threshold = 0.f;
  if (truth.empty()) {
    (*report)["valid_accuracy"] = nullptr;
    (*report)["temperature"] = *temperature;
    (*report)["threshold"] = *threshold;
    return;
  }
  std::map<std::string, int> index;
  for (size_t c = 0; c < labels.size(); ++c) index[labels[c]] = static_cast<int>(c);
  std::vector<int> y;
  for (const auto& t : truth) y.push_back(index.count(t) ? index[t] : -1);
  const int classes = static_cast<int>(labels.size());
  if (options.calibrate) *temperature = FitTemperature(logits, classes, y);
  const auto preds = PredictionsFromLogits(logits, labels, *temperature, 0.f, ThresholdTop(labels));
  int64_t right = 0;
  for (size_t k = 0; k < preds.size(); ++k) right += preds[k].top[0].first == truth[k];
  if (options.out_of_scope) *threshold = TuneThreshold(preds, truth, options.target_precision, options.oos_share);
  (*report)["valid_accuracy"] = static_cast<double>(right) / static_cast<double>(preds.size());
  (*report)["valid_nll"] = Nll(logits, classes, y, *temperature);
  (*report)["valid_nll_uncalibrated"] = Nll(logits, classes, y, 1.0);
  (*report)["temperature"] = *temperature;
  (*report)["threshold"] = *threshold;
}

void NormalizeRows(std::vector<std::vector<float>>* rows) {
  for (auto& r : *rows) {
    double s = 0;
    for (float v : r) s += static_cast<double>(v) * v;
    if (s <= 0) continue;
    const auto inv = static_cast<float>(1 / std::sqrt(s));
    for (float& v : r) v *= inv;
  }
}

json OptionsJson(const ClassifierOptions& o) {
  return {{"model", o.model}, {"dim", o.dim}, {"epochs", o.epochs}, {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate}, {"patience", o.patience}, {"valid_fraction", o.valid_fraction},
          {"target_precision", o.target_precision}, {"oos_share", o.oos_share}, {"out_of_scope", o.out_of_scope}, {"calibrate", o.calibrate},
          {"word_ngrams", o.features.word_ngrams}, {"cjk_ngrams", o.features.cjk_ngrams},
          {"buckets", o.features.buckets}, {"char_ngrams_min", o.char_ngrams_min},
          {"char_ngrams_max", o.char_ngrams_max}, {"max_features", o.max_features}, {"vocab_size", o.vocab_size}, {"tokenizer", o.tokenizer},
          {"max_len", o.max_len}, {"layers", o.layers}, {"heads", o.heads}, {"pretrain_epochs", o.pretrain_epochs},
          {"pretrained", o.pretrained}, {"encoder", o.encoder}, {"vocab", o.vocab}, {"finetune_encoder", o.finetune_encoder}};
}

ClassifierOptions OptionsFrom(const json& j) {
  ClassifierOptions o;
  o.model = j.value("model", o.model);
  o.dim = j.value("dim", o.dim);
  o.epochs = j.value("epochs", o.epochs);
  o.batch_size = j.value("batch_size", o.batch_size);
  o.learning_rate = j.value("learning_rate", o.learning_rate);
  o.patience = j.value("patience", o.patience);
  o.valid_fraction = j.value("valid_fraction", o.valid_fraction);
  o.target_precision = j.value("target_precision", o.target_precision);
  o.oos_share = j.value("oos_share", o.oos_share);
  o.out_of_scope = j.value("out_of_scope", o.out_of_scope);
  o.calibrate = j.value("calibrate", o.calibrate);
  o.features.word_ngrams = j.value("word_ngrams", o.features.word_ngrams);
  o.features.cjk_ngrams = j.value("cjk_ngrams", o.features.cjk_ngrams);
  o.features.buckets = j.value("buckets", o.features.buckets);
  o.char_ngrams_min = j.value("char_ngrams_min", o.char_ngrams_min);
  o.char_ngrams_max = j.value("char_ngrams_max", o.char_ngrams_max);
  o.max_features = j.value("max_features", o.max_features);
  o.vocab_size = j.value("vocab_size", o.vocab_size);
  o.tokenizer = j.value("tokenizer", o.tokenizer);
  o.max_len = j.value("max_len", o.max_len);
  o.layers = j.value("layers", o.layers);
  o.heads = j.value("heads", o.heads);
  o.pretrain_epochs = j.value("pretrain_epochs", o.pretrain_epochs);
  o.pretrained = j.value("pretrained", o.pretrained);
  o.encoder = j.value("encoder", o.encoder);
  o.vocab = j.value("vocab", o.vocab);
  o.finetune_encoder = j.value("finetune_encoder", o.finetune_encoder);
  return o;
}

StatusOr<std::string> ReadWeightsFile(const std::string& path, const char* magic, uint32_t version, size_t header,
                                      const std::string& kind) {
  ASSIGN_OR_RETURN(std::string buf, ReadFile(path));
  if (buf.size() < std::max<size_t>(header, 8) || std::memcmp(buf.data(), magic, 4) != 0) {
    return InvalidArgument(path + ": not a " + kind + " weights file");
  }
  if (GetLe<uint32_t>(buf.data() + 4) != version) {
    return InvalidArgument(path + ": unsupported version " + std::to_string(GetLe<uint32_t>(buf.data() + 4)));
  }
  return buf;
}

StatusOr<json> ReadModelJson(const std::string& dir) {
  std::ifstream f(dir + "/model.json");
  if (!f) return NotFound("no text model in " + dir + " (model.json missing)");
  json meta = json::parse(f, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return InvalidArgument(dir + "/model.json: not JSON");
  const std::string format = meta.value("format", "");
  if (format == "opspilot-text-1") {
    return InvalidArgument(dir + ": a text model from an older version (format opspilot-text-1): train it again");
  }
  if (format != kMetaFormat) return InvalidArgument(dir + "/model.json: not an opspilot text model");
  if (!meta.contains("model") || !meta["model"].is_string()) return InvalidArgument(dir + "/model.json: no model name");
  return meta;
}

Status WriteModelJson(const std::string& dir, const json& meta) { return WriteFileAtomic(dir + "/model.json", meta.dump(1)); }

Status WriteMeta(const std::string& dir, const std::string& model, const ClassifierOptions& options,
                 const std::vector<std::string>& labels, float temperature, float threshold, const json& report) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  const json meta = {{"format", kMetaFormat}, {"model", model},         {"options", OptionsJson(options)},
                     {"labels", labels},      {"temperature", temperature}, {"threshold", threshold},
                     {"report", report}};
  return WriteModelJson(dir, meta);
}

}  // namespace internal
}  // namespace opspilot::nlp
