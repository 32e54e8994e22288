// Snowflake and snowball behave as avalanchego's n-ary snowflake and snowball.
//
// Method: each avalanchego unit test is ported scenario for scenario and named after the Go
// test it ports (snow/consensus/snowball at d27ad13: nnary_snowflake_test.go,
// nnary_snowball_test.go, binary_snowflake_test.go, binary_snowball_test.go,
// snowflake_test.go, parameters_test.go). Go's binary instances decide between 0 and 1; here
// they become n-ary instances that know exactly the choices 0 and 1, which behave the same,
// so the binary scenarios (and their expected String() renderings) port unchanged. The
// shared suite of snowflake_test.go runs against both variants through TEST_CASE_TEMPLATE.
// Go's tests build instances with parameters that no k satisfies (alpha_preference 1,
// alpha_confidence 2); instances never read k, so these use k = 0 and rely on the checks
// validate_ignoring_k() makes, which is what the constructors require.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "domain/snowball.hpp"

using croupier::snowball::Choice;
using croupier::snowball::Nnary;
using croupier::snowball::Parameters;
using croupier::snowball::Snowball;
using croupier::snowball::Snowflake;
using croupier::snowball::Termination;

TYPE_TO_STRING(croupier::snowball::Snowflake);
TYPE_TO_STRING(croupier::snowball::Snowball);

namespace {

// Go's Red, Blue and Green are ids; any three distinct choices do.
constexpr Choice kRed = 0;
constexpr Choice kBlue = 1;
constexpr Choice kGreen = 2;

// Go's newSingleTerminationCondition, with the unused k left at 0 (see the file comment).
Parameters single(int alpha_preference, int alpha_confidence, int beta) {
  return Parameters{.k = 0, .alpha_preference = alpha_preference, .terminations = {{alpha_confidence, beta}}};
}

template <class T>
std::string render(const T& instance) {
  std::ostringstream text;
  text << instance;
  return text.str();
}

// The two assertions every Go scenario repeats after each step.
template <class T>
void expect(const T& instance, Choice preference, bool finalized) {
  INFO("state: " << instance);
  CHECK(instance.preference() == preference);
  CHECK(instance.finalized() == finalized);
}

}  // namespace

// --- nnary_snowflake_test.go ---------------------------------------------------------

TEST_CASE("TestNnarySnowflake") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowflake sf{single(alpha_preference, alpha_confidence, beta), kRed};
  sf.add(kBlue);
  sf.add(kGreen);
  expect(sf, kRed, false);

  sf.record_poll(alpha_confidence, kBlue);
  expect(sf, kBlue, false);
  sf.record_poll(alpha_preference, kRed);
  expect(sf, kRed, false);
  sf.record_poll(alpha_confidence, kRed);
  expect(sf, kRed, false);
  sf.record_poll(alpha_confidence, kRed);
  expect(sf, kRed, true);

  sf.record_poll(alpha_preference, kBlue);
  expect(sf, kRed, true);
  sf.record_poll(alpha_confidence, kBlue);
  expect(sf, kRed, true);
}

TEST_CASE("TestNnarySnowflakeConfidenceReset") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 4;
  Snowflake sf{single(alpha_preference, alpha_confidence, beta), kRed};
  sf.add(kBlue);
  sf.add(kGreen);
  expect(sf, kRed, false);

  // Blue gains confidence without finalizing...
  for (int i = 0; i < beta - 1; ++i) {
    sf.record_poll(alpha_confidence, kBlue);
    expect(sf, kBlue, false);
  }
  // ...then Red does, starting again from zero...
  for (int i = 0; i < beta - 1; ++i) {
    sf.record_poll(alpha_confidence, kRed);
    expect(sf, kRed, false);
  }
  // ...so only one more Red poll finalizes it.
  sf.record_poll(alpha_confidence, kRed);
  expect(sf, kRed, true);
}

TEST_CASE("TestVirtuousNnarySnowflake") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowflake sf{single(alpha_preference, alpha_confidence, beta), kRed};
  expect(sf, kRed, false);
  sf.record_poll(alpha_confidence, kRed);
  expect(sf, kRed, false);
  sf.record_poll(alpha_confidence, kRed);
  expect(sf, kRed, true);
}

