// The journal as the only writer of the node's projections (JournalOptions::state): each
// group is applied under the state's write lock before its commit and the lock is held
// until the commit is durable; a requester whose first event apply() refuses is refused
// alone ("refused: ...") with nothing of it applied or written; snapshot_every stores a
// snapshot and SnapshotTaken from which a replay equals the live state; a failing commit
// (or an event refused after the first of its request) stops the journal for good, calls
// on_failure once and fails every later request.
// Method: the journal under CAF's deterministic test coordinator with a real non-durable
// log; fake-crypto histories from LedgerGenerator (apply() does not check signatures).
// The lock is observed from a second thread, inside the clock callback the journal calls
// while it appends, and by a reader thread racing a detached journal. The failing commit is
// a real one: RLIMIT_FSIZE stops the log's data file from growing (as on a full disk), as in
// tests/eventlog/disk_full_test.cpp, here in-process for the length of one append.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <variant>

#include "actors/journal.hpp"
#include "caf_fixture.hpp"
#include "journal_support.hpp"
#include "eventlog/replay.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;
using actors::append_atom;
using actors::Seqs;

namespace {

using test::check_log_holds;
using test::open_log;
using test::seq_range;

tools::LedgerOptions fake_crypto() {
  tools::LedgerOptions lo;
  lo.real_crypto = false;
  lo.accounts = 8;
  lo.block_size = 10;
  return lo;
}

std::vector<Event> range(const std::vector<Event>& v, std::size_t from, std::size_t to) {
  return {v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to)};
}

Projections replay_events(const std::vector<Event>& events) {
  Projections p;
  std::uint64_t seq = 0;
  for (const auto& e : events) apply(p, ++seq, e);
  return p;
}

// Whether another thread could take `lock` shared right now.
bool another_thread_can_read(std::shared_mutex& lock) {
  bool got = false;
  std::thread t([&] {
    got = lock.try_lock_shared();
    if (got) lock.unlock_shared();
  });
  t.join();
  return got;
}

struct Reply {
  std::optional<Seqs> seqs;
  std::string error;
  std::optional<actors::JournalRefusal> reason;  // Of an error: the journal's typed refusal.
};

// A journal that owns `state`, on a fresh log.
struct JournalWorld : test::CafFixture {
  test::TempDir dir{"croupier-jstate"};
  std::shared_ptr<eventlog::EventLog> log = open_log(dir.path());
  std::shared_ptr<actors::NodeState> state = std::make_shared<actors::NodeState>();
  actors::Metrics metrics;
  std::vector<std::string> failures;
  actors::journal_actor journal;

  explicit JournalWorld(std::uint64_t snapshot_every = 0, std::function<std::uint64_t()> clock = {}) {
    actors::JournalOptions o;
    o.log = log;
    o.clock_ms = clock ? clock : [] { return std::uint64_t{1'700'000'000'000}; };
    o.detached = false;
    o.state = state;
    o.metrics = &metrics;
    o.on_failure = [this](const std::string& why) { failures.push_back(why); };
    o.snapshot_every = snapshot_every;
    journal = actors::spawn_journal(*system, o);
    run();
  }
  ~JournalWorld() {
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    run();
  }

  Reply reply(caf::scoped_actor& client) {
    Reply r;
    bool got = false;
    client->receive(
        [&](const Seqs& s) {
          got = true;
          r.seqs = s;
        },
        [&](const caf::error& e) {
          got = true;
          r.error = system->render(e);
          if (auto j = actors::journal_error(e)) r.reason = j->reason;
        },
        caf::after(std::chrono::seconds(0)) >> [] {});
    REQUIRE_MESSAGE(got, "no reply");
    return r;
  }

  Reply append(std::vector<Event> events) {
    caf::scoped_actor client{*system};
    client->send(journal, append_atom::value, std::move(events));
    run();
    return reply(client);
  }

  Projections& p() { return state->projections; }
};

}  // namespace

