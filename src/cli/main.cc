// opspilot: the command-line front end. A thin layer: parse options (flags,
// environment, TOML config), call the library, format the result.
// Exit codes are documented in docs/cli.md.
#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <atomic>
#include <cmath>
#include <map>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

#include "analytics/analytics.h"
#include "analytics/profiles.h"
#include "analytics/report.h"
#include "cli/recommend_cmd.h"
#include "cli/support_cmd.h"
#include "nlp/classifier.h"
#include "cli/text_cmd.h"
#include "core/context.h"
#include "core/csv.h"
#include "core/strings.h"
#include "core/time.h"
#include "demo/demo_job.h"
#include "anomaly/anomaly.h"
#include "anomaly/nab_corpus.h"
#include "anomaly/engine.h"
#include "anomaly/risk.h"
#include "forecast/engine.h"
#include "forecast/forecast.h"
#ifdef OPSPILOT_WITH_TORCH
#include "forecast/global.h"
#include "recommend/sasrec.h"
#endif
#include "demo/demo_shop.h"
#include "ml/registry.h"
#include "ml/tabular_job.h"
#include "server/auth.h"
#include "server/server.h"
#include "store/ingest.h"
#include "store/snapshot.h"
#include "store/store.h"

namespace opspilot {
namespace {

using nlohmann::json;

constexpr int kExitRejected = 9;  // the load finished but rejected more rows than --max-errors

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop = true; }

struct GlobalFlags {
  std::string data_dir = "./opspilot-data";
  std::string config;
  std::string tenant = "default";
  std::string log_level = "warn";
  bool log_json = false;
  bool json = false;
  bool quiet = false;
  int threads = 0;
  uint64_t seed = 42;
  std::string device = "cpu";
};

int Fail(const Status& st, bool as_json) {
  if (as_json) {
    std::cout << json{{"error", {{"code", StatusCodeName(st.code())}, {"message", st.message()}}}}.dump()
              << "\n";
  }
  std::cerr << "opspilot: error: " << st.message() << "\n";
  return ExitCode(st.code());
}

// The first of `flags` given to `cmd`, refused: "<flag> is for <is_for>" (a
// flag of the other mode is an error, not ignored).
Status RefuseFlags(CLI::App* cmd, std::initializer_list<const char*> flags, const std::string& is_for) {
  for (const char* f : flags) {
    if (cmd->count(f) > 0) return InvalidArgument(std::string(f) + " is for " + is_for);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Store>> OpenStore(const GlobalFlags& g) {
  std::error_code ec;
  std::filesystem::create_directories(g.data_dir, ec);
  if (ec) return FailedPrecondition("cannot create data directory " + g.data_dir + ": " + ec.message());
  return OpenSqliteStore((std::filesystem::path(g.data_dir) / "opspilot.db").string());
}

json ReportJson(const IngestReport& r) {
  json rejects = json::array();
  for (const auto& x : r.rejects) {
    rejects.push_back({{"file", x.file}, {"line", x.line}, {"field", x.field}, {"reason", x.reason}});
  }
  return {{"source", r.source},           {"entity", r.entity},
          {"rows_read", r.rows_read},     {"rows_loaded", r.rows_loaded},
          {"rows_rejected", r.rows_rejected}, {"reject_file", r.reject_file},
          {"seconds", r.seconds},         {"rejects", rejects}};
}

void PrintReport(const IngestReport& r, std::ostream& out) {
  const double rate = r.seconds > 0 ? static_cast<double>(r.rows_read) / r.seconds : 0;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f s, %.0fk rows/s", r.seconds, rate / 1000);
  out << r.entity << " <- " << r.source << ": read " << WithCommas(r.rows_read) << ", loaded "
      << WithCommas(r.rows_loaded) << ", rejected " << WithCommas(r.rows_rejected) << " (" << buf
      << ")\n";
  if (r.rows_rejected > 0) {
    if (!r.reject_file.empty()) out << "  rejects written to " << r.reject_file << "\n";
    for (size_t i = 0; i < r.rejects.size() && i < 5; ++i) {
      const auto& x = r.rejects[i];
      out << "  " << x.file << ":" << x.line << (x.field.empty() ? "" : ": field " + x.field) << ": "
          << x.reason << "\n";
    }
    if (r.rows_rejected > 5) out << "  ... and " << WithCommas(r.rows_rejected - 5) << " more\n";
  }
}

// Applies a TOML config file to every option that was not given as a flag
// or through the environment. Keys: top-level globals, [ingest], [serve], [demo].
Status ApplyConfig(const std::string& path, CLI::App& app) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ": " << e.description();
    return InvalidArgument(msg.str());
  }
  auto apply = [&](CLI::App* cmd, const toml::table& t, const std::string& prefix) -> Status {
    for (const auto& [key, node] : t) {
      const std::string k(key.str());
      if (node.is_table()) continue;
      std::string flag = "--" + k;
      for (auto& ch : flag) if (ch == '_') ch = '-';
      CLI::Option* opt = nullptr;
      try {
        opt = cmd->get_option(flag);
      } catch (const CLI::OptionNotFound&) {
        return InvalidArgument(path + ": unknown setting '" + prefix + k + "'");
      }
      if (opt->count() > 0) continue;  // flag or environment wins
      std::string value;
      if (auto s = node.value<std::string>()) value = *s;
      else if (auto i = node.value<int64_t>()) value = std::to_string(*i);
      else if (auto d = node.value<double>()) value = std::to_string(*d);
      else if (auto b = node.value<bool>()) value = *b ? "true" : "false";
      else return InvalidArgument(path + ": setting '" + prefix + k + "' must be a string, number or boolean");
      try {
        if (opt->get_items_expected_max() == 0) {
          if (value == "true") opt->add_result("true");
        } else {
          opt->add_result(value);
        }
        opt->run_callback();
      } catch (const CLI::Error& e) {
        return InvalidArgument(path + ": setting '" + prefix + k + "': " + e.what());
      }
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(apply(&app, tbl, ""));
  for (const auto& [key, node] : tbl) {
    if (!node.is_table()) continue;
    CLI::App* sub = nullptr;
    try {
      sub = app.get_subcommand(std::string(key.str()));
    } catch (const CLI::OptionNotFound&) {
      return InvalidArgument(path + ": unknown section [" + std::string(key.str()) + "]");
    }
    RETURN_IF_ERROR(apply(sub, *node.as_table(), std::string(key.str()) + "."));
  }
  return Status::Ok();
}

// The libtorch models live in a second binary, opspilot-nn, built from this
// file with OPSPILOT_WITH_TORCH: loading libtorch costs ~0.7 s and 150 MB per
// start, which every other command should not pay. Commands that need it
// re-run themselves there with the same arguments (execv: no return on success).
#ifndef OPSPILOT_WITH_TORCH
Status ExecTorchBinary(char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto nn = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "opspilot-nn";
  if (!std::filesystem::exists(nn)) {
    return FailedPrecondition("the global model needs the libtorch build of the CLI, " + nn.string() +
                              " (built beside opspilot by `make build`)");
  }
  std::fflush(stdout);
  // libgomp reads this when it loads: OpenMP threads that spin while
  // waiting starve the other threads on small machines (a text model trained
  // 5x slower on 2 cores). A user's own setting wins.
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  ::execv(nn.c_str(), argv);
  return Internal("cannot run " + nn.string() + ": " + std::strerror(errno));
}
#endif

int Main(int argc, char** argv) {
#ifdef OPSPILOT_WITH_TORCH
  nlp::RegisterTorchTextModels();
#endif
  CLI::App app{"OpsPilot: an AI operations engine for startup products.\n"
               "Feed it your product's data; get back decisions."};
  app.require_subcommand(1);
  GlobalFlags g;
  app.add_option("--data-dir", g.data_dir, "Data directory (store, rejects, models)")
      ->envname("OPSPILOT_DATA_DIR")->capture_default_str();
  app.add_option("--config", g.config, "TOML config file (flags and environment win over it)")
      ->envname("OPSPILOT_CONFIG");
  app.add_option("--tenant", g.tenant, "Tenant (product) the data belongs to")
      ->envname("OPSPILOT_TENANT")->capture_default_str();
  app.add_option("--threads", g.threads, "Worker threads (0 = all cores)")
      ->envname("OPSPILOT_THREADS")->check(CLI::Range(0, 1024));
  app.add_option("--seed", g.seed, "Random seed")->envname("OPSPILOT_SEED");
  app.add_option("--device", g.device, "Neural models run on cpu or cuda[:N]")->envname("OPSPILOT_DEVICE")
      ->capture_default_str();
  app.add_option("--log-level", g.log_level, "debug|info|warn|error|off")
      ->envname("OPSPILOT_LOG_LEVEL")->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  app.add_flag("--log-json", g.log_json, "Structured logs as JSON lines")->envname("OPSPILOT_LOG_JSON");
  app.add_flag("--json", g.json, "Machine-readable JSON output on stdout");
  app.add_flag("-q,--quiet", g.quiet, "No progress output");

  // ingest
  auto* ingest = app.add_subcommand("ingest", "Load CSV or JSON Lines files into the store");
  std::string entity_name;
  std::vector<std::string> files;
  IngestOptions io;
  bool no_refs = false;
  ingest->add_option("entity", entity_name,
                     "users|items|events|orders|inventory|tickets|metrics|competitor_prices|reviews")
      ->required();
  ingest->add_option("files", files, "Files to load (.csv, .jsonl)")->required()->check(CLI::ExistingFile);
  ingest->add_option("--format", io.format, "csv|jsonl (default: by extension)");
  ingest->add_option("--batch-rows", io.batch_rows, "Rows per transaction")->capture_default_str();
  ingest->add_option("--max-errors", io.max_errors, "Rejected rows tolerated before exit code 9")
      ->capture_default_str();
  ingest->add_flag("--no-check-refs", no_refs, "Do not check item_id against the loaded items");

  // demo
  auto* demo = app.add_subcommand("demo", "Generate the demo shop, ingest it and show a tour");
  demo::DemoOptions dopts;
  std::string demo_dir = "./opspilot-demo";
  demo->add_option("--scale", dopts.scale, "Size multiplier (1.0 = ~20k users, ~2M events)")
      ->capture_default_str()->check(CLI::Range(0.001, 100.0));
  demo->add_option("--days", dopts.days, "Days of history")->capture_default_str()->check(CLI::Range(28, 3650));
  demo->add_option("--dir", demo_dir, "Demo data directory (recreated each run)")->capture_default_str();
  auto* gen = demo->add_subcommand("generate", "Only write the demo shop's files");
  std::string gen_out = "./demo-shop";
  gen->add_option("--out", gen_out, "Output directory")->capture_default_str();

  // serve
  auto* serve = app.add_subcommand("serve", "Run the HTTP API");
  ServerOptions so;
  double max_body_mb = 32;
  serve->add_option("--host", so.host, "Bind address")->envname("OPSPILOT_HOST")->capture_default_str();
  serve->add_option("--port", so.port, "Port (0 = any free port)")->envname("OPSPILOT_PORT")->capture_default_str();
  serve->add_option("--max-body-mb", max_body_mb, "Request size limit in MiB")->capture_default_str();
  serve->add_option("--server-threads", so.threads, "Request worker threads")->capture_default_str();
  serve->add_option("--llm-url", so.llm.base_url, "OpenAI-compatible endpoint for /v1/support replies (key: $OPSPILOT_LLM_API_KEY)");
  serve->add_option("--llm-model", so.llm.model, "Model name sent to the endpoint")->capture_default_str();
  serve->add_option("--llm-timeout-ms", so.llm.timeout_ms, "Per LLM attempt")->capture_default_str();
  serve->add_option("--llm-retries", so.llm.retries, "Extra LLM attempts on timeouts, 429 and 5xx")->capture_default_str();
  serve->add_option("--llm-max-tokens", so.llm.max_tokens, "Per LLM reply")->capture_default_str();
  serve->add_option("--llm-token-budget", so.llm.token_budget, "Tokens the server may spend on the LLM")->capture_default_str();

  // keys
  auto* keys = app.add_subcommand("keys", "Manage API keys");
  keys->require_subcommand(1);
  auto* kcreate = keys->add_subcommand("create", "Create a key (printed once)");
  std::string role = "read", key_name;
  kcreate->add_option("--role", role, "admin|write|read")->capture_default_str();
  kcreate->add_option("--name", key_name, "A note on who uses the key");
  auto* klist = keys->add_subcommand("list", "List keys (never their secrets)");
  auto* krevoke = keys->add_subcommand("revoke", "Revoke a key");
  std::string revoke_id;
  krevoke->add_option("key_id", revoke_id, "The key id (the part after opk_)")->required();

  // stats
  auto* stats = app.add_subcommand("stats", "Row counts, time spans and recent loads");
  auto* version = app.add_subcommand("version", "Print the version");

  // tabular (file mode)
  auto* tabular = app.add_subcommand("tabular", "Gradient-boosted models on a CSV (file mode, no store)");
  tabular->require_subcommand(1);
  ml::TabularTrainOptions tto;
  std::string tab_model, tab_input, drop_cols;
  int explain_k = 0, folds = 5;
  auto add_gbm = [&](CLI::App* cmd) {
    cmd->add_option("--rounds", tto.gbm.rounds, "Boosting rounds (upper bound)")->capture_default_str();
    cmd->add_option("--learning-rate", tto.gbm.learning_rate, "Learning rate (eta)")->capture_default_str();
    cmd->add_option("--max-depth", tto.gbm.max_depth, "Tree depth")->capture_default_str();
    cmd->add_option("--early-stopping", tto.gbm.early_stopping_rounds, "Rounds without improvement (0 = off)")
        ->capture_default_str();
    cmd->add_option("--class-weight", tto.gbm.class_weight, "'' or balanced");
  };
  auto add_data = [&](CLI::App* cmd) {
    cmd->add_option("--data", tto.data, "Training CSV")->required()->check(CLI::ExistingFile);
    cmd->add_option("--target", tto.read.target, "Target column")->required();
    cmd->add_option("--id", tto.read.id, "Id column (kept out of the features)");
    cmd->add_option("--task", tto.read.task, "auto|binary|multiclass|regression")->capture_default_str();
    cmd->add_option("--drop", drop_cols, "Comma-separated columns to ignore");
  };
  auto* ttrain = tabular->add_subcommand("train", "Train, validate and write a model directory");
  add_data(ttrain);
  add_gbm(ttrain);
  ttrain->add_option("--out", tto.out, "Model directory to write");
  ttrain->add_option("--register", tto.register_task, "Also register in <data-dir>/models under this task");
  ttrain->add_option("--valid-fraction", tto.valid_fraction,
                     "Held-out share for early stopping and metrics (0 = train on all rows, fixed rounds)")
      ->capture_default_str();
  ttrain->add_option("--tune", tto.tune_trials, "Random-search this many configurations first (0 = off)")
      ->capture_default_str();
  bool no_refit = false;
  ttrain->add_flag("--no-refit", no_refit, "Keep the early-stopped model instead of re-training on all rows");
  auto* tpredict = tabular->add_subcommand("predict", "Score a CSV: id,prediction[,probability] on stdout");
  tpredict->add_option("--model", tab_model, "Model directory (or TASK to use the registry's serving version)")->required();
  tpredict->add_option("--input", tab_input, "CSV to score")->required()->check(CLI::ExistingFile);
  tpredict->add_option("--explain", explain_k, "Add the top K reasons (SHAP) per row")->capture_default_str();
  auto* tevaluate = tabular->add_subcommand("evaluate", "k-fold cross-validation report");
  add_data(tevaluate);
  add_gbm(tevaluate);
  tevaluate->add_option("--folds", folds, "Folds")->capture_default_str();

  auto* tdrift = tabular->add_subcommand("drift", "Which features moved between two CSVs (PSI, KS)");
  std::string drift_ref, drift_cur;
  tdrift->add_option("--reference", drift_ref, "The data the model was trained on")->required()->check(CLI::ExistingFile);
  tdrift->add_option("--current", drift_cur, "Recent data")->required()->check(CLI::ExistingFile);
  tdrift->add_option("--target", tto.read.target, "Target column to leave out");
  tdrift->add_option("--id", tto.read.id, "Id column to leave out");

  // analytics
  auto* analytics_cmd = app.add_subcommand("analytics", "Funnels, retention, trends and paths over events");
  analytics_cmd->require_subcommand(1);
  analytics::EventsCsvOptions eco;
  std::string events_file, since_text, until_text, window_text = "1d", mode_text = "ordered", steps_text,
      exclude_text, period_text = "week", types_text, path_from, path_to;
  bool as_csv = false;
  std::string breakdown_key, breakdown_user, attribution_text = "first";
  analytics::RetentionSpec rspec;
  analytics::PathSpec pspec;
  auto add_source = [&](CLI::App* cmd) {
    cmd->add_option("--events", events_file, "File mode: an events CSV instead of the store")->check(CLI::ExistingFile);
    cmd->add_option("--user-col", eco.user_col, "File mode: user column")->capture_default_str();
    cmd->add_option("--event-col", eco.event_col, "File mode: event column")->capture_default_str();
    cmd->add_option("--time-col", eco.time_col, "File mode: time column")->capture_default_str();
    cmd->add_option("--since", since_text, "Only events at or after this time (ISO-8601 or unix seconds)");
    cmd->add_option("--until", until_text, "Only events before this time");
    cmd->add_flag("--csv", as_csv, "CSV output");
  };
  auto* afunnel = analytics_cmd->add_subcommand("funnel", "Conversion through ordered steps");
  add_source(afunnel);
  afunnel->add_option("--steps", steps_text, "Comma-separated event types")->required();
  afunnel->add_option("--window", window_text, "Conversion window: seconds or 90m, 2h, 1d, 1w")->capture_default_str();
  afunnel->add_option("--mode", mode_text, "ordered|strict|any")->capture_default_str();
  afunnel->add_option("--exclude", exclude_text, "Comma-separated events that cancel an attempt in progress");
  afunnel->add_option("--breakdown", breakdown_key, "Break down by this event property (file mode: a column)");
  afunnel->add_option("--breakdown-user", breakdown_user, "Break down by this user attribute (engine mode)");
  afunnel->add_option("--attribution", attribution_text, "Event property breakdown: first|last|step:N")
      ->capture_default_str();
  auto* aretention = analytics_cmd->add_subcommand("retention", "Cohort retention matrix");
  add_source(aretention);
  aretention->add_option("--start-event", rspec.start_event, "Event that puts a user in a cohort (default any)");
  aretention->add_option("--return-event", rspec.return_event, "Event that counts as a return (default any)");
  aretention->add_option("--period", period_text, "day|week|month")->capture_default_str();
  aretention->add_option("--periods", rspec.periods, "Columns")->capture_default_str();
  auto* atrends = analytics_cmd->add_subcommand("trends", "Events, users and value per period");
  add_source(atrends);
  atrends->add_option("--period", period_text, "day|week|month")->capture_default_str();
  atrends->add_option("--event-types", types_text, "Comma-separated event types (default all)");
  atrends->add_option("--breakdown", breakdown_key, "Also by this event property (file mode: a column)");
  auto* apaths = analytics_cmd->add_subcommand("paths", "Most common next (or previous) events");
  add_source(apaths);
  apaths->add_option("--from", path_from, "Paths after the first occurrence of this event");
  apaths->add_option("--to", path_to, "Paths leading to the first occurrence of this event");
  apaths->add_option("--steps", pspec.steps, "Steps")->capture_default_str();
  apaths->add_option("--top", pspec.top, "Targets kept per step and source")->capture_default_str();
  std::string activity_event;
  auto* alifecycle = analytics_cmd->add_subcommand("lifecycle", "New, returning, resurrecting and dormant users per period");
  add_source(alifecycle);
  alifecycle->add_option("--event", activity_event, "Event that counts as activity (default any)");
  alifecycle->add_option("--period", period_text, "day|week|month")->capture_default_str();
  auto* asticky = analytics_cmd->add_subcommand("stickiness", "Users by number of active days per period");
  add_source(asticky);
  asticky->add_option("--event", activity_event, "Event that counts as activity (default any)");
  asticky->add_option("--period", period_text, "week|month")->capture_default_str();
  auto* acohort = analytics_cmd->add_subcommand("cohort", "Users who did an event at least N times (and match attributes)");
  add_source(acohort);
  std::string cohort_event, cohort_where;
  int cohort_min = 1;
  acohort->add_option("--event", cohort_event, "The event")->required();
  acohort->add_option("--min-count", cohort_min, "At least this many times in [--since, --until)")->capture_default_str();
  acohort->add_option("--where", cohort_where, "User attribute filter KEY=VALUE (engine mode)");
  auto* aprofiles = analytics_cmd->add_subcommand("profiles", "One row of behaviour features per user (CSV)");
  add_source(aprofiles);
  std::string as_of_text, horizon_text = "30d", prop_kind = "churn";
  int seg_k = 0, top_users = 20;
  aprofiles->add_option("--as-of", as_of_text, "Profile as of this time (default: after the last event)");
  auto* asegments = analytics_cmd->add_subcommand("segments", "RFM segments and k-means clusters described in words");
  add_source(asegments);
  asegments->add_option("--k", seg_k, "Clusters (0 = choose 2..8 by silhouette)")->capture_default_str();
  auto* apropensity = analytics_cmd->add_subcommand("propensity", "Who will churn or buy next, and why");
  add_source(apropensity);
  apropensity->add_option("--kind", prop_kind, "churn|purchase")->capture_default_str();
  apropensity->add_option("--horizon", horizon_text, "Prediction horizon (30d, 2w, ...)")->capture_default_str();
  apropensity->add_option("--top", top_users, "Users listed (all with --csv)")->capture_default_str();

  // forecast (file mode)
  auto* forecast_cmd = app.add_subcommand("forecast", "Demand forecasts with intervals (file mode: series CSV in, CSV out)");
  forecast_cmd->require_subcommand(0, 1);
  forecast::ForecastOptions fo;
  std::string fc_input, fc_levels = "80,95", fc_models = "naive,snaive,naive2,ses,theta,ets,auto";
  std::string fc_seasons, fc_future;
  int fc_origins = 3;
  forecast_cmd->add_option("--input", fc_input,
                           "CSV: series_id,timestamp,value[,drivers] (or timestamp,value); without it, engine mode: "
                           "daily demand from the orders in the store")
      ->check(CLI::ExistingFile);
  std::string fc_level = "item", fc_items, fc_measure = "quantity";
  forecast_cmd->add_option("--by", fc_level, "Engine mode: item | category | total")->capture_default_str();
  forecast_cmd->add_option("--items", fc_items, "Engine mode: only these items (or categories), comma-separated");
  forecast_cmd->add_option("--measure", fc_measure, "Engine mode: quantity | revenue")->capture_default_str();
  forecast_cmd->add_option("--horizon", fo.horizon, "Steps ahead")->capture_default_str();
  forecast_cmd->add_option("--season", fo.season, "Seasonal period (0 = from the spacing)")->capture_default_str();
  forecast_cmd->add_option("--model", fo.model,
                           "auto|ensemble|naive|snaive|drift|mean|naive2|ses|theta|otm|ets|arima|mstl|regression|"
                           "croston|sba|tsb")
      ->capture_default_str();
  forecast_cmd->add_option("--ets", fo.ets, "ets: form in R's notation, e.g. ANN, AAdN, MAM; Z = any (ZZZ)")
      ->capture_default_str();
  forecast_cmd->add_option("--seasons", fc_seasons, "mstl: seasonal periods, e.g. 24,168 (default from the spacing)");
  forecast_cmd->add_option("--intervals", fo.intervals, "model | conformal (calibrated on backtest errors)")
      ->capture_default_str();
  forecast_cmd->add_option("--future", fc_future,
                           "regression: CSV series_id,timestamp,<drivers> over the horizon (planned price, promotions)")
      ->check(CLI::ExistingFile);
  forecast_cmd->add_option("--levels,--level", fc_levels, "Interval levels in percent")->capture_default_str();
  auto* fevaluate = forecast_cmd->add_subcommand("evaluate", "Rolling-origin backtest: sMAPE, MASE, RMSSE, coverage");
  fevaluate->add_option("--models", fc_models, "Models to compare")->capture_default_str();
  fevaluate->add_option("--origins", fc_origins, "Forecast origins per series")->capture_default_str();

  // inventory (engine mode)
  auto* inventory_cmd = app.add_subcommand("inventory", "Reorder decisions from demand forecasts and stock (engine mode)");
  inventory_cmd->require_subcommand(1);
  forecast::PlanOptions plan_opts;
  std::string inv_items;
  bool inv_csv = false;
  for (auto* sub : {inventory_cmd->add_subcommand("plan", "The reorder table: safety stock, reorder point, EOQ, order now"),
                    inventory_cmd->add_subcommand("alerts", "Items that will stock out within their lead time, or are overstocked")}) {
    sub->add_option("--model", plan_opts.forecast.model, "Forecast model (auto picks per item by backtest)")
        ->capture_default_str();
    sub->add_option("--service-level", plan_opts.service_level, "Cycle service level")->capture_default_str();
    sub->add_option("--order-cost", plan_opts.order_cost, "Fixed cost per order")->capture_default_str();
    sub->add_option("--holding-rate", plan_opts.holding_rate, "Yearly holding cost as a share of unit cost")
        ->capture_default_str();
    sub->add_option("--review-days", plan_opts.review_period_days, "Periodic review period (0 = continuous)")
        ->capture_default_str();
    sub->add_option("--lead-time", plan_opts.default_lead_time_days, "Lead time where the inventory row has none")
        ->capture_default_str();
    sub->add_option("--items", inv_items, "Only these items, comma-separated");
    sub->add_flag("--csv", inv_csv, "CSV instead of a table");
  }

  // anomaly (file mode)
  auto* anomaly_cmd = app.add_subcommand("anomaly", "Anomalies in metric series (file mode: NAB or long CSV in)");
  anomaly_cmd->require_subcommand(1);
  anomaly::ScoreOptions an_opts;
  anomaly::MetricCsvOptions an_csv;
  anomaly::AlertOptions alert_opts;
  std::string an_input;
  auto* ascore = anomaly_cmd->add_subcommand("score", "series_id,timestamp,value,score,is_anomaly per point");
  auto* aalerts = anomaly_cmd->add_subcommand("alerts", "Bursts of anomalous points as alerts with severity");
  for (auto* sub : {ascore, aalerts}) {
    sub->add_option("--input", an_input,
                    "CSV: timestamp,value (NAB) or series_id,timestamp,value; without it (alerts only), engine mode: "
                    "every metric and segment in the store, with a root-cause drill-down")
        ->check(CLI::ExistingFile);
    sub->add_option("--timestamp-col", an_csv.timestamp_col, "Timestamp column (default timestamp|ds|date|time)");
    sub->add_option("--value-col", an_csv.value_col, "Value column (default value|y)");
    sub->add_option("--series-col", an_csv.id_col, "Series id column (default series_id|unique_id|id)");
    sub->add_option("--detector", an_opts.detector, "ensemble | seasonal | changepoint | surprise | robust | bocpd | forecast")
        ->capture_default_str();
    sub->add_option("--state", an_opts.state_dir,
                    "File mode: continue each series from the detector saved in this directory by an earlier run (points up "
                    "to its saved last time are skipped), and save it there again: score only what is new, e.g. from cron");
  }
  std::string an_transform = "auto";
  ascore->add_option("--threshold", an_opts.threshold, "is_anomaly = score >= threshold")->capture_default_str();
  bool an_explain = false;
  ascore->add_flag("--explain", an_explain,
                   "Two more columns: expected (the detector's forecast) and kind (spike, level_shift, variance_change, "
                   "drift, new_extreme; the ensemble's, at anomalous points)");
  aalerts->add_option("--threshold", alert_opts.threshold, "Score that opens an alert")->capture_default_str();
  aalerts->add_option("--cooldown", alert_opts.cooldown_seconds, "Seconds that merge anomalous points into one alert")
      ->capture_default_str();
  aalerts->add_option("--warning", alert_opts.warning, "Peak score of a warning (below: info)")->capture_default_str();
  aalerts->add_option("--critical", alert_opts.critical, "Peak score of a critical alert")->capture_default_str();
  auto* anab = anomaly_cmd->add_subcommand(
      "nab", "Score a NAB checkout's corpus (data/, labels/combined_windows.json) and write NAB's results layout");
  std::string nab_root, nab_windows, nab_results, nab_name = "opspilot";
  anab->add_option("--corpus", nab_root, "NAB checkout (its data/ and labels/ directories)")->required()->check(CLI::ExistingDirectory);
  anab->add_option("--windows", nab_windows, "Windows JSON (default <corpus>/labels/combined_windows.json)")
      ->check(CLI::ExistingFile);
  anab->add_option("--results", nab_results,
                   "Write NAB's results layout here: <dir>/<name>/<category>/<name>_<file>.csv "
                   "(timestamp,value,anomaly_score,label) for NAB's own scorer");
  anab->add_option("--name", nab_name, "Detector name in the results layout (no '_': NAB's scorer cuts names there)")
      ->capture_default_str();
  anab->add_option("--detector", an_opts.detector, "ensemble | seasonal | changepoint | surprise | robust | bocpd | forecast")
      ->capture_default_str();
  for (auto* sub : {ascore, aalerts, anab}) {
    sub->add_option("--habituate-after", an_opts.detector_options.habituate_after,
                    "Ensemble: once this many earlier events of a series were about as strong, such evidence "
                    "counts only at the rate the series shows it (0: never habituate)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--transform", an_transform,
                    "What the detectors see: auto (the square root for count series: whole numbers >= 0, median >= 5 "
                    "over the first 9 points), none, sqrt, log")
        ->capture_default_str();
  }
  std::string an_segments = "weighted";
  aalerts->add_option("--segments", an_segments,
                      "Engine mode: segment series that alert: weighted (rates with a traffic weight), all, none")
      ->capture_default_str();
  std::string an_metrics;
  std::vector<std::string> an_weights;
  aalerts->add_option("--metrics", an_metrics, "Engine mode: only these metrics (comma-separated; default all)");
  aalerts->add_option("--weight", an_weights,
                      "Engine mode: RATE=DENOMINATOR (repeatable): the rate metric's totals and drill-downs weigh its "
                      "segments by that metric (default conversion_rate=sessions)");

  // risk (file mode)
  auto* risk_cmd = app.add_subcommand("risk", "Transaction risk: isolation forest, XGBoost with labels, rules");
  risk_cmd->require_subcommand(1);
  auto* rscore = risk_cmd->add_subcommand("score", "id,score,flagged,reasons per transaction");
  std::string risk_input, risk_label, risk_id, risk_time_col;
  std::vector<std::string> risk_velocity, risk_drop;
  anomaly::RiskOptions risk_opts;
  rscore->add_option("--input", risk_input,
                     "Transactions CSV (numeric and categorical columns); without it, engine mode: the orders in the store")
      ->check(CLI::ExistingFile);
  int risk_top = 20;
  rscore->add_option("--top", risk_top, "Engine mode: flagged orders shown (0 = all)")->capture_default_str();
  rscore->add_option("--label", risk_label, "Binary label column (fraud = 1): adds a supervised model");
  rscore->add_option("--id", risk_id, "Id column (default: row numbers)");
  rscore->add_option("--drop", risk_drop, "Columns that are not features (repeatable)");
  rscore->add_option("--time-col", risk_time_col, "Timestamp column for velocity rules");
  rscore->add_option("--velocity", risk_velocity, "Velocity rule KEY_COLUMN:WINDOW_SECONDS:MAX_COUNT (repeatable)");
  std::vector<std::string> risk_blocklists;
  rscore->add_option("--blocklist", risk_blocklists,
                     "Blocklist COLUMN:FILE[:SCORE] (repeatable): a row whose COLUMN is one of FILE's values (one a line) "
                     "scores at least SCORE (1); engine mode: user_id, order_id or an order attribute");
  rscore->add_option("--threshold", risk_opts.threshold, "Flag at this combined score")->capture_default_str();

  // recommend
  cli::RecommendFlags rf;
  cli::AddRecommendCommands(app, &rf);
  cli::TextFlags tf;
  cli::AddTextCommands(app, &tf);
  cli::SupportFlags sf;
  cli::AddSupportCommands(app, &sf);

  // models (registry)
  auto* models = app.add_subcommand("models", "The model registry in <data-dir>/models");
  models->require_subcommand(1);
  std::string m_task, m_version;
  auto* mlist = models->add_subcommand("list", "Tasks, or the versions of one task");
  mlist->add_option("task", m_task, "Task");
  auto* mshow = models->add_subcommand("show", "A version's metadata");
  mshow->add_option("task", m_task)->required();
  mshow->add_option("version", m_version, "Version (default: the serving one)");
  auto* mpromote = models->add_subcommand("promote", "Make a version serve");
  mpromote->add_option("task", m_task)->required();
  mpromote->add_option("version", m_version)->required();
  auto* mrollback = models->add_subcommand("rollback", "Serve the previously promoted version");
  mrollback->add_option("task", m_task)->required();
  auto* mdelete = models->add_subcommand("delete", "Delete a version that does not serve");
  mdelete->add_option("task", m_task)->required();
  mdelete->add_option("version", m_version)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!g.config.empty()) {
    Status st = ApplyConfig(g.config, app);
    if (!st.ok()) return Fail(st, g.json);
  }

  ContextOptions co;
  co.threads = g.threads;
  co.seed = g.seed;
  co.device = g.device;
  co.progress = g.quiet || g.json ? ProgressMode::kQuiet : ProgressMode::kAuto;
  ParseLogLevel(g.log_level, &co.log.level);
  co.log.json = g.log_json;
  if (Status st = ValidateContextOptions(co); !st.ok()) return Fail(st, g.json);
  Context ctx(co);

  if (*version) {
    std::cout << "opspilot 0.1.0\n";
    return 0;
  }

  if (*demo && *gen) {
    dopts.seed = g.seed;
    auto sum = demo::GenerateDemoShop(dopts, gen_out);
    if (!sum.ok()) return Fail(sum.status(), g.json);
    if (g.json) {
      std::cout << json{{"dir", gen_out}, {"users", sum->users}, {"items", sum->items},
                        {"events", sum->events}, {"orders", sum->orders}, {"tickets", sum->tickets}}.dump()
                << "\n";
    } else {
      std::cout << "wrote the demo shop to " << gen_out << ": " << WithCommas(sum->users) << " users, "
                << WithCommas(sum->items) << " items, " << WithCommas(sum->events) << " events, "
                << WithCommas(sum->orders) << " orders, " << WithCommas(sum->tickets) << " tickets\n";
    }
    return 0;
  }
  if (*demo) {
    dopts.seed = g.seed;
    demo::DemoJobOptions jo;
    jo.shop = dopts;
    jo.dir = demo_dir;
    jo.tenant = g.tenant;
#ifdef OPSPILOT_WITH_TORCH
    jo.train_text = nlp::TrainClassifier;
#else
    return Fail(ExecTorchBinary(argv), g.json);  // the support section trains text models in libtorch
#endif
    auto res = demo::RunDemo(ctx, jo);
    if (!res.ok()) return Fail(res.status(), g.json);
    if (g.json) {
      std::cout << res->summary.dump(2) << "\n";
    } else {
      std::cout << res->tour;
    }
    return 0;
  }

  ml::ModelRegistry registry((std::filesystem::path(g.data_dir) / "models").string());
  if (*tabular) {
    std::stringstream ss(drop_cols);
    for (std::string c; std::getline(ss, c, ',');) {
      if (!c.empty()) tto.read.drop.push_back(c);
    }
    if (*ttrain) {
      tto.refit = !no_refit;
      if (tto.out.empty() && tto.register_task.empty()) {
        return Fail(InvalidArgument("give --out DIR and/or --register TASK"), g.json);
      }
      auto r = ml::TrainTabular(ctx, tto, &registry);
      if (!r.ok()) return Fail(r.status(), g.json);
      json out = {{"model_dir", r->model_dir}, {"metadata", r->metadata}};
      if (!r->version.empty()) out["version"] = r->version;
      if (g.json) {
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << "trained " << r->metadata["objective"].get<std::string>() << " model ("
                  << r->metadata["best_rounds"] << " rounds) -> " << r->model_dir
                  << (r->version.empty() ? "" : " (registered " + tto.register_task + "/" + r->version + ")") << "\n";
        if (r->metadata["metrics"].contains("validation")) {
          std::cout << "validation: " << r->metadata["metrics"]["validation"].dump() << "\n";
        }
      }
      return 0;
    }
    if (*tpredict) {
      std::string dir = tab_model;
      if (!std::filesystem::is_directory(dir)) {
        auto serving = registry.Serving(tab_model);
        if (!serving.ok()) return Fail(NotFound("no model directory or registered task '" + tab_model + "'"), g.json);
        dir = serving->dir;
      }
      Status st = ml::PredictTabular(ctx, dir, tab_input, explain_k, std::cout);
      if (!st.ok()) return Fail(st, g.json);
      return 0;
    }
    if (*tdrift) {
      auto r = ml::TabularDrift(drift_ref, drift_cur, tto.read);
      if (!r.ok()) return Fail(r.status(), g.json);
      if (g.json) {
        std::cout << r->dump(2) << "\n";
      } else {
        std::cout << (*r)["drifted_features"] << " of " << (*r)["features"].size() << " features moved\n";
        for (const auto& f : (*r)["features"]) {
          std::printf("  %-20s psi %.3f  ks %s  %s\n", f["feature"].get<std::string>().c_str(), f["psi"].get<double>(),
                      f["ks"].is_null() ? "-" : std::to_string(f["ks"].get<double>()).substr(0, 5).c_str(),
                      f["drifted"].get<bool>() ? "MOVED" : "");
        }
      }
      return 0;
    }
    if (*tevaluate) {
      auto r = ml::EvaluateTabular(ctx, tto.data, tto.read, tto.gbm, folds);
      if (!r.ok()) return Fail(r.status(), g.json);
      if (g.json) {
        std::cout << r->dump(2) << "\n";
      } else {
        std::cout << (*r)["folds"] << "-fold cross-validation, " << (*r)["task"].get<std::string>() << ", "
                  << (*r)["rows"] << " rows\n";
        for (const auto& [k, v] : (*r)["summary"].items()) {
          std::printf("  %-14s %.4f +- %.4f\n", k.c_str(), v["mean"].get<double>(), v["std"].get<double>());
        }
      }
      return 0;
    }
  }
  if (*analytics_cmd) {
    // One parameter table for the CLI and the HTTP API.
    const std::map<std::string, std::string> params = {
        {"steps", steps_text}, {"exclude", exclude_text}, {"window", window_text}, {"mode", mode_text},
        {"since", since_text}, {"until", until_text}, {"start_event", rspec.start_event},
        {"return_event", rspec.return_event}, {"period", period_text}, {"periods", std::to_string(rspec.periods)},
        {"from", path_from}, {"to", path_to}, {"steps_path", std::to_string(pspec.steps)},
        {"top", std::to_string(pspec.top)}, {"breakdown", breakdown_key}, {"attribution", attribution_text}};
    auto get = [&](const char* name) {
      auto it = params.find(name);
      return it == params.end() ? std::string() : it->second;
    };
    int64_t since = INT64_MIN, until = INT64_MAX;
    if (Status st = analytics::TimeRangeFromParams(get, &since, &until); !st.ok()) return Fail(st, g.json);
    StatusOr<Snapshot> snap = InvalidArgument("no events");
    if (!events_file.empty()) {
      if (!breakdown_user.empty()) return Fail(InvalidArgument("--breakdown-user needs the store (engine mode)"), g.json);
      eco.property_col = breakdown_key;
      snap = analytics::ReadEventsCsv(ctx, events_file, eco);
    } else {
      auto st = OpenStore(g);
      if (!st.ok()) return Fail(st.status(), g.json);
      SnapshotSpec spec;
      spec.tenant = g.tenant;
      spec.tables = {Entity::kItems, Entity::kUsers, Entity::kTickets};
      spec.event_property = breakdown_key;
      if (since != INT64_MIN) spec.since = since;
      if (until != INT64_MAX) spec.until = until;
      snap = LoadSnapshot(ctx, **st, spec);
    }
    if (!snap.ok()) return Fail(snap.status(), g.json);
    const EventLog& log = *snap->events;
    auto emit = [&](const json& j, const std::string& csv, const std::string& table) {
      if (g.json) {
        std::cout << j.dump(2) << "\n";
      } else if (as_csv) {
        std::cout << csv;
      } else {
        std::cout << table;
      }
    };
    if (*afunnel) {
      auto fs = analytics::FunnelSpecFromParams(get);
      if (!fs.ok()) return Fail(fs.status(), g.json);
      std::vector<std::string> user_values;
      if (!breakdown_user.empty()) {
        user_values = analytics::UserAttribute(*snap, breakdown_user);
        fs->user_breakdown = &user_values;
      }
      auto r = analytics::Funnel(ctx, log, *snap->users, *fs);
      if (!r.ok()) return Fail(r.status(), g.json);
      emit(analytics::ToJson(*r), analytics::ToCsv(*r), analytics::ToTable(*r));
      return 0;
    }
    auto period = analytics::ParsePeriod(period_text);
    if (!period.ok()) return Fail(period.status(), g.json);
    if (*aretention) {
      auto rs = analytics::RetentionSpecFromParams(get);
      if (!rs.ok()) return Fail(rs.status(), g.json);
      auto r = analytics::Retention(ctx, log, *rs);
      if (!r.ok()) return Fail(r.status(), g.json);
      emit(analytics::ToJson(*r, rs->periods), analytics::ToCsv(*r, rs->periods), analytics::ToTable(*r, rs->periods));
      return 0;
    }
    if (*atrends) {
      auto r = analytics::Trends(ctx, log, *period, analytics::SplitList(types_text), !breakdown_key.empty());
      if (!r.ok()) return Fail(r.status(), g.json);
      emit(analytics::ToJson(*r), analytics::ToCsv(*r), analytics::ToCsv(*r));
      return 0;
    }
    if (*acohort) {
      std::vector<std::string> users = analytics::Cohort(log, *snap->users, cohort_event, cohort_min, since, until);
      if (!cohort_where.empty()) {
        const size_t eq = cohort_where.find('=');
        if (eq == std::string::npos) return Fail(InvalidArgument("--where must be KEY=VALUE"), g.json);
        const auto values = analytics::UserAttribute(*snap, cohort_where.substr(0, eq));
        const std::string want = cohort_where.substr(eq + 1);
        std::erase_if(users, [&](const std::string& u) {
          const int32_t code = snap->users->Find(u);
          return code < 0 || static_cast<size_t>(code) >= values.size() || values[static_cast<size_t>(code)] != want;
        });
      }
      if (g.json) {
        std::cout << json{{"users", users}, {"count", users.size()}}.dump(2) << "\n";
      } else {
        std::cout << "user_id\n";
        for (const auto& u : users) std::cout << u << "\n";
      }
      return 0;
    }
    if (*alifecycle) {
      auto r = analytics::Lifecycle(ctx, log, activity_event, *period, since, until);
      if (!r.ok()) return Fail(r.status(), g.json);
      emit(analytics::ToJson(*r), analytics::ToCsv(*r), analytics::ToCsv(*r));
      return 0;
    }
    if (*asticky) {
      auto r = analytics::Stickiness(ctx, log, activity_event, *period, since, until);
      if (!r.ok()) return Fail(r.status(), g.json);
      emit(analytics::ToJson(*r), analytics::ToCsv(*r), analytics::ToCsv(*r));
      return 0;
    }
    analytics::ProfileOptions po;
    po.item_category = analytics::ItemCategories(*snap);
    po.user_attributes = analytics::UserAttributes(*snap);
    analytics::AddTicketFacts(*snap, &po);
    if (*aprofiles) {
      if (!as_of_text.empty()) {
        auto t = ParseTimestamp(as_of_text);
        if (!t.ok()) return Fail(t.status().WithContext("--as-of"), g.json);
        po.as_of = *t;
      }
      auto p = analytics::Profiles(ctx, log, *snap->users, po);
      if (!p.ok()) return Fail(p.status(), g.json);
      std::vector<std::string> header = {"user_id", "last_seen"};
      for (const auto& f : p->schema.features) header.push_back(f.name);
      std::cout << CsvLine(header) << "\n";
      int64_t as_of = po.as_of;
      if (as_of == INT64_MAX) {
        as_of = INT64_MIN;
        for (int64_t t : log.time) as_of = std::max(as_of, t + 1);
      }
      for (int64_t r = 0; r < p->rows; ++r) {
        // Column 0 is recency_days: the last event is that long before as_of.
        const auto seen = as_of - static_cast<int64_t>(std::llround(static_cast<double>(p->at(r, 0)) * 86400.0));
        std::vector<std::string> row = {p->ids[static_cast<size_t>(r)], FormatTimestamp(seen)};
        for (int64_t c = 0; c < p->cols(); ++c) {
          const float v = p->at(r, c);
          const auto& f = p->schema.features[static_cast<size_t>(c)];
          if (std::isnan(v)) {
            row.emplace_back();
          } else if (f.kind == ml::FeatureKind::kCategorical) {
            row.push_back(f.categories[static_cast<size_t>(v)]);
          } else {
            char buf[32];
            std::snprintf(buf, sizeof(buf), "%.6g", v);
            row.emplace_back(buf);
          }
        }
        std::cout << CsvLine(row) << "\n";
      }
      return 0;
    }
    if (*asegments) {
      auto p = analytics::Profiles(ctx, log, *snap->users, po);
      if (!p.ok()) return Fail(p.status(), g.json);
      auto rfm = analytics::Rfm(*p);
      if (!rfm.ok()) return Fail(rfm.status(), g.json);
      auto km = analytics::KMeansSegments(ctx, *p, seg_k);
      if (!km.ok()) return Fail(km.status(), g.json);
      if (as_csv) {
        std::cout << "user_id,rfm_segment,r,f,m,cluster\n";
        for (int64_t r = 0; r < p->rows; ++r) {
          const auto& x = (*rfm)[static_cast<size_t>(r)];
          std::cout << CsvLine({p->ids[static_cast<size_t>(r)], x.segment, std::to_string(x.r), std::to_string(x.f),
                                std::to_string(x.m), std::to_string(km->assignment[static_cast<size_t>(r)])})
                    << "\n";
        }
        return 0;
      }
      std::map<std::string, int64_t> counts;
      for (const auto& x : *rfm) counts[x.segment]++;
      json clusters = json::array();
      for (size_t c = 0; c < km->clusters.size(); ++c) {
        clusters.push_back({{"cluster", c}, {"users", km->clusters[c].size}, {"description", km->clusters[c].description}});
      }
      if (g.json) {
        std::cout << json{{"users", p->rows}, {"rfm_segments", counts}, {"silhouette", km->silhouette},
                          {"clusters", clusters}}.dump(2) << "\n";
      } else {
        std::cout << "RFM segments of " << WithCommas(p->rows) << " users:\n";
        for (const auto& [name, n] : counts) std::printf("  %-20s %9s\n", name.c_str(), WithCommas(n).c_str());
        std::printf("k-means: %zu clusters (silhouette %.2f)\n", km->clusters.size(), km->silhouette);
        for (size_t c = 0; c < km->clusters.size(); ++c) {
          std::printf("  %zu  %9s users  %s\n", c, WithCommas(km->clusters[c].size).c_str(),
                      km->clusters[c].description.c_str());
        }
      }
      return 0;
    }
    if (*apropensity) {
      analytics::PropensityOptions pr;
      pr.kind = prop_kind;
      pr.profile = po;
      auto h = ParseDuration(horizon_text);
      if (!h.ok()) return Fail(h.status().WithContext("--horizon"), g.json);
      pr.horizon = *h;
      auto r = analytics::Propensity(ctx, log, *snap->users, pr);
      if (!r.ok()) return Fail(r.status(), g.json);
      if (as_csv) {
        std::cout << "user_id,probability,reasons\n";
        for (const auto& su : r->scores) {
          std::string reasons;
          for (const auto& x : su.reasons) reasons += (reasons.empty() ? "" : "; ") + x;
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.6f", su.probability);
          std::cout << CsvLine({su.user, buf, reasons}) << "\n";
        }
        return 0;
      }
      json top = json::array();
      for (size_t i = 0; i < r->scores.size() && static_cast<int>(i) < top_users; ++i) {
        top.push_back({{"user", r->scores[i].user}, {"probability", r->scores[i].probability},
                       {"reasons", r->scores[i].reasons}});
      }
      if (g.json) {
        std::cout << json{{"metrics", r->metrics}, {"top", top}}.dump(2) << "\n";
      } else {
        std::printf("%s in the next %s: validation AUC %.3f, PR-AUC %.3f, Brier %.3f (%lld users, cut-off %s)\n",
                    prop_kind.c_str(), horizon_text.c_str(), r->metrics["auc"].get<double>(),
                    r->metrics["pr_auc"].get<double>(), r->metrics["brier"].get<double>(),
                    static_cast<long long>(r->metrics["valid_users"].get<int64_t>()),
                    FormatDate(r->valid_cutoff).c_str());
        for (const auto& t : top) {
          std::string reasons;
          for (const auto& x : t["reasons"]) reasons += (reasons.empty() ? "" : "; ") + x.get<std::string>();
          std::printf("  %-10s %5.1f%%  %s\n", t["user"].get<std::string>().c_str(),
                      100 * t["probability"].get<double>(), reasons.c_str());
        }
      }
      return 0;
    }
    if (*apaths) {
      auto ps = analytics::PathSpecFromParams([&](const char* name) {
        return std::string(name) == "steps" ? get("steps_path") : get(name);
      });
      if (!ps.ok()) return Fail(ps.status(), g.json);
      auto r = analytics::Paths(ctx, log, *ps);
      if (!r.ok()) return Fail(r.status(), g.json);
      emit(analytics::ToJson(*r), analytics::ToCsv(*r), analytics::ToCsv(*r));
      return 0;
    }
  }
  if (*anomaly_cmd) {
    auto transform = anomaly::ParseValueTransform(an_transform);
    if (!transform.ok()) return Fail(transform.status(), g.json);
    an_opts.detector_options.transform = *transform;
  }
  if (*anab) {
    auto corpus = anomaly::ReadNabCorpus(nab_root, nab_windows);
    if (!corpus.ok()) return Fail(corpus.status(), g.json);
    anomaly::NabRunOptions ro;
    ro.score = an_opts;
    ro.results_dir = nab_results;
    ro.detector_name = nab_name;
    auto run = anomaly::RunNabCorpus(ctx, *corpus, ro);
    if (!run.ok()) return Fail(run.status(), g.json);
    json out = {{"detector", an_opts.detector}, {"files", run->files}, {"rows", run->rows}, {"windows", run->windows},
                {"seconds", run->seconds}, {"profiles", json::object()}, {"categories", json::array()}};
    for (size_t k = 0; k < run->profiles.size(); ++k) {
      const anomaly::NabResult& r = run->profiles[k];
      out["profiles"][anomaly::NabProfiles()[k].name] = {{"score", r.normalized}, {"threshold", r.threshold}, {"raw", r.raw},
                                                         {"windows_detected", r.tp}, {"windows_missed", r.fn},
                                                         {"false_positives", r.fp}};
    }
    for (const auto& c : run->categories) {
      out["categories"].push_back({{"category", c.name}, {"files", c.files}, {"windows", c.windows},
                                   {"detected", c.detected}, {"false_positives", c.false_positives}});
    }
    if (!nab_results.empty()) out["results"] = nab_results + "/" + nab_name;
    if (g.json) {
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    std::printf("%lld files, %lld rows, %lld windows; detector %s, %.1f s\n", static_cast<long long>(run->files),
                static_cast<long long>(run->rows), static_cast<long long>(run->windows), an_opts.detector.c_str(), run->seconds);
    std::printf("NAB rules, scored here (the same thresholds and scores as NAB's own scorer on the same files; docs/benchmarks.md):\n");
    for (size_t k = 0; k < run->profiles.size(); ++k) {
      const anomaly::NabResult& r = run->profiles[k];
      std::printf("  %-20s %6.1f  (threshold %.3f, windows %lld/%lld, false positives %lld)\n",
                  anomaly::NabProfiles()[k].name.c_str(), r.normalized, r.threshold, static_cast<long long>(r.tp),
                  static_cast<long long>(r.tp + r.fn), static_cast<long long>(r.fp));
    }
    std::printf("per category at the standard threshold:\n");
    for (const auto& c : run->categories) {
      std::printf("  %-24s files %3lld  windows %3lld/%-3lld  false positives %lld\n", c.name.c_str(),
                  static_cast<long long>(c.files), static_cast<long long>(c.detected), static_cast<long long>(c.windows),
                  static_cast<long long>(c.false_positives));
    }
    if (!nab_results.empty()) {
      std::printf("results: %s/%s (copy it into NAB's results/ and run: python run.py -d %s --optimize --score --normalize;"
                  " the baseline is NAB's own results/null)\n",
                  nab_results.c_str(), nab_name.c_str(), nab_name.c_str());
    }
    return 0;
  }
  if (*anomaly_cmd) {
    if (Status st = anomaly::ValidateScoreOptions(an_opts); !st.ok()) return Fail(st, g.json);
    if (Status st = anomaly::ValidateAlertOptions(alert_opts); !st.ok()) return Fail(st, g.json);
    if (an_input.empty()) {
      if (*ascore) return Fail(InvalidArgument("anomaly score needs --input (engine mode is `anomaly alerts`)"), g.json);
      if (Status st = RefuseFlags(aalerts, {"--timestamp-col", "--value-col", "--series-col", "--state"}, "file mode (--input)");
          !st.ok()) {
        return Fail(st, g.json);
      }
      auto store = OpenStore(g);
      if (!store.ok()) return Fail(store.status(), g.json);
      SnapshotSpec spec;
      spec.tenant = g.tenant;
      spec.events = false;
      spec.tables = {Entity::kMetrics};
      auto snap = LoadSnapshot(ctx, **store, spec);
      if (!snap.ok()) return Fail(snap.status(), g.json);
      anomaly::MetricAlertOptions mo;
      mo.score = an_opts;
      if (aalerts->count("--detector") > 0) mo.detector = an_opts.detector;
      mo.segments = an_segments;
      mo.alert = alert_opts;
      if (!an_metrics.empty()) mo.metrics = analytics::SplitList(an_metrics);
      for (const auto& w : an_weights) {
        if (Status st = anomaly::AddRateWeight(w, &mo); !st.ok()) return Fail(st.WithContext("--weight"), g.json);
      }
      auto found = anomaly::MetricAlerts(ctx, *snap, mo);
      if (!found.ok()) return Fail(found.status(), g.json);
      if (g.json) {
        json out = json::array();
        for (const auto& a : *found) out.push_back(anomaly::ToJson(a));
        std::cout << out.dump(2) << "\n";
      } else {
        for (const auto& a : *found) std::cout << a.summary << "\n";
      }
      return 0;
    }
    if (Status st = RefuseFlags(aalerts, {"--segments", "--metrics", "--weight"}, "engine mode (no --input)"); !st.ok()) {
      return Fail(st, g.json);
    }
    // --state: the run writes each series' new state as pending; they are put
    // in place only once the output is out (a failed run leaves the saved
    // states as they were, so no row is lost), and what a run that died left
    // is removed first.
    struct PendingStates {
      std::string dir;
      bool committed = false;
      ~PendingStates() {
        if (!dir.empty() && !committed) (void)anomaly::DiscardPendingStreams(dir);
      }
    } pending{an_opts.state_dir};
    if (!an_opts.state_dir.empty()) {
      if (Status st = anomaly::DiscardPendingStreams(an_opts.state_dir); !st.ok()) return Fail(st, g.json);
    }
    // The output is written: flush it, then put the run's states in place.
    auto finish = [&](const char* what) {
      std::cout.flush();
      if (!std::cout) return Fail(Unavailable(std::string("error writing the ") + what + " to standard output"), g.json);
      if (!an_opts.state_dir.empty()) {
        if (Status st = anomaly::CommitSavedStreams(an_opts.state_dir); !st.ok()) return Fail(st, g.json);
        pending.committed = true;
      }
      return 0;
    };
    // A regular file whose series are each in time order streams through in
    // two passes (memory O(series)); anything else is read whole and sorted.
    std::vector<anomaly::ScoredSeries> scored;
    bool streamed = false;
    std::error_code ec;
    if (std::filesystem::is_regular_file(an_input, ec)) {
      auto scan = anomaly::ScanMetricCsv(an_input, an_csv);
      if (!scan.ok()) return Fail(scan.status(), g.json);
      if (scan->in_time_order) {
        std::string buf;
        if (*ascore) buf = an_explain ? anomaly::kScoresCsvExplainHeader : anomaly::kScoresCsvHeader;
        // alerts: only the points that can open or join one are kept (MakeAlerts ignores the rest).
        scored.resize(scan->series.size());
        for (size_t k = 0; k < scored.size(); ++k) scored[k].series_id = scan->series[k];
        Status st = anomaly::StreamMetricCsv(an_input, an_csv, *scan, an_opts, [&](size_t k, const anomaly::Score& p) {
          if (*ascore) {
            anomaly::AppendScoreRow(&buf, scored[k].series_id, p, an_explain);
            if (buf.size() >= (1 << 16)) {
              std::cout.write(buf.data(), static_cast<std::streamsize>(buf.size()));
              buf.clear();
            }
          } else if (p.score >= alert_opts.threshold) {
            scored[k].scores.push_back(p);
          }
        }, &ctx.pool());
        if (!st.ok()) return Fail(st, g.json);  // only if the file changed between the passes
        streamed = true;
        std::cout.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (*ascore) return finish("scores");
      }
    }
    if (!streamed) {
      auto series = anomaly::ReadMetricCsv(an_input, an_csv);
      if (!series.ok()) return Fail(series.status(), g.json);
      scored.resize(series->size());
      std::vector<Status> errors(series->size());
      ctx.pool().ParallelFor(static_cast<int64_t>(series->size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const auto k = static_cast<size_t>(i);
          auto r = anomaly::ScoreSeries((*series)[k], an_opts);
          if (!r.ok()) {
            errors[k] = r.status();
            continue;
          }
          scored[k] = {(*series)[k].id, std::move(r).value()};
        }
      });
      for (const auto& st : errors) {
        if (!st.ok()) return Fail(st, g.json);
      }
    }
    if (*ascore) {
      std::cout << anomaly::ScoresCsv(scored, an_explain);
      return finish("scores");
    }
    json out = json::array();
    if (!g.json) std::cout << "series_id,start,end,peak_time,peak_value,peak_score,points,severity,expected,kind\n";
    for (const auto& s : scored) {
      for (const auto& a : anomaly::MakeAlerts(s.series_id, s.scores, alert_opts)) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.4g", a.peak_value);
        const std::string peak_value = buf;
        std::string expected;
        if (!std::isnan(a.expected)) {
          char e[64];
          std::snprintf(e, sizeof(e), "%.4g", a.expected);
          expected = e;
        }
        std::snprintf(buf, sizeof(buf), "%.3f", a.peak_score);
        if (g.json) {
          out.push_back({{"series_id", a.series_id}, {"start", FormatTimestamp(a.start)}, {"end", FormatTimestamp(a.end)},
                         {"peak_time", FormatTimestamp(a.peak_time)}, {"peak_value", a.peak_value},
                         {"peak_score", a.peak_score}, {"points", a.points},
                         {"severity", std::string(anomaly::SeverityName(a.severity))},
                         {"expected", std::isnan(a.expected) ? json(nullptr) : json(a.expected)},
                         {"kind", std::string(anomaly::ChangeKindName(a.kind))}});
        } else {
          std::cout << CsvLine({a.series_id, FormatTimestamp(a.start), FormatTimestamp(a.end), FormatTimestamp(a.peak_time),
                                peak_value, buf, std::to_string(a.points), std::string(anomaly::SeverityName(a.severity)),
                                expected, std::string(anomaly::ChangeKindName(a.kind))})
                    << "\n";
        }
      }
    }
    if (g.json) std::cout << out.dump(2) << "\n";
    return finish("alerts");
  }
  if (*risk_cmd) {
    for (const auto& v : risk_velocity) {
      auto rule = anomaly::ParseVelocityRule(v);
      if (!rule.ok()) return Fail(InvalidArgument("--velocity: " + rule.status().message()), g.json);
      risk_opts.velocity.push_back(std::move(*rule));
    }
    const Status other_mode =
        risk_input.empty()
            ? RefuseFlags(rscore, {"--label", "--id", "--drop", "--time-col"}, "file mode (--input); engine mode scores the store's orders")
            : RefuseFlags(rscore, {"--top"}, "engine mode; with --input every row is written");
    if (!other_mode.ok()) return Fail(other_mode, g.json);
    for (const auto& spec : risk_blocklists) {
      auto rule = anomaly::ReadBlocklist(spec);
      if (!rule.ok()) return Fail(rule.status(), g.json);
      risk_opts.blocklists.push_back(std::move(*rule));
    }
  }
  if (*risk_cmd && risk_input.empty()) {
    auto store = OpenStore(g);
    if (!store.ok()) return Fail(store.status(), g.json);
    SnapshotSpec spec;
    spec.tenant = g.tenant;
    spec.events = false;
    spec.tables = {Entity::kOrders, Entity::kUsers};
    auto snap = LoadSnapshot(ctx, **store, spec);
    if (!snap.ok()) return Fail(snap.status(), g.json);
    anomaly::OrderRiskOptions oo;
    oo.risk = risk_opts;
    oo.top = risk_top;
    int64_t flagged = 0;
    auto risky = anomaly::ScoreOrders(ctx, *snap, oo, &flagged);
    if (!risky.ok()) return Fail(risky.status(), g.json);
    if (g.json) {
      json out = json::array();
      for (const auto& r : *risky) out.push_back(anomaly::ToJson(r));
      std::cout << json{{"flagged", flagged}, {"orders", out}}.dump(2) << "\n";
      return 0;
    }
    std::cout << "order_id,user_id,timestamp,score,reasons\n";
    for (const auto& r : *risky) {
      char sc[32];
      std::snprintf(sc, sizeof(sc), "%.4f", r.result.score);
      std::cout << CsvLine({r.order_id, r.user_id, FormatTimestamp(r.time), sc, anomaly::ReasonText(r.result)}) << "\n";
    }
    return 0;
  }
  if (*risk_cmd) {
    ml::TabularReadOptions ro;
    ro.target = risk_label;
    ro.id = risk_id;
    ro.task = risk_label.empty() ? "auto" : "binary";
    ro.drop = risk_drop;
    if (!risk_time_col.empty()) ro.drop.push_back(risk_time_col);
    anomaly::RuleInput rules;
    for (const auto& rule : risk_opts.velocity) rules.columns[rule.key];
    if (!risk_opts.velocity.empty() && risk_time_col.empty()) {
      return Fail(InvalidArgument("--velocity needs --time-col"), g.json);
    }
    for (const auto& rule : risk_opts.blocklists) rules.columns[rule.column];
    if (!rules.columns.empty()) {
      // The rule columns (and times, for velocity), read as text from the same file.
      auto src = OpenFileSource(risk_input);
      if (!src.ok()) return Fail(src.status(), g.json);
      CsvReader reader(std::move(*src));
      CsvRecord rec;
      std::map<std::string, size_t> col;
      size_t header_fields = 0;
      if (reader.Next(&rec)) {
        if (Status st = CheckCsvHeader(risk_input, rec); !st.ok()) return Fail(st, g.json);
        header_fields = rec.num_fields;
        for (size_t i = 0; i < rec.num_fields; ++i) col[std::string(rec.field(i))] = i;
      }
      for (const auto& [name, values] : rules.columns) {
        if (!col.count(name)) return Fail(InvalidArgument(risk_input + ":1: no column '" + name + "' for a rule"), g.json);
      }
      const bool timed = !risk_opts.velocity.empty();
      if (timed && !col.count(risk_time_col)) return Fail(InvalidArgument(risk_input + ":1: no column '" + risk_time_col + "'"), g.json);
      while (reader.Next(&rec)) {
        const std::string where = risk_input + ":" + std::to_string(rec.line);
        if (!rec.error.empty()) return Fail(InvalidArgument(where + ": " + rec.error), g.json);
        if (Status st = CheckCsvFieldCount(risk_input, rec, header_fields); !st.ok()) return Fail(st, g.json);
        if (timed) {
          auto t = ParseTimestamp(rec.field(col[risk_time_col]));
          if (!t.ok()) return Fail(InvalidArgument(where + ": field '" + risk_time_col + "': " + t.status().message()), g.json);
          rules.time.push_back(*t);
        }
        for (auto& [name, values] : rules.columns) values.emplace_back(Trim(rec.field(col[name])));
      }
      // Velocity keys are identifiers, not features; blocklisted columns stay features unless --drop says otherwise.
      for (const auto& rule : risk_opts.velocity) ro.drop.push_back(rule.key);
    }
    std::erase(ro.drop, std::string());
    auto data = ml::ReadTabularCsv(risk_input, ro);
    if (!data.ok()) return Fail(data.status(), g.json);
    auto results = anomaly::ScoreRisk(ctx, *data, rules, risk_opts);
    if (!results.ok()) return Fail(results.status(), g.json);
    json out = json::array();
    if (!g.json) std::cout << "id,score,flagged,isolation,supervised,reasons\n";
    for (const auto& r : *results) {
      if (g.json) {
        json one = anomaly::ReasonJson(r);
        one.update({{"id", r.id}, {"score", r.score}, {"flagged", r.flagged}, {"isolation", r.isolation},
                    {"supervised", r.supervised}});
        out.push_back(std::move(one));
      } else {
        char sc[32], iso[32], sup[32];
        std::snprintf(sc, sizeof(sc), "%.4f", r.score);
        std::snprintf(iso, sizeof(iso), "%.4f", r.isolation);
        std::snprintf(sup, sizeof(sup), "%.4f", r.supervised);
        std::cout << CsvLine({r.id, sc, r.flagged ? "1" : "0", iso, r.supervised < 0 ? "" : sup, anomaly::ReasonText(r)})
                  << "\n";
      }
    }
    if (g.json) std::cout << out.dump(2) << "\n";
    return 0;
  }
  // Engine mode of forecast and inventory: orders, stock and items from the store.
  auto load_commerce = [&]() -> StatusOr<Snapshot> {
    ASSIGN_OR_RETURN(auto store, OpenStore(g));
    SnapshotSpec spec;
    spec.tenant = g.tenant;
    spec.events = false;
    spec.tables = {Entity::kItems, Entity::kOrders, Entity::kInventory};
    return LoadSnapshot(ctx, *store, spec);
  };
  if (*inventory_cmd) {
    plan_opts.items = analytics::SplitList(inv_items);
    auto snap = load_commerce();
    if (!snap.ok()) return Fail(snap.status(), g.json);
    auto rows = forecast::PlanFromSnapshot(ctx, *snap, plan_opts);
    if (!rows.ok()) return Fail(rows.status(), g.json);
    const bool alerts_only = inventory_cmd->got_subcommand("alerts");
    if (alerts_only) std::erase_if(*rows, [](const forecast::PlanRow& r) { return r.alerts.empty(); });
    if (g.json) {
      json out = json::array();
      for (const auto& r : *rows) out.push_back(forecast::ToJson(r));
      std::cout << out.dump(2) << "\n";
    } else if (inv_csv) {
      std::cout << forecast::PlanCsv(*rows);
    } else {
      std::printf("%-10s %-12s %8s %8s %6s %9s %8s %8s %7s %9s  %s\n", "item", "category", "on_hand", "on_order",
                  "lead", "demand/d", "safety", "reorder", "eoq", "order_now", alerts_only ? "alert" : "model");
      for (const auto& r : *rows) {
        const json j = forecast::ToJson(r);
        std::printf("%-10s %-12s %8.0f %8.0f %6.0f %9.2f %8.1f %8.1f %7.0f %9.0f  %s\n", r.item_id.c_str(),
                    r.category.substr(0, 12).c_str(), r.inputs.on_hand, r.inputs.on_order, r.inputs.lead_time_days,
                    j["inputs"]["mean_daily_demand"].get<double>(), r.plan.safety_stock, r.plan.reorder_point,
                    r.plan.eoq, r.plan.reorder_now ? std::ceil(r.plan.suggested_order) : 0.0,
                    alerts_only ? r.alerts.front().c_str() : r.model.c_str());
      }
    }
    return 0;
  }
  if (*sf.cmd) {
#ifndef OPSPILOT_WITH_TORCH
    if (*sf.train || cli::SupportModelNeedsTorch(g.data_dir, g.tenant)) return Fail(ExecTorchBinary(argv), g.json);
#endif
    cli::SupportEnv env{g.data_dir, g.tenant, g.json, [&g] { return OpenStore(g); }};
#ifdef OPSPILOT_WITH_TORCH
    if (*sf.train) {
      if (Status st = cli::RunSupportTrain(ctx, sf, env); !st.ok()) return Fail(st, g.json);
      return 0;
    }
#endif
    if (Status st = cli::RunSupport(ctx, sf, env); !st.ok()) return Fail(st, g.json);
    return 0;
  }
  if (*tf.cmd) {
#ifndef OPSPILOT_WITH_TORCH
    // fasttext models predict and evaluate here; training and other models need libtorch.
    if (cli::TextNeedsTorch(tf)) return Fail(ExecTorchBinary(argv), g.json);
    if (Status st = cli::RunTextInference(ctx, tf, g.json); !st.ok()) return Fail(st, g.json);
    return 0;
#else
    if (Status st = cli::RunText(ctx, tf, g.json); !st.ok()) return Fail(st, g.json);
    return 0;
#endif
  }
  if (*rf.cmd) {
#ifndef OPSPILOT_WITH_TORCH
    if (cli::RecommendNeedsTorch(rf, g.data_dir)) return Fail(ExecTorchBinary(argv), g.json);
#else
    recommend::RegisterTorchModels();
#endif
    cli::RecommendEnv env{g.data_dir, g.tenant, g.json, [&g] { return OpenStore(g); }};
    if (Status st = cli::RunRecommend(ctx, rf, env); !st.ok()) return Fail(st, g.json);
    return 0;
  }
  if (*forecast_cmd) {
    fo.levels.clear();
    for (const auto& l : analytics::SplitList(fc_levels)) fo.levels.push_back(std::atoi(l.c_str()));
    for (const auto& p : analytics::SplitList(fc_seasons)) fo.seasons.push_back(std::atoi(p.c_str()));
    if (Status st = forecast::ValidateForecastOptions(fo); !st.ok()) return Fail(st, g.json);
    StatusOr<std::vector<forecast::Series>> series = InvalidArgument("no series");
    if (fc_input.empty()) {
      auto snap = load_commerce();
      if (!snap.ok()) return Fail(snap.status(), g.json);
      forecast::DemandOptions dopt;
      dopt.level = fc_level;
      dopt.measure = fc_measure;
      dopt.only = analytics::SplitList(fc_items);
      series = forecast::DailyDemand(*snap, dopt);
    } else {
      series = forecast::ReadSeriesCsv(fc_input);
    }
    if (!series.ok()) return Fail(series.status(), g.json);
    if (*fevaluate) {
      auto names = analytics::SplitList(fc_models);
      const bool with_global = std::erase(names, std::string("global")) > 0;
#ifndef OPSPILOT_WITH_TORCH
      if (with_global) return Fail(ExecTorchBinary(argv), g.json);
#endif
      auto scores = forecast::Evaluate(ctx, *series, fo, names, fc_origins);
      if (!scores.ok()) return Fail(scores.status(), g.json);
#ifdef OPSPILOT_WITH_TORCH
      if (with_global) {
        auto gs = forecast::EvaluateGlobal(ctx, *series, fo, fc_origins);
        if (!gs.ok()) return Fail(gs.status(), g.json);
        scores->push_back(*gs);
      }
#endif
      json out = json::array();
      if (!g.json) std::printf("%-10s %9s %8s %8s", "model", "forecasts", "sMAPE", "MASE");
      if (!g.json) std::printf(" %8s", "RMSSE");
      for (int l : fo.levels) {
        if (!g.json) std::printf("  cover%-3d", l);
      }
      if (!g.json) std::printf("\n");
      for (const auto& sc : *scores) {
        out.push_back({{"model", sc.model}, {"forecasts", sc.forecasts}, {"smape", sc.smape}, {"mase", sc.mase},
                       {"rmsse", sc.rmsse}, {"coverage", sc.coverage}, {"levels", fo.levels}});
        if (!g.json) {
          std::printf("%-10s %9lld %8.3f %8.3f %8.3f", sc.model.c_str(), static_cast<long long>(sc.forecasts), sc.smape,
                      sc.mase, sc.rmsse);
          for (double c : sc.coverage) std::printf("  %7.1f%%", 100 * c);
          std::printf("\n");
        }
      }
      if (g.json) std::cout << json{{"horizon", fo.horizon}, {"origins", fc_origins}, {"models", out}}.dump(2) << "\n";
      return 0;
    }
    std::map<std::string, forecast::Series> future;
    if (!fc_future.empty()) {
      auto fut = forecast::ReadSeriesCsv(fc_future, /*require_value=*/false);
      if (!fut.ok()) return Fail(fut.status(), g.json);
      for (auto& f : *fut) future[f.id] = std::move(f);
    }
    // Series are independent: forecast them in parallel, print in input order.
    std::vector<StatusOr<forecast::Forecast>> results(series->size(), Internal("not forecast"));
    if (fo.model == "global") {
      // One model across all series.
#ifdef OPSPILOT_WITH_TORCH
      auto all = forecast::ForecastGlobal(ctx, *series, fo);
      if (!all.ok()) return Fail(all.status(), g.json);
      for (size_t i = 0; i < all->size(); ++i) results[i] = std::move((*all)[i]);
#else
      return Fail(ExecTorchBinary(argv), g.json);
#endif
    } else {
      ctx.pool().ParallelFor(static_cast<int64_t>(series->size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const auto& s = (*series)[static_cast<size_t>(i)];
          const auto it = future.find(s.id);
          results[static_cast<size_t>(i)] = forecast::ForecastSeries(s, fo, it == future.end() ? nullptr : &it->second);
        }
      });
    }
    // Every series or none: a failure is reported before anything is written.
    for (const auto& f : results) {
      if (!f.ok()) return Fail(f.status().WithContext(fc_input), g.json);
    }
    std::string header = "series_id,timestamp,mean";
    for (int l : fo.levels) header += ",lo_" + std::to_string(l) + ",hi_" + std::to_string(l);
    std::cout << header << ",model\n";
    for (const auto& f : results) {
      for (size_t k = 0; k < f->mean.size(); ++k) {
        char buf[64];
        std::vector<std::string> row = {f->series_id, FormatTimestamp(f->time[k])};
        std::snprintf(buf, sizeof(buf), "%.6g", f->mean[k]);
        row.emplace_back(buf);
        for (size_t l = 0; l < fo.levels.size(); ++l) {
          std::snprintf(buf, sizeof(buf), "%.6g", f->lo[l][k]);
          row.emplace_back(buf);
          std::snprintf(buf, sizeof(buf), "%.6g", f->hi[l][k]);
          row.emplace_back(buf);
        }
        row.push_back(f->detail.empty() ? f->model : f->model + ": " + f->detail);
        std::cout << CsvLine(row) << "\n";
      }
    }
    return 0;
  }
  if (*models) {
    if (*mlist) {
      json out = json::array();
      if (m_task.empty()) {
        auto tasks = registry.Tasks();
        if (!tasks.ok()) return Fail(tasks.status(), g.json);
        for (const auto& t : *tasks) {
          auto serving = registry.Serving(t);
          out.push_back({{"task", t}, {"serving", serving.ok() ? serving->version : ""}});
          if (!g.json) std::cout << t << "  serving " << (serving.ok() ? serving->version : "-") << "\n";
        }
      } else {
        auto list = registry.List(m_task);
        if (!list.ok()) return Fail(list.status(), g.json);
        for (const auto& m : *list) {
          out.push_back({{"version", m.version}, {"serving", m.serving}, {"metadata", m.metadata}});
          if (!g.json) {
            std::cout << (m.serving ? "* " : "  ") << m.version << "  " << m.metadata.value("algorithm", "?") << "  "
                      << m.metadata.value("created_at", "") << "\n";
          }
        }
      }
      if (g.json) std::cout << out.dump(2) << "\n";
      return 0;
    }
    if (*mshow) {
      auto m = m_version.empty() ? registry.Serving(m_task) : registry.Show(m_task, m_version);
      if (!m.ok()) return Fail(m.status(), g.json);
      json out = m->metadata;
      out["version"] = m->version;
      out["serving"] = m->serving;
      out["dir"] = m->dir;
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    if (*mpromote) {
      if (Status st = registry.Promote(m_task, m_version); !st.ok()) return Fail(st, g.json);
      if (!g.json) std::cout << m_task << ": " << m_version << " serves\n";
      return 0;
    }
    if (*mrollback) {
      auto v = registry.Rollback(m_task);
      if (!v.ok()) return Fail(v.status(), g.json);
      if (!g.json) std::cout << m_task << ": rolled back, " << *v << " serves\n";
      return 0;
    }
    if (*mdelete) {
      if (Status st = registry.Delete(m_task, m_version); !st.ok()) return Fail(st, g.json);
      if (!g.json) std::cout << "deleted " << m_task << "/" << m_version << "\n";
      return 0;
    }
  }

  auto store = OpenStore(g);
  if (!store.ok()) return Fail(store.status(), g.json);

  if (*ingest) {
    auto entity = ParseEntity(entity_name);
    if (!entity.ok()) return Fail(entity.status(), g.json);
    io.tenant = g.tenant;
    io.check_references = !no_refs;
    io.reject_dir = (std::filesystem::path(g.data_dir) / "rejects").string();
    io.show_progress = !(g.quiet || g.json);
    if (Status st = ValidateIngestOptions(io); !st.ok()) return Fail(st, g.json);
    Ingestor ingestor(ctx, **store, io);
    json out = json::array();
    int64_t rejected = 0;
    Status first_error;
    for (const auto& f : files) {
      IngestReport report;
      Status st = ingestor.IngestFile(*entity, f, &report);
      rejected += report.rows_rejected;
      if (g.json) {
        json j = ReportJson(report);
        if (!st.ok()) j["error"] = {{"code", StatusCodeName(st.code())}, {"message", st.message()}};
        out.push_back(j);
      } else {
        if (st.ok() || report.rows_read > 0) PrintReport(report, std::cout);
        if (!st.ok()) std::cerr << "opspilot: error: " << st.message() << "\n";
      }
      if (!st.ok() && first_error.ok()) first_error = st;
    }
    if (g.json) std::cout << json{{"loads", out}}.dump(2) << "\n";
    if (!first_error.ok()) return ExitCode(first_error.code());
    if (rejected > io.max_errors) {
      if (!g.json) {
        std::cerr << "opspilot: " << WithCommas(rejected) << " rows rejected (more than --max-errors "
                  << io.max_errors << ")\n";
      }
      return kExitRejected;
    }
    return 0;
  }

  if (*serve) {
#ifndef OPSPILOT_WITH_TORCH
    // A support model that is not fasttext needs the libtorch loaders.
    if (cli::SupportModelNeedsTorch(g.data_dir, g.tenant)) return Fail(ExecTorchBinary(argv), g.json);
#endif
    so.max_body_bytes = static_cast<size_t>(max_body_mb * 1024 * 1024);
    so.reject_dir = (std::filesystem::path(g.data_dir) / "rejects").string();
    so.models_dir = (std::filesystem::path(g.data_dir) / "models").string();
    so.support_dir = (std::filesystem::path(g.data_dir) / "support").string();
    so.streams_dir = (std::filesystem::path(g.data_dir) / "anomaly_streams").string();
    Server server(ctx, **store, so);
    if (Status st = server.Start(); !st.ok()) return Fail(st, g.json);
    std::cout << "opspilot serving on http://" << so.host << ":" << server.port()
              << " (data: " << g.data_dir << "); Ctrl-C stops\n" << std::flush;
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.Stop();
    return 0;
  }

  if (*kcreate) {
    auto r = ParseRole(role);
    if (!r.ok()) return Fail(r.status(), g.json);
    auto created = CreateApiKey(ctx, **store, *r, key_name);
    if (!created.ok()) return Fail(created.status(), g.json);
    if (g.json) {
      std::cout << json{{"key", created->key}, {"key_id", created->record.key_id}, {"role", role}}.dump() << "\n";
    } else {
      std::cout << created->key << "\n";
      std::cerr << "created " << role << " key " << created->record.key_id
                << "; store it now, it is not shown again\n";
    }
    return 0;
  }
  if (*klist) {
    auto list = (*store)->ListApiKeys();
    if (!list.ok()) return Fail(list.status(), g.json);
    json out = json::array();
    for (const auto& k : *list) {
      if (g.json) {
        out.push_back({{"key_id", k.key_id}, {"role", k.role}, {"name", k.name},
                       {"created_at", FormatTimestamp(k.created_at)}, {"revoked", k.revoked}});
      } else {
        std::cout << k.key_id << "  " << k.role << "  " << FormatTimestamp(k.created_at)
                  << (k.revoked ? "  revoked" : "") << (k.name.empty() ? "" : "  " + k.name) << "\n";
      }
    }
    if (g.json) std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (*krevoke) {
    if (Status st = (*store)->RevokeApiKey(revoke_id); !st.ok()) return Fail(st, g.json);
    if (!g.json) std::cout << "revoked " << revoke_id << "\n";
    return 0;
  }

  if (*stats) {
    json tables = json::object();
    if (!g.json) std::cout << "tenant " << g.tenant << " in " << g.data_dir << "\n";
    for (Entity e : AllEntities()) {
      auto st = (*store)->Stats(g.tenant, e);
      if (!st.ok()) return Fail(st.status(), g.json);
      json t = {{"rows", st->rows}};
      if (st->min_time) {
        t["from"] = FormatTimestamp(*st->min_time);
        t["to"] = FormatTimestamp(*st->max_time);
      }
      tables[std::string(EntityName(e))] = t;
      if (!g.json) {
        std::printf("  %-18s %12s", std::string(EntityName(e)).c_str(), WithCommas(st->rows).c_str());
        if (st->min_time) {
          std::printf("   %s .. %s", FormatDate(*st->min_time).c_str(), FormatDate(*st->max_time).c_str());
        }
        std::printf("\n");
      }
    }
    auto loads = (*store)->RecentLoads(g.tenant, 10);
    if (!loads.ok()) return Fail(loads.status(), g.json);
    json lj = json::array();
    if (!g.json && !loads->empty()) std::cout << "recent loads:\n";
    for (const auto& l : *loads) {
      lj.push_back({{"id", l.id}, {"entity", l.entity}, {"source", l.source}, {"status", l.status},
                    {"rows_loaded", l.rows_loaded}, {"rows_rejected", l.rows_rejected}});
      if (!g.json) {
        std::cout << "  #" << l.id << " " << l.entity << " " << l.source << " " << l.status << ": "
                  << WithCommas(l.rows_loaded) << " loaded, " << WithCommas(l.rows_rejected)
                  << " rejected\n";
      }
    }
    if (g.json) {
      std::cout << json{{"tenant", g.tenant}, {"tables", tables}, {"recent_loads", lj}}.dump(2) << "\n";
    }
    return 0;
  }
  return 0;
}

}  // namespace
}  // namespace opspilot

int main(int argc, char** argv) { return opspilot::Main(argc, argv); }
