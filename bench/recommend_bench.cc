// Recommendation benchmark: fit time, FLOP/s and full-ranking quality of
// each model on generated data with planted taste (or on a file in one of
// the common layouts), against the popularity baseline in the same run.
//
//   bench_recommend [--users N] [--items N] [--mean N] [--input FILE --format F --min-value V]
//                   [--protocol random|loo|temporal] [--models a,b,...] [--params JSON-per-model]
//                   [--threads N] [--sampled 100]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "core/context.h"
#include "recommend/recommend.h"
#include "recommend/synthetic.h"

using namespace opspilot;
using namespace opspilot::recommend;
using nlohmann::json;

int main(int argc, char** argv) {
  SyntheticOptions so;
  so.users = 6040;
  so.items = 3700;
  so.genres = 18;
  so.mean_items_per_user = 165;
  std::string input, format = "auto", protocol = "random", models = "popular,itemknn,userknn,ease,als", params = "{}";
  double min_value = -1e300;
  int threads = 2, sampled = 0;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string k = argv[a], v = argv[a + 1];
    if (k == "--users") so.users = std::stoi(v);
    else if (k == "--items") so.items = std::stoi(v);
    else if (k == "--mean") so.mean_items_per_user = std::stod(v);
    else if (k == "--genres") so.genres = std::stoi(v);
    else if (k == "--input") input = v;
    else if (k == "--format") format = v;
    else if (k == "--min-value") min_value = std::stod(v);
    else if (k == "--protocol") protocol = v;
    else if (k == "--models") models = v;
    else if (k == "--params") params = v;
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--sampled") sampled = std::stoi(v);
    else {
      std::cerr << "unknown flag " << k << "\n";
      return 2;
    }
  }
  ContextOptions co;
  co.threads = threads;
  co.progress = ProgressMode::kQuiet;
  co.log.level = LogLevel::kOff;
  Context ctx(co);
  Interactions data;
  Catalog catalog;
  if (input.empty()) {
    SyntheticData s = GenerateTaste(so);
    data = std::move(s.data);
    catalog = std::move(s.catalog);
  } else {
    ReadOptions ro;
    ro.format = format;
    ro.min_value = min_value;
    auto r = ReadInteractions(input, ro);
    if (!r.ok()) {
      std::cerr << r.status().message() << "\n";
      return 1;
    }
    data = std::move(*r);
  }
  std::printf("data: %d users, %d items, %lld interactions, protocol %s\n", data.num_users(), data.num_items(),
              static_cast<long long>(data.size()), protocol.c_str());
  SplitOptions sp;
  sp.protocol = protocol;
  sp.validation = false;
  sp.test_fraction = protocol == "random" ? 0.2 : 0.1;
  auto split = SplitInteractions(data, sp);
  if (!split.ok()) {
    std::cerr << split.status().message() << "\n";
    return 1;
  }
  const json per_model = json::parse(params);
  EvalOptions eo;
  eo.ks = {10, 20};
  eo.sampled_negatives = sampled;
  std::printf("%-10s %9s %10s %9s %9s %9s %9s %9s %9s\n", "model", "fit_s", "GFLOP/s", "recall@10", "ndcg@10",
              "recall@20", "ndcg@20", "cover@10", "pop@10");
  std::string rest = models;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string name = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    auto m = MakeModel(name, per_model.value(name, json::object()));
    if (!m.ok()) {
      std::cerr << m.status().message() << "\n";
      return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    Status st = (*m)->Fit(ctx, split->train, catalog);
    const double fit = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!st.ok()) {
      std::printf("%-10s failed: %s\n", name.c_str(), st.message().c_str());
      continue;
    }
    auto r = Evaluate(ctx, **m, split->train, split->test, eo);
    if (!r.ok()) {
      std::cerr << r.status().message() << "\n";
      return 1;
    }
    auto& x = *r;
    std::printf("%-10s %9.2f %10.2f %9.4f %9.4f %9.4f %9.4f %9.3f %9.2f", name.c_str(), fit,
                (*m)->fit_flops() / fit / 1e9, x["recall@10"], x["ndcg@10"], x["recall@20"], x["ndcg@20"],
                x["coverage@10"], x["popularity@10"]);
    if (sampled > 0) std::printf("  sampled%d hr@10 %.4f", sampled, x["sampled" + std::to_string(sampled) + "_hr@10"]);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
