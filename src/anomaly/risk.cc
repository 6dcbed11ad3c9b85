#include "anomaly/risk.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <unordered_map>

#include "core/csv.h"
#include "core/strings.h"

namespace opspilot::anomaly {
namespace {

constexpr double kEuler = 0.5772156649015329;

// Average path length of an unsuccessful BST search among n points: the
// normalizer of isolation depths.
double AveragePath(double n) {
  if (n <= 1) return 0;
  if (n <= 2) return 1;
  return 2 * (std::log(n - 1) + kEuler) - 2 * (n - 1) / n;
}

class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t s_;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  return v[m];
}

}  // namespace

Status ValidateIsolationForestOptions(const IsolationForestOptions& o) {
  if (o.trees < 1 || o.trees > 100000) return InvalidArgument("trees must be in [1, 100000]");
  if (o.sample_size < 2 || o.sample_size > (1 << 24)) return InvalidArgument("sample_size must be in [2, 16777216]");
  return Status::Ok();
}

StatusOr<IsolationForest> IsolationForest::Fit(const ml::TabularData& data, const IsolationForestOptions& o) {
  RETURN_IF_ERROR(ValidateIsolationForestOptions(o));
  IsolationForest f;
  if (o.features.empty()) {
    for (const ml::Feature& feat : data.schema.features) {
      if (feat.kind == ml::FeatureKind::kNumeric) f.names_.push_back(feat.name);
    }
  } else {
    f.names_ = o.features;
  }
  if (f.names_.empty()) return InvalidArgument("isolation forest: no numeric features");
  if (data.rows < 2) return InvalidArgument("isolation forest: needs at least 2 rows");
  ASSIGN_OR_RETURN(const std::vector<int64_t> cols, f.Columns(data));
  const size_t nf = cols.size();
  // Dense copy of the used columns, row-major.
  std::vector<float> x(static_cast<size_t>(data.rows) * nf);
  for (int64_t r = 0; r < data.rows; ++r) {
    for (size_t j = 0; j < nf; ++j) x[static_cast<size_t>(r) * nf + j] = data.at(r, cols[j]);
  }
  for (size_t j = 0; j < nf; ++j) {
    std::vector<double> v;
    for (int64_t r = 0; r < data.rows; ++r) {
      const float xv = x[static_cast<size_t>(r) * nf + j];
      if (!std::isnan(xv)) v.push_back(xv);
    }
    const double med = Median(v);
    for (double& e : v) e = std::fabs(e - med);
    f.median_.push_back(med);
    f.mad_.push_back(1.4826 * Median(std::move(v)));
  }
  f.sample_ = static_cast<int>(std::min<int64_t>(o.sample_size, data.rows));
  const int height_limit = static_cast<int>(std::ceil(std::log2(std::max(2, f.sample_))));
  SplitMix rng(o.seed);
  std::vector<int64_t> all(static_cast<size_t>(data.rows));
  std::iota(all.begin(), all.end(), 0);
  for (int t = 0; t < o.trees; ++t) {
    // Sample without replacement (partial Fisher-Yates).
    for (int i = 0; i < f.sample_; ++i) {
      std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(i) + rng.Below(all.size() - static_cast<size_t>(i))]);
    }
    std::vector<int64_t> idx(all.begin(), all.begin() + f.sample_);
    std::vector<Node> tree;
    // Iterative build: (node, begin, end, depth) over idx.
    struct Job {
      int32_t node;
      size_t begin, end;
      int depth;
    };
    tree.push_back(Node{});
    std::vector<Job> stack = {{0, 0, idx.size(), 0}};
    while (!stack.empty()) {
      const Job job = stack.back();
      stack.pop_back();
      tree[static_cast<size_t>(job.node)].size = static_cast<int32_t>(job.end - job.begin);
      if (job.end - job.begin <= 1 || job.depth >= height_limit) continue;
      // A random feature that still varies here (a few tries), then a uniform split.
      int32_t feature = -1;
      float lo = 0, hi = 0;
      for (size_t attempt = 0; attempt < 2 * nf + 2 && feature < 0; ++attempt) {
        const size_t j = rng.Below(nf);
        float mn = INFINITY, mx = -INFINITY;
        for (size_t i = job.begin; i < job.end; ++i) {
          const float v = x[static_cast<size_t>(idx[i]) * nf + j];
          if (std::isnan(v)) continue;
          mn = std::min(mn, v);
          mx = std::max(mx, v);
        }
        if (mn < mx) {
          feature = static_cast<int32_t>(j);
          lo = mn;
          hi = mx;
        }
      }
      if (feature < 0) continue;  // every feature constant: a leaf
      float split = static_cast<float>(lo + (hi - lo) * rng.Uniform());
      if (!(split > lo)) split = std::nextafter(lo, hi);
      // Partition: values < split left; missing values go to the larger side.
      size_t left_n = 0, right_n = 0;
      for (size_t i = job.begin; i < job.end; ++i) {
        const float v = x[static_cast<size_t>(idx[i]) * nf + static_cast<size_t>(feature)];
        if (std::isnan(v)) continue;
        (v < split ? left_n : right_n)++;
      }
      const bool nan_left = left_n >= right_n;
      const auto mid = std::partition(idx.begin() + static_cast<std::ptrdiff_t>(job.begin),
                                      idx.begin() + static_cast<std::ptrdiff_t>(job.end), [&](int64_t r) {
                                        const float v = x[static_cast<size_t>(r) * nf + static_cast<size_t>(feature)];
                                        return std::isnan(v) ? nan_left : v < split;
                                      });
      const size_t m = static_cast<size_t>(mid - idx.begin());
      const int32_t left = static_cast<int32_t>(tree.size()), right = left + 1;
      tree.push_back(Node{});
      tree.push_back(Node{});
      Node& node = tree[static_cast<size_t>(job.node)];
      node.feature = feature;
      node.split = split;
      node.nan_left = nan_left;
      node.left = left;
      node.right = right;
      stack.push_back({left, job.begin, m, job.depth + 1});
      stack.push_back({right, m, job.end, job.depth + 1});
    }
    f.trees_.push_back(std::move(tree));
  }
  return f;
}

