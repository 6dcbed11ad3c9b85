#include "demo/demo_shop.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "demo/demo_text.h"
#include "demo/rng.h"

namespace opspilot::demo {
namespace {

using Json = nlohmann::ordered_json;

// ============================================================================
// Planted parameters (all of them end up in truth.json)
// ============================================================================

constexpr int kGeneratorVersion = 1;
constexpr int64_t kDay = 86400;
constexpr int64_t kHour = 3600;

constexpr int kNumRegions = 5;
constexpr std::array<std::string_view, kNumRegions> kRegionNames = {"east", "north", "south", "west",
                                                                     "overseas"};
constexpr int kOverseas = 4;
constexpr int kNumChannels = 3;
constexpr std::array<std::string_view, kNumChannels> kChannelNames = {"app", "web", "mini_program"};
enum Channel { kApp = 0, kWeb = 1, kMiniProgram = 2 };

enum EventType : uint8_t { kView = 0, kSearch, kAddToCart, kPurchase, kLogin, kNumEventTypes };
constexpr std::array<std::string_view, kNumEventTypes> kEventNames = {"view", "search", "add_to_cart",
                                                                      "purchase", "login"};

enum Segment { kChampion = 0, kLoyal, kBargain, kBrowser, kNewUser, kChurner, kFraud, kNumSegments };
enum PriceClass { kBargainPrice = 0, kNeutralPrice = 1, kPremiumPrice = 2 };
constexpr std::array<std::string_view, 3> kPriceClassNames = {"bargain", "neutral", "premium"};
constexpr std::array<double, 3> kPriceExponent = {-0.9, 0.0, 0.6};

struct SegmentParams {
  std::string_view name;
  double share;
  double sessions_per_day;
  double views_per_session;
  double view_to_cart;
  double cart_to_purchase;
  double quantity_mean;
  int price_class;
  double search_prob;
};

constexpr std::array<SegmentParams, kNumSegments> kSegments = {{
    {"champion", 0.05, 0.30, 4.5, 0.30, 0.75, 1.7, kPremiumPrice, 0.35},
    {"loyal", 0.17, 0.11, 3.5, 0.22, 0.62, 1.2, kNeutralPrice, 0.40},
    {"bargain_hunter", 0.15, 0.04, 4.5, 0.12, 0.55, 1.6, kBargainPrice, 0.55},
    {"browser", 0.23, 0.085, 6.5, 0.035, 0.25, 1.0, kNeutralPrice, 0.60},
    {"new", 0.25, 0.07, 3.0, 0.15, 0.45, 1.1, kNeutralPrice, 0.50},
    {"churner", 0.15, 0.11, 3.5, 0.20, 0.55, 1.2, kNeutralPrice, 0.40},
    {"fraud", 0.0, 0.0, 1.0, 1.0, 1.0, 5.0, kPremiumPrice, 0.0},
}};

constexpr std::array<double, kNumChannels> kChannelCartToPurchase = {1.0, 0.95, 0.6};
constexpr std::array<double, kNumChannels> kLoginProb = {0.35, 0.50, 0.15};
constexpr double kPromoViewToCart = 1.4;
constexpr double kBargainPromoViewToCart = 3.0;
constexpr double kBargainNonPromoViewToCart = 0.5;
constexpr double kBargainPromoSessions = 3.5;
constexpr double kRateSigma = 0.35;

// Monday first, mean 1.
constexpr std::array<double, 7> kWeekly = {0.89, 0.85, 0.87, 0.92, 1.01, 1.27, 1.19};
constexpr double kYearlyAmplitude = 0.12;
constexpr double kYearlyPhaseDay = 20;
constexpr double kYearPeriod = 365.25;
constexpr double kAnnualGrowth = 0.35;

constexpr int kNumTastes = 6;
constexpr std::array<std::string_view, kNumTastes> kTasteNames = {
    "fresh_green", "dark_aged", "gongfu_ceremony", "third_wave_coffee", "convenient_caffeine",
    "home_gifting"};
constexpr double kInClusterProb = 0.75;
constexpr double kZipfExponent = 1.0;
constexpr double kSlowItemShare = 0.10;
constexpr double kSlowItemFactor = 0.12;

// Local-time hour profile of session starts.
constexpr std::array<double, 24> kHourProfile = {0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.4, 0.9,
                                                 1.3, 1.5, 1.5,  1.6, 1.8, 1.7,  1.4, 1.3,
                                                 1.3, 1.4, 1.6,  2.0, 2.4, 2.5,  2.1, 1.3};

struct PromoSpec {
  std::string_view name;
  double start_frac;  // start day = round(start_frac * days)
  int length;
  std::vector<std::string_view> categories;
  double discount;
  double uplift;
};
const std::vector<PromoSpec>& PromoSpecs() {
  static const auto* const kPromos = new std::vector<PromoSpec>{
      {"spring_festival_sale", 19.0 / 180, 9, {"gift_sets", "pu_erh", "snacks"}, 0.20, 2.5},
      {"womens_day", 64.0 / 180, 3, {"herbal_tea", "teaware"}, 0.15, 2.0},
      {"new_tea_season", 90.0 / 180, 7, {"green_tea"}, 0.10, 2.2},
      {"mid_year_618", 160.0 / 180, 9, {"coffee_beans", "coffee_gear", "kitchenware"}, 0.25, 2.5},
  };
  return *kPromos;
}

// Churn.
constexpr int kChurnDecayDays = 28;
constexpr double kChurnDecayFloor = 0.2;
constexpr double kPreChurnTickets = 0.5;
constexpr double kPreChurnNegative = 0.9;

// Payments.
constexpr double kBaseFailure = 0.02;
constexpr double kOutageFailure = 0.9;
constexpr double kRetryProb = 0.6;
constexpr double kRefundProb = 0.02;
constexpr int64_t kOutageStartHour = 12;  // UTC = 20:00 Beijing
constexpr int64_t kOutageHours = 3;
constexpr double kOutageTicketProb = 0.5;
constexpr double kFailedTicketProb = 0.06;

// Regional drop.
constexpr int kDropRegion = 0;  // east
constexpr int kDropChannel = kApp;
constexpr int kDropDays = 3;
constexpr double kDropMultiplier = 0.4;  // cart -> purchase

// Fraud burst.
constexpr int64_t kFraudStartSecond = 17 * kHour + 30 * 60;  // 01:30 Beijing
constexpr int64_t kFraudLength = 2 * kHour;
constexpr int kFraudQtyMin = 3, kFraudQtyMax = 8;
constexpr double kFraudHighValueShare = 0.2;  // top 20% prices
constexpr int64_t kFraudAccountAgeMax = 36 * kHour;
constexpr std::string_view kFraudPayment = "card_x";

// Tickets.
constexpr double kOrderTicketProb = 0.015;
constexpr double kBackgroundTicketRate = 0.0004;  // per user-day
constexpr double kRefundTicketProb = 0.5;
constexpr std::array<std::array<double, 3>, kNumIntents> kIntentSentiment = {{
    {0.25, 0.70, 0.05},  // order_status
    {0.50, 0.50, 0.00},  // refund
    {0.60, 0.40, 0.00},  // shipping_delay
    {0.55, 0.45, 0.00},  // payment_failed
    {0.05, 0.80, 0.15},  // product_question
    {0.25, 0.75, 0.00},  // account
    {0.85, 0.15, 0.00},  // complaint
    {0.30, 0.60, 0.10},  // coupon
    {0.10, 0.90, 0.00},  // invoice
    {0.30, 0.70, 0.00},  // cancel_order
    {0.10, 0.80, 0.10},  // change_address
    {0.00, 0.00, 1.00},  // praise
}};

// Competitors.
constexpr int kNumCompetitors = 3;
constexpr std::array<std::string_view, kNumCompetitors> kCompetitors = {"leafmart", "brewhub",
                                                                        "chayuan"};
constexpr std::array<double, kNumCompetitors> kCompetitorLevel = {0.95, 1.02, 0.98};
constexpr std::array<double, kNumCompetitors> kCompetitorZh = {0.3, 0.5, 0.9};
constexpr double kTrackedProb = 0.4;
constexpr int kCutCompetitor = 1;  // brewhub
constexpr std::string_view kCutCategory = "coffee_beans";
constexpr double kCutStartFrac = 0.30;
constexpr int kCutLength = 28;
constexpr double kCutSize = 0.20;
constexpr double kCutOurDemand = 0.75;
constexpr double kCompetitorReviewRate = 0.02;  // per tracked item-day at scale 1

// Reviews. Sources: 0 = our_shop, 1.. = competitors.
constexpr double kOurReviewProb = 0.06;
constexpr std::array<std::array<double, kNumAspects>, kNumCompetitors + 1> kAspectBias = {{
    {0.00, 0.00, 0.05, 0.05, 0.00},    // our_shop
    {0.00, 0.00, 0.00, -0.45, 0.10},   // leafmart: poor shipping, good prices
    {0.00, 0.00, -0.15, 0.00, 0.15},   // brewhub: weak packaging
    {0.08, 0.05, 0.05, 0.00, -0.10},   // chayuan: great taste, pricey
}};

// Inventory.
constexpr double kForecastAlpha = 0.15;
constexpr double kCoverDays = 28;
constexpr int64_t kMinOrder = 6;
constexpr double kSafetyZ = 1.65;
constexpr std::array<int, 2> kDomesticLead = {3, 8};
constexpr std::array<int, 2> kImportLead = {14, 28};

// Countries.
struct Country {
  std::string_view code;
  int region;  // -1 = pick a Chinese region
  int tz_hours;
  double share;
  double zh_share;
};
constexpr std::array<Country, 9> kCountries = {{
    {"CN", -1, 8, 0.65, 0.93},
    {"US", kOverseas, -5, 0.35 * 0.30, 0.08},
    {"SG", kOverseas, 8, 0.35 * 0.14, 0.35},
    {"GB", kOverseas, 0, 0.35 * 0.12, 0.05},
    {"DE", kOverseas, 1, 0.35 * 0.10, 0.03},
    {"JP", kOverseas, 9, 0.35 * 0.10, 0.05},
    {"AU", kOverseas, 10, 0.35 * 0.10, 0.10},
    {"CA", kOverseas, -5, 0.35 * 0.08, 0.10},
    {"FR", kOverseas, 1, 0.35 * 0.06, 0.03},
}};
constexpr std::array<double, 4> kChinaRegionShare = {0.38, 0.24, 0.24, 0.14};
constexpr std::array<std::string_view, 3> kChinaPay = {"alipay", "wechat_pay", "unionpay"};
constexpr std::array<std::string_view, 2> kIntlPay = {"card", "paypal"};
constexpr std::array<std::string_view, 5> kAgeBands = {"18-24", "25-34", "35-44", "45-54", "55+"};
constexpr std::array<std::string_view, 6> kAcquisition = {"organic", "search_ads", "social",
                                                          "referral", "wechat", "influencer"};

// ============================================================================
// Formatting helpers
// ============================================================================

void Append2(std::string& out, unsigned v) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendDate(std::string& out, int64_t unix_seconds) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(DayOf(unix_seconds), &y, &m, &d);
  AppendInt(out, y);
  out += '-';
  Append2(out, m);
  out += '-';
  Append2(out, d);
}

// ISO-8601 with 'Z' (offset_hours = 0) or "+HH:00" / "-HH:00".
void AppendTimestamp(std::string& out, int64_t unix_seconds, int offset_hours = 0) {
  const int64_t local = unix_seconds + offset_hours * kHour;
  AppendDate(out, local);
  const int64_t sod = SecondOfDay(local);
  out += 'T';
  Append2(out, static_cast<unsigned>(sod / 3600));
  out += ':';
  Append2(out, static_cast<unsigned>(sod / 60 % 60));
  out += ':';
  Append2(out, static_cast<unsigned>(sod % 60));
  if (offset_hours == 0) {
    out += 'Z';
  } else {
    out += offset_hours > 0 ? '+' : '-';
    Append2(out, static_cast<unsigned>(std::abs(offset_hours)));
    out += ":00";
  }
}

std::string Timestamp(int64_t unix_seconds) {
  std::string s;
  AppendTimestamp(s, unix_seconds);
  return s;
}
std::string Date(int64_t unix_seconds) {
  std::string s;
  AppendDate(s, unix_seconds);
  return s;
}

void AppendCents(std::string& out, int64_t cents) {
  if (cents < 0) {
    out += '-';
    cents = -cents;
  }
  AppendInt(out, cents / 100);
  out += '.';
  Append2(out, static_cast<unsigned>(cents % 100));
}
std::string Cents(int64_t cents) {
  std::string s;
  AppendCents(s, cents);
  return s;
}

void AppendId(std::string& out, char prefix, int64_t n, int width) {
  out += prefix;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), n);
  for (int i = static_cast<int>(r.ptr - buf); i < width; ++i) out += '0';
  out.append(buf, r.ptr);
}
std::string Id(char prefix, int64_t n, int width) {
  std::string s;
  AppendId(s, prefix, n, width);
  return s;
}

