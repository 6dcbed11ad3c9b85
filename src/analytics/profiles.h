// User profiles, segments and propensity models over an EventLog.
//
// A profile is a row of behaviour features computed as of a time T from the
// events before T: recency, frequency and monetary value of purchases,
// sessions, active days, tenure, event counts per type, favourite category
// and time-of-day pattern. Profiles are TabularData, so the gradient-boosting
// models, drift checks and CSV output apply to them unchanged.
#ifndef OPSPILOT_ANALYTICS_PROFILES_H_
#define OPSPILOT_ANALYTICS_PROFILES_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/context.h"
#include "ml/gbm.h"
#include "ml/tabular.h"
#include "store/snapshot.h"

namespace opspilot::analytics {

struct ProfileOptions {
  int64_t as_of = INT64_MAX;            // only events before this; INT64_MAX = after the last event
  std::string purchase_event = "purchase";
  // Item categories by item code (from the items table); empty = no favourite category.
  std::vector<std::string> item_category;
  // User attributes joined in as categorical features: (name, value by user code).
  std::vector<std::pair<std::string, std::vector<std::string>>> user_attributes;
  // Other dated facts about users (support tickets by intent, ...): each
  // label becomes a feature counting the user's facts before as_of.
  struct Fact {
    int32_t user = -1;  // user code
    int64_t time = 0;
    int32_t label = 0;  // index into fact_labels
  };
  std::vector<Fact> facts;
  std::vector<std::string> fact_labels;  // feature names, e.g. "tickets_refund"
};

// Support tickets of the snapshot's tickets table as profile facts, one
// label per intent ("tickets_<intent>", "tickets" when unlabelled).
void AddTicketFacts(const Snapshot& snap, ProfileOptions* options);

// Every attribute key of the snapshot's users table with at most
// `max_values` distinct values, as (key, value by user code); needs the users
// table in the snapshot.
std::vector<std::pair<std::string, std::vector<std::string>>> UserAttributes(const Snapshot& snap,
                                                                            int max_values = 100);
// One user attribute by user code ("" where unknown), whatever its number of values.
std::vector<std::string> UserAttribute(const Snapshot& snap, const std::string& key);

// Category of every item code (store/snapshot.h).
using opspilot::ItemCategories;

// One row per user with at least one event before as_of; ids are user ids.
// Features: recency_days, frequency, monetary, sessions, active_days,
// tenure_days, events, events_per_active_day, night_share (00-06 UTC),
// weekend_share, count_<type> for every event type, favourite_category and
// the joined user attributes (categorical).
StatusOr<ml::TabularData> Profiles(const Context& ctx, const EventLog& log, const Dictionary& users,
                                   const ProfileOptions& options);

// Users who did `event` at least `min_count` times in [since, until).
std::vector<std::string> Cohort(const EventLog& log, const Dictionary& users, const std::string& event,
                                int min_count, int64_t since, int64_t until);

// ---- Segments ----

struct RfmScores {
  int r = 0, f = 0, m = 0;  // quintile scores 1..5 (5 = best: recent, frequent, valuable)
  std::string segment;      // champions, loyal, potential_loyalist, new, at_risk, hibernating, needs_attention
};
// RFM scores per profile row (needs recency_days, frequency, monetary).
StatusOr<std::vector<RfmScores>> Rfm(const ml::TabularData& profiles);

struct Cluster {
  int64_t size = 0;
  std::vector<double> center;  // standardized feature space
  std::string description;     // its most distinguishing features, in words
};
struct Clustering {
  std::vector<std::string> features;  // the numeric profile features used
  std::vector<int> assignment;        // per profile row
  std::vector<Cluster> clusters;
  double silhouette = 0;              // of the chosen k (on a sample)
  std::vector<std::pair<int, double>> silhouette_by_k;
};
// k-means (k-means++ seeding, seeded from the Context) on standardized
// numeric features; k = `k`, or chosen in [2, 8] by silhouette when k == 0.
StatusOr<Clustering> KMeansSegments(const Context& ctx, const ml::TabularData& profiles, int k = 0);

// ---- Propensity ----

struct PropensityOptions {
  std::string kind = "churn";     // churn: no event in the next horizon; purchase: a purchase in it
  int64_t horizon = 30 * 86400;   // seconds
  ProfileOptions profile;         // as_of is ignored: cut-offs come from the data's end
  ml::GbmOptions gbm;
  int reasons = 3;                // reasons per scored user
  // Score only users active within the last horizon (churn: the ones still
  // worth saving; users gone for months are not news).
  bool only_recently_active = true;
};

struct ScoredUser {
  std::string user;
  double probability = 0;
  std::vector<std::string> reasons;  // "no visit for 21 days", ...
};

struct PropensityResult {
  nlohmann::json metrics;          // validation AUC, PR-AUC, log-loss, Brier, calibration, lift
  std::vector<ScoredUser> scores;  // users active before the end (recently, by default), highest first
  int64_t train_cutoff = 0, valid_cutoff = 0, score_time = 0;
};

// Trains on features as of end - 2*horizon with labels from the following
// horizon, validates on features as of end - horizon (labels up to the end:
// nothing after a cut-off is ever a feature), then scores everyone as of end.
StatusOr<PropensityResult> Propensity(const Context& ctx, const EventLog& log, const Dictionary& users,
                                      const PropensityOptions& options);

// A profile feature and its value in words ("no visit for 21 days").
std::string DescribeFeature(const std::string& feature, double value);

}  // namespace opspilot::analytics

#endif  // OPSPILOT_ANALYTICS_PROFILES_H_
