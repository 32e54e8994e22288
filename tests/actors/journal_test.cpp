// The journal actor: group commit of everything waiting in its mailbox, replies only after
// the commit, errors to every requester of a failed group. Method: the actor runs under
// CAF's deterministic test coordinator, so the test decides when the mailbox is drained;
// one test also runs it detached on a real thread.
#include <doctest/doctest.h>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>

#include "actors/journal.hpp"
#include "caf_fixture.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;
using actors::append_atom;
using actors::Seqs;

namespace {

std::vector<Event> history(std::size_t bets) {
  tools::LedgerOptions lo;
  lo.real_crypto = false;
  tools::LedgerGenerator gen(lo);
  auto events = gen.genesis();
  gen.bets(bets, events);
  return events;
}

std::shared_ptr<eventlog::EventLog> open_log(const std::filesystem::path& dir) {
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  return std::shared_ptr<eventlog::EventLog>(eventlog::EventLog::open(o));
}

}  // namespace

TEST_CASE("AppendsQueuedTogetherAreOneCommitAnsweredInOrder") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(20);
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, {log, [] { return std::uint64_t{7}; }, 10000, false});
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
  auto journal = actors::spawn_journal(*caf.system, {log, [] { return std::uint64_t{1}; }, 10, false});
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

TEST_CASE("AFailedGroupWritesNothingAndEveryRequesterGetsTheError") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(5);
  test::CafFixture caf;
  auto journal = actors::spawn_journal(*caf.system, {log, [] { return std::uint64_t{1}; }, 10000, false});
  caf.run();
  caf::scoped_actor first(*caf.system), second(*caf.system);
  first->send(journal, append_atom::value, std::vector<Event>(events.begin(), events.begin() + 3));
  // The same TxAdmitted twice in one group: the tx index refuses it, so the group fails.
  second->send(journal, append_atom::value, std::vector<Event>{events[1]});
  caf.run();
  CHECK(log->head_seq() == 0);
  for (auto* client : {&first, &second}) {
    bool failed = false;
    (*client)->receive([&](const Seqs&) { FAIL("a failed group was acknowledged"); },
                       [&](const caf::error& e) {
                         failed = true;
                         CHECK(caf.system->render(e).find("already indexed") != std::string::npos);
                       });
    CHECK(failed);
  }
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf.run();
}

TEST_CASE("DetachedJournalOnItsOwnThreadAnswersConcurrentRequesters") {
  test::TempDir dir("croupier-journal");
  auto log = open_log(dir.path());
  auto events = history(200);
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  auto journal = actors::spawn_journal(system, {log, [] { return std::uint64_t{1}; }, 10000, true});
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
