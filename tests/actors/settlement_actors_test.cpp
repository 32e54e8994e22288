// The settlement actors: the sequencer cuts batches at batch_max at once or at
// batch_interval, cuts nothing while paused, records BatchCreated before the prover hears
// of a batch, and makes strictly increasing batch ids; the prover appends BatchProved with
// a proof that verifies and tells the submitter (or records BatchFailed for items that
// cannot apply); the submitter follows a batch to BatchConfirmed, retries a timed-out
// submission with backoff, fails after the batch's last attempt, and fails at once when
// the settlement is refused; the reconciler reports at start and hands missing batches
// to the submitter.
// Method: most tests run ONE actor under CAF's deterministic test coordinator with a real
// journal that owns real projections and a real (non-durable) log, so that every event the
// actor appends passes the domain's rules; the rest of the node is played by the test
// (which commits blocks with plan_block, as the committer does) and by fake actors written
// here (a prover, a submitter and a mempool that record what they get). The last tests
// ("WholeNode...") run a whole node (tests/actors/node_world.hpp) and read its log.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "actors/prover.hpp"
#include "actors/reconciler.hpp"
#include "actors/sequencer.hpp"
#include "actors/submitter.hpp"
#include "caf_fixture.hpp"
#include "domain/blocks.hpp"
#include "node_world.hpp"
#include "test_support.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using actors::append_atom;
using actors::Seqs;
using actors::SubmitReply;