StatusOr<std::vector<int64_t>> IsolationForest::Columns(const ml::TabularData& data) const {
  std::vector<int64_t> cols;
  for (const std::string& name : names_) {
    int64_t found = -1;
    for (size_t c = 0; c < data.schema.features.size(); ++c) {
      if (data.schema.features[c].name == name) found = static_cast<int64_t>(c);
    }
    if (found < 0) return InvalidArgument("isolation forest: the data has no feature '" + name + "'");
    cols.push_back(found);
  }
  return cols;
}

double IsolationForest::PathLength(const std::vector<Node>& tree, const float* x) const {
  int32_t n = 0;
  double depth = 0;
  while (tree[static_cast<size_t>(n)].feature >= 0) {
    const Node& node = tree[static_cast<size_t>(n)];
    const float v = x[node.feature];
    n = (std::isnan(v) ? node.nan_left : v < node.split) ? node.left : node.right;
    depth += 1;
  }
  return depth + AveragePath(tree[static_cast<size_t>(n)].size);
}

StatusOr<std::vector<double>> IsolationForest::Score(const ml::TabularData& data) const {
  ASSIGN_OR_RETURN(const std::vector<int64_t> cols, Columns(data));
  const double c = AveragePath(sample_);
  std::vector<double> out(static_cast<size_t>(data.rows));
  std::vector<float> row(cols.size());
  for (int64_t r = 0; r < data.rows; ++r) {
    for (size_t j = 0; j < cols.size(); ++j) row[j] = data.at(r, cols[j]);
    double sum = 0;
    for (const auto& tree : trees_) sum += PathLength(tree, row.data());
    out[static_cast<size_t>(r)] = std::pow(2.0, -(sum / static_cast<double>(trees_.size())) / c);
  }
  return out;
}

