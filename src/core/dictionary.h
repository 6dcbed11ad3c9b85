// String <-> dense index dictionary: ids become int32 codes 0..size()-1 in
// order of first insertion. Not thread-safe for writes; const methods may be
// called concurrently.
#ifndef OPSPILOT_CORE_DICTIONARY_H_
#define OPSPILOT_CORE_DICTIONARY_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/check.h"

namespace opspilot {

class Dictionary {
 public:
  static constexpr int32_t kMissing = -1;

  Dictionary() = default;
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;
  Dictionary(Dictionary&&) = default;
  Dictionary& operator=(Dictionary&&) = default;

  // Returns the code of `key`, adding it if new.
  int32_t Intern(std::string_view key) {
    auto it = index_.find(key);
    if (it != index_.end()) return it->second;
    OP_CHECK(keys_.size() < static_cast<size_t>(INT32_MAX)) << "dictionary full";
    const auto code = static_cast<int32_t>(keys_.size());
    keys_.emplace_back(key);
    // The deque never moves its strings, so the view stays valid.
    index_.emplace(std::string_view(keys_.back()), code);
    return code;
  }
  // Returns the code of `key` or kMissing.
  int32_t Find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? kMissing : it->second;
  }
  // REQUIRES: 0 <= code < size().
  const std::string& Key(int32_t code) const {
    OP_CHECK(code >= 0 && static_cast<size_t>(code) < keys_.size()) << code;
    return keys_[static_cast<size_t>(code)];
  }
  int32_t size() const { return static_cast<int32_t>(keys_.size()); }
  void Reserve(size_t n) { index_.reserve(n); }

 private:
  std::deque<std::string> keys_;
  std::unordered_map<std::string_view, int32_t> index_;
};

}  // namespace opspilot

#endif  // OPSPILOT_CORE_DICTIONARY_H_
