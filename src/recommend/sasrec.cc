#include "recommend/sasrec.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>

#include "ml/nn.h"
#include "recommend/torch_common.h"
#include "recommend/recommend.h"

namespace opspilot::recommend {

namespace {

constexpr char kParamsFile[] = "sasrec_params.json";
constexpr char kWeightsFile[] = "sasrec_weights.pt";
// Validation users: 10% of those with three or more items, at least this many
// (where there are twice as many), so the stopping signal is not pure noise.
constexpr int64_t kMinValidUsers = 100;
// Logits held at once (floats). Besides bounding memory on large catalogs,
// blocks below glibc's 32 MB mmap ceiling get reused instead of being mapped
// and page-faulted afresh each step (that tripled a 3.7k-item epoch).
constexpr int64_t kLogitBudget = int64_t{1} << 22;
// Explain occludes at most this many of the most recent items.
constexpr int kExplainPositions = 10;

struct SasRecOptions {
  int max_len = 50;  // latest items the encoder reads (positions)
  int dim = 64;      // embedding and hidden size
  int layers = 2;    // self-attention blocks
  int heads = 1;     // attention heads; must divide dim
  double dropout = 0.2;
  int epochs = 30;          // maximum passes over the training windows
  int batch = 128;          // windows per optimizer step
  double lr = 1e-3;         // Adam learning rate
  std::string loss = "ce";  // ce: softmax over all items | bce: one sampled negative per position
  int negatives = 0;  // ce: 0 = the whole catalog; N = the target against N uniform items per batch
  int patience = 5;   // epochs without a validation gain before stopping; 0 = no hold-out
  int windows = 1;    // training windows of max_len items per user, newest first
};

constexpr const char* kKeys[] = {"max_len", "dim", "layers", "heads",     "dropout",  "epochs",
                                 "batch",   "lr",  "loss",   "negatives", "patience", "windows"};

Status Validate(const SasRecOptions& o) {
  if (o.max_len < 1 || o.max_len > 4096) return InvalidArgument("sasrec: max_len must be 1..4096");
  if (o.dim < 1 || o.dim > 4096) return InvalidArgument("sasrec: dim must be 1..4096");
  if (o.layers < 1 || o.layers > 32) return InvalidArgument("sasrec: layers must be 1..32");
  if (o.heads < 1 || o.dim % o.heads != 0)
    return InvalidArgument("sasrec: heads must be >= 1 and divide dim");
  if (!(o.dropout >= 0 && o.dropout < 1))
    return InvalidArgument("sasrec: dropout must be in [0, 1)");
  if (o.epochs < 1 || o.epochs > 100000) return InvalidArgument("sasrec: epochs must be 1..100000");
  if (o.batch < 1) return InvalidArgument("sasrec: batch must be >= 1");
  if (!(o.lr > 0)) return InvalidArgument("sasrec: lr must be > 0");
  if (o.loss != "ce" && o.loss != "bce")
    return InvalidArgument("sasrec: loss must be 'ce' or 'bce'");
  if (o.negatives < 0) return InvalidArgument("sasrec: negatives must be >= 0");
  if (o.patience < 0) return InvalidArgument("sasrec: patience must be >= 0");
  if (o.windows < 1) return InvalidArgument("sasrec: windows must be >= 1");
  return Status::Ok();
}

StatusOr<SasRecOptions> ParseOptions(const nlohmann::json& p) {
  SasRecOptions o;
  RETURN_IF_ERROR(torch_common::CheckParamKeys(p, kKeys, "sasrec"));
  if (p.is_null()) return o;
  try {
    o.max_len = p.value("max_len", o.max_len);
    o.dim = p.value("dim", o.dim);
    o.layers = p.value("layers", o.layers);
    o.heads = p.value("heads", o.heads);
    o.dropout = p.value("dropout", o.dropout);
    o.epochs = p.value("epochs", o.epochs);
    o.batch = p.value("batch", o.batch);
    o.lr = p.value("lr", o.lr);
    o.loss = p.value("loss", o.loss);
    o.negatives = p.value("negatives", o.negatives);
    o.patience = p.value("patience", o.patience);
    o.windows = p.value("windows", o.windows);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("sasrec: bad params: ") + e.what());
  }
  RETURN_IF_ERROR(Validate(o));
  return o;
}

nlohmann::json ToJson(const SasRecOptions& o) {
  return {{"max_len", o.max_len},   {"dim", o.dim},
          {"layers", o.layers},     {"heads", o.heads},
          {"dropout", o.dropout},   {"epochs", o.epochs},
          {"batch", o.batch},       {"lr", o.lr},
          {"loss", o.loss},         {"negatives", o.negatives},
          {"patience", o.patience}, {"windows", o.windows}};
}

// The project's causal transformer with its token embedding doubling as the
// output layer. Token t is item t - 1; 0 pads (sequences are left-padded, so
// the latest item always sits at position max_len - 1).
class SasRecNetImpl : public torch::nn::Module {
 public:
  SasRecNetImpl(const SasRecOptions& o, int64_t num_items) {
    ml::nn::SequenceOptions s;
    s.vocab = num_items + 1;
    s.dim = o.dim;
    s.max_len = o.max_len;
    s.heads = o.heads;
    s.layers = o.layers;
    s.feed_forward = o.dim;  // as in the paper
    s.dropout = o.dropout;
    s.causal = true;
    s.pooling = "last";
    encoder_ = register_module("encoder", ml::nn::TransformerEncoderNet(s));
    auto params = encoder_->named_parameters();
    items_ = params["tok.weight"];
    // Small embeddings keep the initial logits near zero; the padding row stays 0.
    torch::NoGradGuard ng;
    items_.normal_(0, 0.02);
    items_[0].zero_();
    params["pos.weight"].normal_(0, 0.02);
    popularity_ = register_buffer("popularity", torch::zeros({num_items}));
  }
  // [N, L] tokens -> [N, L, dim] states.
  torch::Tensor Encode(const torch::Tensor& tokens) { return encoder_->encode_all(tokens); }
  // [num_items + 1, dim]; row 0 is the padding token's (zero) embedding.
  const torch::Tensor& items() const { return items_; }
  torch::Tensor& popularity() { return popularity_; }