StatusOr<std::vector<FeatureReason>> IsolationForest::Explain(const ml::TabularData& data, int64_t r, int k) const {
  if (r < 0 || r >= data.rows) return InvalidArgument("row out of range");
  ASSIGN_OR_RETURN(const std::vector<int64_t> cols, Columns(data));
  std::vector<float> row(cols.size());
  for (size_t j = 0; j < cols.size(); ++j) row[j] = data.at(r, cols[j]);
  std::vector<double> bits(cols.size(), 0.0);
  for (const auto& tree : trees_) {
    int32_t n = 0;
    while (tree[static_cast<size_t>(n)].feature >= 0) {
      const Node& node = tree[static_cast<size_t>(n)];
      const float v = row[static_cast<size_t>(node.feature)];
      const int32_t next = (std::isnan(v) ? node.nan_left : v < node.split) ? node.left : node.right;
      const int32_t child = std::max(1, tree[static_cast<size_t>(next)].size);
      bits[static_cast<size_t>(node.feature)] += std::log2(static_cast<double>(node.size) / child);
      n = next;
    }
  }
  const double total = std::accumulate(bits.begin(), bits.end(), 0.0);
  std::vector<FeatureReason> out;
  for (size_t j = 0; j < cols.size(); ++j) {
    FeatureReason fr;
    fr.feature = names_[j];
    fr.value = row[j];
    fr.weight = total > 0 ? bits[j] / total : 0;
    fr.z = std::isnan(row[j]) ? 0 : (row[j] - median_[j]) / std::max(mad_[j], 1e-12);
    out.push_back(fr);
  }
  std::sort(out.begin(), out.end(), [](const FeatureReason& a, const FeatureReason& b) { return a.weight > b.weight; });
  if (static_cast<int>(out.size()) > k) out.resize(static_cast<size_t>(std::max(0, k)));
  return out;
}

StatusOr<std::vector<std::vector<RuleHit>>> ApplyRules(int64_t rows, const RuleInput& in,
                                                       const std::vector<VelocityRule>& velocity,
                                                       const std::vector<BlocklistRule>& blocklists) {
  std::vector<std::vector<RuleHit>> hits(static_cast<size_t>(rows));
  auto column = [&](const std::string& name) -> StatusOr<const std::vector<std::string>*> {
    auto it = in.columns.find(name);
    if (it == in.columns.end()) return InvalidArgument("rules: no column '" + name + "'");
    if (static_cast<int64_t>(it->second.size()) != rows) {
      return InvalidArgument("rules: column '" + name + "' has " + std::to_string(it->second.size()) +
                             " values for " + std::to_string(rows) + " rows");
    }
    return &it->second;
  };
  for (const VelocityRule& rule : velocity) {
    if (rule.window_seconds <= 0 || rule.max_count < 1 || !(rule.score >= 0 && rule.score <= 1)) {
      return InvalidArgument("velocity rule '" + rule.name + "': window > 0, max_count >= 1, score in [0, 1]");
    }
    if (static_cast<int64_t>(in.time.size()) != rows) return InvalidArgument("velocity rules need a time per row");
    ASSIGN_OR_RETURN(const std::vector<std::string>* keys, column(rule.key));
    // Rows of each key in time order; a sliding window counts the rows in (t - window, t].
    std::unordered_map<std::string, std::vector<int64_t>> by_key;
    for (int64_t r = 0; r < rows; ++r) {
      if (!(*keys)[static_cast<size_t>(r)].empty()) by_key[(*keys)[static_cast<size_t>(r)]].push_back(r);
    }
    for (auto& [key, idx] : by_key) {
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
        return in.time[static_cast<size_t>(a)] < in.time[static_cast<size_t>(b)];
      });
      size_t lo = 0;
      for (size_t i = 0; i < idx.size(); ++i) {
        const int64_t t = in.time[static_cast<size_t>(idx[i])];
        while (in.time[static_cast<size_t>(idx[lo])] <= t - rule.window_seconds) ++lo;
        if (static_cast<int64_t>(i - lo + 1) > rule.max_count) {
          hits[static_cast<size_t>(idx[i])].push_back({rule.name, rule.score});
        }
      }
    }
  }
  for (const BlocklistRule& rule : blocklists) {
    if (!(rule.score >= 0 && rule.score <= 1)) return InvalidArgument("blocklist '" + rule.name + "': score in [0, 1]");
    ASSIGN_OR_RETURN(const std::vector<std::string>* values, column(rule.column));
    for (int64_t r = 0; r < rows; ++r) {
      if (rule.values.count((*values)[static_cast<size_t>(r)])) hits[static_cast<size_t>(r)].push_back({rule.name, rule.score});
    }
  }
  return hits;
}

