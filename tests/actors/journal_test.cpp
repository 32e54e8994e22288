// The journal actor: group commit of everything waiting in its mailbox, replies only after
// the commit; a duplicate refuses only the request holding it, any other failure every
// requester of the group. Method: the actor runs under CAF's deterministic test
// coordinator, so the test decides when the mailbox is drained; one test also runs it
// detached on a real thread.
#include <doctest/doctest.h>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include "actors/journal.hpp"
#include "caf_fixture.hpp"
#include "journal_support.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;
using actors::append_atom;
using actors::Seqs;

namespace {

using test::check_log_holds;
using test::open_log;
using test::seq_range;

std::vector<Event> history(std::size_t bets) {
  tools::LedgerOptions lo;
  lo.real_crypto = false;
  tools::LedgerGenerator gen(lo);
  auto events = gen.genesis();
  gen.bets(bets, events);
  return events;
}

// Positions of the TxAdmitted events (the ones with a tx index entry).
std::vector<std::size_t> admitted_indices(const std::vector<Event>& events) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < events.size(); ++i)
    if (std::holds_alternative<TxAdmitted>(events[i])) out.push_back(i);
  REQUIRE_FALSE(out.empty());
  return out;
}

// Options of a journal without the node's state (the journal_state tests cover that).
actors::JournalOptions journal_options(std::shared_ptr<eventlog::EventLog> log, std::function<std::uint64_t()> clock,
                                       std::size_t max_group_events, bool detached) {
  actors::JournalOptions o;
  o.log = std::move(log);
  o.clock_ms = std::move(clock);
  o.max_group_events = max_group_events;
  o.detached = detached;
  return o;
}

// One requester's reply: its seqs, or the rendered error.
struct Reply {
  bool acknowledged = false;
  Seqs seqs;
  std::string error;
  std::optional<actors::JournalRefusal> reason;  // Of an error: the journal's typed refusal.
  bool ok() const { return acknowledged; }
};

Reply reply(caf::scoped_actor& client, test::CafFixture& caf) {
  Reply r;
  bool got = false;
  client->receive(
      [&](const Seqs& seqs) {
        got = true;
        r.acknowledged = true;
        r.seqs = seqs;
      },
      [&](const caf::error& e) {
        got = true;
        r.error = caf.system->render(e);
        if (auto j = actors::journal_error(e)) r.reason = j->reason;
      },
      caf::after(std::chrono::seconds(0)) >> [] {});
  REQUIRE_MESSAGE(got, "no reply");
  return r;
}

}  // namespace