void AppendCsv(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void AppendRate(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%.6f", v);
  out.append(buf, static_cast<size_t>(n));
}

// Rounds to 6 decimals so that JSON numbers print identically everywhere.
double R6(double v) { return std::round(v * 1e6) / 1e6; }

// ============================================================================
// Output files: NAME.tmp, big buffer, renamed on Close.
// ============================================================================

class OutFile {
 public:
  OutFile() = default;
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile() {
    if (file_ != nullptr) {
      std::fclose(file_);
      std::remove(tmp_.c_str());
    }
  }

  Status Open(const std::string& dir, std::string_view name) {
    final_ = (std::filesystem::path(dir) / std::string(name)).string();
    tmp_ = final_ + ".tmp";
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (file_ == nullptr) return Internal("cannot create " + tmp_ + ": " + std::strerror(errno));
    buf_.reserve(kChunk + (1 << 16));
    return Status::Ok();
  }

  std::string& buf() { return buf_; }
  void NewRow() { ++rows_; }
  int64_t rows() const { return rows_; }

  Status MaybeFlush() { return buf_.size() >= kChunk ? Flush() : Status::Ok(); }

  Status Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      return Internal("cannot write " + tmp_ + ": " + std::strerror(errno));
    }
    buf_.clear();
    return Status::Ok();
  }

  Status Close() {
    RETURN_IF_ERROR(Flush());
    FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) {
      std::remove(tmp_.c_str());
      return Internal("cannot write " + tmp_ + ": " + std::strerror(errno));
    }
    std::error_code ec;
    std::filesystem::rename(tmp_, final_, ec);
    if (ec) {
      std::remove(tmp_.c_str());
      return Internal("cannot rename " + tmp_ + " to " + final_ + ": " + ec.message());
    }
    return Status::Ok();
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  FILE* file_ = nullptr;
  std::string tmp_, final_, buf_;
  int64_t rows_ = 0;
};

// ============================================================================
// Entities
// ============================================================================

struct Item {
  std::string id, title, name_zh, name_en, text, brand, origin;
  int cat = 0;
  int taste = 0;
  int64_t price = 0;  // cents
  int64_t cost = 0;   // cents
  double weight = 0;  // popularity within the taste cluster (cluster sums to 1)
  double price_rel = 1;  // price / category median
  bool slow = false;
  bool high_value = false;
  int lead = 5;
  double quality = 0.7;  // probability an aspect is mentioned positively
};

struct User {
  int segment = 0;
  int taste = 0;
  int country = 0;
  int region = 0;
  int tz = 8;
  bool zh = true;
  int pref_channel = 0;
  int pay = 0;  // index into the country group's methods
  int age_band = 0;
  int acquisition = 0;
  int64_t created_at = 0;
  int first_day = 0;
  int churn_day = -1;
  double rate_mult = 1;
  double ticket_mult = 1;
};

struct Event {
  int64_t ts;
  uint32_t seq;
  uint32_t user;
  int32_t item;  // -1 = none
  uint32_t session;
  int64_t value;  // cents, -1 = none
  uint8_t type, channel, region;
};

enum OrderStatus : uint8_t { kPaid = 0, kRefunded, kFailed };
constexpr std::array<std::string_view, 3> kStatusNames = {"paid", "refunded", "failed"};

struct Line {
  int32_t item;
  int32_t qty;
  int64_t unit;  // cents
};

struct Order {
  int64_t ts;
  uint32_t seq;
  uint32_t user;
  uint32_t first_line;  // into the owning lines vector
  uint16_t n_lines;
  uint8_t channel, region, status;
  bool fraud;
  int64_t total;  // cents
};

struct SessionPlan {
  int64_t start;
  uint32_t user;
  uint8_t channel;
  int32_t fraud_slot;  // -1 = normal session
};

struct CellStats {
  int64_t sessions = 0, converted = 0, attempts = 0, successes = 0, revenue = 0;
};
struct HourStats {
  int64_t attempts = 0, successes = 0;
};

struct Promo {
  std::string name;
  int start_day, end_day;  // [start, end)
  std::vector<int> cats;
  std::vector<std::string> cat_names;
  double discount, uplift;
};

struct Ticket {
  int64_t ts;
  uint32_t seq;
  uint32_t user;
  int intent, sentiment;
  bool zh;
  int channel;  // 0 email, 1 chat, 2 app
  bool resolved;
  int64_t order;  // -1 = none
  std::string text;
};

struct Review {
  int64_t ts;
  uint32_t seq;
  int source;
  int item;
  int rating;
  std::string text;
};

int Width(int64_t count, int min_width) {
  int w = 1;
  for (int64_t c = count; c >= 10; c /= 10) ++w;
  return std::max(w, min_width);
}

// ============================================================================
// The generator
// ============================================================================

class Generator {
 public:
  Generator(const DemoOptions& o, std::string dir,
            const std::function<void(std::string_view, double)>& progress)
      : opt_(o), dir_(std::move(dir)), progress_(progress) {}

  StatusOr<DemoSummary> Run();

 private:
  void Progress(std::string_view stage, double f) {
    if (progress_) progress_(stage, std::clamp(f, 0.0, 1.0));
  }
  int64_t DayStart(int d) const { return opt_.start_unix + d * kDay; }
  int64_t End() const { return DayStart(opt_.days); }
  int Weekday(int d) const { return WeekdayOfDay(DayOf(DayStart(d))); }  // 0 = Monday
  double YearlyFactor(int d) const {
    const int64_t days = DayOf(DayStart(d));
    int64_t y;
    unsigned m, dd;
    CivilFromDays(days, &y, &m, &dd);
    const double doy = static_cast<double>(days - DaysFromCivil(y, 1, 1));
    return 1 + kYearlyAmplitude * std::sin(2 * std::numbers::pi * (doy - kYearlyPhaseDay) / kYearPeriod);
  }
  // Competitor reviews per tracked item-day (not below 0.3x so that small
  // demos still have enough of them to compare).
  double CompetitorReviewRate() const { return kCompetitorReviewRate * std::max(opt_.scale, 0.3); }
  double TrendFactor(int d) const { return 1 + kAnnualGrowth * d / 365.0; }
  double DayFactor(int d) const { return kWeekly[Weekday(d)] * YearlyFactor(d) * TrendFactor(d); }

  void SetUpCalendar();
  void MakeItems();
  void MakeUsers();
  void EstimateDemand();
  void PrepareDay(int d);
  int PickItem(const User& u);
  bool Outage(int64_t ts) const { return ts >= outage_start_ && ts < outage_end_; }
  bool DropActive(int d, int region, int channel) const {
    return d >= drop_start_day_ && d < drop_start_day_ + kDropDays && region == kDropRegion &&
           channel == kDropChannel;
  }
  int64_t Clamp(int64_t t) const { return std::min(t, day_end_ - 1); }
  void Emit(int64_t t, uint32_t user, int32_t item, uint32_t session, int64_t value, EventType type,
            int channel, int region);
  void RunSession(const SessionPlan& sp, uint32_t session_id);
  void RunFraudSession(const SessionPlan& sp, uint32_t session_id);
  // Places an order with payment, retries once after a failure. Returns true
  // when the payment succeeded.
  bool Checkout(uint32_t user, uint32_t session, int64_t t, std::vector<Line>& lines, int channel,
                int region, bool fraud, bool allow_retry);
  Status SimulateDays(OutFile& events, OutFile& orders, OutFile& inventory);
  Status WriteUsers();
  Status WriteItems();
  void MakeTickets();
  void MakeReviews();
  Status WriteTickets();
  Status WriteReviews();
  Status WriteCompetitorPrices();
  Status WriteMetrics();
  Status WriteTruth();
  std::string PayMethod(const User& u) const {
    return std::string(kCountries[u.country].region < 0 ? kChinaPay[u.pay] : kIntlPay[u.pay]);
  }
  std::string OrderRef(int64_t order_index, Rng& rng) const;
  std::string Email(Rng& rng) const;
  std::string Phone(const User& u, Rng& rng) const;

  DemoOptions opt_;
  std::string dir_;
  const std::function<void(std::string_view, double)>& progress_;

  Rng rng_sim_{0};
  std::vector<Item> items_;
  std::vector<std::vector<int>> pool_members_;  // [taste] and [kNumTastes] = all
  std::vector<double> cdf_[kNumTastes + 1][3];
  std::vector<User> users_;
  int n_regular_users_ = 0;
  std::vector<double> taste_share_;

  std::vector<Promo> promos_;
  int outage_day_ = 0, drop_start_day_ = 0, fraud_day_ = 0, cut_start_day_ = 0, cut_end_day_ = 0;
  int churn_first_ = 0, churn_last_ = 0;
  int64_t outage_start_ = 0, outage_end_ = 0, fraud_start_ = 0, fraud_end_ = 0;
  int fraud_orders_target_ = 0, fraud_accounts_ = 0;
  std::vector<int> high_value_items_;
  int cut_cat_ = -1;

  // Day state.
  int day_ = 0;
  int64_t day_end_ = 0;
  std::vector<char> promo_item_;
  std::vector<int64_t> unit_price_;
  bool any_promo_ = false;
  std::vector<Event> day_events_;
  std::vector<Order> day_orders_;
  std::vector<Line> day_lines_;
  uint32_t seq_ = 0;

  // Inventory state.
  std::vector<int64_t> on_hand_, on_order_, day_sales_;
  std::vector<double> forecast_;
  std::vector<std::vector<std::pair<int, int64_t>>> arrivals_;  // [day] -> (item, qty)

