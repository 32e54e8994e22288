// The mempool: answers admitted only once the tx's TxAdmitted is durable, and only then
// spawns its voter; refuses what admission refuses without writing anything; answers a
// resend from the original and a changed resend as a conflict; is full (busy) at max_pending
// counting the appends still in flight; forgets the txs of a block; respawns voters for the
// admitted, undecided txs at recovery; decides again when the journal refuses its append;
// and, told to stop while appends are in flight, answers each of their clients unavailable
// at once (CAF 0.17 drops an undelivered promise, which left them waiting for their request
// timeout), while a linked voter that finishes (exit reason normal) does not stop it.
// Method: the mempool alone under CAF's deterministic test coordinator, in front of a real
// journal that owns real projections and a real log (tests/actors/ledger_world.hpp), mostly
// through a gate that holds its appends until the test releases them; the voters it spawns
// are real and poll a fake router written here, so a query at the router is the sign that a
// voter was spawned.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/mempool.hpp"
#include "ledger_world.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using actors::SubmitReply;
using Kind = actors::SubmitReply::Kind;
using test::GateMode;

namespace {

// --- fake actors -----------------------------------------------------------------------

struct RouterLog {
  bool answer = false;                     // Vote for each query's own tx (else stay silent).
  std::vector<Hash32> queried;             // The tx of each query, in arrival order.
  std::vector<caf::response_promise> held;  // A silent router's unanswered promises.
};

caf::behavior fake_router(caf::event_based_actor* self, std::shared_ptr<RouterLog> log) {
  return {
      [=](actors::query_atom, const actors::VoteQuery& q) -> caf::result<actors::Votes> {
        log->queried.push_back(q.tx_id);
        if (log->answer) return actors::Votes{q.tx_id};
        auto promise = self->make_response_promise();
        log->held.push_back(promise);
        return promise;
      },
  };
}

caf::behavior fake_committer(caf::event_based_actor*, std::shared_ptr<std::vector<Hash32>> decided) {
  return {
      [=](actors::decided_atom, const Hash32& id, bool) { decided->push_back(id); },
  };
}

// Clients that submit as the node does and keep their answers apart.
struct Clients {
  caf::actor_system& system;
  std::vector<std::unique_ptr<caf::scoped_actor>> all;

  std::size_t submit(const caf::actor& mempool, const Tx& tx) {
    all.push_back(std::make_unique<caf::scoped_actor>(system));
    (*all.back())->send(mempool, actors::submit_atom::value, tx);
    return all.size() - 1;
  }
  // The next answer client `i` got, if any.
  std::optional<SubmitReply> reply(std::size_t i) {
    std::optional<SubmitReply> got;
    (*all[i])->receive([&](SubmitReply& r) { got = std::move(r); }, caf::after(0s) >> [] {});
    return got;
  }
};

struct World : test::LedgerWorld {
  std::shared_ptr<RouterLog> router_log = std::make_shared<RouterLog>();
  std::shared_ptr<std::vector<Hash32>> decided = std::make_shared<std::vector<Hash32>>();
  caf::actor router = keep(system->spawn(fake_router, router_log));
  caf::actor committer = keep(system->spawn(fake_committer, decided));
  Clients clients{*system, {}};
  KeyPair alice = keypair_from_seed(seed_of(10));

  caf::actor mempool(actors::journal_actor j, std::size_t max_pending = 100) {
    actors::VoterOptions vo{router, committer, snowball::Parameters{1, 1, {{1, 1}}}, 1000ms, 10ms, &metrics, 0ms, {}};
    return keep(actors::spawn_mempool(*system, actors::MempoolOptions{state, &metrics, j, vo, max_pending, false, {}, {}}));
  }

  std::optional<std::uint64_t> pending_count(const caf::actor& mempool) {
    return ask<std::uint64_t>(mempool, actors::stats_atom::value);
  }