TEST_CASE("AppendsQueuedTogetherAreOneCommitAnsweredInOrder") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(20);
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, [] { return std::uint64_t{7}; }, 10000, false));
  caf.run();

  // Three requesters, each with a slice of the history, all queued before the journal runs.
  std::vector<std::unique_ptr<caf::scoped_actor>> clients;
  std::vector<std::vector<Event>> slices{{events.begin(), events.begin() + 5},
                                         {events.begin() + 5, events.begin() + 6},
                                         {events.begin() + 6, events.begin() + 30}};
  for (auto& slice : slices) {
    clients.push_back(std::make_unique<caf::scoped_actor>(*caf.system));
    (*clients.back())->send(journal, append_atom::value, slice);
  }
  CHECK(log->commits() == 0);
  caf.run();
  CHECK(log->commits() == 1);  // One write transaction for all three.
  CHECK(log->head_seq() == 30);

  // Each requester got the sequence numbers of its own events, in order.
  std::vector<Seqs> got;
  for (auto& client : clients)
    (*client)->receive([&](const Seqs& seqs) { got.push_back(seqs); },
                       [&](const caf::error& e) { FAIL("unexpected error: " << caf.system->render(e)); });
  REQUIRE(got.size() == 3);
  CHECK(got[0] == Seqs{1, 2, 3, 4, 5});
  CHECK(got[1] == Seqs{6});
  CHECK(got[2].front() == 7);
  CHECK(got[2].back() == 30);
  // The records hold the timestamp the node handed the journal.
  CHECK(log->read(1)->time_ms == 7);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("AGroupIsFlushedEarlyWhenItReachesItsBound") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(20);
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, [] { return std::uint64_t{1}; }, 10, false));
  caf.run();
  caf::scoped_actor client(*caf.system);
  for (std::size_t at = 0; at + 4 <= 24; at += 4)
    client->send(journal, append_atom::value, std::vector<Event>(events.begin() + at, events.begin() + at + 4));
  caf.run();
  // 6 requests of 4 events with groups bounded at 10: flushed at 12 and 24 events.
  CHECK(log->head_seq() == 24);
  CHECK(log->commits() == 2);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("ADuplicateInAGroupRefusesOnlyTheRequesterHoldingIt") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(20);
  const std::size_t t = admitted_indices(events).front();
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, [] { return std::uint64_t{1}; }, 10000, false));
  caf.run();
  caf::scoped_actor first(*caf.system), second(*caf.system), third(*caf.system);
  std::vector<Event> first_events(events.begin(), events.begin() + t + 1);  // Ends with a TxAdmitted.
  // The second repeats the first's TxAdmitted, after an event of its own that must not be
  // written either; the third holds that same event, so it collides unless the second's
  // events were all dropped.
  std::vector<Event> second_events{events[t + 1], events[t]};
  std::vector<Event> third_events(events.begin() + t + 1, events.begin() + t + 11);
  first->send(journal, append_atom::value, first_events);
  second->send(journal, append_atom::value, second_events);
  third->send(journal, append_atom::value, third_events);
  caf.run();

  auto r1 = reply(first, caf), r2 = reply(second, caf), r3 = reply(third, caf);
  REQUIRE(r1.ok());
  CHECK(r1.seqs == seq_range(1, first_events.size()));
  CHECK_FALSE(r2.ok());
  CHECK(r2.error.find("already indexed") != std::string::npos);
  CHECK(r2.reason == actors::JournalRefusal::duplicate_key);
  REQUIRE(r3.ok());
  CHECK(r3.seqs == seq_range(first_events.size() + 1, third_events.size()));
  CHECK(log->commits() == 1);  // The refused attempt wrote nothing.
  auto expected = first_events;
  expected.insert(expected.end(), third_events.begin(), third_events.end());
  check_log_holds(*log, expected);
  const TxKey key = tx_key(std::get<TxAdmitted>(events[t]).tx);
  auto entry = key.kind == TxKind::bet ? log->find_bet(key.id) : log->find_deposit(key.id);
  REQUIRE(entry);
  CHECK(entry->admitted == t + 1);  // The first's.
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("EveryRefusedRequesterOfAGroupIsRefusedAloneAndTheRestIsAppendedInOrder") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(20);
  const auto adm = admitted_indices(events);
  REQUIRE(adm.size() >= 2);
  const std::size_t t = adm[0], u = adm[1];
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, [] { return std::uint64_t{1}; }, 10000, false));
  caf.run();
  caf::scoped_actor a(*caf.system), b(*caf.system), c(*caf.system), d(*caf.system);
  std::vector<Event> a_events(events.begin(), events.begin() + t + 1);
  std::vector<Event> b_events{events[u], events[u]};  // A duplicate within its own request.
  std::vector<Event> c_events{events[t]};              // A duplicate of the first request's.
  std::vector<Event> d_events(events.begin() + t + 1, events.begin() + u + 5);  // Holds events[u].
  a->send(journal, append_atom::value, a_events);
  b->send(journal, append_atom::value, b_events);
  c->send(journal, append_atom::value, c_events);
  d->send(journal, append_atom::value, d_events);
  caf.run();

  auto ra = reply(a, caf), rb = reply(b, caf), rc = reply(c, caf), rd = reply(d, caf);
  REQUIRE(ra.ok());
  CHECK(ra.seqs == seq_range(1, a_events.size()));
  for (auto* refused : {&rb, &rc}) {
    CHECK_FALSE(refused->ok());
    CHECK(refused->error.find("already indexed") != std::string::npos);
  }
  REQUIRE(rd.ok());
  CHECK(rd.seqs == seq_range(a_events.size() + 1, d_events.size()));
  CHECK(log->commits() == 1);
  auto expected = a_events;
  expected.insert(expected.end(), d_events.begin(), d_events.end());
  check_log_holds(*log, expected);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("ADuplicateOfAnEventAlreadyInTheLogRefusesOnlyItsRequester") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(20);
  const std::size_t t = admitted_indices(events).front();
  REQUIRE(t < 10);
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, [] { return std::uint64_t{1}; }, 10000, false));
  caf.run();
  caf::scoped_actor early(*caf.system), x(*caf.system), y(*caf.system), z(*caf.system);
  early->send(journal, append_atom::value, std::vector<Event>(events.begin(), events.begin() + 10));
  caf.run();
  REQUIRE(reply(early, caf).seqs == seq_range(1, 10));

  // A later group: the middle request repeats a TxAdmitted the log already holds.
  x->send(journal, append_atom::value, std::vector<Event>(events.begin() + 10, events.begin() + 15));
  y->send(journal, append_atom::value, std::vector<Event>{events[t]});
  z->send(journal, append_atom::value, std::vector<Event>(events.begin() + 15, events.begin() + 20));
  caf.run();
  auto rx = reply(x, caf), ry = reply(y, caf), rz = reply(z, caf);
  REQUIRE(rx.ok());
  CHECK(rx.seqs == seq_range(11, 5));
  CHECK_FALSE(ry.ok());
  CHECK(ry.error.find("already indexed") != std::string::npos);
  REQUIRE(rz.ok());
  CHECK(rz.seqs == seq_range(16, 5));
  CHECK(log->commits() == 2);
  check_log_holds(*log, std::vector<Event>(events.begin(), events.begin() + 20));
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("AnAppendThatFailsForAnotherReasonFailsEveryRequesterOfTheGroup") {
  test::TempDir dir("croupier-journal");
  open_log(dir.path());  // Creates the log, then closes it.
  eventlog::Options o;
  o.dir = dir.path();
  o.durable = false;
  o.audit = true;  // Read-only: every append fails with LogError(io).
  std::shared_ptr<eventlog::EventLog> log(eventlog::EventLog::open(o));
  auto events = history(5);
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, [] { return std::uint64_t{1}; }, 10000, false));
  caf.run();
  caf::scoped_actor first(*caf.system), second(*caf.system);
  first->send(journal, append_atom::value, std::vector<Event>(events.begin(), events.begin() + 3));
  second->send(journal, append_atom::value, std::vector<Event>(events.begin() + 3, events.begin() + 6));
  caf.run();
  CHECK(log->head_seq() == 0);
  for (auto* client : {&first, &second}) {
    auto r = reply(*client, caf);
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("read-only") != std::string::npos);
    CHECK(r.reason == actors::JournalRefusal::write_failed);
  }
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("AnyOtherExceptionFailsTheGroupAndTheJournalGoesOn") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(5);
  test::CafFixture caf;
  // The clock fails once, inside the append: not a LogError.
  auto calls = std::make_shared<int>(0);
  auto clock = [calls]() -> std::uint64_t {
    if ((*calls)++ == 0) throw std::runtime_error("clock unavailable");
    return 1;
  };
  auto journal = actors::spawn_journal(*caf.system, journal_options(log, clock, 10000, false));
  caf.run();
  caf::scoped_actor first(*caf.system), second(*caf.system);
  first->send(journal, append_atom::value, std::vector<Event>(events.begin(), events.begin() + 3));
  second->send(journal, append_atom::value, std::vector<Event>(events.begin() + 3, events.begin() + 6));
  caf.run();
  CHECK(log->head_seq() == 0);
  for (auto* client : {&first, &second}) {
    auto r = reply(*client, caf);
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("clock unavailable") != std::string::npos);
    CHECK(r.reason == actors::JournalRefusal::write_failed);
  }
  // The journal survived and takes the next group.
  first->send(journal, append_atom::value, std::vector<Event>(events.begin(), events.begin() + 3));
  caf.run();
  CHECK(reply(first, caf).seqs == seq_range(1, 3));
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("DetachedJournalOnItsOwnThreadAnswersConcurrentRequesters") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(200);
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  auto journal = actors::spawn_journal(system, journal_options(log, [] { return std::uint64_t{1}; }, 10000, true));
  caf::scoped_actor self{system};
  // One request per event, all sent before any reply is read, so many wait in the
  // journal's mailbox at once; the replies come back in any order.
  for (const auto& e : events) self->send(journal, append_atom::value, std::vector<Event>{e});
  std::size_t answered = 0;
  std::vector<std::uint64_t> seen;
  for (std::size_t i = 0; i < events.size(); ++i)
    self->receive(
        [&](const Seqs& seqs) {
          ++answered;
          seen.insert(seen.end(), seqs.begin(), seqs.end());
        },
        [&](const caf::error& err) { FAIL("journal error: " << system.render(err)); },
        caf::after(std::chrono::seconds(30)) >> [&] { FAIL("no reply from the journal within 30 s"); });
  CHECK(answered == events.size());
  std::sort(seen.begin(), seen.end());
  CHECK(seen.front() == 1);
  CHECK(seen.back() == events.size());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
  CHECK(log->head_seq() == events.size());
  self->send_exit(journal, caf::exit_reason::user_shutdown);
}
