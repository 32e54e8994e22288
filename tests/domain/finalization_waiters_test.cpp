// Finalization waiters: every waiter is answered exactly once, by the commit of its tx, by
// its deadline, or not at all once cancelled; expire() answers in deadline order (ties in
// add order); next_deadline() is always the earliest live deadline, even after lazily
// deleted entries; the size bound holds and the heap never grows beyond its stated bound.
// Method: small hand-made scenarios for each behaviour, then a seeded run of random
// operations (add, commit, cancel, expire, with reused tokens and deadlines in the past)
// checked step by step against a naive model that scans a vector.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "domain/finalization_waiters.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using Token = FinalizationWaiters::Token;
using std::chrono::milliseconds;

namespace {

Hash32 tx(std::uint8_t n) {
  Hash32 h{};
  h[0] = n;
  h[31] = 0x5a;
  return h;
}

std::vector<Token> sorted(std::vector<Token> v) {
  std::sort(v.begin(), v.end());
  return v;
}

using Tokens = std::vector<Token>;

}  // namespace

TEST_CASE("ExpireAnswersByDeadlineThenByAddOrder") {
  FinalizationWaiters w(100);
  REQUIRE(w.add(tx(1), 10, 300ms));
  REQUIRE(w.add(tx(2), 11, 100ms));
  REQUIRE(w.add(tx(3), 12, 200ms));
  REQUIRE(w.add(tx(4), 13, 100ms));  // Same deadline as token 11, added later.
  REQUIRE(w.add(tx(1), 14, 200ms));
  CHECK(w.size() == 5);
  CHECK(w.next_deadline() == 100ms);
  CHECK(w.expire(99ms) == Tokens{});
  CHECK(w.expire(100ms) == Tokens{11, 13});  // deadline <= now, inclusive.
  CHECK(w.next_deadline() == 200ms);
  CHECK(w.expire(250ms) == Tokens{12, 14});
  CHECK(w.expire(1000ms) == Tokens{10});
  CHECK(w.empty());
  CHECK_FALSE(w.next_deadline().has_value());
  CHECK(w.heap_entries() == 0);
}

TEST_CASE("ManyWaitersWithTheSameDeadlineExpireTogetherInAddOrder") {
  FinalizationWaiters w(1000);
  Tokens expected;
  for (Token t = 500; t > 0; --t) {  // Tokens need not be ordered; add order is what counts.
    REQUIRE(w.add(tx(static_cast<std::uint8_t>(t % 7)), t, 42ms));
    expected.push_back(t);
  }
  CHECK(w.next_deadline() == 42ms);
  CHECK(w.expire(41ms).empty());
  CHECK(w.expire(42ms) == expected);
  CHECK(w.empty());
}