  // Results.
  std::vector<Order> orders_;  // global, index = order number - 1
  std::vector<Line> lines_;
  std::vector<int64_t> fraud_order_ids_;
  std::vector<CellStats> cells_;  // [day][region][channel]
  std::vector<HourStats> hours_;  // [day * 24 + hour]
  std::vector<Ticket> tickets_;
  std::vector<Review> reviews_;
  std::vector<std::vector<int>> tracked_;  // [competitor] -> items
  int64_t sessions_ = 0;
  std::array<int64_t, kNumEventTypes> events_by_type_{};
  int64_t failed_orders_ = 0;
  DemoSummary summary_;
  int uid_width_ = 5, iid_width_ = 4, oid_width_ = 7;
};

// ---------------------------------------------------------------------------

void Generator::SetUpCalendar() {
  const int days = opt_.days;
  const auto& cats = Categories();
  for (const auto& spec : PromoSpecs()) {
    Promo p;
    p.name = std::string(spec.name);
    p.start_day = static_cast<int>(std::lround(spec.start_frac * days));
    p.end_day = std::min(days, p.start_day + spec.length);
    if (p.start_day >= p.end_day) continue;
    for (auto c : spec.categories) {
      for (size_t k = 0; k < cats.size(); ++k) {
        if (cats[k].name == c) p.cats.push_back(static_cast<int>(k));
      }
      p.cat_names.emplace_back(c);
    }
    p.discount = spec.discount;
    p.uplift = spec.uplift;
    promos_.push_back(std::move(p));
  }
  outage_day_ = static_cast<int>(std::lround(0.55 * days));
  outage_start_ = DayStart(outage_day_) + kOutageStartHour * kHour;
  outage_end_ = outage_start_ + kOutageHours * kHour;
  drop_start_day_ = static_cast<int>(std::lround(0.40 * days));
  fraud_day_ = static_cast<int>(std::lround(0.70 * days));
  fraud_start_ = DayStart(fraud_day_) + kFraudStartSecond;
  fraud_end_ = fraud_start_ + kFraudLength;
  cut_start_day_ = static_cast<int>(std::lround(kCutStartFrac * days));
  cut_end_day_ = std::min(days, cut_start_day_ + kCutLength);
  for (size_t k = 0; k < cats.size(); ++k) {
    if (cats[k].name == kCutCategory) cut_cat_ = static_cast<int>(k);
  }
  churn_first_ = static_cast<int>(std::lround(0.2 * days));
  churn_last_ = days - 14;
  fraud_orders_target_ = std::max(12, static_cast<int>(std::lround(150 * opt_.scale)));
  fraud_accounts_ = std::max(4, static_cast<int>(std::lround(fraud_orders_target_ / 2.5)));
}

void Generator::MakeItems() {
  Rng rng(opt_.seed, 1);
  const auto& cats = Categories();
  const int n_items =
      opt_.scale >= 0.25 ? 800 : std::max(60, static_cast<int>(std::lround(3200 * opt_.scale)));
  iid_width_ = Width(n_items, 4);
  const int n_cats = static_cast<int>(cats.size());
  items_.resize(n_items);
  std::vector<std::vector<int>> by_cat(n_cats);
  for (int i = 0; i < n_items; ++i) {
    Item& it = items_[i];
    it.cat = i % n_cats;
    const CategoryVocab& cv = cats[it.cat];
    by_cat[it.cat].push_back(i);
    it.id = Id('i', i + 1, iid_width_);
    const ProductBase& pb = cv.products[rng.Below(cv.products.size())];
    const char* variant = cv.variants[rng.Below(cv.variants.size())];
    const char* size = cv.sizes[rng.Below(cv.sizes.size())];
    it.name_zh = pb.zh;
    it.name_en = pb.en;
    it.title = std::string(pb.zh) + " " + pb.en + " " + variant + " " + size;
    it.brand = cv.brands[rng.Below(cv.brands.size())];
    it.origin = cv.origins[rng.Below(cv.origins.size())];
    const std::pair<std::string_view, std::string_view> slots[] = {{"en", it.name_en},
                                                                   {"origin", it.origin}};
    std::string text = FillTemplate(cv.descriptions[rng.Below(cv.descriptions.size())], slots);
    const auto generic = GenericItemSentences();
    const char* g = generic[rng.Below(generic.size())];
    text += (static_cast<unsigned char>(g[0]) >= 0x80) ? "" : " ";
    text += g;
    it.text = std::move(text);
    const double price = std::exp(rng.Uniform(std::log(cv.price_lo), std::log(cv.price_hi)));
    int64_t cents = static_cast<int64_t>(std::llround(price)) * 100;
    if (rng.Bernoulli(0.5)) cents -= 10;  // x9.90 style prices
    it.price = std::max<int64_t>(cents, 490);
    it.cost = it.price * rng.Int(35, 60) / 100;
    // Taste cluster: mostly the category's primary cluster.
    const double u = rng.Uniform();
    if (u < 0.6) {
      it.taste = cv.primary_taste;
    } else if (u < 0.85) {
      it.taste = cv.secondary_taste;
    } else {
      it.taste = static_cast<int>(rng.Below(kNumTastes));
    }
    const bool import = IsImportOrigin(it.origin);
    it.lead = import ? static_cast<int>(rng.Int(kImportLead[0], kImportLead[1]))
                     : static_cast<int>(rng.Int(kDomesticLead[0], kDomesticLead[1]));
    it.quality = rng.Uniform(0.5, 0.92);
    it.slow = rng.Bernoulli(kSlowItemShare);
  }
  // Price relative to the category median.
  for (int c = 0; c < n_cats; ++c) {
    std::vector<int64_t> prices;
    for (int i : by_cat[c]) prices.push_back(items_[i].price);
    if (prices.empty()) continue;
    std::sort(prices.begin(), prices.end());
    const double median = static_cast<double>(prices[prices.size() / 2]);
    for (int i : by_cat[c]) items_[i].price_rel = items_[i].price / median;
  }
  // High-value items: the top share by price.
  std::vector<int> order(n_items);
  for (int i = 0; i < n_items; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return items_[a].price > items_[b].price; });
  const int n_high = std::max(5, static_cast<int>(n_items * kFraudHighValueShare));
  for (int k = 0; k < n_high; ++k) {
    items_[order[k]].high_value = true;
    high_value_items_.push_back(order[k]);
  }
  std::sort(high_value_items_.begin(), high_value_items_.end());
  // Zipf popularity within each taste cluster over a random rank order.
  pool_members_.assign(kNumTastes + 1, {});
  for (int i = 0; i < n_items; ++i) {
    pool_members_[items_[i].taste].push_back(i);
    pool_members_[kNumTastes].push_back(i);
  }
  for (int t = 0; t < kNumTastes; ++t) {
    std::vector<int> ranks = pool_members_[t];
    rng.Shuffle(ranks);
    double total = 0;
    for (size_t r = 0; r < ranks.size(); ++r) {
      Item& it = items_[ranks[r]];
      it.weight = std::pow(static_cast<double>(r + 1), -kZipfExponent) * (it.slow ? kSlowItemFactor : 1);
      total += it.weight;
    }
    for (int i : ranks) items_[i].weight /= total;
  }
  for (int t = 0; t <= kNumTastes; ++t) {
    for (int c = 0; c < 3; ++c) cdf_[t][c].resize(pool_members_[t].size());
  }
  promo_item_.assign(n_items, 0);
  unit_price_.assign(n_items, 0);
}

void Generator::MakeUsers() {
  Rng rng(opt_.seed, 2);
  const int n = std::max(50, static_cast<int>(std::lround(20000 * opt_.scale)));
  n_regular_users_ = n;
  const int n_total = n + fraud_accounts_;
  uid_width_ = Width(n_total, 5);
  users_.resize(n_total);
  std::array<double, kNumSegments> seg_w{};
  for (int s = 0; s < kNumSegments; ++s) seg_w[s] = kSegments[s].share;
  std::array<double, kCountries.size()> country_w{};
  for (size_t c = 0; c < kCountries.size(); ++c) country_w[c] = kCountries[c].share;
  taste_share_.assign(kNumTastes, 0);
  for (int i = 0; i < n_total; ++i) {
    User& u = users_[i];
    const bool fraud = i >= n;
    u.segment = fraud ? kFraud : static_cast<int>(rng.Categorical(seg_w));
    u.taste = static_cast<int>(rng.Below(kNumTastes));
    if (!fraud) taste_share_[u.taste] += 1.0 / n;
    u.country = fraud ? 0 : static_cast<int>(rng.Categorical(country_w));
    const Country& c = kCountries[u.country];
    u.region = c.region >= 0 ? c.region : static_cast<int>(rng.Categorical(kChinaRegionShare));
    u.tz = c.tz_hours;
    u.zh = rng.Bernoulli(c.zh_share);
    if (c.region < 0) {
      u.pref_channel = static_cast<int>(rng.Categorical({0.45, 0.20, 0.35}));
      u.pay = static_cast<int>(rng.Categorical({0.5, 0.4, 0.1}));
    } else {
      u.pref_channel = static_cast<int>(rng.Categorical({0.35, 0.60, 0.05}));
      u.pay = static_cast<int>(rng.Categorical({0.7, 0.3}));
    }
    u.age_band = static_cast<int>(rng.Categorical({0.18, 0.36, 0.24, 0.14, 0.08}));
    u.acquisition = static_cast<int>(rng.Categorical({0.35, 0.2, 0.15, 0.1, 0.12, 0.08}));
    u.rate_mult = std::exp(rng.Normal(0, kRateSigma) - kRateSigma * kRateSigma / 2);
    u.ticket_mult = (c.region < 0 ? 1.0 : 1.3) * (u.segment == kChampion ? 1.2 : 1.0);
    if (fraud) {
      u.pref_channel = rng.Bernoulli(0.7) ? kWeb : kApp;
      u.created_at = fraud_start_ - rng.Int(kHour, kFraudAccountAgeMax);
      u.first_day = opt_.days;  // never takes part in normal sessions
      u.acquisition = 0;
    } else if (u.segment == kNewUser) {
      const int64_t span = static_cast<int64_t>(opt_.days - 7) * kDay;
      u.created_at = opt_.start_unix + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
      u.first_day = static_cast<int>((u.created_at - opt_.start_unix) / kDay);
    } else {
      u.created_at = opt_.start_unix - rng.Int(kDay, 720 * kDay);
      u.first_day = 0;
    }
    if (u.segment == kChurner) u.churn_day = static_cast<int>(rng.Int(churn_first_, churn_last_));
  }
}