namespace {

Seed seed_of(std::uint8_t b) {
  Seed s{};
  s.fill(b);
  return s;
}

std::chrono::milliseconds ms_of(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
}

// --- fake actors -----------------------------------------------------------------------

// What the fake prover heard, and whether the batch was already durable at that moment.
struct ProverLog {
  struct Heard {
    Id128 id{};
    bool in_log = false;    // The log indexes a Batch* event of this id.
    bool in_state = false;  // The projections hold the batch.
  };
  std::vector<Heard> heard;
};

caf::behavior fake_prover(caf::event_based_actor*, std::shared_ptr<ProverLog> log,
                          std::shared_ptr<eventlog::EventLog> elog, std::shared_ptr<actors::NodeState> state) {
  return {
      [=](actors::prove_atom, const Id128& id) {
        std::shared_lock lock(state->mutex);
        log->heard.push_back({id, elog->find_batch(id).has_value(), state->projections.batches.count(id) == 1});
      },
  };
}

struct SubmitterLog {
  std::vector<std::pair<Id128, std::shared_ptr<const Settlement>>> proved;  // (settle_atom, id, settlement)
  std::vector<Id128> taken_up;                                                // (settle_atom, id)
  std::vector<std::pair<Id128, std::uint64_t>> confirms;                     // (confirm_atom, id, height)
};

caf::behavior fake_submitter(caf::event_based_actor*, std::shared_ptr<SubmitterLog> log) {
  return {
      [=](actors::settle_atom, const Id128& id, std::shared_ptr<const Settlement> s) { log->proved.emplace_back(id, s); },
      [=](actors::settle_atom, const Id128& id) { log->taken_up.push_back(id); },
      [=](actors::confirm_atom, const Id128& id, std::uint64_t height) { log->confirms.emplace_back(id, height); },
  };
}

enum class MempoolMode { admit, refuse, conflict };

// A mempool that admits a settlement by appending TxAdmitted through the journal (or
// answers duplicate when it is known), or refuses it; records when each submission came.
struct MempoolLog {
  MempoolMode mode = MempoolMode::admit;
  int busy_first = 0;  // Answer busy to this many submissions first.
  std::vector<std::chrono::milliseconds> at;  // Virtual time of each submission.
  std::vector<Hash32> ids;
};

caf::behavior fake_mempool(caf::event_based_actor* self, std::shared_ptr<MempoolLog> log, actors::journal_actor journal,
                           std::shared_ptr<actors::NodeState> state) {
  return {
      [=](actors::submit_atom, Tx& tx) -> caf::result<SubmitReply> {
        const Hash32 id = tx_id(tx);
        log->at.push_back(ms_of(self->clock().now()));
        log->ids.push_back(id);
        SubmitReply r;
        r.tx_id = id;
        if (log->busy_first > 0) {
          --log->busy_first;
          r.kind = SubmitReply::Kind::busy;
          r.code = "busy";
          return r;
        }
        if (log->mode == MempoolMode::refuse) {
          r.kind = SubmitReply::Kind::refused;
          r.code = "bad_proof";
          r.message = "the batch proof does not verify";
          return r;
        }
        if (log->mode == MempoolMode::conflict) {
          r.kind = SubmitReply::Kind::conflict;
          r.code = "conflict";
          r.message = "the batch has another settlement";
          return r;
        }
        bool known = false;
        {
          std::shared_lock lock(state->mutex);
          known = state->projections.txs.count(id) == 1;
        }
        if (known) {
          r.kind = SubmitReply::Kind::duplicate;
          return r;
        }
        auto promise = self->make_response_promise<SubmitReply>();
        self->request(journal, caf::infinite, append_atom::value, std::vector<Event>{TxAdmitted{tx}})
            .then(
                [=](const Seqs&) mutable {
                  SubmitReply ok;
                  ok.kind = SubmitReply::Kind::admitted;
                  ok.tx_id = id;
                  promise.deliver(ok);
                },
                [=](caf::error& err) mutable {
                  SubmitReply no;
                  no.kind = SubmitReply::Kind::unavailable;
                  no.code = "unavailable";
                  no.message = self->system().render(err);
                  promise.deliver(no);
                });
        return promise;
      },
  };
}

// In front of the journal: refuses the first `times` appends whose first event is of type
// `type` (JournalRefusal::rule, as the journal refuses an event apply() will not take) and
// forwards every other append. The injected refusal every actor must survive.
struct RefusalPlan {
  EventType type = EventType::batch_submitted;
  int times = 0;
  int refused = 0;
};

caf::behavior refusing_journal(caf::event_based_actor* self, std::shared_ptr<RefusalPlan> plan,
                               actors::journal_actor journal) {
  return {
      [=](append_atom, std::vector<Event>& events) -> caf::result<Seqs> {
        if (!events.empty() && event_type(events.front()) == plan->type && plan->refused < plan->times) {
          ++plan->refused;
          return actors::make_journal_error(actors::JournalRefusal::rule, "refused: injected by the test");
        }
        auto promise = self->make_response_promise<Seqs>();
        self->request(journal, caf::infinite, append_atom::value, std::move(events))
            .then([=](Seqs& seqs) mutable { promise.deliver(std::move(seqs)); },
                  [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
  };
}

// --- the harness -------------------------------------------------------------------------

struct Logged {
  eventlog::Seq seq = 0;
  std::uint64_t time_ms = 0;
  Event event;
};

// A node's journal, projections and log with no other actor: the test plays the
// committer (it appends admissions and planned blocks itself) and spawns the actor under
// test next to fakes.
struct Harness : test::CafFixture {
  test::TempDir dir{"croupier-settle"};
  KeyPair operator_key = keypair_from_seed(seed_of(1));
  KeyPair house_key = keypair_from_seed(seed_of(2));
  KeyPair sequencer_key = keypair_from_seed(seed_of(3));
  std::shared_ptr<eventlog::EventLog> log;
  std::shared_ptr<actors::NodeState> state = std::make_shared<actors::NodeState>();
  actors::Metrics metrics;
  actors::journal_actor journal;
  std::vector<caf::actor> spawned;
  std::vector<std::string> failures;  // on_failure calls of the journal.
  std::map<Id128, Settlement> proved;  // For the submitter's load_settlement.
  actors::journal_actor actors_journal;  // What the actors under test append to (refuse()).
  std::vector<std::string> alarms;       // The alarm lines of the actors under test.
  std::uint64_t start_ms = 1'700'000'000'000;
  std::int64_t skew_ms = 0;  // Moves the wall clock against virtual time.
  std::uint8_t next_id = 1;

  Harness() {
    eventlog::Options o;
    o.dir = dir.path();
    o.durable = false;
    log = std::shared_ptr<eventlog::EventLog>(eventlog::EventLog::open(o));
    actors::JournalOptions jo;
    jo.log = log;
    jo.clock_ms = clock();
    jo.detached = false;
    jo.state = state;
    jo.metrics = &metrics;
    jo.on_failure = [this](const std::string& why) { failures.push_back(why); };
    journal = actors::spawn_journal(*system, jo);
    actors_journal = journal;
    append({NodeStarted{log->node_id(), "test", operator_key.public_key, house_key.public_key,
                        sequencer_key.public_key}});
  }

  // From now on the actors spawned here append through a journal that refuses their first
  // `times` appends of `type` (refusing_journal).
  std::shared_ptr<RefusalPlan> refuse(EventType type, int times) {
    auto plan = std::make_shared<RefusalPlan>(RefusalPlan{type, times, 0});
    actors_journal = caf::actor_cast<actors::journal_actor>(keep(system->spawn(refusing_journal, plan, journal)));
    return plan;
  }
  std::function<void(const std::string&)> alarm() {
    return [this](const std::string& line) { alarms.push_back(line); };
  }

  ~Harness() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    run();
  }

  caf::actor keep(caf::actor a) {
    spawned.push_back(a);
    return a;
  }

  std::uint64_t now_ms() const {
    auto v = ms_of(scheduler->clock().now()).count();
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(start_ms) + skew_ms + v);
  }
  std::function<std::uint64_t()> clock() {
    return [this] { return now_ms(); };
  }
  std::chrono::milliseconds now() const { return ms_of(scheduler->clock().now()); }

  // Runs every job, including delayed messages that are due now (zero delays), until
  // nothing is left to do at this virtual time.
  void drain() {
    for (;;) {
      std::size_t k = run();
      k += scheduler->advance_time(caf::timespan{0});
      if (k == 0) break;
    }
  }
  // Moves virtual time forward and drains.
  void pass(caf::timespan by) {
    scheduler->advance_time(by);
    drain();
  }

  Projections& p() { return state->projections; }

  Seqs append(std::vector<Event> events) {
    caf::scoped_actor client{*system};
    client->send(journal, append_atom::value, std::move(events));
    run();
    std::optional<Seqs> got;
    std::string error = "no reply";
    client->receive([&](const Seqs& s) { got = s; }, [&](const caf::error& e) { error = system->render(e); },
                    caf::after(0s) >> [] {});
    REQUIRE_MESSAGE(got, "append failed: " << error);
    return *got;
  }

  Deposit deposit(const PublicKey& account, Amount amount) {
    Deposit d{Id128{0xde, next_id++}, account, amount, operator_key.public_key, {}};
    sign_tx(d, operator_key);
    return d;
  }

  Bet bet(const KeyPair& player, std::uint64_t nonce, Amount wager) {
    Bet b{Id128{0xbe, next_id++}, player.public_key, nonce, static_cast<std::uint8_t>(Game::coinflip), wager, 0, {}, {}};
    b.client_seed.fill(static_cast<std::uint8_t>(nonce));
    sign_tx(b, player);
    return b;
  }

  // Admits the txs not admitted yet, then commits a block deciding every one (accepted
  // unless `rejected` says otherwise), as the mempool and the committer would.
  BlockPlan commit(const std::vector<Tx>& txs, const std::vector<Hash32>& rejected = {}) {
    std::vector<Event> admissions;
    for (const auto& t : txs)
      if (!p().txs.count(tx_id(t))) admissions.emplace_back(TxAdmitted{t});
    if (!admissions.empty()) append(admissions);
    std::vector<ConsensusDecision> decisions;
    for (const auto& t : txs) {
      Hash32 id = tx_id(t);
      decisions.push_back({id, std::find(rejected.begin(), rejected.end(), id) == rejected.end()});
    }
    auto tx_of = [this](const Hash32& id) -> const Tx* {
      auto it = p().txs.find(id);
      return it == p().txs.end() ? nullptr : &it->second.tx;
    };
    auto plan = plan_block(decisions, p().block_height, p().block_hash, now_ms(), tx_of, house_key);
    append(plan.events);
    return plan;
  }

  // `n` deposits for `account` committed in one block; returns their settlement items.
  std::vector<settlement::Item> deposits(std::size_t n, const PublicKey& account, Amount amount = 100) {
    std::vector<Tx> txs;
    for (std::size_t i = 0; i < n; ++i) txs.emplace_back(deposit(account, amount + i));
    return commit(txs).items;
  }

  // Creates batch `id` over `items` and proves it against the settled state (as the
  // sequencer and the prover would); returns its settlement.
  Settlement prove_batch(const Id128& id, const std::vector<settlement::Item>& items, std::uint32_t max_attempts = 5) {
    append({BatchCreated{id, items, max_attempts}});
    auto pb = settlement::prove(id, items, p().settled, sequencer_key);
    append({BatchProved{id, pb.inputs, pb.witness, sequencer_key.public_key, pb.proof}});
    Settlement s{pb.inputs, sequencer_key.public_key, pb.proof, pb.witness};
    proved.insert_or_assign(id, s);
    return s;
  }

  std::vector<Logged> logged() const {
    std::vector<Logged> out;
    log->scan(1, [&](const eventlog::RecordView& r) {
      out.push_back({r.seq, r.time_ms, decode_event(r.type, r.payload)});
      return true;
    });
    return out;
  }

  template <class E>
  std::vector<E> all() const {
    std::vector<E> out;
    for (auto& l : logged())
      if (auto* e = std::get_if<E>(&l.event)) out.push_back(*e);
    return out;
  }

  template <class E>
  std::vector<Logged> logged_of() const {
    std::vector<Logged> out;
    for (auto& l : logged())
      if (std::holds_alternative<E>(l.event)) out.push_back(l);
    return out;
  }

  BatchStatus status(const Id128& id) { return p().batches.at(id).lifecycle.status(); }

  std::string ask_stats(const caf::actor& a) {
    caf::scoped_actor client{*system};
    client->send(a, actors::stats_atom::value);
    run();
    std::string s;
    client->receive([&](const std::string& x) { s = x; }, caf::after(0s) >> [] {});
    return s;
  }

  // --- the actors under test ---

  caf::actor sequencer(const caf::actor& prover, std::chrono::milliseconds interval, std::size_t batch_max,
                       std::uint32_t attempts = 4) {
    actors::SequencerOptions o;
    o.state = state;
    o.metrics = &metrics;
    o.journal = actors_journal;
    o.prover = prover;
    o.clock_ms = clock();
    o.seed = 5;
    o.batch_interval = interval;
    o.batch_max = batch_max;
    o.submit_attempts = attempts;
    return keep(actors::spawn_sequencer(*system, o));
  }

  caf::actor prover(const caf::actor& submitter) {
    return keep(actors::spawn_prover(
        *system, actors::ProverOptions{state, &metrics, actors_journal, submitter, sequencer_key, 1000ms, alarm()}));
  }

  caf::actor submitter(const caf::actor& mempool, RetryPolicy retry, std::chrono::milliseconds timeout) {
    actors::SubmitterOptions o;
    o.state = state;
    o.metrics = &metrics;
    o.journal = actors_journal;
    o.mempool = mempool;
    o.alarm = alarm();
    o.retry = retry;
    o.submit_timeout = timeout;
    o.seed = 9;
    o.load_settlement = [this](const Id128& id) -> std::optional<Settlement> {
      auto it = proved.find(id);
      if (it == proved.end()) return std::nullopt;
      return it->second;
    };
    return keep(actors::spawn_submitter(*system, o));
  }

  caf::actor reconciler(const caf::actor& submitter, std::chrono::milliseconds interval,
                        std::vector<std::string>* alarms = nullptr) {
    actors::ReconcilerOptions o;
    o.state = state;
    o.metrics = &metrics;
    o.journal = actors_journal;
    o.submitter = submitter;
    o.interval = interval;
    o.alarm = alarms ? [alarms](const std::string& line) { alarms->push_back(line); } : alarm();
    return keep(actors::spawn_reconciler(*system, o));
  }

  std::pair<caf::actor, std::shared_ptr<ProverLog>> fake_prover_actor() {
    auto l = std::make_shared<ProverLog>();
    return {keep(system->spawn(fake_prover, l, log, state)), l};
  }
  std::pair<caf::actor, std::shared_ptr<SubmitterLog>> fake_submitter_actor() {
    auto l = std::make_shared<SubmitterLog>();
    return {keep(system->spawn(fake_submitter, l)), l};
  }
  std::pair<caf::actor, std::shared_ptr<MempoolLog>> fake_mempool_actor(MempoolMode mode = MempoolMode::admit) {
    auto l = std::make_shared<MempoolLog>();
    l->mode = mode;
    return {keep(system->spawn(fake_mempool, l, journal, state)), l};
  }
};

std::vector<settlement::Item> slice(const std::vector<settlement::Item>& v, std::size_t from, std::size_t to) {
  return {v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to)};
}

// Exponential backoff without jitter: attempt 2 waits `base`, attempt 3 twice that, ...
const RetryPolicy kPlainBackoff{5, 200ms, 10'000ms, 0.0};

}  // namespace

// --- sequencer ---------------------------------------------------------------------------

TEST_CASE("SequencerCutsABatchAtOnceWhenBatchMaxItemsWait") {
  Harness h;
  auto [prover, heard] = h.fake_prover_actor();
  auto seq = h.sequencer(prover, 1h, 3, 4);
  h.drain();
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto items = h.deposits(7, alice.public_key);
  REQUIRE(items.size() == 7);
  caf::anon_send(seq, actors::items_atom::value, items);
  h.drain();  // No time passes.

  auto created = h.all<BatchCreated>();
  REQUIRE(created.size() == 2);  // 3 + 3 at once; the 7th waits for the interval.
  CHECK(created[0].items == slice(items, 0, 3));
  CHECK(created[1].items == slice(items, 3, 6));
  CHECK(created[0].max_attempts == 4);
  CHECK(h.metrics.batches_created.load() == 2);
  REQUIRE(heard->heard.size() == 2);
  CHECK(heard->heard[0].id == created[0].batch_id);
  CHECK(heard->heard[1].id == created[1].batch_id);
  for (auto& x : heard->heard) {
    CHECK(x.in_log);  // BatchCreated was durable before the prover heard of the batch.
    CHECK(x.in_state);
  }
  CHECK(h.status(created[0].batch_id) == BatchStatus::created);
  CHECK(h.ask_stats(seq) == "running, items waiting 1");

  h.pass(1h);  // The interval cuts the rest.
  created = h.all<BatchCreated>();
  REQUIRE(created.size() == 3);
  CHECK(created[2].items == slice(items, 6, 7));
  REQUIRE(heard->heard.size() == 3);
  CHECK(heard->heard[2].in_log);
  h.pass(1h);  // Nothing left: no empty batch.
  CHECK(h.all<BatchCreated>().size() == 3);
  CHECK(h.failures.empty());
}

TEST_CASE("SequencerCutsWhatWaitsEveryBatchInterval") {
  Harness h;
  auto [prover, heard] = h.fake_prover_actor();
  auto seq = h.sequencer(prover, 100ms, 1000);
  h.drain();
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto items = h.deposits(2, alice.public_key);
  caf::anon_send(seq, actors::items_atom::value, items);
  h.drain();
  CHECK(h.all<BatchCreated>().empty());
  h.pass(99ms);
  CHECK(h.all<BatchCreated>().empty());
  h.pass(1ms);  // 100 ms after the sequencer started.
  auto created = h.all<BatchCreated>();
  REQUIRE(created.size() == 1);
  CHECK(created[0].items == items);
  CHECK(id_time_ms(created[0].batch_id) == h.start_ms + 100);  // Time-ordered by the node's clock.

  auto more = h.deposits(3, alice.public_key, 500);
  caf::anon_send(seq, actors::items_atom::value, more);
  h.pass(99ms);
  CHECK(h.all<BatchCreated>().size() == 1);
  h.pass(1ms);
  created = h.all<BatchCreated>();
  REQUIRE(created.size() == 2);
  CHECK(created[1].items == more);
  CHECK(heard->heard.size() == 2);
}

TEST_CASE("SequencerPausedCollectsButCutsNothingUntilResumed") {
  Harness h;
  auto [prover, heard] = h.fake_prover_actor();
  auto seq = h.sequencer(prover, 100ms, 3);
  h.drain();
  caf::anon_send(seq, actors::pause_atom::value);
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto items = h.deposits(7, alice.public_key);
  caf::anon_send(seq, actors::items_atom::value, items);
  h.drain();
  CHECK(h.all<BatchCreated>().empty());  // Over batch_max, but paused.
  for (int i = 0; i < 10; ++i) h.pass(100ms);  // Ten intervals.
  CHECK(h.all<BatchCreated>().empty());
  CHECK(heard->heard.empty());
  CHECK(h.ask_stats(seq) == "paused, items waiting 7");

  caf::anon_send(seq, actors::resume_atom::value);
  h.drain();  // Resumed: cuts at once, batch_max at a time.
  auto created = h.all<BatchCreated>();
  REQUIRE(created.size() == 2);
  CHECK(created[0].items == slice(items, 0, 3));
  CHECK(created[1].items == slice(items, 3, 6));
  h.pass(100ms);  // The next interval cuts the rest.
  created = h.all<BatchCreated>();
  REQUIRE(created.size() == 3);
  CHECK(created[2].items == slice(items, 6, 7));
  CHECK(heard->heard.size() == 3);
}

TEST_CASE("SequencerBatchIdsAreStrictlyIncreasingEvenWhenTheClockStandsStillOrGoesBack") {
  Harness h;
  auto [prover, heard] = h.fake_prover_actor();
  auto seq = h.sequencer(prover, 100ms, 1);
  h.drain();
  KeyPair alice = keypair_from_seed(seed_of(10));
  // Four batches in the same millisecond.
  caf::anon_send(seq, actors::items_atom::value, h.deposits(4, alice.public_key));
  h.drain();
  REQUIRE(h.all<BatchCreated>().size() == 4);
  // The wall clock jumps an hour back.
  h.skew_ms = -3'600'000;
  caf::anon_send(seq, actors::items_atom::value, h.deposits(2, alice.public_key, 900));
  h.drain();
  // And a while later, forward again.
  h.skew_ms = 0;
  h.pass(250ms);
  caf::anon_send(seq, actors::items_atom::value, h.deposits(1, alice.public_key, 700));
  h.drain();

  auto created = h.all<BatchCreated>();
  REQUIRE(created.size() == 7);
  for (std::size_t i = 1; i < created.size(); ++i) {
    CAPTURE(i);
    CHECK(created[i - 1].batch_id < created[i].batch_id);
  }
  CHECK(id_time_ms(created[0].batch_id) == h.start_ms);
  CHECK(id_time_ms(created[6].batch_id) == h.start_ms + 250);
  // The projections' batch order (by id) is the creation order.
  std::vector<Id128> by_id;
  for (const auto& [id, b] : h.p().batches) by_id.push_back(id);
  std::vector<Id128> by_creation;
  for (const auto& c : created) by_creation.push_back(c.batch_id);
  CHECK(by_id == by_creation);
  REQUIRE(heard->heard.size() == 7);
  for (std::size_t i = 0; i < 7; ++i) CHECK(heard->heard[i].id == created[i].batch_id);
}

TEST_CASE("SequencerStartsWithTheUnbatchedItemsAndAfterTheLastBatchId") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10)), bob = keypair_from_seed(seed_of(11));
  auto first = h.deposits(3, alice.public_key);
  // A batch made earlier, whose id is a day ahead of the clock.
  std::array<std::uint8_t, 10> random{};
  random.fill(0xff);
  const Id128 future = make_time_ordered_id(h.start_ms + 86'400'000, random);
  h.append({BatchCreated{future, slice(first, 0, 1), 5}});
  auto second = h.deposits(2, bob.public_key);
  const auto waiting = unbatched_items(h.p());
  // As after a restart: the sequencer finds the committed items no batch holds.
  auto [prover, heard] = h.fake_prover_actor();
  h.sequencer(prover, 100ms, 1000);
  h.drain();
  CHECK(h.all<BatchCreated>().size() == 1);
  h.pass(100ms);
  auto created = h.all<BatchCreated>();
  REQUIRE(created.size() == 2);
  CHECK(created[1].items == waiting);  // In unbatched_items order.
  std::vector<settlement::Item> expected = slice(first, 1, 3);
  expected.insert(expected.end(), second.begin(), second.end());
  auto by_tx = [](const settlement::Item& x, const settlement::Item& y) { return x.tx_id < y.tx_id; };
  std::sort(expected.begin(), expected.end(), by_tx);
  auto got = created[1].items;
  std::sort(got.begin(), got.end(), by_tx);
  CHECK(got == expected);
  REQUIRE(heard->heard.size() == 1);
  CHECK(heard->heard[0].id == created[1].batch_id);
  CHECK(future < created[1].batch_id);
}