TEST_CASE("ACommitAnswersAllWaitersOfItsTxAndOnlyThem") {
  FinalizationWaiters w(100);
  for (Token t = 1; t <= 20; ++t) REQUIRE(w.add(tx(1), t, milliseconds(100 + t)));
  REQUIRE(w.add(tx(2), 99, 50ms));
  CHECK(w.waiting_for(tx(1)) == 20);
  Tokens all;
  for (Token t = 1; t <= 20; ++t) all.push_back(t);
  CHECK(sorted(w.committed(tx(1))) == all);
  CHECK(w.waiting_for(tx(1)) == 0);
  CHECK(w.size() == 1);
  CHECK(w.committed(tx(1)).empty());  // A second commit (or a replayed block) answers nobody.
  CHECK(w.committed(tx(3)).empty());  // Nobody waits for it.
  CHECK(w.next_deadline() == 50ms);
  CHECK(w.expire(10'000ms) == Tokens{99});
}

TEST_CASE("AWaiterAnsweredByCommitIsNotAnsweredAgainAtExpiry") {
  FinalizationWaiters w(100);
  REQUIRE(w.add(tx(1), 1, 100ms));
  REQUIRE(w.add(tx(2), 2, 200ms));
  REQUIRE(w.add(tx(1), 3, 300ms));
  CHECK(sorted(w.committed(tx(1))) == Tokens{1, 3});
  // The entries of 1 and 3 are still in the heap (lazy deletion), but are skipped: the next
  // deadline is token 2's, and expiry answers only it.
  CHECK(w.next_deadline() == 200ms);
  CHECK(w.heap_entries() >= w.size());
  CHECK(w.expire(1000ms) == Tokens{2});
  CHECK(w.expire(1000ms).empty());
  CHECK(w.heap_entries() == 0);
}

TEST_CASE("ACancelledWaiterIsNeverAnswered") {
  FinalizationWaiters w(100);
  REQUIRE(w.add(tx(1), 1, 100ms));
  REQUIRE(w.add(tx(1), 2, 200ms));
  REQUIRE(w.add(tx(1), 3, 300ms));
  REQUIRE(w.add(tx(1), 4, 400ms));
  CHECK(w.cancel(1));       // The earliest: next_deadline moves on.
  CHECK(w.next_deadline() == 200ms);
  CHECK(w.cancel(2));       // Swap-and-pop inside the tx's list...
  CHECK_FALSE(w.cancel(2));  // ...once.
  CHECK_FALSE(w.cancel(77));
  CHECK(w.waiting_for(tx(1)) == 2);
  CHECK(sorted(w.committed(tx(1))) == Tokens{3, 4});  // ...and the others are intact.
  CHECK_FALSE(w.cancel(3));  // Already answered.
  CHECK(w.expire(1000ms).empty());
}

TEST_CASE("AReusedTokenDoesNotReviveItsOldDeadline") {
  FinalizationWaiters w(100);
  REQUIRE(w.add(tx(1), 7, 10ms));
  CHECK(w.cancel(7));
  REQUIRE(w.add(tx(2), 7, 100ms));  // Same token, new waiter; the old heap entry remains.
  CHECK(w.next_deadline() == 100ms);
  CHECK(w.expire(50ms).empty());
  CHECK(w.committed(tx(1)).empty());
  CHECK(w.expire(100ms) == Tokens{7});
  // Reused after a commit, too.
  REQUIRE(w.add(tx(3), 8, 10ms));
  CHECK(w.committed(tx(3)) == Tokens{8});
  REQUIRE(w.add(tx(3), 8, 500ms));
  CHECK(w.expire(100ms).empty());
  CHECK(w.committed(tx(3)) == Tokens{8});
}

TEST_CASE("DeadlinesAlreadyPastExpireAtTheNextCall") {
  FinalizationWaiters w(10);
  CHECK(w.expire(1000ms).empty());
  REQUIRE(w.add(tx(1), 1, 500ms));  // Earlier than the last `now`.
  REQUIRE(w.add(tx(1), 2, -5ms));   // Before the epoch, even.
  CHECK(w.next_deadline() == -5ms);
  CHECK(w.expire(0ms) == Tokens{2});  // `now` may go backwards.
  CHECK(w.expire(1000ms) == Tokens{1});
}

TEST_CASE("AddRefusesBeyondMaxWaitersAndChangesNothing") {
  FinalizationWaiters w(3);
  CHECK(w.max_waiters() == 3);
  CHECK(w.add(tx(1), 1, 100ms));
  CHECK(w.add(tx(1), 2, 100ms));
  CHECK(w.add(tx(2), 3, 300ms));
  CHECK_FALSE(w.add(tx(3), 4, 10ms));
  CHECK(w.size() == 3);
  CHECK_FALSE(w.contains(4));
  CHECK(w.waiting_for(tx(3)) == 0);
  CHECK(w.next_deadline() == 100ms);  // The refused waiter's earlier deadline left no trace.
  CHECK(w.cancel(3));                 // Room again.
  CHECK(w.add(tx(3), 4, 10ms));
  CHECK(w.next_deadline() == 10ms);
  CHECK(w.expire(200ms) == Tokens{4, 1, 2});
}

TEST_CASE("LazyDeletionKeepsTheHeapWithinItsBound") {
  // Waiters that are always answered by commit, never by expiry, would leave one stale heap
  // entry each; compaction must keep the heap within 2 * size() + slack + 1.
  FinalizationWaiters w(100'000);
  REQUIRE(w.add(tx(0), 0, 1'000'000ms));  // One long-lived waiter.
  Token next = 1;
  for (int round = 0; round < 2000; ++round) {
    const Hash32 h = tx(static_cast<std::uint8_t>(1 + round % 200));
    for (int i = 0; i < 5; ++i) REQUIRE(w.add(h, next++, milliseconds(1000 + round)));
    CHECK(w.committed(h).size() == 5);
    CHECK(w.heap_entries() <= 2 * w.size() + FinalizationWaiters::kCompactSlack + 1);
  }
  CHECK(w.size() == 1);
  CHECK(w.next_deadline() == 1'000'000ms);
  CHECK(w.expire(1'000'000ms) == Tokens{0});
}

TEST_CASE("CompactionKeepsTheExpiryOrder") {
  // 300 waiters with shuffled deadlines; cancelling 250 of them forces several rebuilds of
  // the heap; the 50 left must still expire in deadline order.
  std::mt19937_64 rng(5);
  std::vector<Token> tokens(300);
  for (Token t = 0; t < 300; ++t) tokens[t] = t;
  std::shuffle(tokens.begin(), tokens.end(), rng);
  FinalizationWaiters w(1000);
  for (Token t : tokens) REQUIRE(w.add(tx(static_cast<std::uint8_t>(t % 9)), t, milliseconds(10 * t)));
  std::shuffle(tokens.begin(), tokens.end(), rng);
  std::size_t peak = w.heap_entries();
  for (std::size_t i = 0; i < 250; ++i) {
    CHECK(w.cancel(tokens[i]));
    CHECK(w.heap_entries() <= 2 * w.size() + FinalizationWaiters::kCompactSlack + 1);
  }
  CHECK(w.heap_entries() < peak);  // Rebuilt at least once.
  Tokens left(tokens.begin() + 250, tokens.end());
  std::sort(left.begin(), left.end());  // Deadline 10 * t: token order is deadline order.
  CHECK(w.next_deadline() == milliseconds(10 * left.front()));
  CHECK(w.expire(milliseconds(10'000)) == left);
}

TEST_CASE("RandomOperationsAgreeWithANaiveModel") {
  struct ModelWaiter {
    Hash32 tx;
    Token token;
    milliseconds deadline;
    std::uint64_t order;
  };
  std::mt19937_64 rng(0xC0FFEE);
  constexpr std::size_t kMax = 80;  // Small enough to be reached now and then.
  FinalizationWaiters w(kMax);
  std::vector<ModelWaiter> model;
  std::uint64_t order = 0;
  milliseconds now = 0ms;
  std::size_t answered_by_commit = 0, answered_by_expiry = 0, cancelled = 0, refused = 0;
  auto held = [&](Token t) {
    return std::any_of(model.begin(), model.end(), [&](const ModelWaiter& m) { return m.token == t; });
  };
  for (int step = 0; step < 30'000; ++step) {
    CAPTURE(step);
    // Every fourth stretch of 1000 steps only adds, to fill up to the bound.
    const bool burst = (step / 1000) % 4 == 3;
    const auto op = burst ? 0 : rng() % 100;
    if (op < 50) {
      // Add: tokens from a small range so they are often reused; deadlines mostly ahead.
      Token token = rng() % 1000;
      if (held(token)) continue;
      Hash32 h = tx(static_cast<std::uint8_t>(rng() % 40));
      milliseconds deadline = now + milliseconds(static_cast<std::int64_t>(rng() % 500)) - 20ms;
      bool ok = w.add(h, token, deadline);
      CHECK(ok == (model.size() < kMax));
      if (ok)
        model.push_back({h, token, deadline, order++});
      else
        ++refused;
    } else if (op < 70) {
      Hash32 h = tx(static_cast<std::uint8_t>(rng() % 40));
      Tokens expected;
      std::erase_if(model, [&](const ModelWaiter& m) {
        if (m.tx != h) return false;
        expected.push_back(m.token);
        return true;
      });
      Tokens got = w.committed(h);
      answered_by_commit += got.size();
      CHECK(sorted(got) == sorted(expected));
    } else if (op < 80) {
      // Half the time a held token, half the time any (mostly not held).
      Token token = !model.empty() && rng() % 2 ? model[rng() % model.size()].token : rng() % 1000;
      bool expected = held(token);
      std::erase_if(model, [&](const ModelWaiter& m) { return m.token == token; });
      CHECK(w.cancel(token) == expected);
      cancelled += expected;
    } else {
      now += milliseconds(static_cast<std::int64_t>(rng() % 60));
      std::vector<ModelWaiter> due;
      std::erase_if(model, [&](const ModelWaiter& m) {
        if (m.deadline > now) return false;
        due.push_back(m);
        return true;
      });
      std::sort(due.begin(), due.end(), [](const ModelWaiter& x, const ModelWaiter& y) {
        return x.deadline != y.deadline ? x.deadline < y.deadline : x.order < y.order;
      });
      Tokens expected;
      for (const auto& m : due) expected.push_back(m.token);
      Tokens got = w.expire(now);
      answered_by_expiry += got.size();
      CHECK(got == expected);
    }
    // The whole observable state, after every step.
    REQUIRE(w.size() == model.size());
    std::optional<milliseconds> earliest;
    for (const auto& m : model) earliest = earliest ? std::min(*earliest, m.deadline) : m.deadline;
    REQUIRE(w.next_deadline() == earliest);
    REQUIRE(w.heap_entries() <= 2 * w.size() + FinalizationWaiters::kCompactSlack + 1);
    if (step % 97 == 0) {
      for (std::uint8_t n = 0; n < 40; ++n) {
        auto count = std::count_if(model.begin(), model.end(), [&](const ModelWaiter& m) { return m.tx == tx(n); });
        CHECK(w.waiting_for(tx(n)) == static_cast<std::size_t>(count));
      }
    }
  }
  // The run exercised every way out, and the bound.
  CHECK(answered_by_commit > 1000);
  CHECK(answered_by_expiry > 1000);
  CHECK(cancelled > 1000);
  CHECK(refused > 100);
}