// A rough prior for each item's daily unit sales, to size the initial stock.
void Generator::EstimateDemand() {
  double total = 0;
  for (int i = 0; i < n_regular_users_; ++i) {
    const User& u = users_[i];
    const SegmentParams& s = kSegments[u.segment];
    double active = 1.0;
    if (u.segment == kNewUser) active = std::max(0.0, 1.0 - u.first_day / double(opt_.days));
    if (u.churn_day >= 0) active = u.churn_day / double(opt_.days);
    total += s.sessions_per_day * u.rate_mult * active * s.views_per_session * s.view_to_cart *
             s.cart_to_purchase * 0.9 * s.quantity_mean;
  }
  const int n = static_cast<int>(items_.size());
  forecast_.assign(n, 0);
  on_hand_.assign(n, 0);
  on_order_.assign(n, 0);
  day_sales_.assign(n, 0);
  arrivals_.assign(opt_.days + 64, {});
  for (int i = 0; i < n; ++i) {
    const Item& it = items_[i];
    const double share = kInClusterProb * taste_share_[it.taste] * it.weight +
                         (1 - kInClusterProb) * it.weight / kNumTastes;
    forecast_[i] = total * share;
    on_hand_[i] = static_cast<int64_t>(std::ceil(forecast_[i] * 30)) + 4;
  }
}

void Generator::PrepareDay(int d) {
  day_ = d;
  day_end_ = DayStart(d + 1);
  const int n = static_cast<int>(items_.size());
  any_promo_ = false;
  std::vector<double> uplift(n, 1.0);
  for (int i = 0; i < n; ++i) {
    promo_item_[i] = 0;
    unit_price_[i] = items_[i].price;
  }
  for (const Promo& p : promos_) {
    if (d < p.start_day || d >= p.end_day) continue;
    any_promo_ = true;
    for (int i = 0; i < n; ++i) {
      if (std::find(p.cats.begin(), p.cats.end(), items_[i].cat) == p.cats.end()) continue;
      promo_item_[i] = 1;
      uplift[i] = p.uplift;
      unit_price_[i] = static_cast<int64_t>(std::llround(items_[i].price * (1 - p.discount)));
    }
  }
  if (d >= cut_start_day_ && d < cut_end_day_) {
    for (int i = 0; i < n; ++i) {
      if (items_[i].cat == cut_cat_) uplift[i] *= kCutOurDemand;
    }
  }
  for (int t = 0; t <= kNumTastes; ++t) {
    const auto& members = pool_members_[t];
    for (int c = 0; c < 3; ++c) {
      double acc = 0;
      for (size_t k = 0; k < members.size(); ++k) {
        const Item& it = items_[members[k]];
        double w = it.weight * uplift[members[k]];
        if (kPriceExponent[c] != 0) w *= std::pow(it.price_rel, kPriceExponent[c]);
        acc += w;
        cdf_[t][c][k] = acc;
      }
    }
  }
}

int Generator::PickItem(const User& u) {
  const int pool = rng_sim_.Bernoulli(kInClusterProb) ? u.taste : kNumTastes;
  const int pc = kSegments[u.segment].price_class;
  const size_t k = rng_sim_.FromCdf(cdf_[pool][pc]);
  return pool_members_[pool][k];
}

void Generator::Emit(int64_t t, uint32_t user, int32_t item, uint32_t session, int64_t value,
                     EventType type, int channel, int region) {
  day_events_.push_back(Event{Clamp(t), seq_++, user, item, session, value, type,
                              static_cast<uint8_t>(channel), static_cast<uint8_t>(region)});
}

bool Generator::Checkout(uint32_t user, uint32_t session, int64_t t, std::vector<Line>& lines,
                         int channel, int region, bool fraud, bool allow_retry) {
  // Sales never exceed stock: lines shrink to what is on hand.
  std::vector<Line> avail;
  for (Line l : lines) {
    l.qty = static_cast<int32_t>(std::min<int64_t>(l.qty, on_hand_[l.item]));
    if (l.qty > 0) avail.push_back(l);
  }
  if (avail.empty()) return false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    t = Clamp(t);
    const double p_fail = fraud ? 0.0 : (Outage(t) ? kOutageFailure : kBaseFailure);
    const bool failed = rng_sim_.Bernoulli(p_fail);
    Order o{};
    o.ts = t;
    o.seq = seq_++;
    o.user = user;
    o.first_line = static_cast<uint32_t>(day_lines_.size());
    o.n_lines = static_cast<uint16_t>(avail.size());
    o.channel = static_cast<uint8_t>(channel);
    o.region = static_cast<uint8_t>(region);
    o.fraud = fraud;
    o.status = failed ? kFailed : (!fraud && rng_sim_.Bernoulli(kRefundProb) ? kRefunded : kPaid);
    o.total = 0;
    for (const Line& l : avail) {
      day_lines_.push_back(l);
      o.total += l.qty * l.unit;
    }
    day_orders_.push_back(o);
    const int hour = static_cast<int>((t - DayStart(day_)) / kHour);
    CellStats& cell = cells_[(static_cast<size_t>(day_) * kNumRegions + region) * kNumChannels + channel];
    HourStats& hs = hours_[static_cast<size_t>(day_) * 24 + std::clamp(hour, 0, 23)];
    ++cell.attempts;
    ++hs.attempts;
    if (!failed) {
      ++cell.successes;
      ++hs.successes;
      cell.revenue += o.total;
      for (const Line& l : avail) {
        Emit(t, user, l.item, session, l.unit, kPurchase, channel, region);
        on_hand_[l.item] -= l.qty;
        day_sales_[l.item] += l.qty;
      }
      return true;
    }
    ++failed_orders_;
    if (!allow_retry || attempt > 0 || !rng_sim_.Bernoulli(kRetryProb)) return false;
    t += 30 + static_cast<int64_t>(rng_sim_.Exponential(90));
  }
  return false;
}

void Generator::RunSession(const SessionPlan& sp, uint32_t sid) {
  const User& u = users_[sp.user];
  const SegmentParams& s = kSegments[u.segment];
  const int ch = sp.channel;
  const int region = u.region;
  CellStats& cell = cells_[(static_cast<size_t>(day_) * kNumRegions + region) * kNumChannels + ch];
  ++cell.sessions;
  int64_t t = sp.start;
  if (rng_sim_.Bernoulli(kLoginProb[ch])) {
    Emit(t, sp.user, -1, sid, -1, kLogin, ch, region);
    t += 3 + static_cast<int64_t>(rng_sim_.Exponential(12));
  }
  int searches = 0;
  if (rng_sim_.Bernoulli(s.search_prob)) searches = 1 + (rng_sim_.Bernoulli(0.35) ? 1 : 0);
  const int64_t views = 1 + rng_sim_.Poisson(s.views_per_session - 1);
  std::vector<Line> cart;
  for (int64_t v = 0; v < views; ++v) {
    if (searches > 0 && (v == 0 || rng_sim_.Bernoulli(0.5))) {
      Emit(t, sp.user, -1, sid, -1, kSearch, ch, region);
      t += 5 + static_cast<int64_t>(rng_sim_.Exponential(20));
      --searches;
    }
    const int item = PickItem(u);
    Emit(t, sp.user, item, sid, -1, kView, ch, region);
    t += 8 + static_cast<int64_t>(rng_sim_.Exponential(40));
    double pc = s.view_to_cart;
    if (u.segment == kBargain) {
      pc *= promo_item_[item] ? kBargainPromoViewToCart : kBargainNonPromoViewToCart;
    } else if (promo_item_[item]) {
      pc *= kPromoViewToCart;
    }
    const bool in_cart =
        std::any_of(cart.begin(), cart.end(), [&](const Line& l) { return l.item == item; });
    if (!in_cart && rng_sim_.Bernoulli(std::min(pc, 0.95))) {
      Emit(t, sp.user, item, sid, unit_price_[item], kAddToCart, ch, region);
      t += 4 + static_cast<int64_t>(rng_sim_.Exponential(15));
      cart.push_back(Line{item, 1, unit_price_[item]});
    }
  }
  if (cart.empty()) return;
  t += 10 + static_cast<int64_t>(rng_sim_.Exponential(40));
  // Regional conversion drop: most carts are abandoned at checkout.
  if (DropActive(day_, region, ch) && rng_sim_.Bernoulli(1 - kDropMultiplier)) return;
  const double p = s.cart_to_purchase * kChannelCartToPurchase[ch];
  std::vector<Line> lines;
  for (const Line& l : cart) {
    if (!rng_sim_.Bernoulli(p)) continue;
    const int64_t q = 1 + rng_sim_.Poisson(s.quantity_mean - 1);
    lines.push_back(Line{l.item, static_cast<int32_t>(std::min<int64_t>(q, 6)), l.unit});
  }
  if (lines.empty()) return;
  if (Checkout(sp.user, sid, t, lines, ch, region, false, true)) ++cell.converted;
}

void Generator::RunFraudSession(const SessionPlan& sp, uint32_t sid) {
  const User& u = users_[sp.user];
  const int ch = sp.channel;
  const int region = u.region;
  CellStats& cell = cells_[(static_cast<size_t>(day_) * kNumRegions + region) * kNumChannels + ch];
  ++cell.sessions;
  int64_t t = sp.start;
  Emit(t, sp.user, -1, sid, -1, kLogin, ch, region);
  t += 2 + rng_sim_.Int(0, 6);
  const int n_lines = rng_sim_.Bernoulli(0.3) ? 2 : 1;
  std::vector<Line> lines;
  for (int k = 0; k < n_lines; ++k) {
    int item = -1;
    for (int tries = 0; tries < 40 && item < 0; ++tries) {
      const int cand = high_value_items_[rng_sim_.Below(high_value_items_.size())];
      const bool dup =
          std::any_of(lines.begin(), lines.end(), [&](const Line& l) { return l.item == cand; });
      if (!dup && on_hand_[cand] >= kFraudQtyMin) item = cand;
    }
    if (item < 0) continue;
    Emit(t, sp.user, item, sid, -1, kView, ch, region);
    t += 3 + rng_sim_.Int(0, 10);
    Emit(t, sp.user, item, sid, unit_price_[item], kAddToCart, ch, region);
    t += 2 + rng_sim_.Int(0, 5);
    lines.push_back(Line{item, static_cast<int32_t>(rng_sim_.Int(kFraudQtyMin, kFraudQtyMax)),
                         unit_price_[item]});
  }
  if (lines.empty()) return;
  t = std::min(t + 5, fraud_end_ - 1);
  if (Checkout(sp.user, sid, t, lines, ch, region, true, false)) ++cell.converted;
}