TEST_CASE("SequencerQueuesAnItemOnceThoughItFindsItAtStartAndHearsOfItFromTheCommitter") {
  // At a restart the sequencer takes the unbatched items from memory, which may already hold
  // a block whose items the committer sends it once that block is durable. Queued twice, an
  // item made every batch refused (an item in a batch twice), and nothing was batched again.
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto items = h.deposits(2, alice.public_key);
  auto [prover, heard] = h.fake_prover_actor();
  auto sequencer = h.sequencer(prover, 100ms, 1000);
  caf::anon_send(sequencer, actors::items_atom::value, items);  // The committer's report of them.
  h.drain();
  h.pass(100ms);
  auto created = h.all<BatchCreated>();
  REQUIRE(created.size() == 1);
  CHECK(created[0].items.size() == 2);
  REQUIRE(heard->heard.size() == 1);
  h.pass(1s);
  CHECK(h.all<BatchCreated>().size() == 1);
}

// --- prover ------------------------------------------------------------------------------

TEST_CASE("ProverAppendsAVerifyingBatchProvedAndTellsTheSubmitter") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto items = h.deposits(2, alice.public_key, 1000);
  const Id128 batch{0xba, 1};
  h.append({BatchCreated{batch, items, 5}});
  const Hash32 pre_root = h.p().settled.root();
  auto [submitter, told] = h.fake_submitter_actor();
  auto prover = h.prover(submitter);
  caf::anon_send(prover, actors::prove_atom::value, batch);
  h.drain();

  auto logged = h.logged();
  auto* proved = std::get_if<BatchProved>(&logged.back().event);
  REQUIRE(proved);
  CHECK(proved->batch_id == batch);
  CHECK(proved->inputs.batch_id == batch);
  CHECK(proved->inputs.pre_root == pre_root);
  CHECK(proved->sequencer_key == h.sequencer_key.public_key);
  CHECK(proved->witness.items == items);
  CHECK(proved->inputs.totals.deposits == 1000 + 1001);
  auto problem = settlement::verify(proved->inputs, proved->witness, proved->proof, h.sequencer_key.public_key);
  CHECK_MESSAGE(!problem, (problem ? *problem : std::string()));
  CHECK(h.status(batch) == BatchStatus::proved);
  CHECK(h.p().settled.root() == proved->inputs.post_root);
  CHECK(h.p().settled.balance(alice.public_key) == std::optional<Amount>(2001));
  CHECK(h.metrics.batches_proved.load() == 1);

  // The submitter got the settlement tx of exactly this proof.
  REQUIRE(told->proved.size() == 1);
  CHECK(told->proved[0].first == batch);
  const Settlement& s = *told->proved[0].second;
  CHECK(s.inputs == proved->inputs);
  CHECK(s.sequencer_key == h.sequencer_key.public_key);
  CHECK(s.proof == proved->proof);
  CHECK(s.witness == proved->witness);
  CHECK(verify_tx_signature(Tx{s}));

  // Asked again about a batch that is no longer Created: nothing.
  caf::anon_send(prover, actors::prove_atom::value, batch);
  caf::anon_send(prover, actors::prove_atom::value, Id128{0xba, 0x77});  // Unknown.
  h.drain();
  CHECK(h.all<BatchProved>().size() == 1);
  CHECK(told->proved.size() == 1);
}