TEST_CASE("EventsAreAppliedBeforeTheCommitAndDurableReadersWaitUntilItIsDurable") {
  struct Probe {
    std::uint64_t applied = 0, durable = 0, published = 0;
    bool actors_can_read = false, outside_can_read = true;
  };
  auto probes = std::make_shared<std::vector<Probe>>();
  std::shared_ptr<actors::NodeState> watched;
  std::shared_ptr<eventlog::EventLog> watched_log;
  // The journal reads the clock for the records' timestamps right before it appends.
  JournalWorld w(0, [&]() -> std::uint64_t {
    probes->push_back({watched->projections.last_seq, watched_log->head_seq(), watched->log_head.load(),
                       another_thread_can_read(watched->mutex), another_thread_can_read(watched->durable)});
    return 1;
  });
  watched = w.state;
  watched_log = w.log;
  tools::LedgerGenerator gen(fake_crypto());
  auto events = gen.genesis();
  gen.bets(5, events);
  REQUIRE(events.size() >= 12);

  caf::scoped_actor a{*w.system}, b{*w.system};
  a->send(w.journal, append_atom::value, range(events, 0, 5));
  b->send(w.journal, append_atom::value, range(events, 5, 12));
  w.run();
  REQUIRE(probes->size() == 1);  // One group, one append.
  const Probe& during = probes->front();
  CHECK(during.applied == 12);   // Both requests applied to the projections ...
  CHECK(during.durable == 0);    // ... before anything was written,
  CHECK(during.published == 0);
  // While the commit is under way the actors may read (the memory lock is free), but not
  // whoever tells the outside world (the durable lock is held).
  CHECK(during.actors_can_read);
  CHECK_FALSE(during.outside_can_read);

  CHECK(w.reply(a).seqs == seq_range(1, 5));
  CHECK(w.reply(b).seqs == seq_range(6, 7));
  CHECK(w.log->head_seq() == 12);
  CHECK(w.p().last_seq == 12);
  CHECK(w.state->log_head.load() == 12);
  CHECK(another_thread_can_read(w.state->durable));  // Released once durable.
  CHECK(another_thread_can_read(w.state->mutex));
  check_log_holds(*w.log, range(events, 0, 12));
  CHECK(encode_snapshot(w.p()) == encode_snapshot(replay_events(range(events, 0, 12))));
  CHECK(w.metrics.commits.load() == 1);
  CHECK(w.metrics.events_appended.load() == 12);
  // The journal published the durable block height (for GET /v1/blocks and the waiters).
  CHECK(w.state->durable_height.load() == w.p().block_height);
  CHECK(w.failures.empty());
}

TEST_CASE("NoDurableReaderOfADetachedJournalsStateEverSeesAnEventThatIsNotDurable") {
  test::TempDir dir("croupier-jstate");
  auto log = open_log(dir.path());
  auto state = std::make_shared<actors::NodeState>();
  tools::LedgerGenerator gen(fake_crypto());
  auto events = gen.genesis();
  gen.bets(60, events);
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  actors::JournalOptions o;
  o.log = log;
  o.clock_ms = [] { return std::uint64_t{1}; };
  o.detached = true;
  o.state = state;
  auto journal = actors::spawn_journal(system, o);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0}, ahead{0}, max_seen{0};
  std::thread reader([&] {
    while (!stop.load()) {
      {
        std::shared_lock durable(state->durable);  // As the API and the waiters read.
        std::shared_lock lock(state->mutex);
        const auto applied = state->projections.last_seq;
        if (applied > log->head_seq() || applied > state->log_head.load()) ++ahead;
        max_seen = std::max<std::uint64_t>(max_seen.load(), applied);
      }
      ++reads;
      std::this_thread::yield();  // Lets the journal take the write lock.
    }
  });
  while (reads.load() == 0) std::this_thread::yield();  // The reader runs before the first append.
  caf::scoped_actor self{system};
  for (const auto& e : events) self->send(journal, append_atom::value, std::vector<Event>{e});
  std::size_t answered = 0;
  for (std::size_t i = 0; i < events.size(); ++i)
    self->receive([&](const Seqs&) { ++answered; },
                  [&](const caf::error& err) { FAIL("journal error: " << system.render(err)); },
                  caf::after(std::chrono::seconds(30)) >> [&] { FAIL("no reply from the journal within 30 s"); });
  stop = true;
  reader.join();
  self->send_exit(journal, caf::exit_reason::user_shutdown);
  CHECK(answered == events.size());
  CHECK(log->head_seq() == events.size());
  CHECK(state->projections.last_seq == events.size());
  CHECK(reads.load() > 0);
  CHECK(ahead.load() == 0);
  MESSAGE("reads " << reads.load() << ", highest seq seen by the reader " << max_seen.load());
}