// --- binary_snowflake_test.go --------------------------------------------------------

TEST_CASE("TestBinarySnowflake") {
  const Choice blue = 0, red = 1;
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowflake sf{single(alpha_preference, alpha_confidence, beta), red};
  sf.add(blue);
  expect(sf, red, false);

  sf.record_poll(alpha_confidence, blue);
  expect(sf, blue, false);
  sf.record_poll(alpha_confidence, red);
  expect(sf, red, false);
  sf.record_poll(alpha_confidence, blue);
  expect(sf, blue, false);
  sf.record_poll(alpha_preference, red);
  expect(sf, red, false);
  sf.record_poll(alpha_confidence, blue);
  expect(sf, blue, false);
  sf.record_poll(alpha_confidence, blue);
  expect(sf, blue, true);
}

// --- snowflake_test.go: the shared error-driven suite ----------------------------------
// Go runs it against every snowflake through a snowflakeTest adapter; the adapter here is
// the Nnary concept itself, and TEST_CASE_TEMPLATE runs each scenario against both variants.

namespace {

const int kSuiteAlphaPreference = 3;
const std::vector<Termination> kSuiteTerminations{{3, 4}, {4, 3}, {5, 2}};

template <Nnary T>
T suite_instance() {
  T instance{Parameters{.k = 5, .alpha_preference = kSuiteAlphaPreference, .terminations = kSuiteTerminations},
             kRed};
  instance.add(kGreen);
  return instance;
}

// Go's snowflakeTest.AssertEqual.
template <Nnary T>
void assert_equal(const T& instance, const std::vector<int>& confidence, bool finalized, Choice preference) {
  INFO("state: " << instance);
  CHECK(instance.preference() == preference);
  CHECK(instance.confidence() == confidence);
  CHECK(instance.finalized() == finalized);
}

}  // namespace

TEST_CASE_TEMPLATE("ErrorDrivenSingleChoice/TerminateInBetaPolls", T, Snowflake, Snowball) {
  const Choice choice = kRed;
  for (std::size_t i = 0; i < kSuiteTerminations.size(); ++i) {
    CAPTURE(i);
    const Termination condition = kSuiteTerminations[i];
    T instance = suite_instance<T>();
    for (int poll = 0; poll < condition.beta; ++poll) {
      CAPTURE(poll);
      instance.record_poll(condition.alpha_confidence, choice);
      std::vector<int> expected(kSuiteTerminations.size(), 0);
      for (std::size_t j = 0; j <= i; ++j) expected[j] = poll + 1;
      assert_equal(instance, expected, poll + 1 >= condition.beta, choice);
    }
  }
}

TEST_CASE_TEMPLATE("ErrorDrivenSingleChoice/Reset", T, Snowflake, Snowball) {
  const Choice choice = kRed;
  for (std::size_t i = 0; i < kSuiteTerminations.size(); ++i) {
    CAPTURE(i);
    const Termination condition = kSuiteTerminations[i];
    T instance = suite_instance<T>();
    // Accumulate confidence up to one less than beta, reset, and confirm the instance then
    // behaves as a fresh one.
    for (int poll = 0; poll < condition.beta - 1; ++poll) instance.record_poll(condition.alpha_confidence, choice);
    instance.record_unsuccessful_poll();
    assert_equal(instance, std::vector<int>(kSuiteTerminations.size(), 0), false, choice);

    for (int poll = 0; poll < condition.beta; ++poll) {
      CAPTURE(poll);
      instance.record_poll(condition.alpha_confidence, choice);
      std::vector<int> expected(kSuiteTerminations.size(), 0);
      for (std::size_t j = 0; j <= i; ++j) expected[j] = poll + 1;
      assert_equal(instance, expected, poll + 1 >= condition.beta, choice);
    }
  }
}