TEST_CASE("ProverProvesBatchesInCreationOrderEachOnThePreviousPostState") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto deposits = h.deposits(1, alice.public_key, 1000);
  auto bets = h.commit({Tx{h.bet(alice, 1, 100)}, Tx{h.bet(alice, 2, 50)}}).items;
  REQUIRE(bets.size() == 2);
  const Id128 b1{0xba, 1}, b2{0xba, 2};
  h.append({BatchCreated{b1, deposits, 5}});
  h.append({BatchCreated{b2, bets, 5}});
  auto [submitter, told] = h.fake_submitter_actor();
  auto prover = h.prover(submitter);
  caf::anon_send(prover, actors::prove_atom::value, b1);
  caf::anon_send(prover, actors::prove_atom::value, b2);
  h.drain();
  auto proofs = h.all<BatchProved>();
  REQUIRE(proofs.size() == 2);
  CHECK(proofs[0].batch_id == b1);
  CHECK(proofs[1].batch_id == b2);
  CHECK(proofs[1].inputs.pre_root == proofs[0].inputs.post_root);
  for (auto& pr : proofs) CHECK_FALSE(settlement::verify(pr.inputs, pr.witness, pr.proof, h.sequencer_key.public_key));
  REQUIRE(told->proved.size() == 2);
  CHECK(told->proved[0].first == b1);
  CHECK(told->proved[1].first == b2);
  CHECK(h.status(b2) == BatchStatus::proved);
  const Amount payouts = bets[0].payout + bets[1].payout;
  CHECK(h.p().settled.balance(alice.public_key) == std::optional<Amount>(1000 - 150 + payouts));
}