  // Submits `tx` and drains; returns the answer (fails the test when there is none).
  SubmitReply submit(const caf::actor& mempool, const Tx& tx) {
    auto c = clients.submit(mempool, tx);
    drain();
    auto r = clients.reply(c);
    REQUIRE_MESSAGE(r, "no answer");
    return *r;
  }

  bool in_log(const Hash32& id) const {
    for (const auto& a : all<TxAdmitted>())
      if (tx_id(a.tx) == id) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("MempoolAnswersAdmittedOnlyOnceTxAdmittedIsDurableAndThenSpawnsItsVoter") {
  World w;
  w.fund(w.alice.public_key, 1000);
  auto [journal, gate] = w.gate(GateMode::hold);
  auto mempool = w.mempool(journal);
  Bet b = w.bet(w.alice, 1, 100);
  const Hash32 id = tx_id(b);
  auto c = w.clients.submit(mempool, Tx{b});
  w.drain();
  // The append waits at the gate: no answer, no voter, nothing in the log or the state.
  REQUIRE(gate->held.size() == 1);
  REQUIRE(gate->held[0].events.size() == 1);
  CHECK(tx_id(std::get<TxAdmitted>(gate->held[0].events[0]).tx) == id);
  CHECK_FALSE(w.clients.reply(c));
  CHECK(w.router_log->queried.empty());
  CHECK_FALSE(w.in_log(id));
  CHECK(w.p().txs.count(id) == 0);
  CHECK(w.pending_count(mempool) == 0u);
  CHECK(w.metrics.txs_admitted.load() == 0);

  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  auto r = w.clients.reply(c);
  REQUIRE(r);
  CHECK(r->kind == Kind::admitted);
  CHECK(r->tx_id == id);
  CHECK_FALSE(r->final);
  CHECK(w.in_log(id));
  CHECK(w.p().txs.at(id).status == TxStatus::admitted);
  CHECK(w.router_log->queried == std::vector<Hash32>{id});  // Its voter polls.
  CHECK(w.pending_count(mempool) == 1u);
  CHECK(w.metrics.txs_admitted.load() == 1);
  CHECK(w.metrics.mempool_size.load() == 1);
}

TEST_CASE("MempoolRefusesWhatAdmissionRefusesWithItsCodeWithoutTouchingTheLog") {
  World w;
  w.fund(w.alice.public_key, 100);
  auto [journal, gate] = w.gate(GateMode::pass);
  auto mempool = w.mempool(journal);
  Bet b;
  std::string code;
  SUBCASE("bad signature") {
    b = w.bet(w.alice, 1, 50);
    b.signature[7] ^= 0x01;
    code = "bad_signature";
  }
  SUBCASE("wrong nonce") {
    b = w.bet(w.alice, 2, 50);  // The account's next nonce is 1.
    code = "wrong_nonce";
  }
  SUBCASE("insufficient funds") {
    b = w.bet(w.alice, 1, 101);  // 100 available.
    code = "insufficient_funds";
  }
  const auto head = w.log->head_seq();
  auto r = w.submit(mempool, Tx{b});
  CHECK(r.kind == Kind::refused);
  CHECK(r.code == code);
  CHECK_FALSE(r.message.empty());
  CHECK(gate->requests.empty());  // Nothing was sent to the journal ...
  CHECK(w.log->head_seq() == head);  // ... nor written.
  CHECK(w.p().txs.count(tx_id(b)) == 0);
  CHECK(w.router_log->queried.empty());
  CHECK(w.metrics.txs_refused.load() == 1);
  CHECK(w.metrics.txs_admitted.load() == 0);
  CHECK(w.pending_count(mempool) == 0u);
}

TEST_CASE("MempoolAnswersAResendFromTheOriginalAndAChangedResendAsAConflict") {
  World w;
  w.fund(w.alice.public_key, 1000);
  auto [journal, gate] = w.gate(GateMode::pass);
  auto mempool = w.mempool(journal);
  Bet b = w.bet(w.alice, 1, 100);
  const Hash32 id = tx_id(b);
  REQUIRE(w.submit(mempool, Tx{b}).kind == Kind::admitted);
  REQUIRE(gate->requests.size() == 1);

  // The same bet again while it is undecided: a duplicate, not final.
  auto again = w.submit(mempool, Tx{b});
  CHECK(again.kind == Kind::duplicate);
  CHECK(again.tx_id == id);
  CHECK_FALSE(again.final);

  // The same bet_id with another wager (signed again): a conflict naming the original.
  Bet changed = b;
  changed.wager = 200;
  sign_tx(changed, w.alice);
  REQUIRE(tx_id(changed) != id);
  auto conflict = w.submit(mempool, Tx{changed});
  CHECK(conflict.kind == Kind::conflict);
  CHECK(conflict.code == "conflict");
  CHECK(conflict.tx_id == id);
  CHECK(conflict.message.find(to_hex(id)) != std::string::npos);

  // Once the bet is committed (and resolved), its resend is a final duplicate.
  auto plan = w.commit({Tx{b}});
  REQUIRE(plan.block);
  auto committed = w.submit(mempool, Tx{b});
  CHECK(committed.kind == Kind::duplicate);
  CHECK(committed.tx_id == id);
  CHECK(committed.final);

  // A bet decided rejected is final too.
  Bet loser = w.bet(w.alice, 2, 100);
  REQUIRE(w.submit(mempool, Tx{loser}).kind == Kind::admitted);
  w.commit({Tx{loser}}, {tx_id(loser)});
  auto rejected = w.submit(mempool, Tx{loser});
  CHECK(rejected.kind == Kind::duplicate);
  CHECK(rejected.final);

  // None of the resends was appended or got a voter of its own.
  CHECK(gate->requests.size() == 2);
  CHECK(w.router_log->queried == std::vector<Hash32>{id, tx_id(loser)});
  CHECK(w.metrics.txs_duplicate.load() == 3);
  CHECK(w.metrics.txs_conflict.load() == 1);
  CHECK(w.metrics.txs_admitted.load() == 2);
}

TEST_CASE("MempoolIsFullAtMaxPendingCountingTheAppendsInFlight") {
  World w;
  auto [journal, gate] = w.gate(GateMode::pass);
  auto mempool = w.mempool(journal, 2);
  Deposit d1 = w.deposit(w.alice.public_key, 10), d2 = w.deposit(w.alice.public_key, 20),
          d3 = w.deposit(w.alice.public_key, 30);
  REQUIRE(w.submit(mempool, Tx{d1}).kind == Kind::admitted);

  // One pending and one in flight: full.
  gate->mode = GateMode::hold;
  auto c2 = w.clients.submit(mempool, Tx{d2});
  w.drain();
  REQUIRE(gate->held.size() == 1);
  auto busy = w.submit(mempool, Tx{d3});
  CHECK(busy.kind == Kind::busy);
  CHECK(busy.code == "busy");
  CHECK(busy.message.find("2 undecided") != std::string::npos);
  CHECK(gate->requests.size() == 2);  // d3 never went to the journal.
  CHECK(w.metrics.mempool_full.load() == 1);

  // Two pending: still full.
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  REQUIRE(w.clients.reply(c2));
  CHECK(w.pending_count(mempool) == 2u);
  CHECK(w.submit(mempool, Tx{d3}).kind == Kind::busy);
  CHECK(w.metrics.mempool_full.load() == 2);
  CHECK(w.p().txs.count(tx_id(d3)) == 0);

  // A block decides d1: room for d3.
  gate->mode = GateMode::pass;
  actors::BlockReport report;
  report.height = 2;
  report.accepted = {tx_id(d1)};
  caf::anon_send(mempool, actors::block_atom::value, report);
  w.drain();
  CHECK(w.submit(mempool, Tx{d3}).kind == Kind::admitted);
  CHECK(w.pending_count(mempool) == 2u);
}

TEST_CASE("MempoolForgetsTheAcceptedAndRejectedTxsOfABlockReport") {
  World w;
  auto mempool = w.mempool(w.journal);
  std::vector<Deposit> ds;
  for (Amount a = 1; a <= 4; ++a) ds.push_back(w.deposit(w.alice.public_key, a));
  for (const auto& d : ds) REQUIRE(w.submit(mempool, Tx{d}).kind == Kind::admitted);
  REQUIRE(w.pending_count(mempool) == 4u);
  REQUIRE(w.metrics.mempool_size.load() == 4);

  actors::BlockReport report;
  report.height = 1;
  report.accepted = {tx_id(ds[0]), tx_id(ds[2])};
  report.rejected = {tx_id(ds[1])};
  caf::anon_send(mempool, actors::block_atom::value, report);
  w.drain();
  CHECK(w.pending_count(mempool) == 1u);
  CHECK(w.metrics.mempool_size.load() == 1);

  // A report about txs it does not hold changes nothing.
  actors::BlockReport stranger;
  stranger.height = 2;
  stranger.accepted = {Hash32{0x77}};
  caf::anon_send(mempool, actors::block_atom::value, stranger);
  w.drain();
  CHECK(w.pending_count(mempool) == 1u);
}

TEST_CASE("MempoolRecoverSpawnsAVoterForEveryAdmittedUndecidedTxInTxIdOrder") {
  World w;
  w.fund(w.alice.public_key, 1000);
  Deposit d1 = w.deposit(w.alice.public_key, 5), d2 = w.deposit(w.alice.public_key, 6);
  Bet b = w.bet(w.alice, 1, 100);
  Deposit decided = w.deposit(w.alice.public_key, 7), rejected = w.deposit(w.alice.public_key, 8);
  w.admit({Tx{d1}, Tx{b}, Tx{d2}});
  w.commit({Tx{decided}, Tx{rejected}}, {tx_id(rejected)});  // Decided before the "restart".
  auto mempool = w.mempool(w.journal);
  w.drain();
  REQUIRE(w.router_log->queried.empty());  // No voter before recover.

  auto recovered = w.ask<std::uint64_t>(mempool, actors::recover_atom::value);
  w.drain();
  CHECK(recovered == 3u);
  std::vector<Hash32> expected{tx_id(d1), tx_id(d2), tx_id(b)};
  std::sort(expected.begin(), expected.end());
  CHECK(w.router_log->queried == expected);
  CHECK(w.pending_count(mempool) == 3u);
  CHECK(w.metrics.mempool_size.load() == 3);
}

TEST_CASE("MempoolDecidesAgainWhenTheJournalRefusesItsAppend") {
  World w;
  w.fund(w.alice.public_key, 1000);
  auto [journal, gate] = w.gate(GateMode::hold);
  auto gate_actor = caf::actor_cast<caf::actor>(journal);
  auto mempool = w.mempool(journal);

  SUBCASE("another admission took the funds") {
    // Bet x (nonce 1) holds 100; y (nonce 2, 300 of the 900 available) is admissible.
    Bet x = w.bet(w.alice, 1, 100);
    w.admit({Tx{x}});
    Bet y = w.bet(w.alice, 2, 300);
    auto cy = w.clients.submit(mempool, Tx{y});
    w.drain();
    REQUIRE(gate->held.size() == 1);  // y was admitted by the mempool's first decision.
    // Before y is durable, x is rejected (nonce 1 and its 100 come free) and z takes
    // nonce 1 and 800 of the 1000: y's nonce is right again, its funds are gone.
    w.commit({Tx{x}}, {tx_id(x)});
    gate->mode = GateMode::pass;
    Bet z = w.bet(w.alice, 1, 800);
    REQUIRE(w.submit(mempool, Tx{z}).kind == Kind::admitted);
    caf::anon_send(gate_actor, test::release_atom::value);
    w.drain();
    auto r = w.clients.reply(cy);
    REQUIRE(r);
    CHECK(r->kind == Kind::refused);
    CHECK(r->code == "insufficient_funds");
    CHECK(w.journal_metrics.appends_refused.load() == 1);  // The journal refused it ...
    CHECK_FALSE(w.in_log(tx_id(y)));                        // ... and wrote nothing of it.
    CHECK(w.router_log->queried == std::vector<Hash32>{tx_id(z)});
    CHECK(w.pending_count(mempool) == 1u);
    CHECK(w.metrics.txs_refused.load() == 1);
  }

  SUBCASE("the same tx sent twice at once") {
    Bet b = w.bet(w.alice, 1, 100);
    auto first = w.clients.submit(mempool, Tx{b});
    auto second = w.clients.submit(mempool, Tx{b});
    w.drain();
    REQUIRE(gate->held.size() == 2);  // Both passed the first decision.
    caf::anon_send(gate_actor, test::release_atom::value);
    caf::anon_send(gate_actor, test::release_atom::value);
    w.drain();
    auto r1 = w.clients.reply(first), r2 = w.clients.reply(second);
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(r1->kind == Kind::admitted);
    CHECK(r2->kind == Kind::duplicate);
    CHECK(r2->tx_id == tx_id(b));
    CHECK_FALSE(r2->final);
    CHECK(w.all<TxAdmitted>().size() == 2);  // The funding deposit and b, once.
    CHECK(w.router_log->queried == std::vector<Hash32>{tx_id(b)});  // One voter.
    CHECK(w.pending_count(mempool) == 1u);
  }

  SUBCASE("another tx with the same bet_id at once") {
    Bet b = w.bet(w.alice, 1, 100);
    Bet rival = b;
    rival.wager = 150;
    sign_tx(rival, w.alice);
    auto first = w.clients.submit(mempool, Tx{b});
    auto second = w.clients.submit(mempool, Tx{rival});
    w.drain();
    REQUIRE(gate->held.size() == 2);
    caf::anon_send(gate_actor, test::release_atom::value);
    caf::anon_send(gate_actor, test::release_atom::value);
    w.drain();
    auto r1 = w.clients.reply(first), r2 = w.clients.reply(second);
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(r1->kind == Kind::admitted);
    CHECK(r2->kind == Kind::conflict);
    CHECK(r2->tx_id == tx_id(b));
    CHECK_FALSE(w.in_log(tx_id(rival)));
    CHECK(w.router_log->queried == std::vector<Hash32>{tx_id(b)});
  }

  SUBCASE("a refusal the state does not explain") {
    Deposit d = w.deposit(w.alice.public_key, 5);
    auto c = w.clients.submit(mempool, Tx{d});
    w.drain();
    caf::anon_send(gate_actor, test::answer_atom::value,
                   actors::make_journal_error(actors::JournalRefusal::rule, "refused: invented by the test"));
    w.drain();
    auto r = w.clients.reply(c);
    REQUIRE(r);
    CHECK(r->kind == Kind::refused);
    CHECK(r->code == "internal");
    CHECK(r->message.find("invented by the test") != std::string::npos);
    CHECK(w.router_log->queried.empty());
    CHECK(w.pending_count(mempool) == 0u);
  }
}

TEST_CASE("MempoolAnswersUnavailableWhenTheJournalFailsAndKeepsNoCountOfIt") {
  World w;
  auto [journal, gate] = w.gate(GateMode::hold);
  auto mempool = w.mempool(journal, 1);
  Deposit d = w.deposit(w.alice.public_key, 5);
  auto c = w.clients.submit(mempool, Tx{d});
  w.drain();
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::answer_atom::value,
                 actors::make_journal_error(actors::JournalRefusal::stopped, "journal stopped: disk full"));
  w.drain();
  auto r = w.clients.reply(c);
  REQUIRE(r);
  CHECK(r->kind == Kind::unavailable);
  CHECK(r->code == "unavailable");
  CHECK(r->message.find("disk full") != std::string::npos);
  CHECK(w.router_log->queried.empty());
  CHECK(w.pending_count(mempool) == 0u);
  // The failed append holds no place: with max_pending 1 the resend is admitted.
  gate->mode = GateMode::pass;
  CHECK(w.submit(mempool, Tx{d}).kind == Kind::admitted);
}

TEST_CASE("MempoolToldToStopAnswersEveryAdmissionInFlightUnavailableAtOnce") {
  World w;
  auto [journal, gate] = w.gate(GateMode::pass);
  auto gate_actor = caf::actor_cast<caf::actor>(journal);
  auto mempool = w.mempool(journal);
  Deposit admitted = w.deposit(w.alice.public_key, 1);
  REQUIRE(w.submit(mempool, Tx{admitted}).kind == Kind::admitted);  // Its voter is polling.
  REQUIRE(w.router_log->queried.size() == 1);

  gate->mode = GateMode::hold;
  std::vector<std::size_t> in_flight;
  for (Amount a = 2; a <= 4; ++a) in_flight.push_back(w.clients.submit(mempool, Tx{w.deposit(w.alice.public_key, a)}));
  w.drain();
  REQUIRE(gate->held.size() == 3);
  for (auto c : in_flight) REQUIRE_FALSE(w.clients.reply(c));

  caf::anon_send_exit(mempool, caf::exit_reason::user_shutdown);
  w.drain();  // No time passes: the clients' request timeouts are far away.
  for (auto c : in_flight) {
    CAPTURE(c);
    auto r = w.clients.reply(c);
    REQUIRE(r);
    CHECK(r->kind == Kind::unavailable);
    CHECK(r->code == "unavailable");
    CHECK_FALSE(r->message.empty());
  }
  // The mempool is gone ...
  CHECK_FALSE(w.pending_count(mempool));
  // ... with its voters: the admitted tx's voter polls no more.
  w.pass(5s);
  CHECK(w.router_log->queried.size() == 1);
  // The journal's late answers reach no one: each client got exactly one answer.
  for (int i = 0; i < 3; ++i) caf::anon_send(gate_actor, test::release_atom::value);
  w.drain();
  CHECK(gate->held.empty());
  for (auto c : in_flight) CHECK_FALSE(w.clients.reply(c));
  CHECK(w.router_log->queried.size() == 1);
}

TEST_CASE("MempoolKeepsRunningWhenALinkedVoterFinishes") {
  World w;
  w.router_log->answer = true;  // One poll decides (k = alpha = beta = 1).
  auto [journal, gate] = w.gate(GateMode::pass);
  auto mempool = w.mempool(journal);
  Deposit d1 = w.deposit(w.alice.public_key, 1);
  REQUIRE(w.submit(mempool, Tx{d1}).kind == Kind::admitted);
  w.drain();
  // Its voter decided, told the committer and quit (reason normal, sent to its link).
  REQUIRE(*w.decided == std::vector<Hash32>{tx_id(d1)});
  CHECK(w.pending_count(mempool) == 1u);  // Still running, still holding d1 (no block yet).

  // An exit message with reason normal while an admission is in flight: nothing happens.
  gate->mode = GateMode::hold;
  Deposit d2 = w.deposit(w.alice.public_key, 2);
  auto c = w.clients.submit(mempool, Tx{d2});
  w.drain();
  REQUIRE(gate->held.size() == 1);
  caf::anon_send_exit(mempool, caf::exit_reason::normal);
  w.drain();
  CHECK_FALSE(w.clients.reply(c));  // Not answered unavailable ...
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  auto r = w.clients.reply(c);
  REQUIRE(r);
  CHECK(r->kind == Kind::admitted);  // ... but admitted once durable.
  CHECK(*w.decided == std::vector<Hash32>{tx_id(d1), tx_id(d2)});
  CHECK(w.pending_count(mempool) == 2u);
}
