// Pieces shared by the recommend module's files: binary arrays on disk,
// the item -> users transpose, and top-k selection.
#ifndef OPSPILOT_RECOMMEND_INTERNAL_H_
#define OPSPILOT_RECOMMEND_INTERNAL_H_

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "recommend/recommend.h"

namespace opspilot::recommend::internal {

// A raw array: "OPRA" + uint32 element size + uint64 count + the elements.
template <typename T>
Status WriteArray(const std::string& path, std::span<const T> values) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Internal("cannot write " + path);
  const uint32_t size = sizeof(T);
  const uint64_t n = values.size();
  f.write("OPRA", 4);
  f.write(reinterpret_cast<const char*>(&size), sizeof size);
  f.write(reinterpret_cast<const char*>(&n), sizeof n);
  f.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(n * sizeof(T)));
  f.close();
  if (!f) return Internal("error writing " + path);
  return Status::Ok();
}

template <typename T>
Status WriteArray(const std::string& path, const std::vector<T>& values) {
  return WriteArray(path, std::span<const T>(values));
}

template <typename T>
StatusOr<std::vector<T>> ReadArray(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open " + path);
  char magic[4];
  uint32_t size = 0;
  uint64_t n = 0;
  f.read(magic, 4);
  f.read(reinterpret_cast<char*>(&size), sizeof size);
  f.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!f || std::string(magic, 4) != "OPRA" || size != sizeof(T)) {
    return InvalidArgument(path + ": not an opspilot array of " + std::to_string(sizeof(T)) + "-byte elements");
  }
  std::vector<T> out(n);
  f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n * sizeof(T)));
  if (!f) return InvalidArgument(path + ": truncated");
  return out;
}

// JSON files of a model directory; errors name the path.
Status WriteJson(const std::string& path, const nlohmann::json& j);
StatusOr<nlohmann::json> ReadJson(const std::string& path);

// Item -> (user, weight) lists, the transpose of UserItems.
struct ItemUsers {
  std::vector<int64_t> begin;
  std::vector<int32_t> user;
  std::vector<float> weight;
};
ItemUsers Transpose(const UserItems& ui, int32_t num_items);

// The indices of the k largest scores, best first; ties by lower index.
// Entries equal to -inf are never returned.
std::vector<int32_t> TopK(std::span<const float> scores, size_t k);

// Sorts (item, weight) pairs by item and sums the weights of repeated items.
void MergeRepeats(std::vector<std::pair<int32_t, float>>* pairs);

// Distinct users per item, each counting once; with half_life_days > 0 and
// real timestamps (not sequence numbers), decayed by the age of the user's
// last interaction with the item. Only the users whose segment_of_user entry
// is `segment` when segment_of_user is given.
std::vector<float> ItemPopularity(const Interactions& train, double half_life_days,
                                  const std::vector<std::string>* segment_of_user = nullptr,
                                  const std::string& segment = "");

// Orders (score desc, index asc).
inline bool Better(float a, int32_t ia, float b, int32_t ib) { return a > b || (a == b && ia < ib); }

}  // namespace opspilot::recommend::internal

#endif  // OPSPILOT_RECOMMEND_INTERNAL_H_