 private:
  ml::nn::TransformerEncoderNet encoder_{nullptr};
  torch::Tensor items_, popularity_;
};
TORCH_MODULE(SasRecNet);

// Left-padded token rows, row-major [rows, max_len].
struct TokenRows {
  std::vector<int64_t> input, target;
  int64_t rows = 0;
};

// Up to `windows` windows of `L` next-item targets over seq (item codes),
// newest first: position j of a window reads seq[t - 1] and predicts seq[t].
void AddWindows(std::span<const int32_t> seq, int L, int windows, TokenRows* out) {
  const auto m = static_cast<int64_t>(seq.size());
  for (int w = 0; w < windows; ++w) {
    const int64_t end = m - static_cast<int64_t>(w) * L;  // exclusive end of the targets
    if (end < 2) break;
    for (int j = 0; j < L; ++j) {
      const int64_t t = end - L + j;
      out->input.push_back(t >= 1 ? seq[static_cast<size_t>(t - 1)] + 1 : 0);
      out->target.push_back(t >= 1 ? seq[static_cast<size_t>(t)] + 1 : 0);
    }
    ++out->rows;
  }
}

// The last L items of seq as one left-padded row of tokens.
void AddInput(std::span<const int32_t> seq, int L, std::vector<int64_t>* out) {
  const size_t n = std::min(seq.size(), static_cast<size_t>(L));
  out->insert(out->end(), static_cast<size_t>(L) - n, 0);
  for (size_t i = seq.size() - n; i < seq.size(); ++i) out->push_back(seq[i] + 1);
}

torch::Tensor ToTensor(const std::vector<int64_t>& v, int64_t rows, int64_t cols) {
  return torch::from_blob(const_cast<int64_t*>(v.data()), {rows, cols}, torch::kLong).clone();
}

// Mean NDCG@10 of the held-out next items (seen items not ranked).
double ValidNdcg(SasRecNet& net, const torch::Tensor& input, const torch::Tensor& target,
                 torch::Device device) {
  torch::NoGradGuard ng;
  net->eval();
  const int64_t last = input.size(1) - 1;
  double sum = 0;
  const int64_t n = input.size(0);
  const int64_t rows = std::max<int64_t>(1, kLogitBudget / net->items().size(0));
  for (int64_t b = 0; b < n; b += rows) {
    const int64_t e = std::min(n, b + rows);
    auto in = input.slice(0, b, e).to(device);
    auto tg = target.slice(0, b, e).to(device).unsqueeze(1);
    auto logits = torch::matmul(net->Encode(in).select(1, last), net->items().t());  // [B, V + 1]
    auto own = logits.gather(1, tg);
    logits.scatter_(1, in,
                    -std::numeric_limits<float>::infinity());  // seen items and the padding column
    auto rank = logits.gt(own).sum(1).to(torch::kDouble);
    sum += torch::where(rank.lt(10), 1.0 / torch::log2(rank + 2), torch::zeros_like(rank))
               .sum()
               .item<double>();
  }
  net->train();
  return sum / static_cast<double>(std::max<int64_t>(n, 1));
}

class SasRec final : public Model {
 public:
  explicit SasRec(SasRecOptions o) : o_(std::move(o)) {}