TEST_CASE_TEMPLATE("ErrorDrivenSingleChoice/ResetHighestAlphaConfidence", T, Snowflake, Snowball) {
  T instance = suite_instance<T>();
  instance.record_poll(5, kRed);
  assert_equal(instance, {1, 1, 1}, false, kRed);
  instance.record_poll(4, kRed);
  assert_equal(instance, {2, 2, 0}, false, kRed);
  instance.record_poll(3, kRed);
  assert_equal(instance, {3, 0, 0}, false, kRed);
  // Finalizing on the first condition stops the walk: the later counters are left as they were.
  instance.record_poll(5, kRed);
  assert_equal(instance, {4, 0, 0}, true, kRed);
}

TEST_CASE("ErrorDrivenMultiChoice/SwitchChoices") {
  const Choice choice0 = kRed, choice1 = kGreen;
  Snowflake sf = suite_instance<Snowflake>();
  sf.record_poll(3, choice0);
  assert_equal(sf, {1, 0, 0}, false, choice0);
  sf.record_poll(2, choice1);
  assert_equal(sf, {0, 0, 0}, false, choice0);
  sf.record_poll(3, choice0);
  assert_equal(sf, {1, 0, 0}, false, choice0);
  sf.record_poll(0, choice0);
  assert_equal(sf, {0, 0, 0}, false, choice0);
  sf.record_poll(3, choice1);
  assert_equal(sf, {1, 0, 0}, false, choice1);
  sf.record_poll(5, choice1);
  assert_equal(sf, {2, 1, 1}, false, choice1);
  sf.record_poll(5, choice1);
  assert_equal(sf, {3, 2, 2}, true, choice1);
}

// Go runs SwitchChoices against snowflakes only: a snowball's preference stays with the
// stronger choice, which is the whole difference between the two. The same trace through a
// Snowball pins that difference: identical counters, preference moving only at the end.
TEST_CASE("ErrorDrivenMultiChoice/SwitchChoices through a snowball keeps the stronger choice") {
  const Choice choice0 = kRed, choice1 = kGreen;
  Snowball sb = suite_instance<Snowball>();
  sb.record_poll(3, choice0);
  assert_equal(sb, {1, 0, 0}, false, choice0);
  sb.record_poll(2, choice1);
  assert_equal(sb, {0, 0, 0}, false, choice0);
  sb.record_poll(3, choice0);
  assert_equal(sb, {1, 0, 0}, false, choice0);
  sb.record_poll(0, choice0);
  assert_equal(sb, {0, 0, 0}, false, choice0);
  sb.record_poll(3, choice1);  // strength 2 : 1, choice0 still the stronger
  assert_equal(sb, {1, 0, 0}, false, choice0);
  CHECK(sb.snowflake().preference() == choice1);
  sb.record_poll(5, choice1);  // 2 : 2, a tie keeps choice0
  assert_equal(sb, {2, 1, 1}, false, choice0);
  sb.record_poll(5, choice1);  // 2 : 3
  assert_equal(sb, {3, 2, 2}, true, choice1);
  CHECK(sb.strength(choice0) == 2);
  CHECK(sb.strength(choice1) == 3);
}

// --- nnary_snowball_test.go ----------------------------------------------------------

TEST_CASE("TestNnarySnowball") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), kRed};
  sb.add(kBlue);
  sb.add(kGreen);
  expect(sb, kRed, false);

  sb.record_poll(alpha_confidence, kBlue);
  expect(sb, kBlue, false);
  sb.record_poll(alpha_confidence, kRed);
  expect(sb, kBlue, false);
  sb.record_poll(alpha_preference, kRed);
  expect(sb, kRed, false);
  sb.record_poll(alpha_confidence, kRed);
  expect(sb, kRed, false);
  sb.record_poll(alpha_preference, kBlue);
  expect(sb, kRed, false);
  sb.record_poll(alpha_confidence, kBlue);
  expect(sb, kRed, false);
  sb.record_poll(alpha_confidence, kBlue);
  expect(sb, kBlue, true);
}

TEST_CASE("TestVirtuousNnarySnowball") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 1;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), kRed};
  expect(sb, kRed, false);
  sb.record_poll(alpha_confidence, kRed);
  expect(sb, kRed, true);
}