namespace {

// A rule's optional "score" (in [0, 1]) into *score.
Status RuleScoreFromJson(const nlohmann::json& j, const std::string& where, double* score) {
  if (!j.contains("score")) return Status::Ok();
  if (!j["score"].is_number() || !(j["score"].get<double>() >= 0 && j["score"].get<double>() <= 1)) {
    return InvalidArgument(where + ": field 'score': a number in [0, 1]");
  }
  *score = j["score"].get<double>();
  return Status::Ok();
}

}  // namespace

StatusOr<VelocityRule> ParseVelocityRule(const std::string& spec) {
  std::vector<std::string> parts;
  for (size_t start = 0, end; start <= spec.size(); start = end + 1) {
    end = spec.find(':', start);
    if (end == std::string::npos) end = spec.size();
    parts.push_back(spec.substr(start, end - start));
  }
  const auto bad = [&] { return InvalidArgument("velocity rule must be KEY:WINDOW_SECONDS:MAX_COUNT, not '" + spec + "'"); };
  if (parts.size() != 3 || parts[0].empty()) return bad();
  VelocityRule rule;
  rule.name = parts[0] + "_velocity";
  rule.key = parts[0];
  char* end = nullptr;
  rule.window_seconds = std::strtoll(parts[1].c_str(), &end, 10);
  if (parts[1].empty() || *end != '\0' || rule.window_seconds <= 0) return bad();
  const long long max = std::strtoll(parts[2].c_str(), &end, 10);
  if (parts[2].empty() || *end != '\0' || max < 1 || max > 1000000000) return bad();
  rule.max_count = static_cast<int>(max);
  return rule;
}

StatusOr<VelocityRule> VelocityFromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("key") || !j["key"].is_string() || j["key"].get<std::string>().empty() ||
      !j.contains("window_seconds") || !j["window_seconds"].is_number_integer() || j["window_seconds"].get<int64_t>() <= 0 ||
      !j.contains("max_count") || !j["max_count"].is_number_integer() || j["max_count"].get<int64_t>() < 1) {
    return InvalidArgument(where + ": expected {\"key\": \"...\", \"window_seconds\": > 0, \"max_count\": >= 1} "
                           "(\"score\", \"name\" optional)");
  }
  VelocityRule rule;
  rule.key = j["key"].get<std::string>();
  rule.name = j.value("name", rule.key + "_velocity");
  rule.window_seconds = j["window_seconds"].get<int64_t>();
  rule.max_count = static_cast<int>(std::min<int64_t>(j["max_count"].get<int64_t>(), 1000000000));
  RETURN_IF_ERROR(RuleScoreFromJson(j, where, &rule.score));
  return rule;
}

