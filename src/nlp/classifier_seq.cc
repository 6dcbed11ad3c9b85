// The sequence models over subword tokens (libtorch): TextCNN and a small
// Transformer encoder, fine-tuned by the ML core's trainer (Adam, early
// stopping on the hold-out). The Transformer is first pre-trained by masked-
// language modelling: on a corpus (PretrainEncoder, `text pretrain`), else
// on the training texts themselves. A TorchScript encoder exported elsewhere
// can stand in for it: a linear head is trained on top, the encoder frozen
// or (finetune_encoder) trained with it; its token ids come from its own
// WordPiece vocabulary (`vocab`, nlp/wordpiece.h) when it has one.
//
// Model directory: model.json, tokenizer.json (ours or the WordPiece
// vocabulary), weights.pt (the module's parameters, a fine-tuned encoder's
// included), and encoder.pt for a TorchScript encoder.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <type_traits>

#include "ml/nn.h"
#include "nlp/classifier.h"
#include "nlp/classifier_internal.h"
#include "nlp/tokenizer.h"
#include "nlp/wordpiece.h"

namespace opspilot::nlp {

using nlohmann::json;
namespace nn = opspilot::ml::nn;

namespace {

ClassifierOptions SequenceDefaults(ClassifierOptions o) {
  const bool cnn = o.model == "cnn";
  if (o.dim == 0) o.dim = 128;
  if (o.batch_size == 0) o.batch_size = 32;
  if (o.pretrain_epochs == 0) o.pretrain_epochs = 20;
  if (o.finetune_encoder) {
    // A pre-trained encoder moves a little (BERT's fine-tuning rates are
    // 2e-5 to 5e-5 for 2 to 4 epochs); the head learns at the same rate.
    if (o.learning_rate == 0) o.learning_rate = 5e-5;
    if (o.epochs == 0) o.epochs = 4;
  }
  if (o.learning_rate == 0) o.learning_rate = cnn ? 1e-3 : 5e-4;
  if (o.epochs == 0) o.epochs = cnn ? 20 : 30;
  return o;
}

nn::SequenceOptions EncoderOptions(int64_t vocab, int64_t dim, int64_t max_len, int64_t layers, int64_t heads) {
  nn::SequenceOptions so;
  so.vocab = vocab;
  so.dim = dim;
  so.max_len = max_len;
  so.layers = layers;
  so.heads = heads;
  so.feed_forward = 2 * dim;
  so.dropout = 0.1;
  return so;
}

const std::vector<int64_t> kCnnWidths = {2, 3, 5};
constexpr int64_t kCnnFilters = 96;

// The automatic max_len: the token count that 99% of `texts` fit in, so
// that long reviews keep their conclusion ("总的来说 ...") while one very long
// text does not set the padded width of every batch. Cut at 256 (cost) and
// raised to 16. Tok: Tokenizer or WordPiece.
template <typename Tok>
int64_t AutoMaxLen(const Tok& tok, const std::vector<std::string>& texts) {
  std::vector<size_t> lens;
  lens.reserve(texts.size());
  for (const auto& t : texts) lens.push_back(tok.Encode(t).size());
  if (lens.empty()) return 16;
  const size_t k = std::min(lens.size() - 1, lens.size() * 99 / 100);
  std::nth_element(lens.begin(), lens.begin() + static_cast<std::ptrdiff_t>(k), lens.end());
  return std::clamp<int64_t>(static_cast<int64_t>(lens[k]), 16, 256);
}

// [N, L] token ids (0 pads), L = the longest text's length up to max_len.
// A WordPiece sequence cut short keeps its closing [SEP].
template <typename Tok>
torch::Tensor Tokens(const Tok& tok, const std::vector<std::string>& texts, int64_t max_len) {
  std::vector<std::vector<int32_t>> ids(texts.size());
  size_t len = 1;
  for (size_t k = 0; k < texts.size(); ++k) {
    ids[k] = tok.Encode(texts[k]);
    if (ids[k].size() > static_cast<size_t>(max_len)) {
      ids[k].resize(static_cast<size_t>(max_len));
      if constexpr (std::is_same_v<Tok, WordPiece>) ids[k].back() = tok.sep_id();
    }
    len = std::max(len, ids[k].size());
  }
  auto x = torch::zeros({static_cast<int64_t>(texts.size()), static_cast<int64_t>(len)}, torch::kLong);
  auto a = x.accessor<int64_t, 2>();
  for (size_t k = 0; k < ids.size(); ++k) {
    for (size_t j = 0; j < ids[k].size(); ++j) a[static_cast<int64_t>(k)][static_cast<int64_t>(j)] = ids[k][j];
  }
  return x;
}

std::vector<float> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU).to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

Status WriteJson(const std::string& path, const json& j) {
  std::ofstream f(path, std::ios::trunc);
  f << j.dump(1);
  f.close();
  if (!f) return Internal("cannot write " + path);
  return Status::Ok();
}

StatusOr<json> ReadJson(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot open " + path);
  json j = json::parse(f, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(path + ": not JSON");
  return j;
}

// Encoder (cnn, transformer or TorchScript) -> pooled [N, E] -> dropout -> linear.
class SeqNetImpl : public torch::nn::Module {
 public:
  SeqNetImpl(const std::string& kind, const nn::SequenceOptions& so, int64_t classes, nn::TransformerEncoderNet encoder,
             const torch::jit::Module* script, int64_t script_dim, bool finetune)
      : kind_(kind), finetune_(finetune) {
    int64_t width = so.dim;
    if (script) {
      script_ = *script;
      // Frozen, only the head learns; or fine-tuned: the script's tensors
      // are registered here too (the same tensors, so the optimiser, the
      // device move, the best-epoch snapshot and weights.pt reach them).
      int64_t k = 0;
      for (auto p : script_.parameters()) {
        p.set_requires_grad(finetune);
        if (finetune) register_parameter("script_p" + std::to_string(k++), p);
      }
      width = script_dim;
    } else if (kind == "cnn") {
      cnn_ = register_module("cnn", nn::Cnn1d(so, kCnnWidths, kCnnFilters));
      width = cnn_->out_dim();
    } else {
      encoder_ = register_module("encoder", encoder ? encoder : nn::TransformerEncoderNet(so));
    }
    dropout_ = register_module("dropout", torch::nn::Dropout(0.2));
    head_ = register_module("head", torch::nn::Linear(width, classes));
    width_ = width;
  }
  torch::Tensor embed(const torch::Tensor& tokens) {
    if (cnn_) return cnn_->forward(tokens);
    if (encoder_) return encoder_->forward(tokens);
    if (finetune_) {
      // Its dropout follows our mode; written only on a change, so that
      // concurrent predictions (eval mode throughout) only read it.
      if (script_.is_training() != is_training()) script_.train(is_training());
      return script_.forward({tokens}).toTensor();
    }
    torch::NoGradGuard ng;
    return script_.forward({tokens}).toTensor();
  }
  torch::Tensor forward(const torch::Tensor& tokens) { return head_->forward(dropout_->forward(embed(tokens))); }
  int64_t width() const { return width_; }
  torch::jit::Module& script() { return script_; }

 private:
  std::string kind_;
  bool finetune_ = false;
  nn::Cnn1d cnn_{nullptr};
  nn::TransformerEncoderNet encoder_{nullptr};
  torch::jit::Module script_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
  int64_t width_ = 0;
};
TORCH_MODULE(SeqNet);

// ---- masked-language modelling ----

// Inputs and targets (-100 = not masked) for a batch of id sequences: each
// token masked with probability p (at least one per text); of those, 80%
// become <mask>, 10% a random token, 10% stay.
std::pair<torch::Tensor, torch::Tensor> Mask(const std::vector<std::vector<int32_t>>& seqs, const std::vector<size_t>& which,
                                             double p, int32_t vocab, std::mt19937_64& rng) {
  size_t len = 1;
  for (size_t k : which) len = std::max(len, seqs[k].size());
  auto x = torch::zeros({static_cast<int64_t>(which.size()), static_cast<int64_t>(len)}, torch::kLong);
  auto y = torch::full({static_cast<int64_t>(which.size()), static_cast<int64_t>(len)}, -100, torch::kLong);
  auto xa = x.accessor<int64_t, 2>();
  auto ya = y.accessor<int64_t, 2>();
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t r = 0; r < which.size(); ++r) {
    const auto& s = seqs[which[r]];
    std::vector<bool> masked(s.size());
    bool any = false;
    for (size_t j = 0; j < s.size(); ++j) any |= (masked[j] = u(rng) < p);
    if (!any && !s.empty()) masked[rng() % s.size()] = true;
    for (size_t j = 0; j < s.size(); ++j) {
      const auto rr = static_cast<int64_t>(r), jj = static_cast<int64_t>(j);
      xa[rr][jj] = s[j];
      if (!masked[j]) continue;
      ya[rr][jj] = s[j];
      const double v = u(rng);
      if (v < 0.8) xa[rr][jj] = Tokenizer::kMask;
      else if (v < 0.9) xa[rr][jj] = 3 + static_cast<int64_t>(rng() % static_cast<uint64_t>(std::max(vocab - 3, 1)));
    }
  }
  return {x, y};
}

// Pre-trains `encoder` on `texts` (AdamW; the rate warms up over the first
// epoch; the best hold-out epoch is kept). Its own loop rather than
// ml::nn::Train: the targets are per position with most positions ignored,
// which the trainer's class-index loss does not take.
StatusOr<json> Mlm(const Context& ctx, nn::TransformerEncoderNet& encoder, const Tokenizer& tok,
                   const std::vector<std::string>& texts, const PretrainOptions& o) {
  ASSIGN_OR_RETURN(torch::Device device, nn::DeviceOf(ctx));
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& t : texts) {
    auto ids = tok.Encode(t);
    if (ids.size() > static_cast<size_t>(o.max_len)) ids.resize(static_cast<size_t>(o.max_len));
    if (!ids.empty()) seqs.push_back(std::move(ids));
  }
  if (seqs.empty()) return InvalidArgument("pre-training: no text has tokens");
  std::mt19937_64 rng(ctx.seed());
  std::shuffle(seqs.begin(), seqs.end(), rng);
  const size_t n_valid = seqs.size() >= 20 ? static_cast<size_t>(static_cast<double>(seqs.size()) * o.valid_fraction) : 0;
  std::vector<size_t> train(seqs.size() - n_valid), valid(n_valid);
  std::iota(valid.begin(), valid.end(), 0);
  std::iota(train.begin(), train.end(), n_valid);
  const int32_t vocab = tok.vocab_size();
  torch::nn::Linear head(o.dim, vocab);
  encoder->to(device);
  head->to(device);
  std::vector<torch::Tensor> params = encoder->parameters();
  for (const auto& p : head->parameters()) params.push_back(p);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.learning_rate).weight_decay(0.01));
  auto loss_of = [&](const torch::Tensor& x, const torch::Tensor& y) {
    const auto logits = head->forward(encoder->encode_all(x.to(device)));
    return torch::nn::functional::cross_entropy(logits.reshape({-1, vocab}), y.to(device).reshape({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  };
  // The hold-out is masked once, so every epoch is scored on the same tokens.
  const std::vector<size_t>& scored = valid.empty() ? train : valid;
  std::mt19937_64 valid_rng(ctx.seed() + 1);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> valid_batches;
  for (size_t b = 0; b < scored.size(); b += 256) {
    const std::vector<size_t> which(scored.begin() + static_cast<std::ptrdiff_t>(b),
                                    scored.begin() + static_cast<std::ptrdiff_t>(std::min(scored.size(), b + 256)));
    valid_batches.push_back(Mask(seqs, which, o.mask_fraction, vocab, valid_rng));
  }
  auto valid_loss = [&] {
    torch::NoGradGuard ng;
    encoder->eval();
    double sum = 0, n = 0;
    for (const auto& [x, y] : valid_batches) {
      const double m = static_cast<double>(y.ne(-100).sum().item<int64_t>());
      sum += loss_of(x, y).item<double>() * m;
      n += m;
    }
    return sum / std::max(n, 1.0);
  };
  // Context-free baseline: each masked token predicted by its training frequency.
  std::vector<double> freq(static_cast<size_t>(vocab), 1.0);
  double total = vocab;
  for (size_t k : train) {
    for (int32_t id : seqs[k]) freq[static_cast<size_t>(id)] += 1, total += 1;
  }
  double unigram = 0, masked = 0;
  for (const auto& [x, y] : valid_batches) {
    const auto ya = y.contiguous();
    const int64_t* p = ya.data_ptr<int64_t>();
    for (int64_t k = 0; k < ya.numel(); ++k) {
      if (p[k] >= 0) unigram -= std::log(freq[static_cast<size_t>(p[k])] / total), masked += 1;
    }
  }
  try {
    const double initial = valid_loss();
    double best = initial;
    int best_epoch = 0;
    std::vector<torch::Tensor> best_state;
    json epochs = json::array();
    auto progress = ctx.StartProgress("pretrain", o.epochs, "epochs");
    const auto steps_per_epoch = static_cast<int64_t>((train.size() + static_cast<size_t>(o.batch_size) - 1) / static_cast<size_t>(o.batch_size));
    int64_t step = 0;
    for (int e = 0; e < o.epochs; ++e) {
      const auto start = std::chrono::steady_clock::now();
      std::shuffle(train.begin(), train.end(), rng);
      encoder->train();
      double sum = 0;
      int64_t batches = 0;
      for (size_t b = 0; b < train.size(); b += static_cast<size_t>(o.batch_size)) {
        const std::vector<size_t> which(train.begin() + static_cast<std::ptrdiff_t>(b),
                                        train.begin() + static_cast<std::ptrdiff_t>(std::min(train.size(), b + static_cast<size_t>(o.batch_size))));
        auto [x, y] = Mask(seqs, which, o.mask_fraction, vocab, rng);
        const double warm = std::min(1.0, static_cast<double>(++step) / static_cast<double>(std::max<int64_t>(steps_per_epoch, 1)));
        for (auto& g : opt.param_groups()) g.options().set_lr(o.learning_rate * warm);
        opt.zero_grad();
        auto loss = loss_of(x, y);
        loss.backward();
        torch::nn::utils::clip_grad_norm_(params, 1.0);
        opt.step();
        sum += loss.item<double>();
        ++batches;
      }
      const double v = valid_loss();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      epochs.push_back({{"epoch", e + 1}, {"train_loss", sum / static_cast<double>(std::max<int64_t>(batches, 1))},
                        {"valid_loss", v}, {"seconds", secs}});
      ctx.logger().Info("pretrain epoch", {{"epoch", e + 1}, {"valid_loss", v}});
      progress->Update(e + 1);
      if (v < best) {
        best = v;
        best_epoch = e + 1;
        best_state.clear();
        for (const auto& p : encoder->parameters()) best_state.push_back(p.detach().clone());
      }
    }
    progress->Finish();
    if (!best_state.empty()) {
      torch::NoGradGuard ng;
      auto ps = encoder->parameters();
      for (size_t k = 0; k < ps.size(); ++k) ps[k].copy_(best_state[k]);
    }
    encoder->eval();
    return json{{"texts", seqs.size()}, {"valid_texts", valid.size()}, {"masked_tokens", masked},
                {"initial_loss", initial}, {"final_loss", best}, {"unigram_loss", unigram / std::max(masked, 1.0)},
                {"best_epoch", best_epoch}, {"epochs", epochs}};
  } catch (const c10::Error& e) {
    return Internal(std::string("torch: ") + e.what_without_backtrace());
  }
}

// A pre-trained encoder directory: tokenizer.json, encoder.json, encoder.pt.
struct Pretrained {
  Tokenizer tok;
  nn::SequenceOptions so;
  nn::TransformerEncoderNet encoder{nullptr};
};

StatusOr<Pretrained> LoadPretrained(const std::string& dir) {
  Pretrained p;
  ASSIGN_OR_RETURN(p.tok, Tokenizer::Load(dir + "/tokenizer.json"));
  ASSIGN_OR_RETURN(json j, ReadJson(dir + "/encoder.json"));
  try {
    p.so = EncoderOptions(j.at("vocab").get<int64_t>(), j.at("dim").get<int64_t>(), j.at("max_len").get<int64_t>(),
                          j.at("layers").get<int64_t>(), j.at("heads").get<int64_t>());
  } catch (const json::exception& e) {
    return InvalidArgument(dir + "/encoder.json: " + e.what());
  }
  if (p.so.vocab != p.tok.vocab_size()) return InvalidArgument(dir + ": encoder.json and tokenizer.json disagree on the vocabulary");
  p.encoder = nn::TransformerEncoderNet(p.so);
  RETURN_IF_ERROR(nn::LoadModule(*p.encoder, dir + "/encoder.pt"));
  p.encoder->eval();
  return p;
}

class SeqClassifier final : public internal::SingleClassifier {
 public:
  SeqClassifier(ClassifierOptions o, std::vector<std::string> labels)
      : SingleClassifier(o.model, o, std::move(labels)) {}

  Status Fit(const Context& ctx, const std::vector<LabelledText>& data) {
    std::map<std::string, int64_t> index = internal::LabelIndex(labels_);
    std::vector<size_t> train_rows, valid_rows;
    internal::HoldOut(data, options_.valid_fraction, ctx.seed(), &train_rows, &valid_rows);
    std::vector<std::string> all_texts, train_texts, valid_texts, valid_truth;
    std::vector<int64_t> train_y, valid_y;
    for (const auto& d : data) all_texts.push_back(d.text);
    for (size_t r : train_rows) train_texts.push_back(data[r].text), train_y.push_back(index[data[r].label]);
    for (size_t r : valid_rows) {
      valid_texts.push_back(data[r].text), valid_truth.push_back(data[r].label), valid_y.push_back(index[data[r].label]);
    }
    nn::SetUpTorch(ctx);
    report_ = {{"model", options_.model}, {"train_examples", train_rows.size()}, {"valid_examples", valid_rows.size()},
               {"labels", labels_.size()}};
    nn::TransformerEncoderNet encoder{nullptr};
    if (!options_.pretrained.empty()) {
      ASSIGN_OR_RETURN(Pretrained p, LoadPretrained(options_.pretrained));
      tok_ = std::move(p.tok);
      encoder = p.encoder;
      options_.dim = static_cast<int>(p.so.dim);
      options_.max_len = static_cast<int>(p.so.max_len);
      options_.layers = static_cast<int>(p.so.layers);
      options_.heads = static_cast<int>(p.so.heads);
      options_.vocab_size = tok_.vocab_size();
    } else if (!options_.vocab.empty()) {
      ASSIGN_OR_RETURN(WordPiece wp, WordPiece::FromVocab(options_.vocab));
      wp_ = std::move(wp);
      if (options_.max_len == 0) options_.max_len = static_cast<int>(AutoMaxLen(*wp_, all_texts));
      report_["wordpiece_lower_case"] = wp_->lower_case();
    } else {
      // The tokenizer learns from every text (labels play no part).
      TokenizerOptions to;
      to.vocab_size = options_.vocab_size;
      to.model = options_.tokenizer;
      to.split_cjk = true;  // single Chinese characters (see tokenizer.h)
      ASSIGN_OR_RETURN(tok_, Tokenizer::Train(all_texts, to));
      if (options_.max_len == 0) options_.max_len = static_cast<int>(AutoMaxLen(tok_, all_texts));
    }
    report_["max_len"] = options_.max_len;
    if (!options_.encoder.empty()) {
      ASSIGN_OR_RETURN(script_, nn::LoadTorchScript(options_.encoder, ctx));
      has_script_ = true;
    } else if (options_.model == "transformer" && !encoder) {
      // No pre-trained encoder: pre-train on the texts at hand first.
      encoder = nn::TransformerEncoderNet(Options());
      PretrainOptions po = PretrainFrom(options_);
      ASSIGN_OR_RETURN(json mlm, Mlm(ctx, encoder, tok_, all_texts, po));
      mlm.erase("epochs");
      report_["pretraining"] = mlm;
    }
    RETURN_IF_ERROR(Build(encoder));
    const nn::TensorData train{Ids(train_texts), torch::tensor(train_y, torch::kLong)};
    const nn::TensorData valid{Ids(valid_texts), torch::tensor(valid_y, torch::kLong)};
    ml::TrainerOptions to;
    to.epochs = options_.epochs;
    to.batch_size = options_.batch_size;
    to.learning_rate = options_.learning_rate;
    to.optimizer = ml::OptimizerKind::kAdam;
    to.early_stopping_patience = valid_rows.empty() ? 0 : options_.patience;
    if (options_.model == "transformer") {
      to.optimizer = ml::OptimizerKind::kAdamW;
      to.weight_decay = 0.01;
      to.schedule = ml::ScheduleKind::kWarmupCosine;
      to.warmup_epochs = 1;
    }
    ASSIGN_OR_RETURN(ml::TrainLog log, nn::Train(ctx, *net_, [&](const torch::Tensor& x) { return net_->forward(x); }, train,
                                                 valid_rows.empty() ? nullptr : &valid, nn::LossKind::kCrossEntropy, to));
    net_->eval();
    report_["epochs_run"] = log.epochs.size();
    report_["best_epoch"] = log.best_epoch;
    report_["vocab"] = VocabSize();
    if (options_.finetune_encoder) report_["encoder_finetuned"] = true;
    internal::FinishOnHoldOut(valid_rows.empty() ? std::vector<float>{} : Logits(valid.x), labels_, valid_truth, options_,
                              &temperature_, &threshold_, &report_);
    return Status::Ok();
  }

  Status Load(const std::string& dir, const json& meta) {
    temperature_ = meta.value("temperature", 1.0f);
    threshold_ = meta.value("threshold", 0.0f);
    report_ = meta.value("report", json::object());
    if (WordPiece::IsWordPieceFile(dir + "/tokenizer.json")) {
      ASSIGN_OR_RETURN(WordPiece wp, WordPiece::Load(dir + "/tokenizer.json"));
      wp_ = std::move(wp);
    } else {
      ASSIGN_OR_RETURN(tok_, Tokenizer::Load(dir + "/tokenizer.json"));
    }
    if (!options_.encoder.empty()) {
      try {
        script_ = torch::jit::load(dir + "/encoder.pt", torch::kCPU);  // beside the CPU head LoadModule fills
        script_.eval();
      } catch (const c10::Error& e) {
        return InvalidArgument("TorchScript " + dir + "/encoder.pt: " + e.what_without_backtrace());
      }
      has_script_ = true;
    }
    RETURN_IF_ERROR(Build(nn::TransformerEncoderNet{nullptr}));
    RETURN_IF_ERROR(nn::LoadModule(*net_, dir + "/weights.pt"));
    net_->eval();
    return Status::Ok();
  }

  std::vector<Prediction> Predict(const std::vector<std::string>& texts, int top) const override {
    if (texts.empty()) return {};
    return internal::PredictionsFromLogits(Logits(Ids(texts)), labels_, temperature_, threshold_, top);
  }

  std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) const override {
    if (texts.empty()) return {};
    const auto w = static_cast<size_t>(net_->width());
    const std::vector<float> flat =
        ToVector(nn::Predict(*net_, [&](const torch::Tensor& x) { return net_->embed(x); }, Ids(texts)));
    std::vector<std::vector<float>> out;
    for (size_t r = 0; r < texts.size(); ++r) {
      out.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(r * w), flat.begin() + static_cast<std::ptrdiff_t>((r + 1) * w));
    }
    internal::NormalizeRows(&out);
    return out;
  }

  int embedding_dim() const override { return static_cast<int>(net_->width()); }

  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(SaveMeta(dir));
    RETURN_IF_ERROR(wp_ ? wp_->Save(dir + "/tokenizer.json") : tok_.Save(dir + "/tokenizer.json"));
    if (has_script_) {
      try {
        net_->script().save(dir + "/encoder.pt");
      } catch (const c10::Error& e) {
        return Internal("save " + dir + "/encoder.pt: " + e.what_without_backtrace());
      }
    }
    return nn::SaveModule(*net_, dir + "/weights.pt");
  }

 private:
  nn::SequenceOptions Options() const {
    return EncoderOptions(VocabSize(), options_.dim, options_.max_len, options_.layers, options_.heads);
  }
  int32_t VocabSize() const { return wp_ ? wp_->vocab_size() : tok_.vocab_size(); }
  torch::Tensor Ids(const std::vector<std::string>& texts) const {
    return wp_ ? Tokens(*wp_, texts, options_.max_len) : Tokens(tok_, texts, options_.max_len);
  }

  static PretrainOptions PretrainFrom(const ClassifierOptions& o) {
    PretrainOptions po;
    po.vocab_size = o.vocab_size;
    po.tokenizer = o.tokenizer;
    po.max_len = o.max_len;
    po.dim = o.dim;
    po.layers = o.layers;
    po.heads = o.heads;
    po.epochs = o.pretrain_epochs;
    po.batch_size = o.batch_size;
    return po;
  }

  Status Build(nn::TransformerEncoderNet encoder) {
    int64_t script_dim = 0;
    if (has_script_) {
      try {
        torch::NoGradGuard ng;
        const torch::Device device = nn::DeviceOfModule(script_);  // where LoadTorchScript put it
        const auto probe = script_.forward({torch::ones({1, 2}, torch::TensorOptions(torch::kLong).device(device))}).toTensor();
        if (probe.dim() != 2 || probe.size(0) != 1) return InvalidArgument("the TorchScript encoder must map [N, L] tokens to [N, dim]");
        script_dim = probe.size(1);
      } catch (const std::exception& e) {
        return InvalidArgument(std::string("the TorchScript encoder failed on a probe: ") + e.what());
      }
    }
    net_ = SeqNet(options_.model, Options(), static_cast<int64_t>(labels_.size()), encoder, has_script_ ? &script_ : nullptr,
                  script_dim, has_script_ && options_.finetune_encoder);
    return Status::Ok();
  }

  std::vector<float> Logits(const torch::Tensor& tokens) const {
    return ToVector(nn::Predict(*net_, [&](const torch::Tensor& x) { return net_->forward(x); }, tokens));
  }

  Tokenizer tok_;
  std::optional<WordPiece> wp_;  // the encoder's own vocabulary, when given
  torch::jit::Module script_;
  bool has_script_ = false;
  mutable SeqNet net_{nullptr};  // forward() is not const in libtorch; Predict only reads it
};

}  // namespace

