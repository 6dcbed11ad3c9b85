// Text material for the demo shop: the product catalogue vocabulary, support
// ticket templates (12 intents x 2 languages x 7 templates) and review
// phrases. Kept apart from demo_shop.cc so the simulation reads cleanly.
#ifndef OPSPILOT_DEMO_DEMO_TEXT_H_
#define OPSPILOT_DEMO_DEMO_TEXT_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "demo/rng.h"

namespace opspilot::demo {

// ---- Catalogue ----

struct ProductBase {
  const char* zh;  // "西湖龙井"
  const char* en;  // "Longjing green tea"
};

struct CategoryVocab {
  const char* name;                       // "green_tea"
  std::vector<ProductBase> products;
  std::vector<const char*> sizes;         // "250g"
  std::vector<const char*> variants;      // "Premium"
  std::vector<const char*> origins;       // "Zhejiang"
  std::vector<const char*> brands;
  std::vector<const char*> descriptions;  // may contain {en} and {origin}
  double price_lo, price_hi;              // CNY, drawn log-uniform
  bool consumable;                        // reviews talk about taste (else quality)
  bool imported_gear;                     // long lead times when origin is abroad
  int primary_taste, secondary_taste;     // taste-cluster affinity
};

// The 12 categories, in a fixed order.
const std::vector<CategoryVocab>& Categories();
// Generic description sentences (English and Chinese) appended to item text.
std::span<const char* const> GenericItemSentences();
// True for origins outside mainland China (longer lead times).
bool IsImportOrigin(std::string_view origin);

// ---- Tickets ----

inline constexpr int kNumIntents = 12;
// order_status, refund, shipping_delay, payment_failed, product_question,
// account, complaint, coupon, invoice, cancel_order, change_address, praise.
std::string_view IntentName(int intent);
enum Intent {
  kOrderStatus = 0,
  kRefund,
  kShippingDelay,
  kPaymentFailed,
  kProductQuestion,
  kAccount,
  kComplaint,
  kCoupon,
  kInvoice,
  kCancelOrder,
  kChangeAddress,
  kPraise,
};
enum Sentiment { kNegative = 0, kNeutral = 1, kPositive = 2 };
std::string_view SentimentName(int sentiment);

struct TicketSlots {
  std::string order_ref;  // "O20250304-1234" or "o0001234"
  std::string product;    // product name in the ticket's language
  std::string amount;     // "¥128.00" / "CNY 128.00"
  std::string date;       // "2025-03-04" / "3月4日"
  std::string email;
  std::string phone;
  std::string coupon;
  int days = 3;
};

// Number of templates for an intent in a language (>= 6).
int TicketTemplateCount(int intent, bool zh);
// Fills a randomly chosen template and wraps it in a phrase carrying the
// sentiment (negative / neutral / positive).
std::string RenderTicketText(int intent, int sentiment, bool zh, const TicketSlots& slots, Rng& rng);

// ---- Reviews ----

enum Aspect { kTaste = 0, kQuality, kPackaging, kShipping, kPrice, kNumAspects };
std::string_view AspectName(int aspect);

struct AspectMention {
  int aspect;
  bool positive;
};
// A review text whose wording matches `rating` and the aspect polarities.
std::string RenderReviewText(int rating, bool zh, std::string_view product,
                             std::span<const AspectMention> mentions, Rng& rng);

// Replaces "{name}" placeholders; unknown names are left as they are.
std::string FillTemplate(std::string_view tmpl,
                         std::span<const std::pair<std::string_view, std::string_view>> slots);

}  // namespace opspilot::demo

#endif  // OPSPILOT_DEMO_DEMO_TEXT_H_