TEST_CASE("ProverTriesARefusedBatchAgainBeforeTheBatchesBehindIt") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  auto deposits = h.deposits(1, alice.public_key, 1000);
  auto bets = h.commit({Tx{h.bet(alice, 1, 100)}, Tx{h.bet(alice, 2, 50)}}).items;
  const Id128 b1{0xba, 1}, b2{0xba, 2};
  h.append({BatchCreated{b1, deposits, 5}});
  h.append({BatchCreated{b2, bets, 5}});
  auto plan = h.refuse(EventType::batch_proved, 1);
  auto [submitter, told] = h.fake_submitter_actor();
  auto prover = h.prover(submitter);
  caf::anon_send(prover, actors::prove_atom::value, b1);
  caf::anon_send(prover, actors::prove_atom::value, b2);
  h.drain();
  // b1's proof was refused: nothing proved yet (b2 builds on b1's post-state), not stalled.
  CHECK(plan->refused == 1);
  CHECK(h.all<BatchProved>().empty());
  REQUIRE(h.alarms.size() == 1);
  CHECK(h.alarms[0].find("prover ALARM: the journal refused BatchProved of batch " + to_hex(b1)) != std::string::npos);
  h.pass(1000ms);  // retry_refused
  auto proofs = h.all<BatchProved>();
  REQUIRE(proofs.size() == 2);
  CHECK(proofs[0].batch_id == b1);
  CHECK(proofs[1].batch_id == b2);
  CHECK(proofs[1].inputs.pre_root == proofs[0].inputs.post_root);
  CHECK(told->proved.size() == 2);
  CHECK(h.ask_stats(prover) == "batches queued 0");
}

TEST_CASE("ProverRecordsBatchFailedForItemsThatCannotApplyToTheSettledState") {
  Harness h;
  KeyPair bob = keypair_from_seed(seed_of(11));
  auto deposit = h.deposits(1, bob.public_key, 1000);
  auto bet = h.commit({Tx{h.bet(bob, 1, 100)}}).items;
  // A batch of bob's bet without his deposit (never batched): the settled state has no
  // balance to debit. apply() accepts the batch (its items are committed), the proof cannot.
  const Id128 bad{0xba, 1}, good{0xba, 2};
  h.append({BatchCreated{bad, bet, 5}});
  h.append({BatchCreated{good, deposit, 5}});
  auto [submitter, told] = h.fake_submitter_actor();
  auto prover = h.prover(submitter);
  caf::anon_send(prover, actors::prove_atom::value, bad);
  caf::anon_send(prover, actors::prove_atom::value, good);
  h.drain();
  auto failed = h.all<BatchFailed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].batch_id == bad);
  CHECK(failed[0].reason.rfind("cannot prove: ", 0) == 0);
  CHECK(h.status(bad) == BatchStatus::failed);
  CHECK(h.metrics.batches_failed.load() == 1);
  // The prover went on with the next batch, and only that one reached the submitter.
  CHECK(h.status(good) == BatchStatus::proved);
  REQUIRE(told->proved.size() == 1);
  CHECK(told->proved[0].first == good);
}

// --- submitter ---------------------------------------------------------------------------