Status Generator::SimulateDays(OutFile& events, OutFile& orders, OutFile& inventory) {
  const int days = opt_.days;
  const int n_items = static_cast<int>(items_.size());
  cells_.assign(static_cast<size_t>(days) * kNumRegions * kNumChannels, CellStats{});
  hours_.assign(static_cast<size_t>(days) * 24, HourStats{});
  rng_sim_ = Rng(opt_.seed, 3);
  std::vector<double> hour_cdf(24);
  double acc = 0;
  for (int h = 0; h < 24; ++h) hour_cdf[h] = (acc += kHourProfile[h]);
  std::vector<SessionPlan> plans;
  uint32_t session_counter = 0;
  int64_t event_counter = 0;
  const int eid_width = 7, sid_width = 7;
  events.buf() += "event_id,user_id,event_type,item_id,timestamp,session_id,value,channel,region\n";
  orders.buf() +=
      "order_id,user_id,item_id,quantity,unit_price,timestamp,country,region,channel,payment_method,"
      "status\n";
  inventory.buf() += "item_id,date,on_hand,on_order,lead_time_days,unit_cost\n";
  for (int d = 0; d < days; ++d) {
    PrepareDay(d);
    const int64_t day_start = DayStart(d);
    // Replenishment arrivals.
    for (const auto& [item, qty] : arrivals_[d]) {
      on_hand_[item] += qty;
      on_order_[item] -= qty;
    }
    std::fill(day_sales_.begin(), day_sales_.end(), 0);
    // Plan sessions.
    plans.clear();
    const double factor = DayFactor(d);
    for (int i = 0; i < n_regular_users_; ++i) {
      const User& u = users_[i];
      if (d < u.first_day || (u.churn_day >= 0 && d >= u.churn_day)) continue;
      const SegmentParams& s = kSegments[u.segment];
      double lam = s.sessions_per_day * u.rate_mult * factor;
      if (u.segment == kBargain && any_promo_) lam *= kBargainPromoSessions;
      if (u.churn_day >= 0 && d >= u.churn_day - kChurnDecayDays) {
        lam *= kChurnDecayFloor +
               (1 - kChurnDecayFloor) * (u.churn_day - d) / static_cast<double>(kChurnDecayDays);
      }
      const int64_t n = rng_sim_.Poisson(lam);
      for (int64_t k = 0; k < n; ++k) {
        const int local_hour = static_cast<int>(rng_sim_.FromCdf(hour_cdf));
        const int utc_hour = ((local_hour - u.tz) % 24 + 24) % 24;
        const int64_t start = day_start + utc_hour * kHour + static_cast<int64_t>(rng_sim_.Below(3600));
        int ch = u.pref_channel;
        if (rng_sim_.Bernoulli(0.2)) {
          ch = kCountries[u.country].region < 0
                   ? static_cast<int>(rng_sim_.Below(3))
                   : static_cast<int>(rng_sim_.Categorical({0.35, 0.60, 0.05}));
        }
        if (start < u.created_at) continue;
        plans.push_back(SessionPlan{start, static_cast<uint32_t>(i), static_cast<uint8_t>(ch), -1});
      }
    }
    if (d == fraud_day_) {
      for (int k = 0; k < fraud_orders_target_; ++k) {
        const int acct = n_regular_users_ + k % fraud_accounts_;
        const int64_t start =
            fraud_start_ + static_cast<int64_t>(rng_sim_.Below(static_cast<uint64_t>(kFraudLength - 900)));
        plans.push_back(SessionPlan{start, static_cast<uint32_t>(acct),
                                    static_cast<uint8_t>(users_[acct].pref_channel), k});
      }
    }
    std::stable_sort(plans.begin(), plans.end(), [](const SessionPlan& a, const SessionPlan& b) {
      return a.start != b.start ? a.start < b.start : a.user < b.user;
    });
    day_events_.clear();
    day_orders_.clear();
    day_lines_.clear();
    seq_ = 0;
    for (const SessionPlan& sp : plans) {
      const uint32_t sid = ++session_counter;
      if (sp.fraud_slot >= 0) {
        RunFraudSession(sp, sid);
      } else {
        RunSession(sp, sid);
      }
    }
    sessions_ += static_cast<int64_t>(plans.size());
    // Events, time-ordered.
    std::sort(day_events_.begin(), day_events_.end(), [](const Event& a, const Event& b) {
      return a.ts != b.ts ? a.ts < b.ts : a.seq < b.seq;
    });
    for (const Event& e : day_events_) {
      std::string& b = events.buf();
      AppendId(b, 'e', ++event_counter, eid_width);
      b += ',';
      AppendId(b, 'u', e.user + 1, uid_width_);
      b += ',';
      b += kEventNames[e.type];
      b += ',';
      if (e.item >= 0) b += items_[e.item].id;
      b += ',';
      AppendTimestamp(b, e.ts);
      b += ',';
      AppendId(b, 's', e.session, sid_width);
      b += ',';
      if (e.value >= 0) AppendCents(b, e.value);
      b += ',';
      b += kChannelNames[e.channel];
      b += ',';
      b += kRegionNames[e.region];
      b += '\n';
      events.NewRow();
      ++events_by_type_[e.type];
      RETURN_IF_ERROR(events.MaybeFlush());
    }
    // Orders, time-ordered; ids are global.
    std::vector<uint32_t> idx(day_orders_.size());
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = static_cast<uint32_t>(k);
    std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
      const Order& x = day_orders_[a];
      const Order& y = day_orders_[b];
      return x.ts != y.ts ? x.ts < y.ts : x.seq < y.seq;
    });
    for (uint32_t k : idx) {
      Order o = day_orders_[k];
      const uint32_t first = static_cast<uint32_t>(lines_.size());
      for (int l = 0; l < o.n_lines; ++l) lines_.push_back(day_lines_[o.first_line + l]);
      o.first_line = first;
      orders_.push_back(o);
      const int64_t order_no = static_cast<int64_t>(orders_.size());
      if (o.fraud) fraud_order_ids_.push_back(order_no);
      const User& u = users_[o.user];
      const bool china = kCountries[u.country].region < 0;
      const std::string pay = o.fraud ? std::string(kFraudPayment) : PayMethod(u);
      for (int l = 0; l < o.n_lines; ++l) {
        const Line& line = lines_[first + l];
        std::string& b = orders.buf();
        AppendId(b, 'o', order_no, oid_width_);
        b += ',';
        AppendId(b, 'u', o.user + 1, uid_width_);
        b += ',';
        b += items_[line.item].id;
        b += ',';
        AppendInt(b, line.qty);
        b += ',';
        AppendCents(b, line.unit);
        b += ',';
        AppendTimestamp(b, o.ts, china ? 8 : 0);
        b += ',';
        b += kCountries[u.country].code;
        b += ',';
        b += kRegionNames[o.region];
        b += ',';
        b += kChannelNames[o.channel];
        b += ',';
        b += pay;
        b += ',';
        b += kStatusNames[o.status];
        b += '\n';
        orders.NewRow();
      }
      RETURN_IF_ERROR(orders.MaybeFlush());
    }
    // Inventory: end-of-day review and row.
    const std::string date = Date(day_start);
    for (int i = 0; i < n_items; ++i) {
      const Item& it = items_[i];
      forecast_[i] = (1 - kForecastAlpha) * forecast_[i] + kForecastAlpha * day_sales_[i];
      const double lead_demand = forecast_[i] * (it.lead + 2);
      const double rop = lead_demand + kSafetyZ * std::sqrt(lead_demand) + 1;
      const int64_t position = on_hand_[i] + on_order_[i];
      if (position <= rop) {
        const int64_t q = std::max<int64_t>(kMinOrder, static_cast<int64_t>(std::ceil(forecast_[i] * kCoverDays))) +
                          static_cast<int64_t>(std::ceil(rop - position));
        on_order_[i] += q;
        arrivals_[d + it.lead].emplace_back(i, q);
      }
      std::string& b = inventory.buf();
      b += it.id;
      b += ',';
      b += date;
      b += ',';
      AppendInt(b, on_hand_[i]);
      b += ',';
      AppendInt(b, on_order_[i]);
      b += ',';
      AppendInt(b, it.lead);
      b += ',';
      AppendCents(b, it.cost);
      b += '\n';
      inventory.NewRow();
    }
    RETURN_IF_ERROR(inventory.MaybeFlush());
    Progress("simulate", (d + 1) / static_cast<double>(days));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------

Status Generator::WriteUsers() {
  OutFile f, truth;
  RETURN_IF_ERROR(f.Open(dir_, "users.csv"));
  RETURN_IF_ERROR(truth.Open(dir_, "truth_users.csv"));
  f.buf() += "user_id,created_at,country,region,language,acquisition_channel,age_band\n";
  truth.buf() += "user_id,segment,taste,churned,churn_day\n";
  for (size_t i = 0; i < users_.size(); ++i) {
    const User& u = users_[i];
    std::string& b = f.buf();
    AppendId(b, 'u', static_cast<int64_t>(i) + 1, uid_width_);
    b += ',';
    AppendTimestamp(b, u.created_at);
    b += ',';
    b += kCountries[u.country].code;
    b += ',';
    b += kRegionNames[u.region];
    b += ',';
    b += u.zh ? "zh" : "en";
    b += ',';
    b += kAcquisition[u.acquisition];
    b += ',';
    b += kAgeBands[u.age_band];
    b += '\n';
    f.NewRow();
    std::string& t = truth.buf();
    AppendId(t, 'u', static_cast<int64_t>(i) + 1, uid_width_);
    t += ',';
    t += kSegments[u.segment].name;
    t += ',';
    AppendInt(t, u.taste);
    t += ',';
    t += u.churn_day >= 0 ? '1' : '0';
    t += ',';
    if (u.churn_day >= 0) AppendDate(t, DayStart(u.churn_day));
    t += '\n';
    RETURN_IF_ERROR(f.MaybeFlush());
    RETURN_IF_ERROR(truth.MaybeFlush());
  }
  summary_.users = f.rows();
  RETURN_IF_ERROR(f.Close());
  return truth.Close();
}

Status Generator::WriteItems() {
  OutFile f, truth;
  RETURN_IF_ERROR(f.Open(dir_, "items.csv"));
  RETURN_IF_ERROR(truth.Open(dir_, "truth_items.csv"));
  f.buf() += "item_id,title,category,price,text,brand,origin\n";
  truth.buf() += "item_id,taste\n";
  const auto& cats = Categories();
  for (const Item& it : items_) {
    std::string& b = f.buf();
    b += it.id;
    b += ',';
    AppendCsv(b, it.title);
    b += ',';
    b += cats[it.cat].name;
    b += ',';
    AppendCents(b, it.price);
    b += ',';
    AppendCsv(b, it.text);
    b += ',';
    AppendCsv(b, it.brand);
    b += ',';
    AppendCsv(b, it.origin);
    b += '\n';
    f.NewRow();
    truth.buf() += it.id;
    truth.buf() += ',';
    AppendInt(truth.buf(), it.taste);
    truth.buf() += '\n';
  }
  summary_.items = f.rows();
  RETURN_IF_ERROR(f.Close());
  return truth.Close();
}

std::string Generator::OrderRef(int64_t order_index, Rng& rng) const {
  const Order& o = orders_[order_index];
  if (rng.Bernoulli(0.5)) return Id('o', order_index + 1, oid_width_);
  const bool china = kCountries[users_[o.user].country].region < 0;
  std::string date = Date(o.ts + (china ? 8 * kHour : 0));
  std::string ref = "O";
  for (char c : date) {
    if (c != '-') ref += c;
  }
  ref += '-';
  AppendInt(ref, 1000 + (order_index * 7919 + 17) % 9000);
  return ref;
}

std::string Generator::Email(Rng& rng) const {
  static constexpr std::string_view kNames[] = {"lily.chen", "wang.lei",  "zhangwei",  "j.smith",
                                                "anna.k",    "liu.yang",  "mike.tan",  "sarah.lee",
                                                "chen.jing", "tomwilson", "li.na",     "kevin.zhou"};
  static constexpr std::string_view kDomains[] = {"qq.com", "163.com", "gmail.com", "outlook.com",
                                                  "126.com", "yahoo.com", "icloud.com"};
  std::string e(kNames[rng.Below(std::size(kNames))]);
  AppendInt(e, rng.Int(1, 999));
  e += '@';
  e += kDomains[rng.Below(std::size(kDomains))];
  return e;
}

