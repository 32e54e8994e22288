#include "domain/retry.hpp"

#include <cassert>
#include <cmath>
#include <ostream>
#include <sstream>

namespace croupier {

namespace {

std::string invalid(const RetryPolicy& policy, std::string_view condition) {
  std::ostringstream os;
  os << kRetryPolicyInvalid << ": max_attempts = " << policy.max_attempts << ", base = " << policy.base.count()
     << " ms, cap = " << policy.cap.count() << " ms, jitter = " << policy.jitter
     << ": fails the condition that: " << condition;
  return os.str();
}

}  // namespace

std::optional<std::string> validate(const RetryPolicy& policy) {
  using std::chrono::milliseconds;
  if (policy.max_attempts < 1) return invalid(policy, "1 <= max_attempts");
  if (policy.base < milliseconds(1)) return invalid(policy, "1 ms <= base");
  if (policy.base > policy.cap) return invalid(policy, "base <= cap");
  if (policy.cap > kRetryDelayMax) return invalid(policy, "cap <= kRetryDelayMax (24 h)");
  // Written so that NaN fails it too.
  if (!(policy.jitter >= 0.0 && policy.jitter <= 1.0)) return invalid(policy, "0 <= jitter <= 1");
  return std::nullopt;
}

std::chrono::milliseconds nominal_delay(std::uint32_t attempt, const RetryPolicy& policy) {
  assert(attempt >= 1);
  assert(!validate(policy));
  if (attempt == 1) return std::chrono::milliseconds(0);
  const std::int64_t base = policy.base.count(), cap = policy.cap.count();
  assert(base >= 1 && cap >= base);
  const std::uint32_t shift = attempt - 2;
  // base << shift <= cap  <=>  base <= cap >> shift (for shifts below 63); checking the right
  // side never overflows, and once it fails every later attempt is capped too.
  if (shift >= 63 || base > (cap >> shift)) return policy.cap;
  const std::int64_t nominal = base << shift;
  assert(nominal >= base && nominal <= cap);
  return std::chrono::milliseconds(nominal);
}

std::optional<std::chrono::milliseconds> delay_before(std::uint32_t attempt, const RetryPolicy& policy,
                                                      std::uint64_t random64) {
  assert(attempt >= 1);
  assert(!validate(policy));
  if (attempt > policy.max_attempts) return std::nullopt;
  const std::int64_t nominal = nominal_delay(attempt, policy).count();
  // nominal <= kRetryDelayMax < 2^53, so the product is exact up to the final rounding.
  static_assert(kRetryDelayMax.count() < (std::int64_t{1} << 53));
  auto spread = static_cast<std::int64_t>(std::floor(static_cast<double>(nominal) * policy.jitter));
  assert(spread >= 0 && spread <= nominal);
  // Scale the 64 random bits to [0, spread] with a 128-bit multiply (Lemire's method): uses
  // the high bits, no division, bias below spread / 2^64.
  __extension__ using U128 = unsigned __int128;
  const auto random_part = static_cast<std::int64_t>(
      (static_cast<U128>(random64) * static_cast<U128>(static_cast<std::uint64_t>(spread) + 1)) >> 64);
  const std::int64_t delay = nominal - spread + random_part;
  assert(delay >= nominal - spread && delay <= nominal);
  assert(delay <= policy.cap.count());
  return std::chrono::milliseconds(delay);
}

std::ostream& operator<<(std::ostream& os, const RetryPolicy& policy) {
  return os << "RetryPolicy{max_attempts=" << policy.max_attempts << ", base=" << policy.base.count()
            << "ms, cap=" << policy.cap.count() << "ms, jitter=" << policy.jitter << "}";
}

}  // namespace croupier