StatusOr<BlocklistRule> ReadBlocklist(const std::string& spec) {
  const auto bad = [&] { return InvalidArgument("--blocklist must be COLUMN:FILE or COLUMN:FILE:SCORE, not '" + spec + "'"); };
  const size_t colon = spec.find(':');
  if (colon == 0 || colon == std::string::npos || colon + 1 == spec.size()) return bad();
  BlocklistRule rule;
  rule.column = spec.substr(0, colon);
  rule.name = rule.column + "_blocklist";
  std::string path = spec.substr(colon + 1);
  // A trailing :SCORE when what follows the last colon is a number (a path may hold colons).
  if (const size_t last = path.rfind(':'); last != std::string::npos && last + 1 < path.size()) {
    const std::string tail = path.substr(last + 1);
    char* end = nullptr;
    const double v = std::strtod(tail.c_str(), &end);
    if (end == tail.c_str() + tail.size()) {
      if (!(v >= 0 && v <= 1)) return InvalidArgument("--blocklist '" + spec + "': the score must be in [0, 1]");
      rule.score = v;
      path.resize(last);
    }
  }
  std::ifstream in(path);
  if (!in) return NotFound("--blocklist " + rule.column + ": cannot open " + path);
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
    const std::string v(Trim(line));
    if (v.empty() || v[0] == '#') continue;
    size_t at = 0;
    if (!ValidUtf8(v, &at)) return InvalidArgument(path + ":" + std::to_string(line_no) + ": invalid UTF-8 at byte " + std::to_string(at));
    rule.values.insert(v);
  }
  if (in.bad()) return InvalidArgument(path + ": read error");
  return rule;
}

StatusOr<BlocklistRule> BlocklistFromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("column") || !j["column"].is_string() || j["column"].get<std::string>().empty() ||
      !j.contains("values") || !j["values"].is_array()) {
    return InvalidArgument(where + ": expected {\"column\": \"...\", \"values\": [...]} (\"score\", \"name\" optional)");
  }
  BlocklistRule rule;
  rule.column = j["column"].get<std::string>();
  rule.name = rule.column + "_blocklist";
  if (j.contains("name")) {
    if (!j["name"].is_string() || j["name"].get<std::string>().empty()) return InvalidArgument(where + ": field 'name': a non-empty string");
    rule.name = j["name"].get<std::string>();
  }
  RETURN_IF_ERROR(RuleScoreFromJson(j, where, &rule.score));
  for (const auto& v : j["values"]) {
    if (!v.is_string()) return InvalidArgument(where + ": field 'values': every element must be a string");
    rule.values.insert(v.get<std::string>());
  }
  return rule;
}

Status RiskRulesFromJson(const nlohmann::json& body, RiskOptions* options) {
  if (body.contains("threshold")) {
    const auto& t = body["threshold"];
    if (!t.is_number() || !(t.get<double>() >= 0 && t.get<double>() <= 1)) {
      return InvalidArgument("field 'threshold': a number in [0, 1]");
    }
    options->threshold = t.get<double>();
  }
  for (const char* field : {"velocity", "blocklists"}) {
    if (!body.contains(field)) continue;
    const auto& list = body[field];
    if (!list.is_array()) return InvalidArgument(std::string("field '") + field + "': expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
      if (field == std::string("velocity")) {
        ASSIGN_OR_RETURN(VelocityRule rule, VelocityFromJson(list[i], where));
        options->velocity.push_back(std::move(rule));
      } else {
        ASSIGN_OR_RETURN(BlocklistRule rule, BlocklistFromJson(list[i], where));
        options->blocklists.push_back(std::move(rule));
      }
    }
  }
  return Status::Ok();
}

Status ValidateRiskOptions(const RiskOptions& o) {
  RETURN_IF_ERROR(ValidateIsolationForestOptions(o.forest));
  RETURN_IF_ERROR(ml::ValidateGbmOptions(o.gbm));
  if (o.folds < 2 || o.folds > 20) return InvalidArgument("folds must be in [2, 20]");
  if (!(o.threshold >= 0 && o.threshold <= 1)) return InvalidArgument("threshold must be in [0, 1]");
  if (o.reasons < 0) return InvalidArgument("reasons must be >= 0");
  return Status::Ok();
}

