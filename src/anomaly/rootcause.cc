#include "anomaly/rootcause.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace opspilot::anomaly {
namespace {

struct Sums {
  double n0 = 0, d0 = 0, n1 = 0, d1 = 0;
};

std::string Fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::string SegmentText(const Explanation& e) {
  std::string out;
  for (const auto& [dim, value] : e.segment) {
    if (!out.empty()) out += ", ";
    out += dim + " = " + value;
  }
  return out;
}

}  // namespace

Status ValidateDrillDownOptions(const DrillDownOptions& o) {
  if (!(o.baseline_scale > 0)) return InvalidArgument("baseline_scale must be > 0");
  if (std::isnan(o.min_share)) return InvalidArgument("min_share must be a number");
  if (o.max_results < 1) return InvalidArgument("max_results must be >= 1");
  if (!(o.specific_fraction >= 0 && o.specific_fraction <= 1)) {
    return InvalidArgument("specific_fraction must be in [0, 1]");
  }
  return Status::Ok();
}

StatusOr<DrillDown> ExplainChange(const std::vector<std::string>& names, const std::vector<MetricRow>& rows,
                                  const DrillDownOptions& o) {
  RETURN_IF_ERROR(ValidateDrillDownOptions(o));
  const size_t k = names.size();
  if (k == 0) return InvalidArgument("no dimensions to drill into");
  // Segments keyed by (dimension a, value a, dimension b, value b); b = -1 for singles.
  std::map<std::tuple<int, std::string, int, std::string>, Sums> seg;
  Sums total;
  for (size_t r = 0; r < rows.size(); ++r) {
    const MetricRow& row = rows[r];
    if (row.dims.size() != k) {
      return InvalidArgument("row " + std::to_string(r) + ": " + std::to_string(row.dims.size()) +
                             " dimension values, expected " + std::to_string(k));
    }
    const double d = o.ratio ? row.denominator : 1.0;
    if (!std::isfinite(row.numerator) || !std::isfinite(d) || d < 0) {
      return InvalidArgument("row " + std::to_string(r) + ": numerator and denominator must be finite, denominator >= 0");
    }
    auto add = [&](Sums& s) {
      if (row.anomaly_window) {
        s.n1 += row.numerator;
        s.d1 += d;
      } else {
        s.n0 += row.numerator;
        s.d0 += d;
      }
    };
    add(total);
    for (size_t a = 0; a < k; ++a) {
      add(seg[{static_cast<int>(a), row.dims[a], -1, std::string()}]);
      if (!o.pairs) continue;
      for (size_t b = a + 1; b < k; ++b) add(seg[{static_cast<int>(a), row.dims[a], static_cast<int>(b), row.dims[b]}]);
    }
  }
  if (total.d0 <= 0 || total.d1 <= 0) {
    return InvalidArgument(o.ratio ? "both windows need a positive total denominator"
                                   : "both windows need at least one row");
  }
  DrillDown out;
  if (o.ratio) {
    out.baseline = total.n0 / total.d0;
    out.current = total.n1 / total.d1;
  } else {
    out.baseline = o.baseline_scale * total.n0;
    out.current = total.n1;
  }
  out.change = out.current - out.baseline;
  if (out.change == 0) {
    out.summary = "no change";
    return out;
  }
  std::vector<Explanation> all;
  for (const auto& [key, s] : seg) {
    Explanation e;
    const auto& [a, va, b, vb] = key;
    e.segment.emplace_back(names[static_cast<size_t>(a)], va);
    if (b >= 0) e.segment.emplace_back(names[static_cast<size_t>(b)], vb);
    if (o.ratio) {
      const double w0 = s.d0 / total.d0, w1 = s.d1 / total.d1;
      const double r0 = s.d0 > 0 ? s.n0 / s.d0 : out.baseline;
      const double r1 = s.d1 > 0 ? s.n1 / s.d1 : r0;
      e.contribution = w1 * (r1 - r0) + (w1 - w0) * (r0 - out.baseline);
      e.baseline = r0;
      e.current = r1;
      e.traffic_share = w1;
    } else {
      e.contribution = s.n1 - o.baseline_scale * s.n0;
      e.baseline = o.baseline_scale * s.n0;
      e.current = s.n1;
      e.traffic_share = total.n1 != 0 ? s.n1 / total.n1 : 0;
    }
    e.share = e.contribution / out.change;
    if (e.share >= o.min_share) all.push_back(std::move(e));
  }
  // Largest share first; among equals the simpler segment.
  std::sort(all.begin(), all.end(), [](const Explanation& x, const Explanation& y) {
    if (x.share != y.share) return x.share > y.share;
    return x.segment.size() < y.segment.size();
  });
  // The headline: the best single value, or a pair inside it that explains
  // nearly as much (more specific); else the best pair if no single one fits.
  const Explanation* head = nullptr;
  for (const Explanation& e : all) {
    if (e.segment.size() == 1) {
      head = &e;
      break;
    }
  }
  if (head != nullptr) {
    for (const Explanation& e : all) {
      if (e.segment.size() != 2) continue;
      const bool inside = e.segment[0] == head->segment[0] || e.segment[1] == head->segment[0];
      if (inside && e.share >= o.specific_fraction * head->share) {
        head = &e;
        break;
      }
    }
  } else if (!all.empty()) {
    head = &all.front();
  }
  const double rel = out.baseline != 0 ? 100 * std::fabs(out.change / out.baseline) : 0;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%s of %.1f%% (%s -> %s)", out.change < 0 ? "drop" : "rise", rel,
                Fixed(out.baseline).c_str(), Fixed(out.current).c_str());
  out.summary = buf;
  if (head != nullptr) {
    std::snprintf(buf, sizeof(buf), " is %.0f%% explained by ", 100 * head->share);
    out.summary += buf + SegmentText(*head);
  } else {
    out.summary += " is not concentrated in any one segment";
  }
  if (static_cast<int>(all.size()) > o.max_results) all.resize(static_cast<size_t>(o.max_results));
  out.ranked = std::move(all);
  return out;
}

}  // namespace opspilot::anomaly
