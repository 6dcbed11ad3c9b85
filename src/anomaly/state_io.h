// StateIO: one pass over a detector's fields that either writes them to a
// byte string or reads them back, so that each class lists its state once
// (a Serialize(StateIO&) member) and saving and loading cannot disagree.
// Internal to the anomaly module (detectors.cc); Detector::SaveState and
// LoadState are the public doors.
//
// The bytes are the host's (little-endian x86-64 / ARM64: a state file moves
// between such machines, not to a big-endian one). Reading never trusts a
// length: a count larger than the bytes left fails the read, and every
// failure is sticky (ok() false, values read as zero).
#ifndef OPSPILOT_ANOMALY_STATE_IO_H_
#define OPSPILOT_ANOMALY_STATE_IO_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace opspilot::anomaly {

class StateIO {
 public:
  explicit StateIO(std::string* out) : out_(out) {}               // writes
  explicit StateIO(std::string_view in) : in_(in), loading_(true) {}  // reads
  bool loading() const { return loading_; }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  size_t position() const { return pos_; }  // bytes read so far
  // Marks the read failed (a value that contradicts the detector being loaded).
  void Fail() { ok_ = false; }

  template <typename T>
  std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>> operator()(T& v) {
    if (!loading_) {
      out_->append(reinterpret_cast<const char*>(&v), sizeof(T));
      return;
    }
    if (!ok_ || in_.size() - pos_ < sizeof(T)) {
      ok_ = false;
      v = T{};
      return;
    }
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
  }

  // A bool is one byte, 0 or 1 (any other byte is a corrupt state, not a bool).
  void operator()(bool& v) {
    uint8_t b = v ? 1 : 0;
    (*this)(b);
    if (loading_) {
      if (b > 1) ok_ = false;
      v = b == 1;
    }
  }

  // Reads a value that the loaded object already holds (set by its
  // constructor or Init from the saved options) and fails unless the saved
  // one equals it: structural fields are checked, never taken from the bytes.
  template <typename T>
  void Expect(const T& v) {
    T saved = v;
    (*this)(saved);
    if (loading_ && !(saved == v)) ok_ = false;
  }

  // A class with a Serialize(StateIO&) member.
  template <typename T>
  auto operator()(T& v) -> decltype(v.Serialize(std::declval<StateIO&>()), void()) {
    v.Serialize(*this);
  }

  void operator()(std::string& s) {
    uint64_t n = s.size();
    (*this)(n);
    if (!loading_) {
      out_->append(s);
      return;
    }
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      s.clear();
      return;
    }
    s.assign(in_.data() + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
  }

  template <typename A, typename B>
  void operator()(std::pair<A, B>& p) {
    (*this)(p.first);
    (*this)(p.second);
  }

  template <typename T, size_t N>
  void operator()(std::array<T, N>& a) {
    for (T& v : a) (*this)(v);
  }

  // Containers of values: the length, then each element. A loaded container
  // takes the saved length; one of objects that cannot be default-made (built
  // by the detector's Init) must already have it.
  template <typename T>
  void operator()(std::vector<T>& v) {
    Sequence(v);
  }
  template <typename T>
  void operator()(std::deque<T>& v) {
    Sequence(v);
  }

  // An optional that the detector's Init has made (or not): present on both sides or on neither.
  template <typename T>
  void operator()(std::optional<T>& o) {
    bool present = o.has_value();
    (*this)(present);
    if (loading_ && present != o.has_value()) {
      ok_ = false;
      return;
    }
    if (present) (*this)(*o);
  }

 private:
  template <typename C>
  void Sequence(C& c) {
    using T = typename C::value_type;
    uint64_t n = c.size();
    (*this)(n);
    if (loading_) {
      // Every element takes at least a byte: a longer count is a corrupt state.
      if (!ok_ || n > in_.size() - pos_) {
        ok_ = false;
        return;
      }
      if constexpr (std::is_default_constructible_v<T>) {
        c.resize(static_cast<size_t>(n));
      } else if (n != c.size()) {
        ok_ = false;
        return;
      }
    }
    for (T& v : c) {
      (*this)(v);
      if (!ok_) return;
    }
  }

  std::string* out_ = nullptr;
  std::string_view in_;
  size_t pos_ = 0;
  bool loading_ = false, ok_ = true;
};

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_STATE_IO_H_
