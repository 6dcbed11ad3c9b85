// Generated interaction data with planted taste structure, for tests,
// benchmarks and examples: items belong to genres with Zipf popularity,
// each user prefers one or two genres, and a share of every user's
// interactions follows global popularity instead (the noise a popularity
// baseline can exploit). The truth is returned beside the data.
#ifndef OPSPILOT_RECOMMEND_SYNTHETIC_H_
#define OPSPILOT_RECOMMEND_SYNTHETIC_H_

#include <cstdint>
#include <vector>

#include "recommend/recommend.h"

namespace opspilot::recommend {

struct SyntheticOptions {
  int32_t users = 2000;
  int32_t items = 1000;
  int genres = 20;
  double mean_items_per_user = 40;  // log-normal around this
  double taste_share = 0.8;         // share of interactions from the user's genres
  double zipf = 1.0;                // popularity exponent within and across genres
  int64_t start_time = 1700000000;  // unix seconds; one interaction per hour per user
  uint64_t seed = 7;
};

struct SyntheticData {
  Interactions data;
  Catalog catalog;                      // title "Item <id> <genre>", category = genre
  std::vector<int> item_genre;          // per item code
  std::vector<std::vector<int>> user_genres;  // per user code
};

SyntheticData GenerateTaste(const SyntheticOptions& options);

}  // namespace opspilot::recommend

#endif  // OPSPILOT_RECOMMEND_SYNTHETIC_H_