TEST_CASE("ARequesterWhoseFirstEventIsRefusedIsRefusedAloneWithNothingOfItAppliedOrWritten") {
  JournalWorld w;
  tools::LedgerGenerator gen(fake_crypto());
  auto events = gen.genesis();
  gen.bets(5, events);
  REQUIRE(events.size() >= 14);
  REQUIRE(w.append(range(events, 0, 5)).seqs == seq_range(1, 5));

  // A deposit that would apply: it must not, because its request's first event is refused.
  Deposit d{Id128{0xd0, 0x0d}, gen.players()[0].public_key, 5, gen.operator_key().public_key, {}};
  sign_tx(d, gen.operator_key());
  Hash32 unknown{};
  unknown.fill(0xee);
  const auto commits_before = w.log->commits();
  caf::scoped_actor first{*w.system}, refused{*w.system}, last{*w.system}, refused_too{*w.system};
  first->send(w.journal, append_atom::value, range(events, 5, 8));
  refused->send(w.journal, append_atom::value, std::vector<Event>{TxFinalized{unknown, true, 1, {}}, TxAdmitted{d}});
  last->send(w.journal, append_atom::value, range(events, 8, 12));
  refused_too->send(w.journal, append_atom::value, range(events, 2, 3));  // Already applied: admitted twice.
  w.run();

  CHECK(w.reply(first).seqs == seq_range(6, 3));
  auto r = w.reply(refused);
  CHECK_FALSE(r.seqs);
  CHECK_MESSAGE(r.error.find("refused: TxFinalized: unknown tx") != std::string::npos, r.error);
  CHECK(r.reason == actors::JournalRefusal::rule);
  CHECK(w.reply(last).seqs == seq_range(9, 4));  // Contiguous, as if the refused one never came.
  auto r2 = w.reply(refused_too);
  CHECK_FALSE(r2.seqs);
  CHECK_MESSAGE(r2.error.find("refused: ") != std::string::npos, r2.error);
  CHECK(r2.reason == actors::JournalRefusal::rule);
  CHECK(w.log->commits() == commits_before + 1);  // The rest of the group: one commit.
  check_log_holds(*w.log, range(events, 0, 12));
  CHECK(encode_snapshot(w.p()) == encode_snapshot(replay_events(range(events, 0, 12))));
  CHECK(w.p().deposits.count(d.deposit_id) == 0);
  CHECK(w.metrics.appends_refused.load() == 2);
  CHECK(w.failures.empty());

  // A group whose every requester is refused writes nothing; the journal goes on.
  auto only = w.append({TxFinalized{unknown, false, 0, {}}});
  CHECK(only.error.find("refused: ") != std::string::npos);
  CHECK(only.reason == actors::JournalRefusal::rule);
  CHECK(w.log->head_seq() == 12);
  CHECK(w.append(range(events, 12, 14)).seqs == seq_range(13, 2));
  CHECK(w.failures.empty());
}

TEST_CASE("AnEventRefusedAfterTheFirstOfItsRequestStopsTheJournalForGood") {
  JournalWorld w;
  tools::LedgerGenerator gen(fake_crypto());
  auto events = gen.genesis();
  gen.bets(3, events);
  REQUIRE(w.append(range(events, 0, 5)).seqs);
  Hash32 unknown{};
  unknown.fill(0xee);
  caf::scoped_actor a{*w.system}, b{*w.system};
  a->send(w.journal, append_atom::value, range(events, 5, 7));
  auto second = range(events, 7, 8);
  second.emplace_back(TxFinalized{unknown, true, 1, {}});  // Its first event applies, its second cannot.
  b->send(w.journal, append_atom::value, second);
  w.run();
  auto ra = w.reply(a), rb = w.reply(b);
  CHECK_FALSE(ra.seqs);
  CHECK_FALSE(rb.seqs);
  CHECK(rb.error.find("journal stopped: event 2 of a request was refused after its first was applied") !=
        std::string::npos);
  CHECK(ra.error == rb.error);
  CHECK(rb.reason == actors::JournalRefusal::stopped);
  REQUIRE(w.failures.size() == 1);
  CHECK(rb.error.find(w.failures[0]) != std::string::npos);
  CHECK(w.log->head_seq() == 5);  // Nothing of the group was written ...
  CHECK(w.p().last_seq > 5);      // ... though the projections ran ahead (the node must stop).
  auto later = w.append(range(events, 5, 6));
  CHECK_FALSE(later.seqs);
  CHECK(later.error.find("journal stopped: ") != std::string::npos);
  CHECK(later.reason == actors::JournalRefusal::stopped);
  CHECK(w.failures.size() == 1);
}

