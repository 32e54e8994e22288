#pragma once
// A node's journal, projections and log with no other actor, for the tests that run ONE
// actor of the node (the mempool, the committer) against the real journal: every event the
// actor appends passes the domain's rules and lands in a real (non-durable) log. The test
// plays the rest of the node (it admits and commits txs itself, as the mempool and the
// committer would) and can put a gate between the actor and the journal, which holds the
// actor's appends until the test releases them (to see what the actor does before its
// events are durable) or answers them with an error of the test's choosing.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/journal.hpp"
#include "caf_fixture.hpp"
#include "domain/blocks.hpp"
#include "test_support.hpp"

namespace croupier::test {

using release_atom = caf::atom_constant<caf::atom("release")>;  // Gate: forward the oldest held append.
using answer_atom = caf::atom_constant<caf::atom("answer")>;    // Gate: answer it with this caf::error instead.

enum class GateMode {
  pass,  // Forwards every append to the journal at once.
  hold,  // Keeps every append (unanswered) until the test releases or answers it.
};

// What the gate saw and holds.
struct GateLog {
  GateMode mode = GateMode::pass;
  std::vector<std::vector<Event>> requests;  // Every append it got, in order.
  struct Held {
    std::vector<Event> events;
    caf::typed_response_promise<actors::Seqs> promise;
  };
  std::deque<Held> held;
};

inline caf::behavior gate_journal(caf::event_based_actor* self, std::shared_ptr<GateLog> log,
                                  actors::journal_actor journal) {
  // The held append's answer, from the journal or from the test.
  auto forward = [=](GateLog::Held h) {
    self->request(journal, caf::infinite, actors::append_atom::value, std::move(h.events))
        .then([promise = h.promise](actors::Seqs& seqs) mutable { promise.deliver(std::move(seqs)); },
              [promise = h.promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
  };
  return {
      [=](actors::append_atom, std::vector<Event>& events) -> caf::result<actors::Seqs> {
        log->requests.push_back(events);
        auto promise = self->make_response_promise<actors::Seqs>();
        GateLog::Held h{std::move(events), promise};
        if (log->mode == GateMode::pass)
          forward(std::move(h));
        else
          log->held.push_back(std::move(h));
        return promise;
      },
      [=](release_atom) {
        if (log->held.empty()) {
          FAIL_CHECK("the gate holds no append to release");
          return;
        }
        auto h = std::move(log->held.front());
        log->held.pop_front();
        forward(std::move(h));
      },
      [=](answer_atom, const caf::error& error) {
        if (log->held.empty()) {
          FAIL_CHECK("the gate holds no append to answer");
          return;
        }
        auto h = std::move(log->held.front());
        log->held.pop_front();
        h.promise.deliver(error);
      },
  };
}

struct Logged {
  eventlog::Seq seq = 0;
  std::uint64_t time_ms = 0;
  Event event;
};

struct LedgerWorld : CafFixture {
  TempDir dir{"croupier-ledger"};
  KeyPair operator_key = keypair_from_seed(seed_of(1));
  KeyPair house_key = keypair_from_seed(seed_of(2));
  KeyPair sequencer_key = keypair_from_seed(seed_of(3));
  std::shared_ptr<eventlog::EventLog> log;
  std::shared_ptr<actors::NodeState> state = std::make_shared<actors::NodeState>();
  actors::Metrics metrics;  // The actor under test's; the journal counts in its own.
  actors::Metrics journal_metrics;
  actors::journal_actor journal;
  std::vector<caf::actor> spawned;
  std::vector<std::string> failures;  // on_failure calls of the journal.
  std::uint64_t start_ms = 1'700'000'000'000;
  std::uint8_t next_id = 1;

  static Seed seed_of(std::uint8_t b) {
    Seed s{};
    s.fill(b);
    return s;
  }

  LedgerWorld() {
    eventlog::Options o;
    o.dir = dir.path();
    o.durable = false;
    log = std::shared_ptr<eventlog::EventLog>(eventlog::EventLog::open(o));
    actors::JournalOptions jo;
    jo.log = log;
    jo.clock_ms = [this] { return now_ms(); };
    jo.detached = false;
    jo.state = state;
    jo.metrics = &journal_metrics;
    jo.on_failure = [this](const std::string& why) { failures.push_back(why); };
    journal = actors::spawn_journal(*system, jo);
    append({NodeStarted{log->node_id(), "test", operator_key.public_key, house_key.public_key,
                        sequencer_key.public_key}});
  }

  ~LedgerWorld() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    run();
  }

  caf::actor keep(caf::actor a) {
    spawned.push_back(a);
    return a;
  }

  std::chrono::milliseconds now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(scheduler->clock().now().time_since_epoch());
  }
  std::uint64_t now_ms() const { return start_ms + static_cast<std::uint64_t>(now().count()); }

  // Runs every job, including delayed messages due now, until nothing is left to do at
  // this virtual time.
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

  // A gate in front of the journal, typed as the journal.
  std::pair<actors::journal_actor, std::shared_ptr<GateLog>> gate(GateMode mode) {
    auto l = std::make_shared<GateLog>();
    l->mode = mode;
    auto g = keep(system->spawn(gate_journal, l, journal));
    return {caf::actor_cast<actors::journal_actor>(g), l};
  }

  // Appends through the journal (as another actor of the node would) and returns the seqs.
  actors::Seqs append(std::vector<Event> events) {
    caf::scoped_actor client{*system};
    client->send(journal, actors::append_atom::value, std::move(events));
    run();
    std::optional<actors::Seqs> got;
    std::string error = "no reply";
    client->receive([&](const actors::Seqs& s) { got = s; }, [&](const caf::error& e) { error = system->render(e); },
                    caf::after(std::chrono::seconds(0)) >> [] {});
    REQUIRE_MESSAGE(got, "append failed: " << error);
    return *got;
  }

  Deposit deposit(const PublicKey& account, Amount amount) {
    Deposit d{Id128{0xde, next_id++}, account, amount, operator_key.public_key, {}};
    sign_tx(d, operator_key);
    return d;
  }

  Bet bet(const KeyPair& player, std::uint64_t nonce, Amount wager, std::uint8_t choice = 0) {
    Bet b{Id128{0xbe, next_id++}, player.public_key, nonce, static_cast<std::uint8_t>(Game::coinflip), wager, choice,
          {}, {}};
    b.client_seed.fill(static_cast<std::uint8_t>(nonce));
    sign_tx(b, player);
    return b;
  }

  void admit(const std::vector<Tx>& txs) {
    std::vector<Event> events;
    for (const auto& t : txs) events.emplace_back(TxAdmitted{t});
    append(events);
  }

  // Admits the txs not admitted yet, then commits a block deciding every one (accepted
  // unless `rejected` says otherwise), as the mempool and the committer would.
  BlockPlan commit(const std::vector<Tx>& txs, const std::vector<Hash32>& rejected = {}) {
    std::vector<Tx> fresh;
    for (const auto& t : txs)
      if (!p().txs.count(tx_id(t))) fresh.push_back(t);
    if (!fresh.empty()) admit(fresh);
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

  // Credits `account` with `amount` (a deposit committed in its own block).
  void fund(const PublicKey& account, Amount amount) { commit({deposit(account, amount)}); }

  // Creates batch `id` over `items` and proves it (as the sequencer and the prover would);
  // returns its settlement tx.
  Settlement prove_batch(const Id128& id, const std::vector<settlement::Item>& items) {
    append({BatchCreated{id, items, 5}});
    auto pb = settlement::prove(id, items, p().settled, sequencer_key);
    append({BatchProved{id, pb.inputs, pb.witness, sequencer_key.public_key, pb.proof}});
    return Settlement{pb.inputs, sequencer_key.public_key, pb.proof, pb.witness};
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

  // Asks `who` and returns its answer of type T, if one came.
  template <class T, class... Ts>
  std::optional<T> ask(const caf::actor& who, Ts&&... xs) {
    caf::scoped_actor client{*system};
    client->send(who, std::forward<Ts>(xs)...);
    run();
    std::optional<T> got;
    client->receive([&](T& x) { got = std::move(x); }, caf::after(std::chrono::seconds(0)) >> [] {});
    return got;
  }
};

}  // namespace croupier::test