TEST_CASE("TestNarySnowballRecordUnsuccessfulPoll") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), kRed};
  sb.add(kBlue);
  expect(sb, kRed, false);

  sb.record_poll(alpha_confidence, kBlue);
  expect(sb, kBlue, false);
  sb.record_unsuccessful_poll();
  sb.record_poll(alpha_confidence, kBlue);
  expect(sb, kBlue, false);
  sb.record_poll(alpha_confidence, kBlue);
  expect(sb, kBlue, true);

  // Go prints ids and the maximum strength; this port prints each choice's strength.
  CHECK(render(sb) ==
        "SB(Preference = 1, PreferenceStrength[0] = 0, PreferenceStrength[1] = 3, "
        "SF(Confidence = [2], Finalized = true, SL(Preference = 1)))");

  for (int i = 0; i < 4; ++i) {
    sb.record_poll(alpha_confidence, kRed);
    expect(sb, kBlue, true);
  }
}

TEST_CASE("TestNarySnowballDifferentSnowflakeColor") {
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), kRed};
  sb.add(kBlue);
  expect(sb, kRed, false);

  sb.record_poll(alpha_confidence, kBlue);
  CHECK(sb.snowflake().preference() == kBlue);

  sb.record_poll(alpha_confidence, kRed);
  CHECK(sb.preference() == kBlue);
  CHECK(sb.snowflake().preference() == kRed);
}

// --- binary_snowball_test.go ---------------------------------------------------------
// The expected renderings are Go's, character for character.

TEST_CASE("TestBinarySnowball") {
  const Choice red = 0, blue = 1;
  const int alpha_preference = 2, alpha_confidence = 3, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), red};
  sb.add(blue);
  expect(sb, red, false);

  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, false);
  sb.record_poll(alpha_confidence, red);
  expect(sb, blue, false);
  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, false);
  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, true);
}

TEST_CASE("TestBinarySnowballRecordPollPreference") {
  const Choice red = 0, blue = 1;
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), red};
  sb.add(blue);
  expect(sb, red, false);

  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, false);
  sb.record_poll(alpha_confidence, red);
  expect(sb, blue, false);
  sb.record_poll(alpha_preference, red);
  expect(sb, red, false);
  sb.record_poll(alpha_confidence, red);
  expect(sb, red, false);
  sb.record_poll(alpha_confidence, red);
  expect(sb, red, true);

  CHECK(render(sb) ==
        "SB(Preference = 0, PreferenceStrength[0] = 4, PreferenceStrength[1] = 1, "
        "SF(Confidence = [2], Finalized = true, SL(Preference = 0)))");
}

TEST_CASE("TestBinarySnowballRecordUnsuccessfulPoll") {
  const Choice red = 0, blue = 1;
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), red};
  sb.add(blue);
  expect(sb, red, false);

  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, false);
  sb.record_unsuccessful_poll();
  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, false);
  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, true);

  CHECK(render(sb) ==
        "SB(Preference = 1, PreferenceStrength[0] = 0, PreferenceStrength[1] = 3, "
        "SF(Confidence = [2], Finalized = true, SL(Preference = 1)))");
}

TEST_CASE("TestBinarySnowballAcceptWeirdColor") {
  const Choice blue = 0, red = 1;
  const int alpha_preference = 1, alpha_confidence = 2, beta = 2;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), red};
  sb.add(blue);
  expect(sb, red, false);

  sb.record_poll(alpha_confidence, red);
  sb.record_unsuccessful_poll();
  expect(sb, red, false);
  sb.record_poll(alpha_confidence, red);
  sb.record_unsuccessful_poll();
  expect(sb, red, false);
  sb.record_poll(alpha_confidence, blue);
  expect(sb, red, false);
  // Blue only ties Red's strength, yet snowflake finalizes on it: the decision wins.
  sb.record_poll(alpha_confidence, blue);
  expect(sb, blue, true);

  CHECK(render(sb) ==
        "SB(Preference = 1, PreferenceStrength[0] = 2, PreferenceStrength[1] = 2, "
        "SF(Confidence = [2], Finalized = true, SL(Preference = 0)))");
}

