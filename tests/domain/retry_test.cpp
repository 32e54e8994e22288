// Retry schedule: validate() names the first broken condition of a policy; delay_before()
// waits nothing before the first attempt, doubles from `base` up to `cap`, keeps every
// jittered delay within [n - floor(n * jitter), n], gives up after max_attempts, and never
// overflows however large the attempt number.
// Method: tables of named rows for validation and the un-jittered schedule; exact values at
// the ends of the random range; a seeded sweep of random bits for bounds and rough
// uniformity; attempts up to UINT32_MAX for overflow.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "domain/retry.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// SplitMix64: a tiny seeded generator, so the sweep is the same on every platform.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

RetryPolicy policy(std::uint32_t max_attempts, milliseconds base, milliseconds cap, double jitter) {
  return RetryPolicy{max_attempts, base, cap, jitter};
}

constexpr std::uint64_t kRandomMax = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST_CASE("ValidateNamesTheFirstBrokenCondition") {
  struct Row {
    const char* name;
    RetryPolicy policy;
    const char* condition;  // nullptr: valid.
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Row> rows{
      {"defaults", RetryPolicy{}, nullptr},
      {"one attempt, no jitter", policy(1, 1ms, 1ms, 0.0), nullptr},
      {"full jitter, cap at the limit", policy(3, 5ms, kRetryDelayMax, 1.0), nullptr},
      {"zero attempts", policy(0, 1s, 1min, 0.5), "1 <= max_attempts"},
      {"zero base", policy(5, 0ms, 1min, 0.5), "1 ms <= base"},
      {"negative base", policy(5, -5ms, 1min, 0.5), "1 ms <= base"},
      {"cap below base", policy(5, 2s, 1s, 0.5), "base <= cap"},
      {"cap above a day", policy(5, 1s, kRetryDelayMax + 1ms, 0.5), "cap <= kRetryDelayMax"},
      {"negative jitter", policy(5, 1s, 1min, -0.01), "0 <= jitter <= 1"},
      {"jitter above one", policy(5, 1s, 1min, 1.01), "0 <= jitter <= 1"},
      {"NaN jitter", policy(5, 1s, 1min, nan), "0 <= jitter <= 1"},
      {"several broken: the first in order wins", policy(0, 0ms, -1ms, 2.0), "1 <= max_attempts"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto error = validate(row.policy);
    if (!row.condition) {
      CHECK_FALSE(error.has_value());
      continue;
    }
    REQUIRE(error.has_value());
    CHECK(error->rfind(std::string(kRetryPolicyInvalid) + ": ", 0) == 0);
    CHECK(error->find(std::string("fails the condition that: ") + row.condition) != std::string::npos);
  }
}

TEST_CASE("TheFirstAttemptWaitsNothing") {
  for (double jitter : {0.0, 0.5, 1.0})
    for (std::uint64_t r : {std::uint64_t{0}, std::uint64_t{12345}, kRandomMax})
      CHECK(delay_before(1, policy(3, 1s, 1min, jitter), r) == 0ms);
}

TEST_CASE("WithoutJitterTheDelayDoublesFromBaseUpToCap") {
  RetryPolicy p = policy(10, 1000ms, 10'000ms, 0.0);
  struct Row {
    std::uint32_t attempt;
    milliseconds expected;
  };
  std::vector<Row> rows{{1, 0ms},      {2, 1000ms},   {3, 2000ms},   {4, 4000ms},  {5, 8000ms},
                        {6, 10'000ms}, {7, 10'000ms}, {10, 10'000ms}};
  for (const auto& row : rows) {
    CAPTURE(row.attempt);
    CHECK(nominal_delay(row.attempt, p) == row.expected);
    // No jitter: the random bits change nothing.
    CHECK(delay_before(row.attempt, p, 0) == row.expected);
    CHECK(delay_before(row.attempt, p, kRandomMax) == row.expected);
  }
}

TEST_CASE("AfterTheLastAttemptTheBatchMustFail") {
  RetryPolicy p = policy(4, 100ms, 1s, 0.5);
  CHECK(delay_before(4, p, 7).has_value());
  CHECK_FALSE(delay_before(5, p, 7).has_value());
  CHECK_FALSE(delay_before(1000, p, 7).has_value());
  CHECK_FALSE(delay_before(std::numeric_limits<std::uint32_t>::max(), p, 7).has_value());
  // With a single attempt there is no retry at all.
  RetryPolicy once = policy(1, 100ms, 1s, 0.5);
  CHECK(delay_before(1, once, 7) == 0ms);
  CHECK_FALSE(delay_before(2, once, 7).has_value());
}

TEST_CASE("TheEndsOfTheRandomRangeGiveTheEndsOfTheJitterWindow") {
  struct Row {
    const char* name;
    double jitter;
    milliseconds low, high;  // For nominal 1000 ms (attempt 2).
  };
  std::vector<Row> rows{
      {"none", 0.0, 1000ms, 1000ms},
      {"quarter", 0.25, 750ms, 1000ms},
      {"equal", 0.5, 500ms, 1000ms},
      {"full", 1.0, 0ms, 1000ms},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    RetryPolicy p = policy(5, 1000ms, 1min, row.jitter);
    CHECK(delay_before(2, p, 0) == row.low);
    CHECK(delay_before(2, p, kRandomMax) == row.high);
  }
  // The middle of the random range lands in the middle of the window: equal jitter over
  // 1000 ms draws from 501 values (500..1000), and 2^63 maps to floor(501 / 2) = 250.
  CHECK(delay_before(2, policy(5, 1000ms, 1min, 0.5), std::uint64_t{1} << 63) == 750ms);
}

TEST_CASE("TheSameInputsAlwaysGiveTheSameDelay") {
  RetryPolicy p = policy(8, 250ms, 30s, 0.5);
  SplitMix64 rng{42};
  for (int i = 0; i < 200; ++i) {
    std::uint64_t r = rng.next();
    auto attempt = static_cast<std::uint32_t>(1 + i % 8);
    CHECK(delay_before(attempt, p, r) == delay_before(attempt, p, r));
  }
}

TEST_CASE("EveryJitteredDelayStaysWithinItsWindowAndUnderTheCap") {
  SplitMix64 rng{7};
  for (double jitter : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    RetryPolicy p = policy(12, 300ms, 20s, jitter);
    for (std::uint32_t attempt = 2; attempt <= 12; ++attempt) {
      const std::int64_t n = nominal_delay(attempt, p).count();
      const auto spread = static_cast<std::int64_t>(std::floor(static_cast<double>(n) * jitter));
      for (int i = 0; i < 300; ++i) {
        auto d = delay_before(attempt, p, rng.next());
        REQUIRE(d.has_value());
        CAPTURE(jitter);
        CAPTURE(attempt);
        CHECK(d->count() >= n - spread);
        CHECK(d->count() <= n);
        CHECK(*d <= p.cap);
      }
    }
  }
}

TEST_CASE("JitterIsRoughlyUniformOverItsWindow") {
  // Equal jitter over a nominal 2000 ms: delays in 1000..2000. Ten buckets of ~100 ms each
  // should each get about a tenth of 20000 draws; 15% tolerance is > 10 standard deviations.
  RetryPolicy p = policy(5, 1000ms, 1min, 0.5);
  SplitMix64 rng{2024};
  constexpr int kDraws = 20000;
  std::vector<int> buckets(10, 0);
  std::int64_t low = 2000, high = 0;
  for (int i = 0; i < kDraws; ++i) {
    std::int64_t d = delay_before(3, p, rng.next())->count();
    low = std::min(low, d);
    high = std::max(high, d);
    ++buckets[static_cast<std::size_t>(std::min<std::int64_t>((d - 1000) / 100, 9))];
  }
  CHECK(low <= 1002);
  CHECK(high >= 1998);
  for (int count : buckets) {
    CHECK(count > kDraws / 10 * 85 / 100);
    CHECK(count < kDraws / 10 * 115 / 100);
  }
}

TEST_CASE("HugeAttemptNumbersAreCappedWithoutOverflow") {
  RetryPolicy p = policy(std::numeric_limits<std::uint32_t>::max(), 1ms, kRetryDelayMax, 0.0);
  // 2^26 ms is still below a day (86'400'000 ms); 2^27 ms is above it.
  CHECK(nominal_delay(28, p) == milliseconds(std::int64_t{1} << 26));
  CHECK(nominal_delay(29, p) == kRetryDelayMax);
  for (std::uint32_t attempt : {30u, 62u, 63u, 64u, 65u, 66u, 100u, 1000u, std::numeric_limits<std::uint32_t>::max()}) {
    CAPTURE(attempt);
    CHECK(nominal_delay(attempt, p) == kRetryDelayMax);
    CHECK(delay_before(attempt, p, kRandomMax) == kRetryDelayMax);
  }
  // The schedule never decreases.
  milliseconds previous = 0ms;
  for (std::uint32_t attempt = 1; attempt <= 200; ++attempt) {
    CHECK(nominal_delay(attempt, p) >= previous);
    previous = nominal_delay(attempt, p);
  }
  // base == cap: every retry waits exactly the cap.
  RetryPolicy flat = policy(std::numeric_limits<std::uint32_t>::max(), kRetryDelayMax, kRetryDelayMax, 0.0);
  for (std::uint32_t attempt : {2u, 3u, 64u, std::numeric_limits<std::uint32_t>::max()})
    CHECK(nominal_delay(attempt, flat) == kRetryDelayMax);
}

TEST_CASE("APolicyPrintsItsFields") {
  std::ostringstream os;
  os << policy(5, 1000ms, 60s, 0.5);
  CHECK(os.str() == "RetryPolicy{max_attempts=5, base=1000ms, cap=60000ms, jitter=0.5}");
}
