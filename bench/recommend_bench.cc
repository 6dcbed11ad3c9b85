// Recommendation benchmark: fit time, FLOP/s and full-ranking quality of
// each model on generated data with planted taste (or on a file in one of
// the common layouts), against the popularity baseline in the same run.
//
//   bench_recommend [--users N] [--items N] [--mean N] [--input FILE --format F --min-value V]
//                   [--protocol random|loo|temporal] [--models a,b,...] [--params JSON-per-model]
//                   [--threads N] [--sampled 100]
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
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
  bool peak = false;
  std::string write_dir;  // also write the generated data as events.csv and items.csv here
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
    else if (k == "--write") write_dir = v;
    else if (k == "--peak") peak = v == "1";
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
  if (peak) {
    // The machine's practical fp32 peak: a large OpenBLAS sgemm on `threads` threads,
    // beside the theoretical one from the clock and vector width.
    openblas_set_num_threads(threads);
    const int n = 3072;
    std::vector<float> a(static_cast<size_t>(n) * n, 1.f), b(a), c(a.size());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 3; ++r) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ifstream cpu("/proc/cpuinfo");
    std::string line;
    double mhz = 0;
    bool avx512 = false, fma = false;
    while (std::getline(cpu, line)) {
      if (line.rfind("cpu MHz", 0) == 0 && mhz == 0) mhz = std::stod(line.substr(line.find(':') + 1));
      if (line.rfind("flags", 0) == 0) {
        avx512 = line.find(" avx512f") != std::string::npos;
        fma = line.find(" fma") != std::string::npos;
      }
    }
    const double per_cycle = avx512 ? 64 : (fma ? 32 : 16);  // fp32 FMA lanes x 2 units x 2 flops / 2 (one FMA port assumed for avx512)
    std::printf("sgemm %d^3 on %d threads: %.1f GFLOP/s; theoretical %.0f MHz x %.0f flop/cycle x %d cores = %.1f GFLOP/s\n",
                n, threads, 3 * 2.0 * n * n * n / s / 1e9, mhz, per_cycle, threads, mhz * 1e6 * per_cycle * threads / 1e9);
    return 0;
  }
  Interactions data;
  Catalog catalog;
  if (input.empty()) {
    SyntheticData s = GenerateTaste(so);
    if (!write_dir.empty()) {
      std::filesystem::create_directories(write_dir);
      std::ofstream ev(write_dir + "/events.csv"), it(write_dir + "/items.csv");
      ev << "user_id,item_id,timestamp,event_type\n";
      for (int32_t u = 0; u < s.data.num_users(); ++u) {
        for (int64_t q = s.data.begin[static_cast<size_t>(u)]; q < s.data.begin[static_cast<size_t>(u) + 1]; ++q) {
          ev << s.data.users->Key(u) << ',' << s.data.items->Key(s.data.item[static_cast<size_t>(q)]) << ','
             << s.data.time[static_cast<size_t>(q)] << ",purchase\n";
        }
      }
      it << "item_id,title,category\n";
      for (int32_t i = 0; i < s.data.num_items(); ++i) {
        it << s.data.items->Key(i) << ',' << s.catalog.title[static_cast<size_t>(i)] << ','
           << s.catalog.category[static_cast<size_t>(i)] << "\n";
      }
      if (models == "none") return 0;
    }
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
