#include "nlp/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <queue>
#include <tuple>
#include <unordered_map>

#include "core/file.h"
#include "nlp/text.h"

namespace opspilot::nlp {
namespace {

using nlohmann::json;

constexpr const char* kSpace = "\xE2\x96\x81";  // "▁", U+2581
constexpr const char* kFormat = "opspilot-bpe-1";
constexpr const char* kUnigramFormat = "opspilot-unigram-1";
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr size_t kMaxSeedCandidates = size_t{1} << 22;  // distinct substrings kept while counting seeds

size_t Utf8Len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

// The code points of `s`, each as its UTF-8 bytes.
std::vector<std::string> Utf8Chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = std::min(Utf8Len(static_cast<unsigned char>(s[i])), s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

double LogAdd(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  return a > b ? a + std::log1p(std::exp(b - a)) : b + std::log1p(std::exp(a - b));
}

char32_t CodePoint(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (s.size() == 1) return c;
  char32_t cp = s.size() == 2 ? (c & 0x1F) : s.size() == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[k]) & 0x3F);
  return cp;
}

bool AsciiWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '\'';
}

// The words of normalised text as base symbols: a Latin word or a CJK run is
// one word of characters (with split_cjk, each CJK character is a word), a
// placeholder (<num>) or any other symbol a word of its own; a space before a
// word becomes its first symbol "▁" (as does the start of the text, as in
// sentencepiece).
std::vector<std::vector<std::string>> Words(std::string_view text, bool split_cjk) {
  const std::string s = Normalize(text);
  std::vector<std::vector<std::string>> out;
  bool space = true;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      space = true;
      ++i;
      continue;
    }
    std::vector<std::string> w;
    if (space) w.emplace_back(kSpace);
    space = false;
    if (s[i] == '<') {
      const size_t end = s.find('>', i);
      const std::string_view tag = end == std::string::npos ? std::string_view() : std::string_view(s).substr(i, end - i + 1);
      if (tag == "<num>" || tag == "<url>" || tag == "<email>") {
        w.emplace_back(tag);
        out.push_back(std::move(w));
        i = end + 1;
        continue;
      }
    }
    if (AsciiWordChar(s[i])) {
      while (i < s.size() && AsciiWordChar(s[i])) w.emplace_back(1, s[i++]);
    } else {
      size_t n = std::min(Utf8Len(static_cast<unsigned char>(s[i])), s.size() - i);
      const bool cjk = IsCjk(CodePoint(std::string_view(s).substr(i, n)));
      w.emplace_back(s.substr(i, n));
      i += n;
      while (cjk && !split_cjk && i < s.size()) {
        n = std::min(Utf8Len(static_cast<unsigned char>(s[i])), s.size() - i);
        if (!IsCjk(CodePoint(std::string_view(s).substr(i, n)))) break;
        w.emplace_back(s.substr(i, n));
        i += n;
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

uint64_t Key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

StatusOr<Tokenizer> Tokenizer::Train(const std::vector<std::string>& texts, const TokenizerOptions& o) {
  if (o.vocab_size < 8 || o.min_frequency < 1 || !(o.character_coverage > 0 && o.character_coverage <= 1) ||
      o.max_piece_length < 1) {
    return InvalidArgument("tokenizer: vocab size >= 8, min frequency >= 1, character coverage in (0, 1], max piece length >= 1");
  }
  if (o.model != "bpe" && o.model != "unigram") return InvalidArgument("tokenizer: model '" + o.model + "' is not bpe or unigram");
  // Distinct words and their counts.
  std::map<std::vector<std::string>, int64_t> word_count;
  for (const auto& t : texts) {
    for (auto& w : Words(t, o.split_cjk)) ++word_count[std::move(w)];
  }
  std::map<std::string, int64_t> char_count;
  int64_t total = 0;
  for (const auto& [w, n] : word_count) {
    for (const auto& c : w) char_count[c] += n, total += n;
  }
  if (total == 0) return InvalidArgument("tokenizer: the corpus has no characters");
  // Base characters: the most frequent ones covering the share asked for.
  std::vector<std::pair<std::string, int64_t>> chars(char_count.begin(), char_count.end());
  std::stable_sort(chars.begin(), chars.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  Tokenizer tok;
  tok.split_cjk_ = o.split_cjk;
  tok.pieces_ = {"<pad>", "<unk>", "<mask>", kSpace, "<num>", "<url>", "<email>"};
  for (const auto& p : tok.pieces_) tok.id_[p] = static_cast<int32_t>(tok.id_.size());
  int64_t covered = 0;
  for (const auto& [c, n] : chars) {
    if (static_cast<double>(covered) >= o.character_coverage * static_cast<double>(total)) break;
    covered += n;
    if (tok.id_.emplace(c, static_cast<int32_t>(tok.pieces_.size())).second) tok.pieces_.push_back(c);
  }
  if (o.model == "unigram") {
    TrainUnigram(word_count, o, &tok);
    tok.Index();
    return tok;
  }
  // Words as id sequences, and the counts of adjacent pairs.
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;
  for (const auto& [w, n] : word_count) {
    std::vector<int32_t> ids;
    for (const auto& c : w) {
      auto it = tok.id_.find(c);
      ids.push_back(it == tok.id_.end() ? kUnk : it->second);
    }
    words.push_back(std::move(ids));
    freq.push_back(n);
  }
  std::unordered_map<uint64_t, int64_t> count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words that had it (may be stale)
  auto add_pairs = [&](int32_t wi, int64_t sign, std::vector<uint64_t>* touched) {
    const auto& w = words[static_cast<size_t>(wi)];
    for (size_t k = 0; k + 1 < w.size(); ++k) {
      if (w[k] == kUnk || w[k + 1] == kUnk) continue;
      const uint64_t key = Key(w[k], w[k + 1]);
      count[key] += sign * freq[static_cast<size_t>(wi)];
      if (sign > 0) where[key].push_back(wi);
      if (touched) touched->push_back(key);
    }
  };
  for (size_t wi = 0; wi < words.size(); ++wi) add_pairs(static_cast<int32_t>(wi), 1, nullptr);
  // Most frequent pair first; ties to the smaller key, so training is deterministic.
  using Entry = std::pair<int64_t, uint64_t>;
  auto cmp = [](const Entry& a, const Entry& b) { return a.first < b.first || (a.first == b.first && a.second > b.second); };
  std::priority_queue<Entry, std::vector<Entry>, decltype(cmp)> heap(cmp);
  for (const auto& [key, n] : count) heap.emplace(n, key);
  std::vector<int64_t> stamp(words.size(), -1);
  while (static_cast<int>(tok.pieces_.size()) < o.vocab_size && !heap.empty()) {
    const auto [n, key] = heap.top();
    heap.pop();
    if (count[key] != n) continue;  // stale
    if (n < o.min_frequency) break;
    const auto a = static_cast<int32_t>(key >> 32), b = static_cast<int32_t>(key & 0xFFFFFFFFu);
    const std::string merged = tok.pieces_[static_cast<size_t>(a)] + tok.pieces_[static_cast<size_t>(b)];
    auto [it, added] = tok.id_.emplace(merged, static_cast<int32_t>(tok.pieces_.size()));
    if (added) tok.pieces_.push_back(merged);
    const int32_t m = it->second;
    const auto rank = static_cast<int64_t>(tok.merges_.size());
    tok.merges_.emplace_back(a, b);
    std::vector<uint64_t> touched;
    std::vector<int32_t> list = std::move(where[key]);
    where.erase(key);
    for (int32_t wi : list) {
      if (stamp[static_cast<size_t>(wi)] == rank) continue;
      stamp[static_cast<size_t>(wi)] = rank;
      auto& w = words[static_cast<size_t>(wi)];
      bool has = false;
      for (size_t k = 0; k + 1 < w.size() && !has; ++k) has = w[k] == a && w[k + 1] == b;
      if (!has) continue;
      add_pairs(wi, -1, &touched);
      std::vector<int32_t> next;
      for (size_t k = 0; k < w.size(); ++k) {
        if (k + 1 < w.size() && w[k] == a && w[k + 1] == b) {
          next.push_back(m);
          ++k;
        } else {
          next.push_back(w[k]);
        }
      }
      w = std::move(next);
      add_pairs(wi, 1, &touched);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (uint64_t t : touched) {
      if (count[t] > 0) heap.emplace(count[t], t);
    }
  }
  tok.Index();
  return tok;
}

namespace {

// A word's unigram lattice: every piece that spells symbols [begin, end),
// `lookup(text)` giving its index (or -1: not a piece); piece -1 is an
// unknown symbol (a fixed low score, never counted).
struct Edge {
  int begin, end, piece;
};

template <typename Lookup>
std::vector<Edge> Lattice(const std::vector<std::string>& word, int max_len, Lookup lookup) {
  std::vector<Edge> edges;
  const int n = static_cast<int>(word.size());
  for (int i = 0; i < n; ++i) {
    std::string acc;
    bool any = false;
    for (int j = i; j < n && j - i < max_len; ++j) {
      acc += word[static_cast<size_t>(j)];
      const int piece = lookup(acc);
      if (piece >= 0) edges.push_back({i, j + 1, piece}), any = any || j == i;
    }
    if (!any) edges.push_back({i, i + 1, -1});
  }
  return edges;  // ordered by begin, then end
}

// The best segmentation's pieces (Viterbi) and its log probability; edges
// of piece `skip` are left out.
template <typename Score>
double Viterbi(const std::vector<Edge>& edges, int n, const std::vector<Score>& logp, double unk,
               std::vector<int>* pieces, int skip = -2) {
  std::vector<double> best(static_cast<size_t>(n) + 1, kNegInf);
  std::vector<const Edge*> back(static_cast<size_t>(n) + 1, nullptr);
  best[0] = 0;
  for (const Edge& e : edges) {
    if (e.piece == skip || best[static_cast<size_t>(e.begin)] == kNegInf) continue;
    const double v = best[static_cast<size_t>(e.begin)] + (e.piece < 0 ? unk : static_cast<double>(logp[static_cast<size_t>(e.piece)]));
    if (v > best[static_cast<size_t>(e.end)]) best[static_cast<size_t>(e.end)] = v, back[static_cast<size_t>(e.end)] = &e;
  }
  if (pieces) {
    pieces->clear();
    for (int at = n; at > 0 && back[static_cast<size_t>(at)];) {
      pieces->push_back(back[static_cast<size_t>(at)]->piece);
      at = back[static_cast<size_t>(at)]->begin;
    }
    std::reverse(pieces->begin(), pieces->end());
  }
  return best[static_cast<size_t>(n)];
}

}  // namespace

void Tokenizer::TrainUnigram(const std::map<std::vector<std::string>, int64_t>& word_count, const TokenizerOptions& o,
                             Tokenizer* tok) {
  // The current piece set: the base symbols (never pruned) and the candidates.
  std::vector<std::string> piece(tok->pieces_.begin() + 3, tok->pieces_.end());
  const size_t n_base = piece.size();
  const size_t target = o.vocab_size > static_cast<int>(tok->pieces_.size()) ? static_cast<size_t>(o.vocab_size) - tok->pieces_.size() : 0;
  // Seeds: substrings of 2..max_piece_length known symbols seen at least
  // min_frequency times, the most frequent-times-long first.
  std::unordered_map<std::string, std::pair<int64_t, int>> sub;  // count, symbols
  for (const auto& [w, n] : word_count) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (!tok->id_.count(w[i])) continue;
      std::string acc = w[i];
      for (size_t j = i + 1; j < w.size() && static_cast<int>(j - i) < o.max_piece_length; ++j) {
        if (!tok->id_.count(w[j])) break;
        acc += w[j];
        auto& [c, len] = sub[acc];
        c += n;
        len = static_cast<int>(j - i + 1);
      }
    }
    // Bounded memory on huge corpora (long unsplit Chinese runs): drop the
    // substrings seen only once so far; a frequent one comes back.
    if (sub.size() > kMaxSeedCandidates) {
      for (auto it = sub.begin(); it != sub.end();) it = it->second.first < 2 ? sub.erase(it) : std::next(it);
    }
  }
  std::vector<std::pair<double, std::string>> seeds;
  for (const auto& [str, cl] : sub) {
    if (cl.first >= o.min_frequency && !tok->id_.count(str)) seeds.emplace_back(static_cast<double>(cl.first) * cl.second, str);
  }
  std::sort(seeds.begin(), seeds.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  if (seeds.size() > std::max<size_t>(8 * target, 1000)) seeds.resize(std::max<size_t>(8 * target, 1000));
  for (const auto& [sc, str] : seeds) piece.push_back(str);
  sub.clear();
  // Initial probabilities: proportional to the substring counts (symbols: their own counts).
  std::vector<double> logp(piece.size(), 0);
  {
    std::unordered_map<std::string, double> freq;
    for (const auto& [w, n] : word_count) {
      for (const auto& c : w) freq[c] += static_cast<double>(n);
    }
    for (const auto& [sc, str] : seeds) freq[str] += sc;
    double total = 0;
    for (const auto& x : piece) total += freq[x];
    for (size_t k = 0; k < piece.size(); ++k) logp[k] = std::log(std::max(freq[piece[k]], 1.0) / std::max(total, 1.0));
  }
  std::vector<std::pair<std::vector<std::string>, int64_t>> words(word_count.begin(), word_count.end());
  auto index_of = [&]() {
    std::unordered_map<std::string, int> index;
    for (size_t k = 0; k < piece.size(); ++k) index.emplace(piece[k], static_cast<int>(k));
    return index;
  };
  auto lattice = [&](const std::vector<std::string>& w, const std::unordered_map<std::string, int>& index) {
    return Lattice(w, o.max_piece_length, [&](const std::string& s) {
      const auto it = index.find(s);
      return it == index.end() ? -1 : it->second;
    });
  };
  auto unk_score = [&]() { return *std::min_element(logp.begin(), logp.end()) - 10; };
  // EM: expected piece counts by forward-backward, then renormalised.
  auto em = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      const auto index = index_of();
      const double unk = unk_score();
      std::vector<double> expected(piece.size(), 0);
      for (const auto& [w, n] : words) {
        const int len = static_cast<int>(w.size());
        const auto edges = lattice(w, index);
        std::vector<double> alpha(static_cast<size_t>(len) + 1, kNegInf), beta(static_cast<size_t>(len) + 1, kNegInf);
        alpha[0] = 0;
        for (const Edge& e : edges) {
          const double lp = e.piece < 0 ? unk : logp[static_cast<size_t>(e.piece)];
          alpha[static_cast<size_t>(e.end)] = LogAdd(alpha[static_cast<size_t>(e.end)], alpha[static_cast<size_t>(e.begin)] + lp);
        }
        beta[static_cast<size_t>(len)] = 0;
        for (auto e = edges.rbegin(); e != edges.rend(); ++e) {
          const double lp = e->piece < 0 ? unk : logp[static_cast<size_t>(e->piece)];
          beta[static_cast<size_t>(e->begin)] = LogAdd(beta[static_cast<size_t>(e->begin)], lp + beta[static_cast<size_t>(e->end)]);
        }
        const double z = alpha[static_cast<size_t>(len)];
        if (z == kNegInf) continue;
        for (const Edge& e : edges) {
          if (e.piece < 0) continue;
          expected[static_cast<size_t>(e.piece)] +=
              static_cast<double>(n) * std::exp(alpha[static_cast<size_t>(e.begin)] + logp[static_cast<size_t>(e.piece)] +
                                                beta[static_cast<size_t>(e.end)] - z);
        }
      }
      double total = 0;
      for (double c : expected) total += c;
      for (size_t k = 0; k < piece.size(); ++k) logp[k] = std::log(std::max(expected[k], 1e-3) / std::max(total, 1.0));
    }
  };
  // Prune: a piece's loss is how much less likely the corpus gets when its
  // Viterbi uses become its best split into the other pieces; keep the
  // costliest, at least 3/4 of the candidates a round, until they fit.
  auto candidates = [&]() { return piece.size() - n_base; };
  while (candidates() > target) {
    em(2);
    const auto index = index_of();
    const double unk = unk_score();
    std::vector<double> uses(piece.size(), 0);
    std::vector<int> path;
    for (const auto& [w, n] : words) {
      Viterbi(lattice(w, index), static_cast<int>(w.size()), logp, unk, &path);
      for (int k : path) {
        if (k >= 0) uses[static_cast<size_t>(k)] += static_cast<double>(n);
      }
    }
    std::vector<std::pair<double, size_t>> loss;  // candidates only
    for (size_t k = n_base; k < piece.size(); ++k) {
      double l = 0;
      if (uses[k] > 0) {
        // The piece's own characters, split without it. (Placeholders such
        // as <num> are one symbol: a piece holding one keeps it whole.)
        const std::vector<std::string> chars = Utf8Chars(piece[k]);
        const double alt = Viterbi(lattice(chars, index), static_cast<int>(chars.size()), logp, unk, nullptr, static_cast<int>(k));
        l = uses[k] * (logp[k] - (alt == kNegInf ? unk * static_cast<double>(chars.size()) : alt));
      }
      loss.emplace_back(l, k);
    }
    std::sort(loss.begin(), loss.end(), [&](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && piece[a.second] < piece[b.second]);
    });
    const size_t keep = std::max(target, candidates() * 3 / 4);
    std::vector<std::string> next_piece(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n_base));
    std::vector<double> next_logp(logp.begin(), logp.begin() + static_cast<std::ptrdiff_t>(n_base));
    std::vector<size_t> kept;
    for (size_t r = 0; r < keep && r < loss.size(); ++r) kept.push_back(loss[r].second);
    std::sort(kept.begin(), kept.end());
    for (size_t k : kept) next_piece.push_back(piece[k]), next_logp.push_back(logp[k]);
    piece = std::move(next_piece);
    logp = std::move(next_logp);
  }
  em(2);
  // The vocabulary: specials and base symbols first (their ids as trained),
  // then the candidates, most probable first.
  std::vector<size_t> order;
  for (size_t k = n_base; k < piece.size(); ++k) order.push_back(k);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logp[a] > logp[b] || (logp[a] == logp[b] && piece[a] < piece[b]); });
  tok->model_ = "unigram";
  tok->scores_.assign(3, 0.f);
  for (size_t k = 0; k < n_base; ++k) tok->scores_.push_back(static_cast<float>(logp[k]));
  for (size_t k : order) {
    tok->pieces_.push_back(piece[k]);
    tok->scores_.push_back(static_cast<float>(logp[k]));
  }
}

