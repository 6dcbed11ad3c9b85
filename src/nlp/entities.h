// Entities in customer messages, with exact spans: order numbers, phone
// numbers, emails, URLs, amounts, dates and the catalogue's product names
// (a dictionary), in Chinese, English and mixed text. Patterns are scanned
// over width-folded code points (full-width digits and letters count as
// ASCII), and every span points back into the original bytes.
#ifndef OPSPILOT_NLP_ENTITIES_H_
#define OPSPILOT_NLP_ENTITIES_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace opspilot::nlp {

struct EntitySpan {
  std::string type;   // order_id | phone | email | url | amount | date | product
  std::string text;   // the original bytes [begin, end)
  std::string value;  // normalised: digits of a phone, "CNY 128.00", "2025-03-04", a product id
  size_t begin = 0, end = 0;            // byte offsets in the original text
  size_t char_begin = 0, char_end = 0;  // code point offsets (what JavaScript and Python index)
};

struct EntityOptions {
  // "YYYY-MM-DD": resolves "yesterday"/"昨天" and dates without a year.
  // Empty: yearless dates come out as "--MM-DD" and relative ones are skipped.
  std::string reference_date;
  int min_order_digits = 5;  // a letter-led token needs this many digits to be an order number
};

class EntityExtractor {
 public:
  // A product name (any language) and the id it stands for. Latin names
  // match case-insensitively on word boundaries; Chinese ones anywhere.
  // The longest name wins where names overlap.
  void AddProduct(std::string_view name, std::string_view id);
  // A known order id: matched verbatim anywhere (case-insensitive), before the patterns.
  void AddOrderId(std::string_view id);
  size_t products() const { return product_count_; }

  // Spans sorted by position, never overlapping. Priority where candidates
  // overlap: url, email, order_id, phone, amount, date, product.
  std::vector<EntitySpan> Extract(std::string_view text, const EntityOptions& options = {}) const;

 private:
  struct Name {
    std::u32string folded;
    std::string id;
  };
  std::unordered_map<char32_t, std::vector<Name>> products_;  // by first folded code point, longest first
  std::unordered_set<std::string> orders_;                    // lower-cased
  size_t product_count_ = 0;
};

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_ENTITIES_H_