std::string Generator::Phone(const User& u, Rng& rng) const {
  std::string p;
  if (kCountries[u.country].region < 0) {
    p = "1";
    p += "358"[rng.Below(3)];
    for (int k = 0; k < 9; ++k) p += static_cast<char>('0' + rng.Below(10));
    return p;
  }
  p = u.country == 3 ? "+44 7700 " : (u.country == 2 ? "+65 " : "+1 415 ");
  for (int k = 0; k < 7; ++k) p += static_cast<char>('0' + rng.Below(10));
  return p;
}

void Generator::MakeTickets() {
  Rng rng(opt_.seed, 4);
  const int64_t end = End();
  uint32_t seq = 0;
  static constexpr std::string_view kCoupons[] = {"SPRING20", "TEA15OFF", "NEWUSER10", "618SALE",
                                                  "WELCOME5", "VIP30",    "COFFEE12"};
  auto make = [&](uint32_t user, int intent, int64_t ts, int64_t order, int forced_sentiment) {
    const User& u = users_[user];
    if (ts >= end || ts < u.created_at) return;
    if (u.churn_day >= 0 && ts >= DayStart(u.churn_day)) return;
    Ticket t;
    t.ts = ts;
    t.seq = seq++;
    t.user = user;
    t.intent = intent;
    t.zh = rng.Bernoulli(0.03) ? !u.zh : u.zh;
    t.sentiment = forced_sentiment >= 0
                      ? forced_sentiment
                      : static_cast<int>(rng.Categorical(kIntentSentiment[intent]));
    t.channel = t.zh ? static_cast<int>(rng.Categorical({0.15, 0.45, 0.40}))
                     : static_cast<int>(rng.Categorical({0.55, 0.35, 0.10}));
    const double p_resolved = ts >= end - 2 * kDay ? 0.35 : (intent == kComplaint ? 0.8 : 0.9);
    t.resolved = rng.Bernoulli(p_resolved);
    t.order = order;
    TicketSlots slots;
    int item = -1;
    int64_t amount = 0;
    int64_t when = ts - rng.Int(1, 10) * kDay;
    if (order >= 0) {
      const Order& o = orders_[order];
      slots.order_ref = OrderRef(order, rng);
      item = lines_[o.first_line].item;
      amount = o.total;
      when = o.ts;
    } else {
      std::string ref = "O" + Date(when);
      ref.erase(std::remove(ref.begin(), ref.end(), '-'), ref.end());
      ref += '-';
      AppendInt(ref, rng.Int(1000, 9999));
      slots.order_ref = ref;
      const auto& members = pool_members_[u.taste];
      item = members[rng.Below(members.size())];
      amount = rng.Int(20, 600) * 100;
    }
    slots.product = t.zh ? items_[item].name_zh : items_[item].name_en;
    if (t.zh) {
      slots.amount = (rng.Bernoulli(0.5) ? "¥" + Cents(amount) : std::to_string(amount / 100) + "元");
      int64_t y;
      unsigned m, dd;
      CivilFromDays(DayOf(when + 8 * kHour), &y, &m, &dd);
      slots.date = rng.Bernoulli(0.5) ? std::to_string(m) + "月" + std::to_string(dd) + "日"
                                      : Date(when + 8 * kHour);
    } else {
      slots.amount = (rng.Bernoulli(0.5) ? "CNY " : "¥") + Cents(amount);
      slots.date = Date(when);
    }
    slots.email = Email(rng);
    slots.phone = Phone(u, rng);
    slots.coupon = std::string(kCoupons[rng.Below(std::size(kCoupons))]);
    slots.days = static_cast<int>(rng.Int(2, 15));
    t.text = RenderTicketText(intent, t.sentiment, t.zh, slots, rng);
    tickets_.push_back(std::move(t));
  };
  // 1. Tickets about orders.
  static constexpr std::array<double, kNumIntents> kOrderIntents = {
      0.30, 0.0, 0.18, 0.0, 0.0, 0.0, 0.07, 0.0, 0.12, 0.10, 0.10, 0.05};  // + refund via status
  for (size_t k = 0; k < orders_.size(); ++k) {
    const Order& o = orders_[k];
    if (o.fraud) continue;
    const User& u = users_[o.user];
    const int64_t ord = static_cast<int64_t>(k);
    if (o.status == kFailed) {
      const bool outage = Outage(o.ts);
      if (rng.Bernoulli((outage ? kOutageTicketProb : kFailedTicketProb) * u.ticket_mult)) {
        const int64_t ts = o.ts + 60 + static_cast<int64_t>(rng.Exponential(outage ? 1800 : 3600));
        make(o.user, kPaymentFailed, ts, ord, outage && rng.Bernoulli(0.75) ? kNegative : -1);
      }
      continue;
    }
    if (o.status == kRefunded && rng.Bernoulli(kRefundTicketProb)) {
      make(o.user, kRefund, o.ts + 2 * kDay + static_cast<int64_t>(rng.Exponential(2 * kDay)), ord, -1);
    }
    if (!rng.Bernoulli(kOrderTicketProb * u.ticket_mult)) continue;
    std::array<double, kNumIntents> w = kOrderIntents;
    if (kCountries[u.country].region >= 0) w[kShippingDelay] *= 2.0;
    const int intent = static_cast<int>(rng.Categorical(w));
    int64_t delay = 0;
    switch (intent) {
      case kOrderStatus: delay = static_cast<int64_t>(rng.Exponential(2 * kDay)); break;
      case kShippingDelay: delay = rng.Int(4 * kDay, 10 * kDay); break;
      case kInvoice: delay = static_cast<int64_t>(rng.Exponential(3 * kDay)); break;
      case kCancelOrder: delay = static_cast<int64_t>(rng.Exponential(3 * kHour)); break;
      case kChangeAddress: delay = static_cast<int64_t>(rng.Exponential(5 * kHour)); break;
      default: delay = rng.Int(3 * kDay, 10 * kDay); break;
    }
    make(o.user, intent, o.ts + 60 + delay, ord, -1);
  }
  // 2. Background tickets (no order).
  static constexpr std::array<double, kNumIntents> kBackground = {
      0.0, 0.0, 0.0, 0.0, 0.35, 0.20, 0.10, 0.20, 0.0, 0.0, 0.0, 0.15};
  for (int i = 0; i < n_regular_users_; ++i) {
    const User& u = users_[i];
    const int64_t from = std::max(u.created_at, opt_.start_unix);
    const int64_t to = u.churn_day >= 0 ? DayStart(u.churn_day) : end;
    if (to <= from) continue;
    const double active_days = static_cast<double>(to - from) / kDay;
    const int64_t n = rng.Poisson(kBackgroundTicketRate * active_days * u.ticket_mult);
    for (int64_t k = 0; k < n; ++k) {
      const int intent = static_cast<int>(rng.Categorical(kBackground));
      make(static_cast<uint32_t>(i), intent, from + static_cast<int64_t>(rng.Below(to - from)), -1, -1);
    }
    // 3. Churners complain in the weeks before they leave.
    if (u.churn_day >= 0) {
      const int64_t c0 = std::max(from, DayStart(u.churn_day - kChurnDecayDays));
      const int64_t c1 = DayStart(u.churn_day);
      if (c1 <= c0) continue;
      const int64_t m = rng.Poisson(kPreChurnTickets);
      for (int64_t k = 0; k < m; ++k) {
        const int intent = rng.Bernoulli(0.55) ? kComplaint : kShippingDelay;
        const int sent = rng.Bernoulli(kPreChurnNegative) ? kNegative : kNeutral;
        make(static_cast<uint32_t>(i), intent, c0 + static_cast<int64_t>(rng.Below(c1 - c0)), -1, sent);
      }
    }
  }
  std::sort(tickets_.begin(), tickets_.end(), [](const Ticket& a, const Ticket& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.seq < b.seq;
  });
}

Status Generator::WriteTickets() {
  OutFile f;
  RETURN_IF_ERROR(f.Open(dir_, "tickets.jsonl"));
  static constexpr std::string_view kTicketChannels[] = {"email", "chat", "app"};
  const int width = Width(static_cast<int64_t>(tickets_.size()), 5);
  for (size_t k = 0; k < tickets_.size(); ++k) {
    const Ticket& t = tickets_[k];
    std::string& b = f.buf();
    b += "{\"ticket_id\":\"";
    AppendId(b, 't', static_cast<int64_t>(k) + 1, width);
    b += "\",\"user_id\":\"";
    AppendId(b, 'u', t.user + 1, uid_width_);
    b += "\",\"channel\":\"";
    b += kTicketChannels[t.channel];
    b += "\",\"timestamp\":\"";
    AppendTimestamp(b, t.ts);
    b += "\",\"text\":";
    AppendJsonString(b, t.text);
    b += ",\"language\":\"";
    b += t.zh ? "zh" : "en";
    b += "\",\"resolved\":";
    b += t.resolved ? "true" : "false";
    b += ",\"intent\":\"";
    b += IntentName(t.intent);
    b += "\",\"sentiment\":\"";
    b += SentimentName(t.sentiment);
    b += '"';
    if (t.order >= 0) {
      b += ",\"order_id\":\"";
      AppendId(b, 'o', t.order + 1, oid_width_);
      b += '"';
    }
    b += "}\n";
    f.NewRow();
    RETURN_IF_ERROR(f.MaybeFlush());
  }
  summary_.tickets = f.rows();
  return f.Close();
}

void Generator::MakeReviews() {
  Rng rng(opt_.seed, 5);
  const int64_t end = End();
  uint32_t seq = 0;
  const auto& cats = Categories();
  auto make = [&](int source, int item, int64_t ts, bool zh, double user_bias) {
    const Item& it = items_[item];
    const bool consumable = cats[it.cat].consumable;
    std::array<double, kNumAspects> w{};
    w[consumable ? kTaste : kQuality] = 0.40;
    w[kPackaging] = 0.20;
    w[kShipping] = source == 1 ? 0.50 : 0.25;
    w[kPrice] = 0.15;
    int n_mentions = 1 + (rng.Bernoulli(0.5) ? 1 : 0) + (rng.Bernoulli(0.15) ? 1 : 0);
    std::vector<AspectMention> mentions;
    int n_pos = 0;
    while (n_mentions-- > 0) {
      const int a = static_cast<int>(rng.Categorical(w));
      w[a] = 0;
      const double p = std::clamp(it.quality + kAspectBias[source][a] + user_bias, 0.03, 0.97);
      const bool pos = rng.Bernoulli(p);
      n_pos += pos ? 1 : 0;
      mentions.push_back({a, pos});
    }
    int rating;
    if (n_pos == static_cast<int>(mentions.size())) {
      rating = rng.Bernoulli(0.55) ? 5 : 4;
    } else if (n_pos == 0) {
      rating = rng.Bernoulli(0.45) ? 1 : 2;
    } else {
      rating = 3;
    }
    Review r;
    r.ts = ts;
    r.seq = seq++;
    r.source = source;
    r.item = item;
    r.rating = rating;
    r.text = RenderReviewText(rating, zh, zh ? it.name_zh : it.name_en, mentions, rng);
    reviews_.push_back(std::move(r));
  };
  for (const Order& o : orders_) {
    if (o.status != kPaid || o.fraud) continue;
    const User& u = users_[o.user];
    for (int l = 0; l < o.n_lines; ++l) {
      const double p = u.segment == kChampion ? kOurReviewProb * 1.5 : kOurReviewProb;
      if (!rng.Bernoulli(p)) continue;
      const int64_t ts = o.ts + rng.Int(3, 12) * kDay + static_cast<int64_t>(rng.Below(kDay));
      if (ts >= end) continue;
      const bool unhappy = u.churn_day >= 0 && o.ts >= DayStart(u.churn_day - kChurnDecayDays);
      make(0, lines_[o.first_line + l].item, ts, u.zh, unhappy ? -0.25 : 0.0);
    }
  }
  for (int c = 0; c < kNumCompetitors; ++c) {
    for (int item : tracked_[c]) {
      const int64_t n = rng.Poisson(CompetitorReviewRate() * opt_.days);
      for (int64_t k = 0; k < n; ++k) {
        const int64_t ts = opt_.start_unix + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(end - opt_.start_unix)));
        make(c + 1, item, ts, rng.Bernoulli(kCompetitorZh[c]), 0.0);
      }
    }
  }
  std::sort(reviews_.begin(), reviews_.end(), [](const Review& a, const Review& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.seq < b.seq;
  });
}

