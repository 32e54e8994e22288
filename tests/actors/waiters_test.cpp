// The waiters actor: a client is answered final when its tx's block commits, pending at
// its deadline, pending at once when the table is full, and pending when the actor stops.
// Method: CAF's test coordinator runs the actor on virtual time, so deadlines are reached
// by advancing the clock, never by sleeping.
#include <doctest/doctest.h>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/waiters.hpp"
#include "caf_fixture.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using actors::WaitAnswer;

namespace {

Hash32 tx(std::uint8_t n) {
  Hash32 h{};
  h[0] = n;
  return h;
}

struct WaitersFixture : test::CafFixture {
  actors::waiters_actor waiters;
  std::vector<std::unique_ptr<caf::scoped_actor>> clients;

  explicit WaitersFixture(std::size_t max_waiters = 1000) {
    waiters = actors::spawn_waiters(*system, {max_waiters, {}});
    run();
  }
  ~WaitersFixture() {
    caf::anon_send_exit(waiters, caf::exit_reason::user_shutdown);
    run();
  }
  // A new client that asks to wait for `id` at most `max_wait`; returns its index.
  std::size_t wait(const Hash32& id, caf::timespan max_wait) {
    clients.push_back(std::make_unique<caf::scoped_actor>(*system));
    (*clients.back())->send(waiters, actors::wait_atom::value, id, max_wait);
    return clients.size() - 1;
  }
  // The client's answer, if one has arrived.
  std::optional<WaitAnswer> answer(std::size_t client) {
    std::optional<WaitAnswer> got;
    (*clients[client])->receive([&](const WaitAnswer& a) { got = a; }, caf::after(0s) >> [] {});
    return got;
  }
  actors::WaitersStats stats() {
    caf::scoped_actor self{*system};
    self->send(waiters, actors::stats_atom::value);
    run();
    actors::WaitersStats s;
    self->receive([&](const actors::WaitersStats& x) { s = x; });
    return s;
  }
};

}  // namespace

TEST_CASE("AClientIsAnsweredFinalTheMomentItsBlockCommits") {
  WaitersFixture f;
  auto a = f.wait(tx(1), 2s);
  auto b = f.wait(tx(1), 2s);
  auto c = f.wait(tx(2), 2s);
  f.run();
  CHECK_FALSE(f.answer(a));
  caf::anon_send(f.waiters, actors::committed_atom::value, actors::TxIds{tx(1), tx(9)}, std::uint64_t{42});
  f.run();
  CHECK(f.answer(a) == WaitAnswer{true, 42});
  CHECK(f.answer(b) == WaitAnswer{true, 42});
  CHECK_FALSE(f.answer(c));
  auto s = f.stats();
  CHECK(s.waiting == 1);
  CHECK(s.finalized_total == 2);
}

TEST_CASE("AClientIsAnsweredPendingAtItsDeadlineAndNotBefore") {
  WaitersFixture f;
  auto early = f.wait(tx(1), 1s);
  auto late = f.wait(tx(2), 3s);
  f.run();
  f.advance(999ms);
  CHECK_FALSE(f.answer(early));
  f.advance(1ms);
  CHECK(f.answer(early) == WaitAnswer{false, 0});
  CHECK_FALSE(f.answer(late));
  // A commit after the deadline answers nobody twice.
  caf::anon_send(f.waiters, actors::committed_atom::value, actors::TxIds{tx(1)}, std::uint64_t{5});
  f.run();
  f.advance(2s);
  CHECK(f.answer(late) == WaitAnswer{false, 0});
  CHECK_FALSE(f.answer(early));
  auto s = f.stats();
  CHECK(s.waiting == 0);
  CHECK(s.timeouts_total == 2);
  CHECK(s.finalized_total == 0);
}

TEST_CASE("AnEarlierDeadlineArrivingLaterIsStillHonoured") {
  WaitersFixture f;
  auto slow = f.wait(tx(1), 10s);
  f.run();
  auto quick = f.wait(tx(2), 1s);  // Arms a new, earlier timer; the 10 s one is superseded.
  f.run();
  f.advance(1s);
  CHECK(f.answer(quick) == WaitAnswer{false, 0});
  CHECK_FALSE(f.answer(slow));
  f.advance(9s);
  CHECK(f.answer(slow) == WaitAnswer{false, 0});
}

TEST_CASE("AFullTableAnswersPendingAtOnce") {
  WaitersFixture f(2);
  auto a = f.wait(tx(1), 5s);
  auto b = f.wait(tx(2), 5s);
  auto c = f.wait(tx(3), 5s);
  f.run();
  CHECK(f.answer(c) == WaitAnswer{false, 0});
  CHECK_FALSE(f.answer(a));
  CHECK_FALSE(f.answer(b));
}

TEST_CASE("ThousandsOfWaitersAreAnsweredEachExactlyOnce") {
  WaitersFixture f(10000);
  std::vector<std::size_t> ids;
  for (int i = 0; i < 3000; ++i) {
    Hash32 id{};
    id[0] = static_cast<std::uint8_t>(i);
    id[1] = static_cast<std::uint8_t>(i >> 8);
    ids.push_back(f.wait(id, std::chrono::milliseconds(1000 + i % 7)));
  }
  f.run();
  actors::TxIds committed;
  for (int i = 0; i < 3000; i += 2) {
    Hash32 id{};
    id[0] = static_cast<std::uint8_t>(i);
    id[1] = static_cast<std::uint8_t>(i >> 8);
    committed.push_back(id);
  }
  caf::anon_send(f.waiters, actors::committed_atom::value, committed, std::uint64_t{7});
  f.run();
  f.advance(2s);
  for (int i = 0; i < 3000; ++i) {
    auto a = f.answer(ids[static_cast<std::size_t>(i)]);
    REQUIRE(a);
    CHECK(a->final == (i % 2 == 0));
    CHECK_FALSE(f.answer(ids[static_cast<std::size_t>(i)]));  // Exactly once.
  }
  auto s = f.stats();
  CHECK(s.finalized_total == 1500);
  CHECK(s.timeouts_total == 1500);
}

TEST_CASE("StoppingTheActorAnswersEveryWaitingClientPending") {
  auto f = std::make_unique<WaitersFixture>();
  auto a = f->wait(tx(1), 30s);
  f->run();
  caf::anon_send_exit(f->waiters, caf::exit_reason::user_shutdown);
  f->run();
  CHECK(f->answer(a) == WaitAnswer{false, 0});
}