std::vector<int32_t> Tokenizer::ViterbiWord(const std::vector<std::string>& chars) const {
  // The specials (<pad>, <unk>, <mask>) never match text.
  const auto edges = Lattice(chars, max_piece_chars_, [&](const std::string& s) {
    const auto it = id_.find(s);
    return it == id_.end() || it->second <= kMask ? -1 : it->second;
  });
  std::vector<int> pieces;
  Viterbi(edges, static_cast<int>(chars.size()), scores_, unk_score_, &pieces);
  std::vector<int32_t> out;
  for (int p : pieces) out.push_back(p < 0 ? kUnk : p);
  return out;
}

void Tokenizer::Index() {
  id_.clear();
  for (size_t k = 0; k < pieces_.size(); ++k) id_.emplace(pieces_[k], static_cast<int32_t>(k));
  max_piece_chars_ = 1;
  for (const auto& p : pieces_) max_piece_chars_ = std::max(max_piece_chars_, static_cast<int>(Utf8Chars(p).size()));
  // An unknown character costs 10 nats more than the rarest piece.
  float lowest = 0;
  for (size_t k = 3; k < scores_.size(); ++k) lowest = std::min(lowest, scores_[k]);
  unk_score_ = static_cast<double>(lowest) - 10;
  rank_.clear();
  merged_.clear();
  for (size_t r = 0; r < merges_.size(); ++r) {
    rank_.emplace(merges_[r], static_cast<int32_t>(r));
    merged_.push_back(id_.at(pieces_[static_cast<size_t>(merges_[r].first)] + pieces_[static_cast<size_t>(merges_[r].second)]));
  }
}