  std::string name() const override { return "sasrec"; }
  nlohmann::json params() const override { return ToJson(o_); }
  Status Fit(const Context& ctx, const Interactions& train, const Catalog& catalog) override;
  void Score(const History& history, std::span<float> scores) const override;
  Reason Explain(const History& history, int32_t item) const override;
  Status Save(const std::string& dir) const override;
  Status Load(const std::string& dir) override;
  const float* ItemEmbeddings(int* dim) const override {
    if (item_vecs_.empty()) return nullptr;
    *dim = o_.dim;
    return item_vecs_.data();
  }
  bool UserEmbedding(const History& history, std::vector<float>* out) const override;
  double fit_flops() const override { return fit_flops_; }

 private:
  // The latest max_len known items of a history (item codes, oldest first).
  std::vector<int32_t> Window(const History& history) const;
  // [N, L] tokens -> the last position's state, [N, dim]. REQUIRES: fitted, no grad.
  torch::Tensor States(const torch::Tensor& tokens) const {
    return net_.ptr()->Encode(tokens).select(1, o_.max_len - 1);
  }
  // Serving state: eval mode, CPU, embeddings copied out.
  void Finish();

  SasRecOptions o_;
  int32_t num_items_ = 0;
  SasRecNet net_{nullptr};
  std::vector<float> item_vecs_;  // num_items x dim, row-major
  double fit_flops_ = 0;
};

std::vector<int32_t> SasRec::Window(const History& history) const {
  std::vector<int32_t> w;
  for (size_t i = history.items.size(); i-- > 0 && w.size() < static_cast<size_t>(o_.max_len);) {
    const int32_t item = history.items[i];
    if (item >= 0 && item < num_items_) w.push_back(item);
  }
  std::reverse(w.begin(), w.end());
  return w;
}

Status SasRec::Fit(const Context& ctx, const Interactions& train, const Catalog& catalog) {
  RETURN_IF_ERROR(Validate(o_));
  const int32_t num_items = train.num_items();
  if (num_items < 1) return InvalidArgument("sasrec: no items to train on");
  ASSIGN_OR_RETURN(torch::Device device, ml::nn::DeviceOf(ctx));
  const int L = o_.max_len;
  std::mt19937_64 rng(ctx.seed());

  // Hold out the last item of a sample of users for early stopping.
  std::vector<int32_t> eligible;
  for (int32_t u = 0; u < train.num_users(); ++u) {
    if (train.begin[u + 1] - train.begin[u] >= 3) eligible.push_back(u);
  }
  std::vector<uint8_t> held(static_cast<size_t>(train.num_users()), 0);
  const auto n_eligible = static_cast<int64_t>(eligible.size());
  const int64_t n_valid =
      o_.patience > 0 ? std::min(n_eligible / 2, std::max(n_eligible / 10, kMinValidUsers)) : 0;
  TokenRows windows, valid;
  if (n_valid >= 10) {
    std::shuffle(eligible.begin(), eligible.end(), rng);
    for (int64_t i = 0; i < n_valid; ++i)
      held[static_cast<size_t>(eligible[static_cast<size_t>(i)])] = 1;
  }
  std::vector<float> counts(static_cast<size_t>(num_items), 0);
  for (int32_t u = 0; u < train.num_users(); ++u) {
    std::span<const int32_t> seq(train.item.data() + train.begin[u],
                                 static_cast<size_t>(train.begin[u + 1] - train.begin[u]));
    for (int32_t item : seq) {
      if (item < 0 || item >= num_items) return InvalidArgument("sasrec: item code out of range");
      counts[static_cast<size_t>(item)] += 1;
    }
    if (held[static_cast<size_t>(u)]) {
      seq = seq.first(seq.size() - 1);
      AddInput(seq, L, &valid.input);
      valid.target.push_back(train.item[static_cast<size_t>(train.begin[u + 1] - 1)] + 1);
      ++valid.rows;
    }
    AddWindows(seq, L, o_.windows, &windows);
  }
  if (windows.rows == 0) return InvalidArgument("sasrec: no user has two or more interactions");

  ml::nn::SetUpTorch(ctx);  // initial weights follow the seed
  try {
    SasRecNet net(o_, num_items);
    net->popularity().copy_(torch::from_blob(counts.data(), {num_items}, torch::kFloat));
    net->to(device);
    const torch::Tensor input = ToTensor(windows.input, windows.rows, L);
    const torch::Tensor target = ToTensor(windows.target, windows.rows, L);
    torch::Tensor valid_input, valid_target;
    if (valid.rows > 0) {
      valid_input = ToTensor(valid.input, valid.rows, L);
      valid_target = ToTensor(valid.target, valid.rows, 1).view({-1});
    }
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o_.lr));
    const bool sampled = o_.loss == "ce" && o_.negatives > 0 && o_.negatives < num_items;
    const int64_t chunk =
        std::max<int64_t>(1, kLogitBudget / (sampled ? o_.negatives + 1 : num_items));
    const double dim = o_.dim;
    // Multiply-adds per position: projections, feed-forward, attention; then the output layer.
    const double per_token = o_.layers * (4 * dim * dim + 2 * dim * dim + 2 * L * dim);
    const double per_target = (o_.loss == "bce" ? 2 : sampled ? o_.negatives + 1 : num_items) * dim;
    const double targets = static_cast<double>(target.gt(0).sum().item<int64_t>());
    const double epoch_flops =
        3 * 2 * (per_token * static_cast<double>(windows.rows) * L + per_target * targets);