Status Generator::WriteReviews() {
  OutFile f;
  RETURN_IF_ERROR(f.Open(dir_, "reviews.csv"));
  f.buf() += "review_id,source,subject,timestamp,rating,text\n";
  const int width = Width(static_cast<int64_t>(reviews_.size()), 6);
  for (size_t k = 0; k < reviews_.size(); ++k) {
    const Review& r = reviews_[k];
    std::string& b = f.buf();
    AppendId(b, 'r', static_cast<int64_t>(k) + 1, width);
    b += ',';
    b += r.source == 0 ? std::string_view("our_shop") : kCompetitors[r.source - 1];
    b += ',';
    b += items_[r.item].id;
    b += ',';
    AppendTimestamp(b, r.ts);
    b += ',';
    AppendInt(b, r.rating);
    b += ',';
    AppendCsv(b, r.text);
    b += '\n';
    f.NewRow();
    RETURN_IF_ERROR(f.MaybeFlush());
  }
  summary_.reviews = f.rows();
  return f.Close();
}

Status Generator::WriteCompetitorPrices() {
  Rng rng(opt_.seed, 6);
  const auto& cats = Categories();
  const int n = static_cast<int>(items_.size());
  tracked_.assign(kNumCompetitors, {});
  std::vector<std::vector<double>> level(kNumCompetitors, std::vector<double>(n, 1.0));
  for (int c = 0; c < kNumCompetitors; ++c) {
    for (int i = 0; i < n; ++i) {
      if (rng.Bernoulli(kTrackedProb)) {
        tracked_[c].push_back(i);
        level[c][i] = kCompetitorLevel[c] * (1 + 0.04 * rng.Normal());
      }
    }
  }
  OutFile f;
  RETURN_IF_ERROR(f.Open(dir_, "competitor_prices.csv"));
  f.buf() += "competitor,item_id,category,timestamp,price\n";
  for (int d = 0; d < opt_.days; d += 7) {
    for (int c = 0; c < kNumCompetitors; ++c) {
      const int64_t ts = DayStart(d) + (2 + 3 * c) * kHour;
      for (int i : tracked_[c]) {
        const Item& it = items_[i];
        double price = it.price * level[c][i] * (1 + 0.015 * rng.Normal());
        if (c == kCutCompetitor && it.cat == cut_cat_ && d >= cut_start_day_ && d < cut_end_day_) {
          price *= 1 - kCutSize;
        }
        const int64_t cents = std::max<int64_t>(100, std::llround(price / 10.0) * 10);
        std::string& b = f.buf();
        b += kCompetitors[c];
        b += ',';
        b += it.id;
        b += ',';
        b += cats[it.cat].name;
        b += ',';
        AppendTimestamp(b, ts);
        b += ',';
        AppendCents(b, cents);
        b += '\n';
        f.NewRow();
      }
      RETURN_IF_ERROR(f.MaybeFlush());
    }
  }
  summary_.competitor_prices = f.rows();
  return f.Close();
}

Status Generator::WriteMetrics() {
  OutFile f;
  RETURN_IF_ERROR(f.Open(dir_, "metrics.csv"));
  f.buf() += "name,timestamp,value,region,channel\n";
  std::string value;
  auto row = [&](std::string_view name, int64_t ts, std::string_view region,
                 std::string_view channel) {
    std::string& b = f.buf();
    b += name;
    b += ',';
    AppendTimestamp(b, ts);
    b += ',';
    b += value;
    b += ',';
    b += region;
    b += ',';
    b += channel;
    b += '\n';
    f.NewRow();
    value.clear();
  };
  for (int d = 0; d < opt_.days; ++d) {
    const int64_t ts = DayStart(d);
    for (int r = 0; r < kNumRegions; ++r) {
      for (int c = 0; c < kNumChannels; ++c) {
        const CellStats& s = cells_[(static_cast<size_t>(d) * kNumRegions + r) * kNumChannels + c];
        AppendInt(value, s.sessions);
        row("sessions", ts, kRegionNames[r], kChannelNames[c]);
        AppendInt(value, s.successes);
        row("orders", ts, kRegionNames[r], kChannelNames[c]);
        AppendCents(value, s.revenue);
        row("revenue", ts, kRegionNames[r], kChannelNames[c]);
        if (s.sessions > 0) {
          AppendRate(value, static_cast<double>(s.converted) / s.sessions);
          row("conversion_rate", ts, kRegionNames[r], kChannelNames[c]);
        }
        if (s.attempts > 0) {
          AppendRate(value, static_cast<double>(s.successes) / s.attempts);
          row("payment_success_rate", ts, kRegionNames[r], kChannelNames[c]);
        }
      }
    }
    for (int h = 0; h < 24; ++h) {
      const HourStats& hs = hours_[static_cast<size_t>(d) * 24 + h];
      if (hs.attempts == 0) continue;
      AppendRate(value, static_cast<double>(hs.successes) / hs.attempts);
      row("payment_success_rate", ts + h * kHour, "all", "all");
    }
    RETURN_IF_ERROR(f.MaybeFlush());
  }
  summary_.metrics = f.rows();
  return f.Close();
}