TEST_CASE("SubmitterRecordsBatchConfirmedWhenItsSettlementIsCommitted") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 batch{0xba, 1};
  Settlement s = h.prove_batch(batch, h.deposits(2, alice.public_key));
  const Hash32 s_id = tx_id(s);
  auto [mempool, submissions] = h.fake_mempool_actor();
  auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
  caf::anon_send(submitter, actors::settle_atom::value, batch, std::make_shared<const Settlement>(s));
  h.drain();
  // Attempt 1 goes out at once and is recorded once admitted.
  REQUIRE(submissions->at.size() == 1);
  CHECK(submissions->ids[0] == s_id);
  auto submitted = h.all<BatchSubmitted>();
  REQUIRE(submitted.size() == 1);
  CHECK(submitted[0].batch_id == batch);
  CHECK(submitted[0].attempt == 1);
  CHECK(submitted[0].settlement_tx_id == s_id);
  CHECK(h.status(batch) == BatchStatus::submitted);
  CHECK(h.metrics.batches_submitted.load() == 1);

  // Consensus accepts it and a block commits it (the test plays the committer).
  h.pass(300ms);
  auto plan = h.commit({Tx{s}});
  REQUIRE(plan.block);
  REQUIRE(plan.settlements.size() == 1);
  actors::BlockReport report{plan.block->height, plan.block->tx_ids, plan.rejected, plan.settlements};
  caf::anon_send(submitter, actors::block_atom::value, report);
  h.drain();
  auto confirmed = h.all<BatchConfirmed>();
  REQUIRE(confirmed.size() == 1);
  CHECK(confirmed[0].batch_id == batch);
  CHECK(confirmed[0].height == plan.block->height);
  CHECK(h.status(batch) == BatchStatus::confirmed);
  CHECK(h.metrics.batches_confirmed.load() == 1);
  // Its timeout was cancelled: nothing more happens.
  h.pass(10s);
  CHECK(submissions->at.size() == 1);
  CHECK(h.all<BatchSubmitted>().size() == 1);
  CHECK(h.all<BatchFailed>().empty());
  CHECK(h.ask_stats(submitter) == "batches followed 0");
}

TEST_CASE("SubmitterNeverFailsABatchWhoseSettlementIsAliveAndRetriesRejectionsWithBackoff") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 batch{0xba, 1};
  Settlement s = h.prove_batch(batch, h.deposits(1, alice.public_key), 3);  // max_attempts 3
  auto [mempool, submissions] = h.fake_mempool_actor();
  auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
  caf::anon_send(submitter, actors::settle_atom::value, batch, std::make_shared<const Settlement>(s));
  h.drain();
  REQUIRE(h.all<BatchSubmitted>().size() == 1);

  // Its vote runs far beyond the timeout and the batch's attempts: no attempt is spent on a
  // live tx (a resubmission would be the same tx), and the batch is never failed.
  h.pass(1min);
  CHECK(submissions->at.size() == 1);
  CHECK(h.all<BatchSubmitted>().size() == 1);
  CHECK(h.all<BatchFailed>().empty());
  CHECK(h.status(batch) == BatchStatus::submitted);

  // Consensus rejects it (the test plays the committer): the next attempt waits base = 200 ms.
  auto reject = [&] {
    auto plan = h.commit({Tx{s}}, {tx_id(s)});
    caf::anon_send(submitter, actors::block_atom::value,
                   actors::BlockReport{plan.block ? plan.block->height : 0, {}, plan.rejected, {}});
    h.drain();
  };
  reject();
  const auto rejected_at = h.now();
  h.pass(199ms);
  CHECK(submissions->at.size() == 1);
  h.pass(1ms);
  REQUIRE(submissions->at.size() == 2);
  CHECK(submissions->at[1] == rejected_at + 200ms);
  auto submitted = h.all<BatchSubmitted>();
  REQUIRE(submitted.size() == 2);
  CHECK(submitted[1].attempt == 2);
  CHECK(submitted[1].settlement_tx_id == tx_id(s));  // The same tx (a duplicate for the mempool).
  CHECK(h.all<BatchFailed>().empty());
  h.pass(399ms);  // Attempt 2 found it rejected still: attempt 3 waits 2 * base.
  CHECK(submissions->at.size() == 2);
  h.pass(1ms);
  CHECK(submissions->at.size() == 3);
  submitted = h.all<BatchSubmitted>();
  REQUIRE(submitted.size() == 3);
  CHECK(submitted[2].attempt == 3);

  // Rejected after the last attempt: Failed, and never retried.
  auto failed = h.all<BatchFailed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].batch_id == batch);
  CHECK(failed[0].reason == "the ledger rejected the settlement after 3 attempts");
  CHECK(h.status(batch) == BatchStatus::failed);
  CHECK(h.metrics.submit_retries.load() == 2);
  CHECK(h.metrics.batches_failed.load() == 1);
  h.pass(1min);
  CHECK(submissions->at.size() == 3);
}

TEST_CASE("SubmitterCountsRefusedSubmissionsAsAttemptsThenFails") {
  MempoolMode mode = MempoolMode::refuse;
  std::string refusal = "bad_proof: the batch proof does not verify";
  SUBCASE("refused") {}
  SUBCASE("conflict") {
    mode = MempoolMode::conflict;
    refusal = "conflict: the batch has another settlement";
  }
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 batch{0xba, 1};
  Settlement s = h.prove_batch(batch, h.deposits(1, alice.public_key), 3);
  auto [mempool, submissions] = h.fake_mempool_actor(mode);
  auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
  caf::anon_send(submitter, actors::settle_atom::value, batch, std::make_shared<const Settlement>(s));
  h.drain();
  CHECK(h.all<BatchFailed>().empty());  // Refused once: the next attempt after its backoff.
  h.pass(200ms);
  h.pass(400ms);
  CHECK(submissions->at == std::vector<std::chrono::milliseconds>{0ms, 200ms, 600ms});
  auto failed = h.all<BatchFailed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].batch_id == batch);
  CHECK(failed[0].reason == "the ledger never admitted the settlement (" + refusal + ") after 3 attempts");
  CHECK(h.all<BatchSubmitted>().empty());  // Nothing was ever admitted.
  CHECK(h.status(batch) == BatchStatus::failed);
  h.pass(1min);
  CHECK(submissions->at.size() == 3);  // Never retried.
}

TEST_CASE("SubmitterWaitsForABatchProvedStillBeingCommittedInsteadOfFailingTheBatch") {
  // The reconciler reads memory, which may be ahead of the log by the group being committed:
  // it can hand over a Proved batch whose BatchProved is not in the log yet. That batch must
  // not fail (a real node hit this after a restart); the submitter looks again shortly.
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 batch{0xba, 1};
  Settlement s = h.prove_batch(batch, h.deposits(1, alice.public_key));
  auto kept = h.proved.extract(batch);  // load_settlement finds nothing yet.
  auto [mempool, submissions] = h.fake_mempool_actor();
  auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
  caf::anon_send(submitter, actors::settle_atom::value, batch);
  h.drain();
  h.pass(1s);
  CHECK(h.all<BatchFailed>().empty());
  CHECK(submissions->at.empty());
  h.proved.insert(std::move(kept));  // Durable now.
  h.pass(200ms);
  REQUIRE(submissions->ids.size() == 1);
  CHECK(submissions->ids[0] == tx_id(s));
  CHECK(h.status(batch) == BatchStatus::submitted);
}

