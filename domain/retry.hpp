#pragma once
// The submitter's retry schedule: how long to wait before each submission of a settlement
// batch, and when to give up.
//
// Attempts are numbered from 1 (the first submission) as in BatchSubmitted::attempt.
//   attempt 1                      no wait: 0 ms.
//   attempt a in 2..max_attempts   nominal n(a) = min(cap, base * 2^(a-2)), then jittered:
//                                  delay = n - floor(n * jitter) + U, U uniform in
//                                  [0, floor(n * jitter)] drawn from the caller's random bits.
//   attempt > max_attempts         nullopt: the batch must fail (BatchFailed), never retried.
// So jitter = 0 is plain exponential backoff, jitter = 0.5 is AWS's "equal jitter" (half
// fixed, half random) and jitter = 1 is "full jitter" (uniform in [0, n]). Any delay lies in
// [n - floor(n * jitter), n], never above cap. The default is equal jitter: it spreads the
// retries of many batches apart while keeping a floor, so a retry never fires immediately
// after a timeout.
//
// Pure and deterministic: the same (attempt, policy, random64) always gives the same delay;
// callers draw random64 from their seeded PRNG. The exponent uses integer shifts, capped
// before they can overflow, so any attempt number up to UINT32_MAX is safe.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace croupier {

// Bounds that validate() enforces. A wait longer than a day between two submissions is a
// misconfiguration, and the bound keeps n * jitter exact in a double (n < 2^53).
inline constexpr std::chrono::milliseconds kRetryDelayMax = std::chrono::hours(24);

// Intentionally copyable plain data; check it with validate() before use. For a batch,
// max_attempts should be the batch's own BatchLifecycle::max_attempts (from BatchCreated),
// so that the schedule gives up exactly when the lifecycle refuses another submit.
struct RetryPolicy {
  std::uint32_t max_attempts = 5;          // Submissions in all, the first included; >= 1.
  std::chrono::milliseconds base{1000};    // Nominal wait before attempt 2; >= 1 ms.
  std::chrono::milliseconds cap{60'000};   // Largest nominal wait; base <= cap <= kRetryDelayMax.
  double jitter = 0.5;                     // Fraction of the nominal wait that is random, 0..1.
  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

// Returns nullopt when `policy` is valid, else one message for the first condition broken,
// checked in this order:
//   1 <= max_attempts
//   1 ms <= base
//   base <= cap
//   cap <= kRetryDelayMax
//   0 <= jitter <= 1                 (NaN fails it)
// The message reads "retry policy invalid: <the values>: fails the condition that: <condition>";
// callers and tests match on the kRetryPolicyInvalid prefix and the condition.
inline constexpr std::string_view kRetryPolicyInvalid = "retry policy invalid";
[[nodiscard]] std::optional<std::string> validate(const RetryPolicy& policy);

// The wait before submission number `attempt` (see the header comment), or nullopt when
// attempt > max_attempts. Requires attempt >= 1 and a valid policy (both asserted).
[[nodiscard]] std::optional<std::chrono::milliseconds> delay_before(std::uint32_t attempt, const RetryPolicy& policy,
                                                                    std::uint64_t random64);

// The nominal (un-jittered) wait min(cap, base * 2^(attempt-2)) for attempt >= 2; 0 for
// attempt 1. Requires attempt >= 1 and a valid policy. Does not look at max_attempts.
[[nodiscard]] std::chrono::milliseconds nominal_delay(std::uint32_t attempt, const RetryPolicy& policy);

// "RetryPolicy{max_attempts=5, base=1000ms, cap=60000ms, jitter=0.5}".
std::ostream& operator<<(std::ostream& os, const RetryPolicy& policy);

}  // namespace croupier