Status Generator::WriteTruth() {
  Json j;
  j["generator"] = {{"version", kGeneratorVersion},
                    {"seed", opt_.seed},
                    {"scale", opt_.scale},
                    {"days", opt_.days},
                    {"start_unix", opt_.start_unix},
                    {"start_date", Date(opt_.start_unix)},
                    {"end_date", Date(End())},
                    {"currency", "CNY"},
                    {"timezone_note",
                     "day d is the UTC interval [start_unix + d*86400, +86400); China order "
                     "timestamps are printed in +08:00"}};
  // Counts.
  Json counts;
  counts["users"] = summary_.users;
  counts["items"] = summary_.items;
  counts["events"] = summary_.events;
  counts["orders"] = summary_.orders;
  counts["order_lines"] = summary_.order_lines;
  counts["inventory_rows"] = summary_.inventory_rows;
  counts["tickets"] = summary_.tickets;
  counts["metrics"] = summary_.metrics;
  counts["competitor_prices"] = summary_.competitor_prices;
  counts["reviews"] = summary_.reviews;
  counts["sessions"] = sessions_;
  counts["fraud_orders"] = static_cast<int64_t>(fraud_order_ids_.size());
  counts["fraud_accounts"] = fraud_accounts_;
  int64_t churned = 0;
  std::array<int64_t, kNumSegments> seg_counts{};
  for (const User& u : users_) {
    churned += u.churn_day >= 0;
    ++seg_counts[u.segment];
  }
  counts["churned_users"] = churned;
  counts["failed_orders"] = failed_orders_;
  Json by_type;
  for (int t = 0; t < kNumEventTypes; ++t) by_type[std::string(kEventNames[t])] = events_by_type_[t];
  counts["events_by_type"] = by_type;
  Json segs;
  for (int s = 0; s < kNumSegments; ++s) segs[std::string(kSegments[s].name)] = seg_counts[s];
  counts["segments"] = segs;
  std::array<int64_t, kNumIntents> by_intent{};
  int64_t zh_tickets = 0;
  for (const Ticket& t : tickets_) {
    ++by_intent[t.intent];
    zh_tickets += t.zh;
  }
  Json intents;
  for (int i = 0; i < kNumIntents; ++i) intents[std::string(IntentName(i))] = by_intent[i];
  counts["tickets_by_intent"] = intents;
  counts["tickets_by_language"] = {{"zh", zh_tickets},
                                   {"en", static_cast<int64_t>(tickets_.size()) - zh_tickets}};
  j["counts"] = counts;
  // Segments and funnel.
  Json segments, v2c, c2p;
  for (int s = 0; s < kFraud; ++s) {
    const SegmentParams& p = kSegments[s];
    segments[std::string(p.name)] = {{"share", p.share},
                                     {"sessions_per_day", p.sessions_per_day},
                                     {"views_per_session", p.views_per_session},
                                     {"view_to_cart", p.view_to_cart},
                                     {"cart_to_purchase", p.cart_to_purchase},
                                     {"quantity_mean", p.quantity_mean},
                                     {"price_preference", kPriceClassNames[p.price_class]},
                                     {"search_probability", p.search_prob}};
    v2c[std::string(p.name)] = p.view_to_cart;
    c2p[std::string(p.name)] = p.cart_to_purchase;
  }
  j["segments"] = segments;
  Json chan_mult, login;
  for (int c = 0; c < kNumChannels; ++c) {
    chan_mult[std::string(kChannelNames[c])] = kChannelCartToPurchase[c];
    login[std::string(kChannelNames[c])] = kLoginProb[c];
  }
  j["funnel"] = {{"view_to_cart", v2c},
                 {"cart_to_purchase", c2p},
                 {"channel_cart_to_purchase_multiplier", chan_mult},
                 {"promo_view_to_cart_multiplier", kPromoViewToCart},
                 {"bargain_hunter_promo_item_view_to_cart_multiplier", kBargainPromoViewToCart},
                 {"bargain_hunter_non_promo_view_to_cart_multiplier", kBargainNonPromoViewToCart},
                 {"login_probability", login},
                 {"note",
                  "each viewed item is added to the cart with view_to_cart (x multipliers, capped at "
                  "0.95); each cart item is bought with cart_to_purchase x channel multiplier; "
                  "quantity = 1 + Poisson(quantity_mean - 1), at most 6"}};
  // Taste.
  Json names = Json::array(), share;
  for (int t = 0; t < kNumTastes; ++t) {
    names.push_back(kTasteNames[t]);
    share[std::to_string(t)] = R6(taste_share_[t]);
  }
  Json pexp;
  for (int c = 0; c < 3; ++c) pexp[std::string(kPriceClassNames[c])] = kPriceExponent[c];
  j["taste"] = {{"clusters", kNumTastes},
                {"names", names},
                {"in_cluster_probability", kInClusterProb},
                {"zipf_exponent", kZipfExponent},
                {"price_preference_exponent", pexp},
                {"user_share", share},
                {"note",
                 "a view picks the user's cluster with in_cluster_probability, else any item; within "
                 "the pool the weight is zipf popularity x promo uplift x (price / category median) ^ "
                 "price_preference_exponent"}};
  // Demand.
  Json slow = Json::array();
  for (const Item& it : items_) {
    if (it.slow) slow.push_back(it.id);
  }
  double weekend = (kWeekly[5] + kWeekly[6]) / 2;
  double weekday = (kWeekly[0] + kWeekly[1] + kWeekly[2] + kWeekly[3] + kWeekly[4]) / 5;
  j["demand"] = {
      {"model",
       "sessions per user-day ~ Poisson(segment rate x individual lognormal x weekly[weekday] x "
       "yearly(day) x trend(day) x promo/churn terms); item demand is the sum, so it follows baseline x "
       "weekly x yearly x trend x promo with Poisson noise"},
      {"weekly_factors", kWeekly},
      {"weekday_of_day0", Weekday(0)},
      {"weekend_uplift", R6(weekend / weekday)},
      {"yearly",
       {{"amplitude", kYearlyAmplitude},
        {"phase_day", kYearlyPhaseDay},
        {"period_days", kYearPeriod},
        {"formula", "1 + amplitude * sin(2*pi*(day_of_year - phase_day) / period_days), day_of_year 0-based"}}},
      {"trend", {{"annual_growth", kAnnualGrowth}, {"formula", "1 + annual_growth * day / 365"}}},
      {"individual_rate_sigma", kRateSigma},
      {"slow_items", slow},
      {"slow_item_factor", kSlowItemFactor},
      {"hour_of_day_profile_local", kHourProfile}};
  // Promotions.
  Json promos = Json::array();
  for (const Promo& p : promos_) {
    promos.push_back({{"name", p.name},
                      {"start", Date(DayStart(p.start_day))},
                      {"end", Date(DayStart(p.end_day))},
                      {"start_day", p.start_day},
                      {"end_day", p.end_day},
                      {"categories", p.cat_names},
                      {"discount", p.discount},
                      {"uplift", p.uplift},
                      {"bargain_hunter_session_multiplier", kBargainPromoSessions}});
  }
  j["promotions"] = promos;
  j["churn"] = {{"decay_days", kChurnDecayDays},
                {"decay_floor", kChurnDecayFloor},
                {"decay_formula", "rate x (floor + (1 - floor) * (churn_day - day) / decay_days)"},
                {"churn_day_range", Json::array({Date(DayStart(churn_first_)), Date(DayStart(churn_last_))})},
                {"pre_churn_ticket_mean", kPreChurnTickets},
                {"pre_churn_intents", Json::array({"complaint", "shipping_delay"})},
                {"pre_churn_negative_probability", kPreChurnNegative}};
  // Anomalies.
  Json anomalies;
  anomalies["payment_outage"] = {{"start", Timestamp(outage_start_)},
                                 {"end", Timestamp(outage_end_)},
                                 {"start_unix", outage_start_},
                                 {"end_unix", outage_end_},
                                 {"failure_probability", kOutageFailure},
                                 {"base_failure_probability", kBaseFailure},
                                 {"retry_probability", kRetryProb},
                                 {"ticket_probability", kOutageTicketProb}};
  const int64_t drop_start = DayStart(drop_start_day_);
  const int64_t drop_end = DayStart(std::min(opt_.days, drop_start_day_ + kDropDays));
  anomalies["regional_conversion_drop"] = {{"region", kRegionNames[kDropRegion]},
                                           {"channel", kChannelNames[kDropChannel]},
                                           {"start", Timestamp(drop_start)},
                                           {"end", Timestamp(drop_end)},
                                           {"start_unix", drop_start},
                                           {"end_unix", drop_end},
                                           {"start_day", drop_start_day_},
                                           {"end_day", drop_start_day_ + kDropDays},
                                           {"cart_to_purchase_multiplier", kDropMultiplier}};
  int64_t min_price = INT64_MAX;
  for (int i : high_value_items_) min_price = std::min(min_price, items_[i].price);
  anomalies["fraud_burst"] = {{"start", Timestamp(fraud_start_)},
                              {"end", Timestamp(fraud_end_)},
                              {"start_unix", fraud_start_},
                              {"end_unix", fraud_end_},
                              {"orders", static_cast<int64_t>(fraud_order_ids_.size())},
                              {"accounts", fraud_accounts_},
                              {"payment_method", kFraudPayment},
                              {"quantity_min", kFraudQtyMin},
                              {"quantity_max", kFraudQtyMax},
                              {"min_unit_price", min_price / 100.0},
                              {"account_age_hours_max", kFraudAccountAgeMax / kHour},
                              {"order_ids_file", "truth_fraud_orders.csv"}};
  j["anomalies"] = anomalies;
  j["payments"] = {{"methods", {{"china", Json::array({"alipay", "wechat_pay", "unionpay"})},
                                {"overseas", Json::array({"card", "paypal"})},
                                {"fraud", Json::array({std::string(kFraudPayment)})}}},
                   {"refund_probability", kRefundProb}};
  // Tickets.
  Json intent_names = Json::array(), sent, tmpl;
  for (int i = 0; i < kNumIntents; ++i) {
    intent_names.push_back(IntentName(i));
    sent[std::string(IntentName(i))] = kIntentSentiment[i];
    tmpl[std::string(IntentName(i))] = {{"zh", TicketTemplateCount(i, true)},
                                        {"en", TicketTemplateCount(i, false)}};
  }
  const double n_t = std::max<double>(1, static_cast<double>(tickets_.size()));
  j["tickets"] = {{"intents", intent_names},
                  {"languages", {{"zh", R6(zh_tickets / n_t)}, {"en", R6(1 - zh_tickets / n_t)}}},
                  {"templates_per_intent_language", tmpl},
                  {"sentiment_given_intent", sent},
                  {"order_ticket_probability", kOrderTicketProb},
                  {"refund_ticket_probability", kRefundTicketProb},
                  {"failed_payment_ticket_probability", kFailedTicketProb},
                  {"background_rate_per_user_day", kBackgroundTicketRate}};
  // Competitors.
  Json levels;
  for (int c = 0; c < kNumCompetitors; ++c) levels[std::string(kCompetitors[c])] = kCompetitorLevel[c];
  j["competitors"] = {{"names", kCompetitors},
                      {"price_level", levels},
                      {"tracked_probability", kTrackedProb},
                      {"price_cut", {{"competitor", kCompetitors[kCutCompetitor]},
                                     {"category", kCutCategory},
                                     {"start", Date(DayStart(cut_start_day_))},
                                     {"end", Date(DayStart(cut_end_day_))},
                                     {"start_day", cut_start_day_},
                                     {"end_day", cut_end_day_},
                                     {"cut", kCutSize},
                                     {"our_demand_multiplier", kCutOurDemand}}}};
  Json bias;
  for (int s = 0; s <= kNumCompetitors; ++s) {
    Json b;
    for (int a = 0; a < kNumAspects; ++a) b[std::string(AspectName(a))] = kAspectBias[s][a];
    bias[s == 0 ? std::string("our_shop") : std::string(kCompetitors[s - 1])] = b;
  }
  j["reviews"] = {{"our_shop_review_probability", kOurReviewProb},
                  {"our_shop_review_delay_days", Json::array({3, 12})},
                  {"competitor_reviews_per_tracked_item_day", R6(CompetitorReviewRate())},
                  {"aspect_positive_bias", bias},
                  {"rating_rule",
                   "1-3 aspects; each positive with p = item quality + bias; all positive => 4 or 5, "
                   "all negative => 1 or 2, mixed => 3"}};
  j["inventory"] = {{"policy", "end-of-day review; order when on_hand + on_order <= reorder point"},
                    {"forecast_alpha", kForecastAlpha},
                    {"cover_days", kCoverDays},
                    {"min_order", kMinOrder},
                    {"safety_z", kSafetyZ},
                    {"lead_time_days", {{"domestic", kDomesticLead}, {"import", kImportLead}}}};
  OutFile f;
  RETURN_IF_ERROR(f.Open(dir_, "truth.json"));
  f.buf() = j.dump(2);
  f.buf() += '\n';
  RETURN_IF_ERROR(f.Close());
  OutFile fr;
  RETURN_IF_ERROR(fr.Open(dir_, "truth_fraud_orders.csv"));
  fr.buf() += "order_id\n";
  for (int64_t id : fraud_order_ids_) {
    AppendId(fr.buf(), 'o', id, oid_width_);
    fr.buf() += '\n';
  }
  return fr.Close();
}

StatusOr<DemoSummary> Generator::Run() {
  SetUpCalendar();
  Progress("items", 0);
  MakeItems();
  Progress("users", 0);
  MakeUsers();
  EstimateDemand();
  RETURN_IF_ERROR(WriteItems());
  RETURN_IF_ERROR(WriteUsers());
  {
    OutFile events, orders, inventory;
    RETURN_IF_ERROR(events.Open(dir_, "events.csv"));
    RETURN_IF_ERROR(orders.Open(dir_, "orders.csv"));
    RETURN_IF_ERROR(inventory.Open(dir_, "inventory.csv"));
    RETURN_IF_ERROR(SimulateDays(events, orders, inventory));
    summary_.events = events.rows();
    summary_.order_lines = orders.rows();
    summary_.orders = static_cast<int64_t>(orders_.size());
    summary_.inventory_rows = inventory.rows();
    RETURN_IF_ERROR(events.Close());
    RETURN_IF_ERROR(orders.Close());
    RETURN_IF_ERROR(inventory.Close());
  }
  Progress("competitor_prices", 0);
  RETURN_IF_ERROR(WriteCompetitorPrices());
  Progress("tickets", 0);
  MakeTickets();
  RETURN_IF_ERROR(WriteTickets());
  Progress("reviews", 0);
  MakeReviews();
  RETURN_IF_ERROR(WriteReviews());
  Progress("metrics", 0);
  RETURN_IF_ERROR(WriteMetrics());
  Progress("truth", 0);
  RETURN_IF_ERROR(WriteTruth());
  Progress("done", 1);
  return summary_;
}

}  // namespace

StatusOr<DemoSummary> GenerateDemoShop(const DemoOptions& options, const std::string& dir,
                                       const std::function<void(std::string_view, double)>& progress) {
  if (!(options.scale >= 0.001 && options.scale <= 20)) {
    return InvalidArgument("demo scale must be in [0.001, 20], got " + std::to_string(options.scale));
  }
  if (options.days < 28 || options.days > 3650) {
    return InvalidArgument("demo days must be in [28, 3650], got " + std::to_string(options.days));
  }
  if (options.start_unix < 0 || options.start_unix > 253402300799 - 3651 * kDay) {
    return InvalidArgument("demo start time out of range: " + std::to_string(options.start_unix));
  }
  if (options.scale * options.days > 7300) {
    return InvalidArgument("demo too large: scale x days must be at most 7300 (e.g. scale 20 for 365 days)");
  }
  if (dir.empty()) return InvalidArgument("demo output directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return InvalidArgument("cannot create demo output directory " + dir +
                           (ec ? ": " + ec.message() : std::string()));
  }
  Generator gen(options, dir, progress);
  return gen.Run();
}

}  // namespace opspilot::demo