TEST_CASE("SubmitterCarriesOnWhenTheJournalRefusesItsAppends") {
  // Each of the submitter's appends refused once: it is never left busy, and the batch still
  // ends Confirmed.
  for (EventType type : {EventType::batch_submitted, EventType::batch_confirmed}) {
    CAPTURE(event_type_name(type));
    Harness h;
    KeyPair alice = keypair_from_seed(seed_of(10));
    const Id128 batch{0xba, 1};
    Settlement s = h.prove_batch(batch, h.deposits(1, alice.public_key));
    auto plan = h.refuse(type, 1);
    auto [mempool, submissions] = h.fake_mempool_actor();
    auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
    caf::anon_send(submitter, actors::settle_atom::value, batch, std::make_shared<const Settlement>(s));
    h.drain();
    if (type == EventType::batch_confirmed) {
      auto block = h.commit({Tx{s}});
      caf::anon_send(submitter, actors::block_atom::value,
                     actors::BlockReport{block.block->height, block.block->tx_ids, {}, block.settlements});
      h.drain();
    }
    CHECK(plan->refused == 1);
    REQUIRE(h.alarms.size() == 1);
    CHECK(h.alarms[0].find("submitter ALARM: the journal refused") != std::string::npos);
    h.pass(200ms);  // The refused append is tried again after the retry base.
    if (type == EventType::batch_submitted) {
      CHECK(h.all<BatchSubmitted>().size() == 1);
      auto block = h.commit({Tx{s}});
      caf::anon_send(submitter, actors::block_atom::value,
                     actors::BlockReport{block.block->height, block.block->tx_ids, {}, block.settlements});
      h.drain();
    }
    CHECK(h.status(batch) == BatchStatus::confirmed);
    CHECK(h.ask_stats(submitter) == "batches followed 0");
  }
}

TEST_CASE("SubmitterRetriesTheSameAttemptWhenTheMempoolIsBusy") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 batch{0xba, 1};
  Settlement s = h.prove_batch(batch, h.deposits(1, alice.public_key));
  auto [mempool, submissions] = h.fake_mempool_actor();
  submissions->busy_first = 2;
  auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
  caf::anon_send(submitter, actors::settle_atom::value, batch, std::make_shared<const Settlement>(s));
  h.drain();
  CHECK(submissions->at.size() == 1);
  h.pass(200ms);  // retry.base later
  CHECK(submissions->at.size() == 2);
  h.pass(200ms);
  CHECK(submissions->at == std::vector<std::chrono::milliseconds>{0ms, 200ms, 400ms});
  auto submitted = h.all<BatchSubmitted>();
  REQUIRE(submitted.size() == 1);
  CHECK(submitted[0].attempt == 1);  // Busy answers spend no attempt.
}

TEST_CASE("SubmitterTakesUpAProvedBatchAndRecordsAConfirmationTheReconcilerFound") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 taken{0xba, 1}, found{0xba, 2};
  Settlement s1 = h.prove_batch(taken, h.deposits(1, alice.public_key));
  Settlement s2 = h.prove_batch(found, h.deposits(1, alice.public_key, 300));
  // `found`'s settlement is on the ledger (committed) but our books still say Proved.
  auto plan = h.commit({Tx{s2}});
  REQUIRE(plan.block);
  auto [mempool, submissions] = h.fake_mempool_actor();
  auto submitter = h.submitter(mempool, kPlainBackoff, 1000ms);
  caf::anon_send(submitter, actors::confirm_atom::value, found, plan.block->height);
  // And `taken` is handed over without its settlement (loaded from the log).
  caf::anon_send(submitter, actors::settle_atom::value, taken);
  h.drain();
  CHECK(h.status(found) == BatchStatus::confirmed);
  auto submitted = h.all<BatchSubmitted>();
  REQUIRE(submitted.size() == 2);
  CHECK(((submitted[0].batch_id == found && submitted[0].settlement_tx_id == tx_id(s2)) ||
         (submitted[1].batch_id == found && submitted[1].settlement_tx_id == tx_id(s2))));
  auto confirmed = h.all<BatchConfirmed>();
  REQUIRE(confirmed.size() == 1);
  CHECK(confirmed[0].batch_id == found);
  CHECK(confirmed[0].height == plan.block->height);
  CHECK(h.status(taken) == BatchStatus::submitted);
  REQUIRE(submissions->ids.size() == 1);
  CHECK(submissions->ids[0] == tx_id(s1));
}

// --- reconciler --------------------------------------------------------------------------

TEST_CASE("ReconcilerReportsAtStartAndHandsAMissingBatchToTheSubmitter") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 missing{0xba, 1}, on_ledger{0xba, 2};
  h.prove_batch(missing, h.deposits(1, alice.public_key));
  Settlement s2 = h.prove_batch(on_ledger, h.deposits(1, alice.public_key, 300));
  auto plan = h.commit({Tx{s2}});  // Settled on the ledger; our books still say Proved.
  REQUIRE(plan.block);
  auto [submitter, told] = h.fake_submitter_actor();
  std::vector<std::string> alarms;
  h.reconciler(submitter, 10s, &alarms);
  h.drain();

  auto reports = h.all<ReconciliationReport>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].missing == std::vector<Id128>{missing});
  CHECK(reports[0].confirmed == std::vector<Id128>{on_ledger});
  CHECK(reports[0].orphaned.empty());
  CHECK(reports[0].mismatched.empty());
  REQUIRE(h.p().last_reconciliation);
  CHECK(h.p().last_reconciliation->missing == std::vector<Id128>{missing});
  CHECK(told->taken_up == std::vector<Id128>{missing});
  REQUIRE(told->confirms.size() == 1);
  CHECK(told->confirms[0].first == on_ledger);
  CHECK(told->confirms[0].second == plan.block->height);
  CHECK(alarms.empty());
  CHECK(h.metrics.reconciliations.load() == 1);

  // While the batch stays missing, every run reports and hands it over again.
  h.pass(10s);
  CHECK(h.all<ReconciliationReport>().size() == 2);
  CHECK(told->taken_up.size() == 2);
}

TEST_CASE("ReconcilerRecordsAgainAReportTheJournalRefused") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  h.append({BatchCreated{Id128{0xba, 1}, h.deposits(1, alice.public_key), 5}});
  auto plan = h.refuse(EventType::reconciliation_report, 1);
  auto [submitter, told] = h.fake_submitter_actor();
  h.reconciler(submitter, 10s);
  h.drain();
  CHECK(plan->refused == 1);
  CHECK(h.all<ReconciliationReport>().empty());
  REQUIRE(h.alarms.size() == 1);
  CHECK(h.alarms[0].find("reconciliation ALARM: the journal refused the report") != std::string::npos);
  h.pass(10s);  // The next run records its report, though it found nothing wrong.
  CHECK(h.all<ReconciliationReport>().size() == 1);
  h.pass(10s);
  CHECK(h.all<ReconciliationReport>().size() == 1);  // Then only when something is wrong.
}

