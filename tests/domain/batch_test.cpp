// BatchLifecycle: every legal transition of the diagram in batch.hpp, a table of illegal
// ones, retry numbering, the attempt limit and terminal states.
// Method: machines are built by replaying a short path of named steps, then asserted
// against their own operator<< rendering ("submitted attempts=2/3"); an illegal step must
// throw BatchTransitionError and leave that rendering (and the value) unchanged.
#include <doctest/doctest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/batch.hpp"

using namespace croupier;

namespace {

std::string show(const BatchLifecycle& b) {
  std::ostringstream os;
  os << b;
  return os.str();
}

// A machine with max_attempts 3 driven along `path`: p = prove, s = submit(next attempt),
// c = confirm(42), f = fail.
BatchLifecycle after(std::string_view path) {
  BatchLifecycle b(3);
  for (char step : path) {
    switch (step) {
      case 'p': b.prove(); break;
      case 's': b.submit(b.attempts() + 1); break;
      case 'c': b.confirm(42); break;
      case 'f': b.fail(); break;
      default: FAIL("unknown step " << step);
    }
  }
  return b;
}

}  // namespace

TEST_CASE("NewBatchIsCreatedWithNoAttempts") {
  BatchLifecycle b;
  CHECK(b.status() == BatchStatus::created);
  CHECK(b.attempts() == 0);
  CHECK(b.max_attempts() == 5);
  CHECK_FALSE(b.terminal());
  CHECK(show(b) == "created attempts=0/5");
  CHECK(show(BatchLifecycle(3)) == "created attempts=0/3");
}

TEST_CASE("HappyPathProveSubmitConfirm") {
  BatchLifecycle b(3);
  b.prove();
  CHECK(show(b) == "proved attempts=0/3");
  b.submit(1);
  CHECK(show(b) == "submitted attempts=1/3");
  b.confirm(1234);
  CHECK(show(b) == "confirmed attempts=1/3 height=1234");
  CHECK(b.status() == BatchStatus::confirmed);
  CHECK(b.confirmed_height() == 1234);
  CHECK(b.terminal());
}

TEST_CASE("RetriesAreNumberedUpToMaxAttempts") {
  BatchLifecycle b(3);
  b.prove();
  b.submit(1);
  b.submit(2);
  CHECK(show(b) == "submitted attempts=2/3");
  b.submit(3);
  CHECK(show(b) == "submitted attempts=3/3");
  // A fourth attempt is beyond the limit; the batch can still be confirmed or failed.
  CHECK_THROWS_WITH_AS(b.submit(4), doctest::Contains("beyond the last attempt"), BatchTransitionError);
  CHECK(show(b) == "submitted attempts=3/3");
  b.confirm(7);
  CHECK(show(b) == "confirmed attempts=3/3 height=7");

  BatchLifecycle one(1);
  one.prove();
  one.submit(1);
  CHECK_THROWS_AS(one.submit(2), BatchTransitionError);
  one.fail();
  CHECK(show(one) == "failed attempts=1/1");
}

TEST_CASE("FailIsLegalFromEveryNonTerminalState") {
  for (std::string path : {"", "p", "ps", "pss"}) {
    CAPTURE(path);
    BatchLifecycle b = after(path);
    std::uint32_t attempts = b.attempts();
    b.fail();
    CHECK(b.status() == BatchStatus::failed);
    CHECK(b.terminal());
    CHECK(b.attempts() == attempts);
    CHECK(show(b) == "failed attempts=" + std::to_string(attempts) + "/3");
  }
}

TEST_CASE("IllegalTransitionsThrowAndChangeNothing") {
  struct Row {
    std::string name;
    std::string_view path;  // How to reach the starting state.
    std::function<void(BatchLifecycle&)> step;
    const char* message;
  };
  auto prove = [](BatchLifecycle& b) { b.prove(); };
  auto submit = [](std::uint32_t n) { return [n](BatchLifecycle& b) { b.submit(n); }; };
  auto confirm = [](BatchLifecycle& b) { b.confirm(9); };
  auto fail = [](BatchLifecycle& b) { b.fail(); };
  const std::vector<Row> rows{
      {"submit before prove", "", submit(1), "submit from created"},
      {"confirm before prove", "", confirm, "confirm from created"},
      {"prove twice", "p", prove, "prove from proved"},
      {"confirm before submit", "p", confirm, "confirm from proved"},
      {"first submit numbered 0", "p", submit(0), "submit attempt 0 from proved"},
      {"first submit numbered 2", "p", submit(2), "submit attempt 2 from proved"},
      {"resubmit the same attempt", "ps", submit(1), "submit attempt 1 from submitted"},
      {"skip an attempt", "ps", submit(3), "submit attempt 3"},
      {"prove after submit", "ps", prove, "prove from submitted"},
      {"submit beyond max", "psss", submit(4), "submit beyond the last attempt from submitted (attempts 3/3)"},
      {"prove after confirm", "psc", prove, "prove from confirmed"},
      {"submit after confirm", "psc", submit(2), "submit from confirmed"},
      {"confirm twice", "psc", confirm, "confirm from confirmed"},
      {"fail after confirm", "psc", fail, "fail from confirmed"},
      {"prove after fail", "f", prove, "prove from failed"},
      {"submit after fail", "pf", submit(1), "submit from failed"},
      {"confirm after fail", "psf", confirm, "confirm from failed"},
      {"fail twice", "f", fail, "fail from failed"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    BatchLifecycle b = after(row.path);
    const BatchLifecycle before = b;
    const std::string rendered = show(b);
    CHECK_THROWS_WITH_AS(row.step(b), doctest::Contains(row.message), BatchTransitionError);
    CHECK(b == before);
    CHECK(show(b) == rendered);
  }
}

TEST_CASE("ErrorMessageNamesTheStepTheStateAndTheAttempts") {
  BatchLifecycle b = after("ps");
  CHECK_THROWS_WITH_AS(b.prove(), "illegal batch transition: prove from submitted (attempts 1/3)",
                       BatchTransitionError);
}

TEST_CASE("StatusNamesAndStableNumbers") {
  CHECK(batch_status_name(BatchStatus::created) == "created");
  CHECK(batch_status_name(BatchStatus::proved) == "proved");
  CHECK(batch_status_name(BatchStatus::submitted) == "submitted");
  CHECK(batch_status_name(BatchStatus::confirmed) == "confirmed");
  CHECK(batch_status_name(BatchStatus::failed) == "failed");
  CHECK(batch_status_name(static_cast<BatchStatus>(99)) == "unknown");
  // The numbers are stored in snapshots.
  CHECK(static_cast<int>(BatchStatus::created) == 1);
  CHECK(static_cast<int>(BatchStatus::failed) == 5);
}