TEST_CASE("SnapshotEveryStoresASnapshotAndSnapshotTakenFromWhichReplayEqualsLiveState") {
  JournalWorld w(10);
  tools::LedgerGenerator gen(fake_crypto());
  auto events = gen.genesis();
  gen.bets(10, events);
  REQUIRE(events.size() >= 25);
  CHECK_FALSE(w.log->latest_snapshot());

  CHECK(w.append(range(events, 0, 12)).seqs == seq_range(1, 12));
  // 12 events since the last snapshot (none): one is due, and it rides with the next group,
  // whose commit writes it (one durable commit for both): it covers seq 12, and its
  // SnapshotTaken is seq 13, before the group's events.
  CHECK_FALSE(w.log->latest_snapshot());
  CHECK(w.append(range(events, 12, 17)).seqs == seq_range(14, 5));
  auto snap = w.log->latest_snapshot();
  REQUIRE(snap);
  CHECK(snap->seq == 12);
  CHECK(w.log->head_seq() == 18);
  auto rec = w.log->read(13);
  REQUIRE(rec);
  auto taken_event = decode_event(rec->type, rec->payload);
  auto* taken = std::get_if<SnapshotTaken>(&taken_event);
  REQUIRE(taken);
  CHECK(taken->snapshot_seq == 12);
  CHECK(taken->digest == blake2b256(snap->blob));
  CHECK(w.p().last_seq == 18);  // SnapshotTaken is applied like any event.
  CHECK(w.state->log_head.load() == 18);
  CHECK(w.p().event_counts[static_cast<std::size_t>(EventType::snapshot_taken) - 1] == 1);
  // The blob is the projections as of seq 12.
  CHECK(snap->blob == encode_snapshot(replay_events(range(events, 0, 12))));

  // The counter restarts: 5 more events make 10 since the snapshot, due with the group after.
  CHECK(w.append(range(events, 17, 22)).seqs == seq_range(19, 5));
  CHECK(w.log->latest_snapshot()->seq == 12);
  CHECK(w.append(range(events, 22, 25)).seqs == seq_range(25, 3));
  snap = w.log->latest_snapshot();
  REQUIRE(snap);
  CHECK(snap->seq == 23);
  CHECK(w.log->head_seq() == 27);

  // Replaying from the snapshot (its blob, then the log after it) equals the live state.
  const Bytes live = encode_snapshot(w.p());
  Projections from_snapshot = decode_snapshot(snap->blob);
  w.log->scan(snap->seq + 1, [&](const eventlog::RecordView& r) {
    apply(from_snapshot, r.seq, decode_event(r.type, r.payload));
    return true;
  });
  CHECK(encode_snapshot(from_snapshot) == live);
  eventlog::ReplayOptions ro;  // From the newest snapshot, checking the whole chain.
  ro.threads = 1;
  auto replayed = eventlog::replay(*w.log, ro);
  CHECK(replayed.clean());
  CHECK(replayed.snapshot_seq == 23);
  CHECK(encode_snapshot(replayed.projections) == live);
  ro.from = 0;  // And from the first event.
  auto full = eventlog::replay(*w.log, ro);
  CHECK(full.clean());
  CHECK(encode_snapshot(full.projections) == live);
  CHECK(w.failures.empty());
}

TEST_CASE("AFailingCommitStopsTheJournalForGoodAndCallsOnFailureOnce") {
  JournalWorld w;
  tools::LedgerGenerator gen(fake_crypto());
  auto events = gen.genesis();
  gen.bets(1500, events);  // Far more than fits in the room left below the limit.
  const std::size_t base = 20;
  REQUIRE(events.size() > base + 2000);
  REQUIRE(w.append(range(events, 0, base)).seqs);
  const auto data_file = w.dir.path() / "data.mdb";
  const auto size = std::filesystem::file_size(data_file);

  // The data file may not grow any more (a full disk), for the length of one append.
  Reply failed;
  {
    struct sigaction ignore {}, previous {};
    ignore.sa_handler = SIG_IGN;
    REQUIRE(::sigaction(SIGXFSZ, &ignore, &previous) == 0);
    rlimit before{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &before) == 0);
    rlimit limited = before;
    limited.rlim_cur = static_cast<rlim_t>(size);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    caf::scoped_actor client{*w.system};
    client->send(w.journal, append_atom::value, range(events, base, events.size()));
    w.run();
    ::setrlimit(RLIMIT_FSIZE, &before);
    ::sigaction(SIGXFSZ, &previous, nullptr);
    failed = w.reply(client);
  }
  CHECK_FALSE(failed.seqs);
  CHECK_MESSAGE(failed.error.find("journal stopped: ") != std::string::npos, failed.error);
  CHECK(failed.reason == actors::JournalRefusal::stopped);
  CHECK_MESSAGE(failed.error.find("no space to grow the log") != std::string::npos, failed.error);
  REQUIRE(w.failures.size() == 1);
  CHECK(w.failures[0].rfind("journal stopped: ", 0) == 0);
  CHECK(w.log->head_seq() == base);  // Nothing of the failed group was written.
  CHECK(w.p().last_seq > base);      // The projections are ahead of the log: the node must stop.

  // The disk has room again, but the journal stays stopped: every later request fails.
  for (int i = 0; i < 2; ++i) {
    auto later = w.append(range(events, base, base + 1));
    CHECK_FALSE(later.seqs);
    CHECK(later.error.find(w.failures[0]) != std::string::npos);
  }
  CHECK(w.failures.size() == 1);  // on_failure was called once.
  CHECK(w.log->head_seq() == base);
}