namespace internal {

StatusOr<std::unique_ptr<TextClassifier>> TrainSequenceClassifier(const Context& ctx, const std::vector<LabelledText>& data,
                                                                  const ClassifierOptions& options) {
  auto model = std::make_unique<SeqClassifier>(SequenceDefaults(options), LabelSet(data));
  RETURN_IF_ERROR(model->Fit(ctx, data));
  return std::unique_ptr<TextClassifier>(std::move(model));
}

StatusOr<std::unique_ptr<TextClassifier>> LoadSequenceClassifier(const std::string& dir, const json& meta) {
  try {
    ClassifierOptions o = OptionsFrom(meta.at("options"));
    o.model = meta.at("model").get<std::string>();
    auto model = std::make_unique<SeqClassifier>(std::move(o), meta.at("labels").get<std::vector<std::string>>());
    RETURN_IF_ERROR(model->Load(dir, meta));
    return std::unique_ptr<TextClassifier>(std::move(model));
  } catch (const json::exception& e) {
    return InvalidArgument(dir + "/model.json: " + e.what());
  }
}

}  // namespace internal

StatusOr<json> PretrainEncoder(const Context& ctx, const std::vector<std::string>& texts, const PretrainOptions& o,
                               const std::string& dir) {
  if (o.vocab_size < 16 || o.max_len < 0 || o.max_len == 1 || o.dim < 1 || o.layers < 1 || o.heads < 1 || o.dim % o.heads != 0 ||
      o.epochs < 1 || o.batch_size < 1 || !(o.learning_rate > 0) || !(o.mask_fraction > 0 && o.mask_fraction < 1) ||
      !(o.valid_fraction >= 0 && o.valid_fraction < 1)) {
    return InvalidArgument("pretrain: vocab >= 16, max len 0 (automatic) or >= 2, dim a multiple of heads, epochs, batch, rate > 0, mask fraction in (0, 1)");
  }
  TokenizerOptions to;
  to.vocab_size = o.vocab_size;
  to.model = o.tokenizer;
  to.split_cjk = true;  // single Chinese characters (see tokenizer.h)
  ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::Train(texts, to));
  nn::SetUpTorch(ctx);
  PretrainOptions po = o;
  if (po.max_len == 0) po.max_len = static_cast<int>(AutoMaxLen(tok, texts));
  const nn::SequenceOptions so = EncoderOptions(tok.vocab_size(), po.dim, po.max_len, po.layers, po.heads);
  nn::TransformerEncoderNet encoder(so);
  ASSIGN_OR_RETURN(json report, Mlm(ctx, encoder, tok, texts, po));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  RETURN_IF_ERROR(tok.Save(dir + "/tokenizer.json"));
  RETURN_IF_ERROR(nn::SaveModule(*encoder, dir + "/encoder.pt"));
  RETURN_IF_ERROR(WriteJson(dir + "/encoder.json", {{"format", "opspilot-encoder-1"}, {"vocab", so.vocab}, {"dim", so.dim},
                                                    {"max_len", so.max_len}, {"layers", so.layers}, {"heads", so.heads},
                                                    {"report", report}}));
  return report;
}

}  // namespace opspilot::nlp
