#include "nlp/retrieval.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/csv.h"
#include "core/strings.h"
#include "nlp/text.h"

namespace opspilot::nlp {
namespace {

constexpr double kK1 = 1.2, kB = 0.75;
constexpr float kAnswerWeight = 0.3f;  // answer words count, but less than the question's

const std::unordered_set<std::string>& StopWords() {
  static const std::unordered_set<std::string> kWords = {
      "a", "an", "the", "i", "me", "my", "we", "our", "you", "your", "it", "its", "is", "are", "was", "were", "be",
      "been", "am", "do", "does", "did", "to", "of", "in", "on", "at", "for", "with", "and", "or", "but", "can",
      "could", "would", "will", "should", "please", "pls", "hi", "hello", "thanks", "thank", "there", "this", "that",
      "what", "how", "get", "got", "have", "has", "had", "so", "just", "any", "some", "from", "by", "about", "if",
      "<num>", "<url>", "<email>", "的", "了", "吗", "呢", "吧", "啊", "我", "你", "是", "在", "有", "请", "么"};
  return kWords;
}

std::string Stem(std::string w) {
  auto ends = [&](std::string_view s) { return w.size() > s.size() + 2 && w.compare(w.size() - s.size(), s.size(), s) == 0; };
  if (ends("ies")) return w.substr(0, w.size() - 3) + "y";
  if (ends("ing")) return w.substr(0, w.size() - 3);
  if (ends("ed")) return w.substr(0, w.size() - 2);
  if (ends("es") && w[w.size() - 3] != 's') return w.substr(0, w.size() - 1);
  if (ends("s") && w[w.size() - 2] != 's') return w.substr(0, w.size() - 1);
  return w;
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

}  // namespace

std::vector<std::string> RetrievalTokens(std::string_view text) {
  std::vector<std::string> out;
  const std::string norm = Normalize(text);
  const auto tokens = Tokenize(norm);
  std::string prev_cjk;
  for (const auto& t : tokens) {
    size_t i = 0;
    const char32_t cp = NextCodePoint(t, &i);
    if (IsCjk(cp)) {
      if (!StopWords().count(t)) out.push_back(t);
      if (!prev_cjk.empty()) out.push_back(prev_cjk + t);
      prev_cjk = t;
      continue;
    }
    prev_cjk.clear();
    if (t.empty() || !std::isalnum(static_cast<unsigned char>(t[0])) || StopWords().count(t)) continue;
    out.push_back(Stem(t));
  }
  return out;
}

StatusOr<std::vector<FaqEntry>> ReadFaq(const std::string& path) {
  std::vector<FaqEntry> out;
  const bool jsonl = path.size() > 6 && (path.ends_with(".jsonl") || path.ends_with(".ndjson"));
  if (jsonl) {
    std::ifstream in(path);
    if (!in) return NotFound("cannot open " + path);
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (Trim(line).empty()) continue;
      const std::string where = path + ":" + std::to_string(n);
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return InvalidArgument(where + ": not a JSON object");
      FaqEntry e;
      for (const char* key : {"question", "answer"}) {
        if (!j.contains(key) || !j[key].is_string() || Trim(j[key].get<std::string>()).empty()) {
          return InvalidArgument(where + ": field '" + key + "': missing or empty");
        }
      }
      e.question = j["question"], e.answer = j["answer"];
      e.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : std::to_string(out.size() + 1);
      e.language = j.value("language", "");
      e.intent = j.value("intent", "");
      if (j.contains("alternatives")) {
        if (!j["alternatives"].is_array()) return InvalidArgument(where + ": field 'alternatives': not an array");
        for (const auto& a : j["alternatives"]) {
          if (a.is_string()) e.alternatives.push_back(a);
        }
      }
      out.push_back(std::move(e));
    }
  } else {
    ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
    CsvReader reader(std::move(src));
    CsvRecord rec;
    if (!reader.Next(&rec)) return InvalidArgument(path + ": the file is empty");
    int cq = -1, ca = -1, cid = -1, cl = -1, ci = -1, calt = -1;
    for (size_t f = 0; f < rec.num_fields; ++f) {
      const std::string name = ToLower(Trim(rec.field(f)));
      const int k = static_cast<int>(f);
      if (name == "question") cq = k;
      else if (name == "answer") ca = k;
      else if (name == "id") cid = k;
      else if (name == "language" || name == "lang") cl = k;
      else if (name == "intent") ci = k;
      else if (name == "alternatives") calt = k;
    }
    if (cq < 0 || ca < 0) return InvalidArgument(path + ":1: the header needs 'question' and 'answer' columns");
    const int need = std::max({cq, ca, cid, cl, ci, calt});
    while (reader.Next(&rec)) {
      const std::string where = path + ":" + std::to_string(rec.line);
      if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
      if (static_cast<int>(rec.num_fields) <= need) {
        return InvalidArgument(where + ": expected " + std::to_string(need + 1) + " fields, found " + std::to_string(rec.num_fields));
      }
      auto field = [&](int c) { return c < 0 ? std::string() : std::string(Trim(rec.field(static_cast<size_t>(c)))); };
      FaqEntry e;
      e.question = field(cq), e.answer = field(ca), e.language = field(cl), e.intent = field(ci);
      if (e.question.empty()) return InvalidArgument(where + ": field 'question': empty");
      if (e.answer.empty()) return InvalidArgument(where + ": field 'answer': empty");
      e.id = cid >= 0 && !field(cid).empty() ? field(cid) : std::to_string(out.size() + 1);
      const std::string alt_field = field(calt);
      for (std::string_view alts = alt_field; !alts.empty();) {
        const size_t bar = alts.find('|');
        const auto a = Trim(alts.substr(0, bar));
        if (!a.empty()) e.alternatives.emplace_back(a);
        alts = bar == std::string_view::npos ? std::string_view() : alts.substr(bar + 1);
      }
      out.push_back(std::move(e));
    }
    RETURN_IF_ERROR(reader.status());
  }
  if (out.empty()) return InvalidArgument(path + ": no FAQ entries");
  for (auto& e : out) {
    if (e.language.empty()) e.language = DetectLanguage(e.question);
  }
  return out;
}

FaqIndex::FaqIndex(std::vector<FaqEntry> entries, EmbedFn embed) : entries_(std::move(entries)), embed_(std::move(embed)) {
  length_.assign(entries_.size(), 0);
  double total = 0;
  for (size_t d = 0; d < entries_.size(); ++d) {
    std::unordered_map<std::string, float> tf;
    auto add = [&](const std::string& text, float w) {
      for (const auto& t : RetrievalTokens(text)) tf[t] += w, length_[d] += w;
    };
    add(entries_[d].question, 1);
    for (const auto& a : entries_[d].alternatives) add(a, 1);
    add(entries_[d].answer, kAnswerWeight);
    for (const auto& [t, f] : tf) postings_[t].emplace_back(static_cast<uint32_t>(d), f);
    total += length_[d];
  }
  mean_length_ = entries_.empty() ? 1 : std::max(1e-9, total / static_cast<double>(entries_.size()));
  if (embed_) {
    std::vector<std::string> texts;
    for (const auto& e : entries_) {
      std::string t = e.question;
      for (const auto& a : e.alternatives) t += " " + a;
      texts.push_back(std::move(t));
    }
    vectors_ = embed_(texts);
    if (vectors_.size() != entries_.size()) vectors_.clear(), embed_ = nullptr;
  }
}

std::vector<FaqHit> FaqIndex::Search(std::string_view query, int k, std::string_view language) const {
  const double n = static_cast<double>(entries_.size());
  std::vector<double> bm25(entries_.size(), 0), matched(entries_.size(), 0);
  double idf_total = 0;
  std::unordered_set<std::string> seen;
  for (const auto& t : RetrievalTokens(query)) {
    if (!seen.insert(t).second) continue;
    const auto it = postings_.find(t);
    const double df = it == postings_.end() ? 0 : static_cast<double>(it->second.size());
    const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
    idf_total += idf;
    if (it == postings_.end()) continue;
    for (const auto& [d, f] : it->second) {
      const double norm = f + kK1 * (1 - kB + kB * length_[d] / mean_length_);
      bm25[d] += idf * f * (kK1 + 1) / norm;
      matched[d] += idf;
    }
  }
  std::vector<float> q;
  if (embed_) {
    auto v = embed_({std::string(query)});
    if (!v.empty()) q = std::move(v[0]);
  }
  double best_bm25 = 0;
  for (double b : bm25) best_bm25 = std::max(best_bm25, b);
  std::vector<FaqHit> hits;
  for (size_t d = 0; d < entries_.size(); ++d) {
    const auto& lang = entries_[d].language;
    if (!language.empty() && !lang.empty() && lang != language) continue;
    FaqHit h;
    h.index = d;
    h.bm25 = bm25[d];
    h.coverage = idf_total > 0 ? matched[d] / idf_total : 0;
    if (!q.empty()) h.dense = Dot(q, vectors_[d]);
    if (h.bm25 <= 0 && h.dense <= 0) continue;
    // Fused: the absolute lexical coverage (not BM25 over the best BM25,
    // which turns one weak shared word into a perfect lexical score) and the
    // cosine; BM25 alone ranks when there are no embeddings.
    h.confidence = q.empty() ? h.coverage : 0.5 * h.coverage + 0.5 * std::max(0.0, h.dense);
    h.score = q.empty() ? h.bm25 : h.confidence + 1e-3 * (best_bm25 > 0 ? h.bm25 / best_bm25 : 0);
    hits.push_back(h);
  }
  std::sort(hits.begin(), hits.end(), [](const FaqHit& a, const FaqHit& b) { return a.score > b.score || (a.score == b.score && a.index < b.index); });
  if (hits.size() > static_cast<size_t>(std::max(k, 0))) hits.resize(static_cast<size_t>(std::max(k, 0)));
  return hits;
}

}  // namespace opspilot::nlp