TEST_CASE("TestBinarySnowballLockColor") {
  const Choice red = 0, blue = 1;
  const int alpha_preference = 1, alpha_confidence = 2, beta = 1;
  Snowball sb{single(alpha_preference, alpha_confidence, beta), red};
  sb.add(blue);

  sb.record_poll(alpha_confidence, red);
  expect(sb, red, true);
  sb.record_poll(alpha_confidence, blue);
  expect(sb, red, true);
  sb.record_poll(alpha_preference, blue);
  sb.record_poll(alpha_confidence, blue);
  expect(sb, red, true);

  // Strength keeps counting after finalization and moves the internal preference to Blue;
  // preference() stays locked on the finalized Red.
  CHECK(render(sb) ==
        "SB(Preference = 1, PreferenceStrength[0] = 1, PreferenceStrength[1] = 3, "
        "SF(Confidence = [1], Finalized = true, SL(Preference = 0)))");
}

// --- Croupier's own rules ------------------------------------------------------------

TEST_CASE_TEMPLATE("a finalized instance keeps its counters through an unsuccessful poll", T, Snowflake,
                   Snowball) {
  T instance = suite_instance<T>();
  instance.record_poll(5, kRed);
  instance.record_poll(5, kRed);
  assert_equal(instance, {2, 2, 2}, true, kRed);
  // avalanchego would zero them here; a decision's evidence should not vanish after it.
  instance.record_unsuccessful_poll();
  assert_equal(instance, {2, 2, 2}, true, kRed);
  instance.record_poll(0, kGreen);
  instance.record_poll(5, kGreen);
  assert_equal(instance, {2, 2, 2}, true, kRed);
}

TEST_CASE_TEMPLATE("copies are independent instances", T, Snowflake, Snowball) {
  T original = suite_instance<T>();
  original.record_poll(5, kRed);
  T fork = original;
  fork.record_poll(5, kGreen);
  assert_equal(original, {1, 1, 1}, false, kRed);
  CHECK(fork.confidence() == std::vector<int>{1, 1, 1});
  CHECK(render(original) != render(fork));
}

TEST_CASE_TEMPLATE("add is idempotent and allowed once finalized", T, Snowflake, Snowball) {
  T instance{single(1, 1, 1), kRed};
  instance.add(kRed);
  instance.add(kBlue);
  instance.add(kBlue);
  instance.record_poll(1, kBlue);
  CHECK(instance.finalized());
  instance.add(kGreen);
  expect(instance, kBlue, true);
}

TEST_CASE("snowflake renders its counters as Go's %v does") {
  Snowflake sf = suite_instance<Snowflake>();
  sf.record_poll(4, kGreen);
  CHECK(render(sf) == "SF(Confidence = [1 1 0], Finalized = false, SL(Preference = 2))");
}

TEST_CASE("snowball lists every known choice's strength, ascending") {
  Snowball sb{single(1, 2, 5), 7};
  sb.add(3);
  sb.add(11);
  sb.record_poll(1, 11);
  CHECK(sb.strength(3) == 0);
  CHECK(sb.strength(11) == 1);
  CHECK(render(sb) ==
        "SB(Preference = 11, PreferenceStrength[3] = 0, PreferenceStrength[7] = 0, "
        "PreferenceStrength[11] = 1, SF(Confidence = [0], Finalized = false, SL(Preference = 11)))");
}

// --- parameters_test.go --------------------------------------------------------------
// Go's rows, less those about fields this struct does not have (ConcurrentRepolls,
// OptimalProcessing, MaxOutstandingItems, MaxItemProcessingTime), plus rows for the
// termination conditions. `broken` is the condition the message must name; empty = valid.

namespace {

struct ValidationRow {
  std::string name;
  Parameters parameters;
  std::string broken;
  std::string also = {};  // a further part the message must contain, if any
};

Parameters p(int k, int alpha_preference, std::vector<Termination> terminations) {
  return Parameters{.k = k, .alpha_preference = alpha_preference, .terminations = std::move(terminations)};
}

void check_row(const ValidationRow& row, const std::optional<std::string>& error) {
  CAPTURE(row.name);
  if (row.broken.empty()) {
    CHECK_MESSAGE(!error.has_value(), error.value_or(""));
    return;
  }
  REQUIRE(error.has_value());
  CAPTURE(*error);
  CHECK(error->starts_with("parameters invalid: "));
  CHECK(error->ends_with("fails the condition that: " + row.broken));
  CHECK(error->find(row.also) != std::string::npos);
}

}  // namespace