StatusOr<std::vector<RiskResult>> ScoreRisk(const Context& ctx, const ml::TabularData& data, const RuleInput& input,
                                            const RiskOptions& o) {
  RETURN_IF_ERROR(ValidateRiskOptions(o));
  IsolationForestOptions fo = o.forest;
  fo.seed = ctx.seed();  // --seed: every random choice derives from it
  ASSIGN_OR_RETURN(IsolationForest forest, IsolationForest::Fit(data, fo));
  ASSIGN_OR_RETURN(const std::vector<double> iso, forest.Score(data));
  ASSIGN_OR_RETURN(const auto hits, ApplyRules(data.rows, input, o.velocity, o.blocklists));
  std::vector<RiskResult> out(static_cast<size_t>(data.rows));
  for (int64_t r = 0; r < data.rows; ++r) {
    RiskResult& res = out[static_cast<size_t>(r)];
    res.id = static_cast<size_t>(r) < data.ids.size() ? data.ids[static_cast<size_t>(r)] : std::to_string(r + 1);
    res.isolation = iso[static_cast<size_t>(r)];
    res.model = res.isolation;
    res.rules = hits[static_cast<size_t>(r)];
  }

  // Supervised, out of fold: each row is scored (and explained) by a model
  // trained without it, so the scores are honest on the training file.
  const bool supervised = !data.y.empty() && data.schema.task == ml::TaskKind::kBinary;
  ml::TabularData named;  // a copy with row ids when `data` has none (Take needs them)
  const ml::TabularData* src = &data;
  if (supervised && static_cast<int64_t>(data.ids.size()) != data.rows) {
    named = data;
    named.ids.clear();
    for (int64_t r = 0; r < data.rows; ++r) named.ids.push_back(std::to_string(r + 1));
    src = &named;
  }
  std::vector<std::vector<FeatureReason>> shap(static_cast<size_t>(data.rows));
  if (supervised) {
    ml::GbmOptions g = o.gbm;
    if (g.class_weight.empty()) g.class_weight = "balanced";
    g.early_stopping_rounds = 0;
    std::vector<int64_t> perm(static_cast<size_t>(data.rows));
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 rng(ctx.seed());
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int fold = 0; fold < o.folds; ++fold) {
      std::vector<int64_t> train, test;
      for (size_t i = 0; i < perm.size(); ++i) {
        (static_cast<int>(i % static_cast<size_t>(o.folds)) == fold ? test : train).push_back(perm[i]);
      }
      if (test.empty() || train.empty()) continue;
      const ml::TabularData tr = src->Take(train), te = src->Take(test);
      ASSIGN_OR_RETURN(ml::GbmModel model, ml::GbmModel::Train(ctx, tr, nullptr, g, nullptr));
      ASSIGN_OR_RETURN(const std::vector<float> p, model.Predict(te));
      for (size_t i = 0; i < test.size(); ++i) {
        RiskResult& res = out[static_cast<size_t>(test[i])];
        res.supervised = p[i];
        res.model = p[i];
      }
      // SHAP reasons for the rows this fold model may flag.
      for (size_t i = 0; i < test.size(); ++i) {
        RiskResult& res = out[static_cast<size_t>(test[i])];
        double rule_keep = 1;
        for (const RuleHit& h : res.rules) rule_keep *= 1 - h.score;
        if (1 - (1 - res.model) * rule_keep < o.threshold || o.reasons == 0) continue;
        ASSIGN_OR_RETURN(const auto top, model.TopReasons(te, static_cast<int64_t>(i), o.reasons));
        for (const ml::Contribution& c : top) {
          FeatureReason fr;
          fr.feature = c.feature;
          fr.weight = c.value;
          for (size_t col = 0; col < te.schema.features.size(); ++col) {
            if (te.schema.features[col].name == c.feature) fr.value = te.at(static_cast<int64_t>(i), static_cast<int64_t>(col));
          }
          shap[static_cast<size_t>(test[i])].push_back(fr);
        }
      }
    }
  }

  for (int64_t r = 0; r < data.rows; ++r) {
    RiskResult& res = out[static_cast<size_t>(r)];
    double keep = 1 - res.model;
    for (const RuleHit& h : res.rules) keep *= 1 - h.score;
    res.score = 1 - keep;
    res.flagged = res.score >= o.threshold;
    if (!res.flagged || o.reasons == 0) continue;
    if (supervised) {
      res.reasons = std::move(shap[static_cast<size_t>(r)]);
    } else {
      ASSIGN_OR_RETURN(res.reasons, forest.Explain(data, r, o.reasons));
    }
  }
  return out;
}

}  // namespace opspilot::anomaly
