// CHECK for programmer bugs: aborts with file and line. Never reached by user
// input; anything a user or the environment can cause returns a Status.
#ifndef OPSPILOT_CORE_CHECK_H_
#define OPSPILOT_CORE_CHECK_H_

#include <sstream>

namespace opspilot::internal {

// Collects the streamed message and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `OP_CHECK(x) << "msg";` compile to nothing on success.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace opspilot::internal

#define OP_CHECK(condition)                        \
  (condition) ? (void)0                            \
              : ::opspilot::internal::Voidify() &  \
                    ::opspilot::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define OP_CHECK_EQ(a, b) OP_CHECK((a) == (b))
#define OP_CHECK_LT(a, b) OP_CHECK((a) < (b))
#define OP_CHECK_LE(a, b) OP_CHECK((a) <= (b))
#define OP_CHECK_GE(a, b) OP_CHECK((a) >= (b))

#endif  // OPSPILOT_CORE_CHECK_H_