    torch_common::EarlyStopping stopping;
    stopping.patience = o_.patience;
    int epochs_run = 0;
    std::vector<int64_t> order(static_cast<size_t>(windows.rows));
    auto progress = ctx.StartProgress("sasrec", o_.epochs, "epochs");
    for (int epoch = 0; epoch < o_.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      const torch::Tensor index = torch::tensor(order, torch::kLong);
      net->train();
      double total = 0;
      int64_t seen = 0;
      for (int64_t b = 0; b < windows.rows; b += o_.batch) {
        const auto idx = index.slice(0, b, std::min(windows.rows, b + o_.batch));
        const auto in = input.index_select(0, idx).to(device);
        const auto tg = target.index_select(0, idx).to(device);
        const auto mask = tg.gt(0);
        opt.zero_grad();
        const auto states = net->Encode(in).index({mask});  // [M, dim]
        const auto labels = tg.index({mask});               // [M] tokens
        const int64_t m = labels.size(0);
        if (m == 0) continue;
        double batch_loss = 0;
        if (o_.loss == "ce") {
          // Softmax cross-entropy in chunks of positions so the logits fit
          // the budget: the chunks' gradients gather on a detached copy of the
          // states and flow back through the encoder once.
          const auto leaf = states.detach().requires_grad_(true);
          const auto sampled_tokens =
              sampled ? torch::randint(1, num_items + 1, {o_.negatives}, labels.options())
                      : torch::Tensor();
          const auto sum = torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum);
          for (int64_t c = 0; c < m; c += chunk) {
            const int64_t ce = std::min(m, c + chunk);
            const auto h = leaf.slice(0, c, ce);
            const auto y = labels.slice(0, c, ce);
            // Per chunk: each backward frees the graph it ran through.
            const auto classes = sampled ? net->items().index_select(0, sampled_tokens)
                                         : net->items().slice(0, 1);  // [C, dim]
            torch::Tensor loss;
            if (sampled) {
              // Column 0 is the target; a sampled copy of it is no negative.
              const auto own = (h * net->items().index_select(0, y)).sum(1, true);
              const auto negs = torch::matmul(h, classes.t())
                                    .masked_fill(y.unsqueeze(1).eq(sampled_tokens.unsqueeze(0)),
                                                 -std::numeric_limits<float>::infinity());
              loss = torch::nn::functional::cross_entropy(torch::cat({own, negs}, 1),
                                                          torch::zeros_like(y), sum);
            } else {
              loss =
                  torch::nn::functional::cross_entropy(torch::matmul(h, classes.t()), y - 1, sum);
            }
            loss = loss / static_cast<double>(m);
            loss.backward();
            batch_loss += loss.item<double>();
          }
          states.backward(leaf.grad());
        } else {
          auto negatives = torch::randint(1, num_items + 1, {m}, labels.options());
          negatives = torch::where(negatives.eq(labels), negatives % num_items + 1, negatives);
          const auto pos = (states * net->items().index_select(0, labels)).sum(1);
          auto loss = torch::softplus(-pos);
          if (num_items > 1)
            loss =
                loss + torch::softplus((states * net->items().index_select(0, negatives)).sum(1));
          loss = loss.mean();
          loss.backward();
          batch_loss = loss.item<double>();
        }
        torch::nn::utils::clip_grad_norm_(net->parameters(), 5.0);
        opt.step();
        total += batch_loss * static_cast<double>(m);
        seen += m;
      }
      ++epochs_run;
      double ndcg = std::numeric_limits<double>::quiet_NaN();
      bool stop = false;
      if (valid.rows > 0) {
        ndcg = ValidNdcg(net, valid_input, valid_target, device);
        stop = stopping.Update(ndcg, epoch + 1, *net);
      }
      ctx.logger().Info(
          "sasrec epoch",
          {{"epoch", epoch + 1},
           {"loss", total / static_cast<double>(std::max<int64_t>(seen, 1))},
           {"valid_ndcg@10", ndcg},
           {"seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}});
      progress->Update(epoch + 1);
      if (stop) break;
    }
    progress->Finish();
    stopping.RestoreBest(*net);
    if (valid.rows > 0) {
      ctx.logger().Info("sasrec fitted", {{"best_epoch", stopping.best_epoch}, {"valid_ndcg@10", stopping.best}});
    }
    fit_flops_ = epoch_flops * epochs_run;
    num_items_ = num_items;
    net_ = net;
    Finish();
  } catch (const c10::Error& e) {
    return Internal(std::string("sasrec: torch: ") + e.what_without_backtrace());
  }
  return Status::Ok();
}

void SasRec::Finish() {
  torch::NoGradGuard ng;
  net_->eval();
  net_->to(torch::kCPU);
  auto items = net_->items().slice(0, 1).contiguous();
  item_vecs_.assign(items.data_ptr<float>(), items.data_ptr<float>() + items.numel());
}

void SasRec::Score(const History& history, std::span<float> scores) const {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::fill(scores.begin(), scores.end(), -kInf);
  if (!net_) return;
  const size_t n = std::min(scores.size(), static_cast<size_t>(num_items_));
  auto out = torch::from_blob(scores.data(), {static_cast<int64_t>(n)}, torch::kFloat);
  torch::NoGradGuard ng;
  const std::vector<int32_t> window = Window(history);
  if (window.empty()) {
    // Nothing to read a sequence from: the most frequent training items first.
    out.copy_(net_.ptr()->popularity().slice(0, 0, static_cast<int64_t>(n)));
    return;
  }
  std::vector<int64_t> tokens;
  AddInput(window, o_.max_len, &tokens);
  const auto state = States(ToTensor(tokens, 1, o_.max_len)).view({-1});
  torch::mv_out(out, net_->items().slice(0, 1, static_cast<int64_t>(n) + 1), state);
}

bool SasRec::UserEmbedding(const History& history, std::vector<float>* out) const {
  if (!net_) return false;
  const std::vector<int32_t> window = Window(history);
  if (window.empty()) return false;
  torch::NoGradGuard ng;
  std::vector<int64_t> tokens;
  AddInput(window, o_.max_len, &tokens);
  const auto state = States(ToTensor(tokens, 1, o_.max_len)).contiguous();
  out->assign(state.data_ptr<float>(), state.data_ptr<float>() + state.numel());
  return true;
}

Reason SasRec::Explain(const History& history, int32_t item) const {
  Reason r;
  r.source = "sasrec";
  r.kind = "next_in_sequence";
  if (!net_) return r;
  const std::vector<int32_t> window = Window(history);
  if (window.empty()) return r;
  r.because = window.back();
  if (item < 0 || item >= num_items_) return r;
  // Occlusion: the recent item whose removal (as padding) lowers the item's
  // score most. Row 0 is the full window, row j drops the j-th latest item.
  torch::NoGradGuard ng;
  const int L = o_.max_len;
  const int k = std::min<int>(kExplainPositions, static_cast<int>(window.size()));
  std::vector<int64_t> tokens;
  AddInput(window, L, &tokens);
  const std::vector<int64_t> full = tokens;
  for (int j = 1; j <= k; ++j) {
    tokens.insert(tokens.end(), full.begin(), full.end());
    tokens[static_cast<size_t>(j) * L + static_cast<size_t>(L - j)] = 0;
  }
  const auto states = States(ToTensor(tokens, k + 1, L));
  const auto s = torch::mv(states, net_->items()[item + 1]);
  const auto drop = (s[0] - s.slice(0, 1)).contiguous();  // [k]
  const float* d = drop.data_ptr<float>();
  int best = 0;
  for (int j = 1; j < k; ++j) {
    if (d[j] > d[best]) best = j;
  }
  if (d[best] > 0) r.because = window[window.size() - 1 - static_cast<size_t>(best)];
  return r;
}

Status SasRec::Save(const std::string& dir) const {
  if (!net_) return FailedPrecondition("sasrec: save before fit");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("sasrec: create " + dir + ": " + ec.message());
  nlohmann::json j = params();
  j["num_items"] = num_items_;
  const std::string path = dir + "/" + kParamsFile;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << j.dump(2) << "\n";
  f.close();
  if (!f) return Internal("sasrec: cannot write " + path);
  return ml::nn::SaveModule(*net_.ptr(), dir + "/" + kWeightsFile);
}

Status SasRec::Load(const std::string& dir) {
  const std::string path = dir + "/" + kParamsFile;
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("sasrec: cannot read " + path);
  nlohmann::json j;
  int64_t num_items = 0;
  try {
    j = nlohmann::json::parse(f);
    num_items = j.at("num_items").get<int64_t>();
    j.erase("num_items");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("sasrec: " + path + ": " + e.what());
  }
  if (num_items < 1 || num_items > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument("sasrec: " + path + ": bad num_items");
  }
  ASSIGN_OR_RETURN(SasRecOptions o, ParseOptions(j));
  try {
    SasRecNet net(o, num_items);
    RETURN_IF_ERROR(ml::nn::LoadModule(*net, dir + "/" + kWeightsFile));
    // The archive may hold other shapes than params.json says: LoadModule takes them as they are.
    if (net->items().size(0) != num_items + 1 || net->items().size(1) != o.dim ||
        net->popularity().size(0) != num_items) {
      return InvalidArgument("sasrec: " + dir + ": weights do not match " + kParamsFile);
    }
    o_ = o;
    num_items_ = static_cast<int32_t>(num_items);
    net_ = net;
    Finish();
  } catch (const c10::Error& e) {
    return Internal(std::string("sasrec: torch: ") + e.what_without_backtrace());
  }
  return Status::Ok();
}

}  // namespace

void RegisterTorchModels() {
  RegisterModel("sasrec", [](const nlohmann::json& params) -> StatusOr<std::unique_ptr<Model>> {
    ASSIGN_OR_RETURN(SasRecOptions o, ParseOptions(params));
    return std::unique_ptr<Model>(std::make_unique<SasRec>(std::move(o)));
  });
  RegisterMlpRanker();
}

}  // namespace opspilot::recommend