TEST_CASE("ReconcilerCallsAFailedBatchThatTheLedgerSettledMismatched") {
  // Books that gave a batch up while the ledger settled it (an older node's log, or a
  // settlement that landed after an operator's abort): an alarm, never "confirmed".
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  const Id128 batch{0xba, 1};
  Settlement s = h.prove_batch(batch, h.deposits(1, alice.public_key));
  REQUIRE(h.commit({Tx{s}}).block);  // The ledger settles it ...
  // ... and the books say Failed, as an older node's could: apply() refuses BatchFailed for
  // a batch whose settlement was accepted, so the test sets the state such a log leaves.
  h.p().batches.at(batch).lifecycle.fail();
  auto [submitter, told] = h.fake_submitter_actor();
  std::vector<std::string> alarms;
  h.reconciler(submitter, 10s, &alarms);
  h.drain();
  auto reports = h.all<ReconciliationReport>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].mismatched == std::vector<Id128>{batch});
  CHECK(reports[0].confirmed.empty());
  REQUIRE(alarms.size() == 1);
  CHECK(alarms[0] == "reconciliation ALARM: batch " + to_hex(batch) +
                         " differs between the ledger and our books (failed in our books)");
  CHECK(told->confirms.empty());
}

TEST_CASE("ReconcilerWithNothingWrongReportsOnlyOnce") {
  Harness h;
  KeyPair alice = keypair_from_seed(seed_of(10));
  h.append({BatchCreated{Id128{0xba, 1}, h.deposits(1, alice.public_key), 5}});  // Created: the prover's work.
  auto [submitter, told] = h.fake_submitter_actor();
  auto reconciler = h.reconciler(submitter, 10s);
  h.drain();
  auto reports = h.all<ReconciliationReport>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].missing.empty());
  CHECK(reports[0].confirmed.empty());
  for (int i = 0; i < 3; ++i) h.pass(10s);  // Three more runs, one per interval.
  CHECK(h.all<ReconciliationReport>().size() == 1);
  CHECK(h.metrics.reconciliations.load() == 4);
  // An operator's run answers its summary.
  caf::scoped_actor op{*h.system};
  op->send(reconciler, actors::reconcile_atom::value);
  h.run();
  std::string summary;
  op->receive([&](const std::string& s) { summary = s; }, caf::after(0s) >> [] {});
  CHECK(summary == "confirmed 0, missing 0, orphaned 0, mismatched 0");
  CHECK(told->taken_up.empty());
}

// --- whole node ----------------------------------------------------------------------------

namespace {

std::vector<Logged> node_log(test::NodeWorld& w) {
  std::vector<Logged> out;
  w.node->log().scan(1, [&](const eventlog::RecordView& r) {
    out.push_back({r.seq, r.time_ms, decode_event(r.type, r.payload)});
    return true;
  });
  return out;
}


}  // namespace

TEST_CASE("WholeNodeBatchesGoCreatedProvedSubmittedConfirmedInIdOrder") {
  // A whole node (NodeWorld): five deposits, batch_max 2.
  test::NodeWorld w;
  auto o = w.options();
  o.batch_max = 2;
  o.batch_interval = 50ms;
  w.start(o);
  KeyPair alice = keypair_from_seed(test::NodeWorld::seed_of(9));
  for (int i = 0; i < 5; ++i) CHECK(w.submit(w.deposit(alice.public_key, 10u + i)).final);
  REQUIRE(w.run_until([&] {
    return w.with_state([](const Projections& p) {
      if (p.batches.empty()) return false;
      std::size_t items = 0;
      for (const auto& [id, b] : p.batches) {
        if (b.lifecycle.status() != BatchStatus::confirmed) return false;
        items += b.items.size();
      }
      return items == 5;
    });
  }));
  // Per batch, the order of its events in the log.
  std::map<Id128, std::vector<std::size_t>> steps;
  std::vector<Id128> created_order;
  for (const auto& l : node_log(w)) {
    auto id = batch_id_of(l.event);
    if (!id) continue;
    steps[*id].push_back(l.event.index());
    if (std::holds_alternative<BatchCreated>(l.event)) created_order.push_back(*id);
  }
  const std::vector<std::size_t> lifecycle{Event(BatchCreated{}).index(), Event(BatchProved{}).index(),
                                           Event(BatchSubmitted{}).index(), Event(BatchConfirmed{}).index()};
  CHECK(steps.size() >= 3);
  for (const auto& [id, s] : steps) CHECK(s == lifecycle);
  CHECK(std::is_sorted(created_order.begin(), created_order.end()));
  CHECK(std::adjacent_find(created_order.begin(), created_order.end()) == created_order.end());
  for (const auto& [id, b] : w.with_state([](const Projections& p) { return p.batches; })) CHECK(b.items.size() <= 2);
}

TEST_CASE("WholeNodeASettlementSlowerThanTheSubmitTimeoutIsConfirmedNotRetriedOrFailed") {
  // A whole node (NodeWorld) whose blocks come every 5 s while a submission times out after
  // 100 ms: the settlement tx is admitted and decided at once, but its block comes late.
  // The batch waits for it (a live settlement is never failed, and resubmitting it would be
  // the same tx), then is confirmed.
  test::NodeWorld w;
  auto o = w.options();
  o.block_interval = 5s;
  o.submit_timeout = 100ms;
  o.submit_attempts = 3;
  o.retry = RetryPolicy{5, 200ms, 10'000ms, 0.5};
  w.start(o);
  KeyPair alice = keypair_from_seed(test::NodeWorld::seed_of(9));
  REQUIRE(w.submit(w.deposit(alice.public_key, 1000), 0ms).kind == actors::SubmitOutcome::Kind::admitted);
  auto batch_is = [&](BatchStatus status) {
    return w.with_state([status](const Projections& p) {
      return !p.batches.empty() && p.batches.begin()->second.lifecycle.status() == status;
    });
  };
  REQUIRE(w.run_until([&] { return batch_is(BatchStatus::submitted); }, 20s));
  REQUIRE(w.run_until([&] { return batch_is(BatchStatus::confirmed); }, 20s));
  std::size_t submitted = 0, failed = 0;
  for (auto& l : node_log(w)) {
    submitted += std::holds_alternative<BatchSubmitted>(l.event);
    failed += std::holds_alternative<BatchFailed>(l.event);
  }
  CHECK(submitted == 1);
  CHECK(failed == 0);
}