std::vector<int32_t> Tokenizer::EncodeWord(const std::vector<std::string>& chars) const {
  if (model_ == "unigram") return ViterbiWord(chars);
  std::vector<int32_t> w;
  for (const auto& c : chars) {
    auto it = id_.find(c);
    w.push_back(it == id_.end() ? kUnk : it->second);
  }
  // Apply the earliest-learned merge present, until none is.
  while (w.size() > 1) {
    int32_t best = -1;
    for (size_t k = 0; k + 1 < w.size(); ++k) {
      auto it = rank_.find({w[k], w[k + 1]});
      if (it != rank_.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) break;
    const auto [a, b] = merges_[static_cast<size_t>(best)];
    std::vector<int32_t> next;
    for (size_t k = 0; k < w.size(); ++k) {
      if (k + 1 < w.size() && w[k] == a && w[k + 1] == b) {
        next.push_back(merged_[static_cast<size_t>(best)]);
        ++k;
      } else {
        next.push_back(w[k]);
      }
    }
    w = std::move(next);
  }
  return w;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> out;
  for (const auto& w : Words(text, split_cjk_)) {
    const auto ids = EncodeWord(w);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::vector<std::string> Tokenizer::EncodePieces(std::string_view text) const {
  std::vector<std::string> out;
  for (int32_t id : Encode(text)) out.push_back(piece(id));
  return out;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string s;
  for (int32_t id : ids) {
    if (id == kPad || id == kMask || id < 0 || id >= vocab_size()) continue;
    s += pieces_[static_cast<size_t>(id)];
  }
  std::string out;
  for (size_t at = 0;;) {
    const size_t next = s.find(kSpace, at);
    out.append(s, at, next == std::string::npos ? std::string::npos : next - at);
    if (next == std::string::npos) break;
    out.push_back(' ');
    at = next + 3;
  }
  if (!out.empty() && out.front() == ' ') out.erase(0, 1);
  return out;
}

Status Tokenizer::Save(const std::string& path) const {
  json merges = json::array();
  for (const auto& [a, b] : merges_) merges.push_back({a, b});
  const json j = model_ == "unigram"
                     ? json{{"format", kUnigramFormat}, {"pieces", pieces_}, {"scores", scores_}, {"split_cjk", split_cjk_}}
                     : json{{"format", kFormat}, {"pieces", pieces_}, {"merges", merges}, {"split_cjk", split_cjk_}};
  return WriteFileAtomic(path, j.dump());
}

StatusOr<Tokenizer> Tokenizer::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot open " + path);
  const json j = json::parse(f, nullptr, false);
  const std::string format = j.is_object() ? j.value("format", "") : "";
  if (j.is_discarded() || (format != kFormat && format != kUnigramFormat)) {
    return InvalidArgument(path + ": not an opspilot tokenizer");
  }
  try {
    Tokenizer tok;
    tok.split_cjk_ = j.value("split_cjk", false);  // files from before the option merged CJK runs
    tok.pieces_ = j.at("pieces").get<std::vector<std::string>>();
    if (tok.pieces_.size() < 3 || tok.pieces_[kPad] != "<pad>" || tok.pieces_[kUnk] != "<unk>" || tok.pieces_[kMask] != "<mask>") {
      return InvalidArgument(path + ": the first pieces must be <pad>, <unk>, <mask>");
    }
    std::map<std::string, int32_t> seen;
    for (size_t k = 0; k < tok.pieces_.size(); ++k) {
      if (!seen.emplace(tok.pieces_[k], 0).second) return InvalidArgument(path + ": piece '" + tok.pieces_[k] + "' twice");
    }
    if (format == kUnigramFormat) {
      tok.model_ = "unigram";
      tok.scores_ = j.at("scores").get<std::vector<float>>();
      if (tok.scores_.size() != tok.pieces_.size()) {
        return InvalidArgument(path + ": " + std::to_string(tok.scores_.size()) + " scores for " +
                               std::to_string(tok.pieces_.size()) + " pieces");
      }
      for (float sc : tok.scores_) {
        if (!std::isfinite(sc) || sc > 0) return InvalidArgument(path + ": scores must be finite log probabilities (<= 0)");
      }
      tok.Index();
      return tok;
    }
    for (const auto& m : j.at("merges")) {
      const auto a = m.at(0).get<int32_t>(), b = m.at(1).get<int32_t>();
      if (a < 0 || b < 0 || a >= tok.vocab_size() || b >= tok.vocab_size() ||
          !seen.count(tok.pieces_[static_cast<size_t>(a)] + tok.pieces_[static_cast<size_t>(b)])) {
        return InvalidArgument(path + ": merge " + m.dump() + " makes no known piece");
      }
      tok.merges_.emplace_back(a, b);
    }
    tok.Index();
    return tok;
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
}

}  // namespace opspilot::nlp
