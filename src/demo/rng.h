// A small, portable, deterministic random number generator for the demo-shop
// generator. std:: distributions are deliberately not used: their algorithms
// differ between standard libraries, so the same seed would give different
// data on different platforms. Everything here is defined bit-for-bit
// (xoshiro256** seeded by splitmix64) except for the libm calls (log, exp,
// sqrt, cos, lgamma), which are correctly rounded or within 1 ulp on every
// mainstream platform.
#ifndef OPSPILOT_DEMO_RNG_H_
#define OPSPILOT_DEMO_RNG_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace opspilot::demo {

// splitmix64 step: advances `state` and returns a well-mixed 64-bit value.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** with helpers for the distributions the generator needs.
// Independent streams come from (seed, stream) pairs.
class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0) {
    uint64_t sm = seed ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    for (auto& word : s_) word = SplitMix64(sm);
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [a, b).
  double Uniform(double a, double b) { return a + (b - a) * Uniform(); }

  // Uniform integer in [0, n); n > 0. Modulo with rejection (no bias).
  uint64_t Below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x = Next();
    while (x >= limit) x = Next();
    return x % n;
  }
  // Uniform integer in [lo, hi] (inclusive); requires lo <= hi.
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool Bernoulli(double p) { return Uniform() < p; }

  // Standard normal by Box-Muller (the second value is discarded so every
  // call consumes exactly two uniforms).
  double Normal() {
    double u1 = Uniform();
    const double u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double Normal(double mean, double sd) { return mean + sd * Normal(); }
  // exp(N(mu, sigma)).
  double LogNormal(double mu, double sigma) { return std::exp(Normal(mu, sigma)); }

  // Exponential with the given mean.
  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }

  // Poisson(lambda): Knuth's product method below 30, Hormann's PTRS above.
  int64_t Poisson(double lambda) {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const double limit = std::exp(-lambda);
      double prod = Uniform();
      int64_t k = 0;
      while (prod > limit) {
        ++k;
        prod *= Uniform();
      }
      return k;
    }
    const double slam = std::sqrt(lambda);
    const double loglam = std::log(lambda);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2);
    while (true) {
      const double u = Uniform() - 0.5;
      const double v = Uniform();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2 * a / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<int64_t>(k);
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
          -lambda + k * loglam - std::lgamma(k + 1)) {
        return static_cast<int64_t>(k);
      }
    }
  }

  // Index drawn with probability proportional to weights[i] (linear scan).
  size_t Categorical(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.empty() ? 0 : weights.size() - 1;
  }
  size_t Categorical(std::initializer_list<double> weights) {
    return Categorical(std::span<const double>(weights.begin(), weights.size()));
  }

  // Index drawn from an inclusive cumulative-weight array (cdf.back() is the
  // total), by binary search.
  size_t FromCdf(std::span<const double> cdf) {
    if (cdf.empty()) return 0;
    const double x = Uniform() * cdf.back();
    size_t lo = 0, hi = cdf.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (cdf[mid] > x) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  template <typename T>
  const T& Pick(std::span<const T> values) {
    return values[Below(values.size())];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& values) {
    return values[Below(values.size())];
  }

  // Fisher-Yates.
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace opspilot::demo

#endif  // OPSPILOT_DEMO_RNG_H_