TEST_CASE("TestParametersVerify") {
  const std::vector<ValidationRow> rows{
      {"valid", p(1, 1, {{1, 1}}), ""},
      {"invalid K", p(0, 1, {{1, 1}}), "alpha_confidence <= k"},
      {"invalid AlphaPreference 1", p(2, 1, {{1, 1}}), "k/2 < alpha_preference"},
      {"invalid AlphaPreference 0", p(1, 0, {{1, 1}}), "k/2 < alpha_preference"},
      {"invalid AlphaConfidence", p(3, 3, {{2, 1}}), "alpha_preference <= alpha_confidence"},
      {"invalid beta", p(1, 1, {{1, 0}}), "0 < beta"},
      {"first half fun alphaConfidence", p(30, 28, {{30, 2}}), ""},
      {"second half fun alphaConfidence", p(3, 2, {{3, 2}}), ""},
      {"fun invalid alphaConfidence", p(1, 28, {{3, 2}}), "alpha_preference <= alpha_confidence"},
      {"no termination condition", p(1, 1, {}), "0 < len(terminations)"},
      {"negative k", p(-4, -1, {{-1, 1}}), "0 < alpha_preference"},
      {"several conditions, as snowflake_test.go", p(5, 3, {{3, 4}, {4, 3}, {5, 2}}), ""},
      {"equal betas", p(5, 3, {{3, 2}, {4, 2}}), ""},
      {"repeated alpha_confidence", p(5, 3, {{4, 3}, {4, 2}}),
       "terminations[i].alpha_confidence < terminations[i+1].alpha_confidence",
       "terminations[0].alpha_confidence = 4, terminations[1].alpha_confidence = 4"},
      {"descending alpha_confidence", p(5, 3, {{5, 3}, {4, 2}}),
       "terminations[i].alpha_confidence < terminations[i+1].alpha_confidence"},
      {"ascending beta", p(5, 3, {{3, 2}, {4, 3}}), "terminations[i].beta >= terminations[i+1].beta",
       "terminations[0].beta = 2, terminations[1].beta = 3"},
      {"second condition above k", p(4, 3, {{3, 4}, {5, 2}}), "alpha_confidence <= k",
       "k = 4, terminations[1].alpha_confidence = 5"},
      {"second condition below alpha_preference", p(5, 3, {{3, 4}, {2, 2}}),
       "alpha_preference <= alpha_confidence", "terminations[1]"},
      {"second beta zero", p(5, 3, {{3, 4}, {4, 0}}), "0 < beta", "terminations[1].beta = 0"},
  };
  for (const auto& row : rows) check_row(row, croupier::snowball::validate(row.parameters));
}

TEST_CASE("validation message names the values and the condition") {
  CHECK(croupier::snowball::validate(p(2, 1, {{1, 1}})) ==
        "parameters invalid: k = 2, alpha_preference = 1: fails the condition that: k/2 < alpha_preference");
}

TEST_CASE("validate_ignoring_k checks everything that does not mention k") {
  const std::vector<ValidationRow> rows{
      {"Go's test parameters, which no k satisfies", p(0, 1, {{2, 2}}), ""},
      {"alpha_confidence far above any k", p(0, 1, {{1000, 1}}), ""},
      {"alpha_preference 0", p(0, 0, {{1, 1}}), "0 < alpha_preference"},
      {"alpha_confidence below alpha_preference", p(0, 3, {{2, 1}}), "alpha_preference <= alpha_confidence"},
      {"beta 0", p(0, 1, {{1, 0}}), "0 < beta"},
      {"no termination condition", p(0, 1, {}), "0 < len(terminations)"},
      {"descending alpha_confidence", p(0, 3, {{4, 3}, {3, 2}}),
       "terminations[i].alpha_confidence < terminations[i+1].alpha_confidence"},
      {"ascending beta", p(0, 3, {{3, 2}, {4, 3}}), "terminations[i].beta >= terminations[i+1].beta"},
  };
  for (const auto& row : rows) check_row(row, croupier::snowball::validate_ignoring_k(row.parameters));
}
