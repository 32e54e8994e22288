// The committer: cuts the decisions into a block block_interval after the first of them, or
// at once when block_max wait; heights chain; a round of rejections only is recorded (height
// 0) without a block; only once the block is durable are the waiters told (accepted at the
// height, rejected at 0), the mempool and the submitter sent the BlockReport, the sequencer
// the block's settlement items and the router the decided keys; an accepted bet's
// BetResolved carries an ECVRF proof that verifies under the house key and gives the
// recorded outcome; a decision about a tx that is not admitted and undecided is dropped.
// Method: the committer alone under CAF's deterministic test coordinator, in front of a real
// journal that owns real projections and a real log (tests/actors/ledger_world.hpp), once
// through a gate that holds its append; the voters are played by the test (it sends the
// decisions), the waiters and the peers by fakes written here that record what they get.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/committer.hpp"
#include "actors/validator.hpp"
#include "domain/games.hpp"
#include "domain/vrf.hpp"
#include "ledger_world.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using actors::BlockReport;
using test::GateMode;

namespace {

// --- fake actors -----------------------------------------------------------------------

struct WaitersLog {
  std::vector<std::pair<actors::TxIds, std::uint64_t>> committed;  // (committed_atom, ids, height)
};

caf::behavior fake_waiters(caf::event_based_actor*, std::shared_ptr<WaitersLog> log) {
  return {
      [=](actors::committed_atom, const actors::TxIds& ids, std::uint64_t height) {
        log->committed.emplace_back(ids, height);
      },
  };
}

// What one peer (mempool, sequencer, submitter or router) got from the committer.
struct PeerLog {
  std::vector<BlockReport> blocks;                        // (block_atom, BlockReport)
  std::vector<std::vector<settlement::Item>> items;       // (items_atom, items)
  std::vector<actors::Decided> forgets;                   // (forget_atom, Decided)
  std::size_t messages() const { return blocks.size() + items.size() + forgets.size(); }
};

caf::behavior fake_peer(caf::event_based_actor*, std::shared_ptr<PeerLog> log) {
  return {
      [=](actors::block_atom, const BlockReport& r) { log->blocks.push_back(r); },
      [=](actors::items_atom, const std::vector<settlement::Item>& items) { log->items.push_back(items); },
      [=](actors::forget_atom, const actors::Decided& d) { log->forgets.push_back(d); },
  };
}

struct World : test::LedgerWorld {
  std::shared_ptr<WaitersLog> waiters_log = std::make_shared<WaitersLog>();
  actors::waiters_actor waiters =
      caf::actor_cast<actors::waiters_actor>(keep(system->spawn(fake_waiters, waiters_log)));
  std::shared_ptr<PeerLog> mempool = std::make_shared<PeerLog>(), sequencer = std::make_shared<PeerLog>(),
                           submitter = std::make_shared<PeerLog>(), router = std::make_shared<PeerLog>();
  KeyPair alice = keypair_from_seed(seed_of(10));
  KeyPair bob = keypair_from_seed(seed_of(11));
  std::vector<std::string> alarms;

  caf::actor committer(actors::journal_actor j, std::chrono::milliseconds interval, std::size_t block_max) {
    actors::CommitterOptions o;
    o.state = state;
    o.metrics = &metrics;
    o.journal = j;
    o.waiters = waiters;
    o.house_key = house_key;
    o.clock_ms = [this] { return now_ms(); };
    o.block_interval = interval;
    o.block_max = block_max;
    o.alarm = [this](const std::string& line) { alarms.push_back(line); };
    auto c = keep(actors::spawn_committer(*system, o));
    caf::anon_send(c, caf::put_atom::value,
                   actors::CommitterPeers{peer(mempool), peer(sequencer), peer(submitter), peer(router)});
    drain();
    return c;
  }

  caf::actor peer(std::shared_ptr<PeerLog> log) { return keep(system->spawn(fake_peer, std::move(log))); }

  void decide(const caf::actor& committer, const Tx& tx, bool accepted = true) {
    caf::anon_send(committer, actors::decided_atom::value, tx_id(tx), accepted);
  }

  std::vector<BlockCommitted> blocks() const { return all<BlockCommitted>(); }
};

std::vector<Hash32> ids(std::initializer_list<Tx> txs) {
  std::vector<Hash32> out;
  for (const auto& t : txs) out.push_back(tx_id(t));
  return out;
}

}  // namespace

TEST_CASE("CommitterCutsWhatWasDecidedBlockIntervalAfterTheFirstDecision") {
  World w;
  Tx d1 = w.deposit(w.alice.public_key, 10), d2 = w.deposit(w.alice.public_key, 20),
     d3 = w.deposit(w.alice.public_key, 30);
  w.admit({d1, d2, d3});
  auto c = w.committer(w.journal, 50ms, 1000);
  w.decide(c, d1);
  w.drain();  // Handled at t = 0.
  w.pass(20ms);
  w.decide(c, d2);
  w.drain();
  w.pass(29ms);
  CHECK(w.blocks().empty());
  w.pass(1ms);  // 50 ms after the first decision.
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].height == 1);
  CHECK(blocks[0].tx_ids == ids({d1, d2}));
  CHECK(blocks[0].time_ms == w.start_ms + 50);
  CHECK(blocks[0].prev_hash == Hash32{});

  w.decide(c, d3);
  w.drain();
  w.pass(49ms);
  CHECK(w.blocks().size() == 1);
  w.pass(1ms);
  blocks = w.blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[1].height == 2);
  CHECK(blocks[1].tx_ids == ids({d3}));
  CHECK(blocks[1].prev_hash == blocks[0].hash);  // Heights chain.
  CHECK(w.p().block_height == 2);

  w.pass(1s);  // Nothing waits: no empty block.
  CHECK(w.blocks().size() == 2);
  CHECK(w.metrics.blocks.load() == 2);
  CHECK(w.ask<std::string>(c, actors::stats_atom::value) == "height 2, decisions waiting 0");
  CHECK(w.failures.empty());
}

TEST_CASE("CommitterCutsAtOnceWhenBlockMaxDecisionsWait") {
  World w;
  std::vector<Tx> d;
  for (Amount a = 1; a <= 5; ++a) d.push_back(w.deposit(w.alice.public_key, a));
  w.admit(d);
  auto c = w.committer(w.journal, 1h, 2);
  // Exactly block_max: one block, no time passing.
  w.decide(c, d[0]);
  w.decide(c, d[1]);
  w.drain();
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].tx_ids == ids({d[0], d[1]}));
  // Three more at once: two go in the next block (cut while it waits for none), one waits.
  for (std::size_t i = 2; i < 5; ++i) w.decide(c, d[i]);
  w.drain();
  blocks = w.blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[1].tx_ids == ids({d[2], d[3]}));
  CHECK(blocks[1].prev_hash == blocks[0].hash);
  CHECK(w.ask<std::string>(c, actors::stats_atom::value) == "height 2, decisions waiting 1");
  w.pass(1h - 1ms);
  CHECK(w.blocks().size() == 2);
  w.pass(1ms);  // The fifth waits for the interval.
  blocks = w.blocks();
  REQUIRE(blocks.size() == 3);
  CHECK(blocks[2].height == 3);
  CHECK(blocks[2].tx_ids == ids({d[4]}));
}

TEST_CASE("CommitterTellsWaitersMempoolSequencerAndRouterOnlyOnceTheBlockIsDurable") {
  World w;
  w.fund(w.alice.public_key, 1000);  // Block 1, before the committer starts.
  Tx dep = w.deposit(w.bob.public_key, 70);
  Tx bet = w.bet(w.alice, 1, 100);
  Tx loser = w.deposit(w.bob.public_key, 5);
  w.admit({dep, bet, loser});
  auto [journal, gate] = w.gate(GateMode::hold);
  auto c = w.committer(journal, 10ms, 1000);
  w.decide(c, dep);
  w.decide(c, bet);
  w.decide(c, loser, false);
  w.drain();
  w.pass(10ms);
  // The block's events wait at the gate: one request, in the planned order.
  REQUIRE(gate->held.size() == 1);
  const auto& events = gate->held[0].events;
  REQUIRE(events.size() == 5);
  CHECK(std::holds_alternative<TxFinalized>(events[0]));
  CHECK(std::holds_alternative<BlockCommitted>(events[3]));
  CHECK(std::holds_alternative<BetResolved>(events[4]));
  // Nobody heard of the block before it is durable.
  CHECK(w.blocks().size() == 1);
  CHECK(w.waiters_log->committed.empty());
  CHECK(w.mempool->messages() == 0);
  CHECK(w.sequencer->messages() == 0);
  CHECK(w.router->messages() == 0);
  CHECK(w.ask<std::string>(c, actors::stats_atom::value) == "height 1, decisions waiting 0, a block in flight");

  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[1].height == 2);
  CHECK(blocks[1].tx_ids == ids({dep, bet}));
  // The waiters: the accepted at the block's height, the rejected at 0.
  REQUIRE(w.waiters_log->committed.size() == 2);
  CHECK(w.waiters_log->committed[0] == std::pair{ids({dep, bet}), std::uint64_t{2}});
  CHECK(w.waiters_log->committed[1] == std::pair{ids({loser}), std::uint64_t{0}});
  // The mempool: the whole report.
  REQUIRE(w.mempool->blocks.size() == 1);
  const auto& report = w.mempool->blocks[0];
  CHECK(report.height == 2);
  CHECK(report.accepted == ids({dep, bet}));
  CHECK(report.rejected == ids({loser}));
  CHECK(report.settlements.empty());
  // The sequencer: the block's settlement items, deposits first, as recorded.
  REQUIRE(w.sequencer->items.size() == 1);
  const auto& items = w.sequencer->items[0];
  REQUIRE(items.size() == 2);
  CHECK(items[0] == settlement_item(tx_id(dep), w.p().txs.at(tx_id(dep))));
  CHECK(items[1] == settlement_item(tx_id(bet), w.p().txs.at(tx_id(bet))));
  CHECK(items[1].kind == settlement::ItemKind::bet);
  // The router: the keys decided (accepted txs only).
  REQUIRE(w.router->forgets.size() == 1);
  CHECK(w.router->forgets[0] == actors::Decided{{conflict_key_string(dep), tx_id(dep)}, {conflict_key_string(bet), tx_id(bet)}});
  // The submitter: no settlement in the block, no message.
  CHECK(w.submitter->messages() == 0);
  CHECK(w.p().txs.at(tx_id(dep)).block_height == 2);
  CHECK(w.p().txs.at(tx_id(loser)).status == TxStatus::rejected);
  CHECK(w.metrics.blocks.load() == 1);
  CHECK(w.metrics.bets_resolved.load() == 1);
}

TEST_CASE("CommitterRecordsARoundOfRejectionsAtHeightZeroWithoutABlock") {
  World w;
  Tx r1 = w.deposit(w.alice.public_key, 1), r2 = w.deposit(w.alice.public_key, 2), ok = w.deposit(w.alice.public_key, 3);
  w.admit({r1, r2, ok});
  auto c = w.committer(w.journal, 10ms, 1000);
  w.decide(c, r1, false);
  w.decide(c, r2, false);
  w.drain();
  w.pass(10ms);
  auto finalized = w.all<TxFinalized>();
  REQUIRE(finalized.size() == 2);
  CHECK_FALSE(finalized[0].accepted);
  CHECK_FALSE(finalized[1].accepted);
  CHECK(w.blocks().empty());
  for (const auto& t : {r1, r2}) {
    CHECK(w.p().txs.at(tx_id(t)).status == TxStatus::rejected);
    CHECK(w.p().txs.at(tx_id(t)).block_height == 0);
  }
  REQUIRE(w.waiters_log->committed.size() == 1);
  CHECK(w.waiters_log->committed[0] == std::pair{ids({r1, r2}), std::uint64_t{0}});
  REQUIRE(w.mempool->blocks.size() == 1);
  CHECK(w.mempool->blocks[0].height == 0);
  CHECK(w.mempool->blocks[0].accepted.empty());
  CHECK(w.mempool->blocks[0].rejected == ids({r1, r2}));
  CHECK(w.sequencer->messages() == 0);
  CHECK(w.router->messages() == 0);
  CHECK(w.metrics.blocks.load() == 0);

  // The next block is height 1: the round of rejections took no height.
  w.decide(c, ok);
  w.drain();
  w.pass(10ms);
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].height == 1);
  CHECK(blocks[0].prev_hash == Hash32{});
  REQUIRE(w.waiters_log->committed.size() == 2);
  CHECK(w.waiters_log->committed[1] == std::pair{ids({ok}), std::uint64_t{1}});
}

TEST_CASE("CommitterResolvesAnAcceptedBetWithAVrfProofThatVerifiesUnderTheHouseKey") {
  World w;
  w.fund(w.alice.public_key, 10'000);
  Tx heads = w.bet(w.alice, 1, 100, 0), tails = w.bet(w.alice, 2, 200, 1), refused = w.bet(w.alice, 3, 300, 0);
  w.admit({heads, tails, refused});
  // block_max 1 and an hour's interval: a bet's block is cut as soon as its outcome is ready.
  auto c = w.committer(w.journal, 1h, 1);
  w.decide(c, heads);
  w.decide(c, tails);
  w.decide(c, refused, false);
  w.drain();  // No time passes.
  CHECK(w.blocks().size() == 3);  // The funding block, then one per bet.
  auto resolved = w.all<BetResolved>();
  REQUIRE(resolved.size() == 2);  // None for the rejected bet.
  for (const auto& r : resolved) {
    CAPTURE(to_hex(r.tx_id));
    const auto& record = w.p().txs.at(r.tx_id);
    const Bet& bet = std::get<Bet>(record.tx);
    CHECK(r.bet_id == bet.bet_id);
    auto beta = vrf::verify(w.house_key.public_key, r.tx_id, r.vrf_proof);
    REQUIRE(beta);
    // The recorded outcome is the one the verified output gives.
    Outcome expected = resolve_game(Game::coinflip, bet.choice, bet.wager, *beta);
    CHECK(r.roll == expected.roll);
    CHECK(r.win == expected.win);
    CHECK(r.payout == expected.payout);
    REQUIRE(record.outcome);
    CHECK(*record.outcome == expected);
    // The proof is bound to the house key and to this tx.
    CHECK_FALSE(vrf::verify(w.operator_key.public_key, r.tx_id, r.vrf_proof));
    Hash32 other = r.tx_id;
    other[0] ^= 0x01;
    CHECK_FALSE(vrf::verify(w.house_key.public_key, other, r.vrf_proof));
    // The log's bet index names its BetResolved (the node finds an old bet's proof there).
    auto entry = w.log->find_bet(r.bet_id);
    REQUIRE(entry);
    CHECK(entry->resolved > 0);
    CHECK(eventlog::read_event_as<BetResolved>(*w.log, entry->resolved)->vrf_proof == r.vrf_proof);
  }
  CHECK(w.metrics.bets_resolved.load() == 2);
}

TEST_CASE("CommitterSendsABlockWithASettlementToTheSubmitter") {
  World w;
  auto plan = w.commit({w.deposit(w.alice.public_key, 500)});
  const Id128 batch{0xba, 1};
  Tx s = w.prove_batch(batch, plan.items);
  w.admit({s});
  auto c = w.committer(w.journal, 10ms, 1000);
  w.decide(c, s);
  w.drain();
  w.pass(10ms);
  REQUIRE(w.submitter->blocks.size() == 1);
  const auto& report = w.submitter->blocks[0];
  CHECK(report.height == 2);
  CHECK(report.accepted == ids({s}));
  CHECK(report.settlements == std::vector<std::pair<Id128, Hash32>>{{batch, tx_id(s)}});
  CHECK(w.mempool->blocks.size() == 1);
  CHECK(w.sequencer->messages() == 0);  // A settlement makes no settlement item.
}

TEST_CASE("CommitterDropsADecisionAboutATxThatIsNotAdmittedAndUndecided") {
  World w;
  Tx decided = w.deposit(w.alice.public_key, 1);
  w.commit({decided});  // Block 1.
  Tx d = w.deposit(w.alice.public_key, 2);
  Tx unknown = w.deposit(w.alice.public_key, 3);  // Never admitted.
  w.admit({d});
  auto c = w.committer(w.journal, 10ms, 1000);
  w.decide(c, unknown);
  w.decide(c, decided);
  w.decide(c, d);
  w.decide(c, d, false);  // A second decision about d.
  w.drain();
  w.pass(10ms);
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[1].tx_ids == ids({d}));
  CHECK(w.all<TxFinalized>().size() == 2);  // decided's and d's, once each.
  CHECK(w.journal_metrics.appends_refused.load() == 0);
  CHECK(w.failures.empty());
  REQUIRE(w.waiters_log->committed.size() == 1);
  CHECK(w.waiters_log->committed[0] == std::pair{ids({d}), std::uint64_t{2}});
}

TEST_CASE("CommitterDropsASecondDecisionAboutATxWhoseBlockIsInFlight") {
  // While a block is in flight its txs are out of the committer's waiting set but still
  // admitted in the projections: a second decision about one of them (a voter respawned by a
  // recovery, say) must be dropped, not put in the next block, whose append the journal would
  // refuse (and the node stop).
  World w;
  Tx d1 = w.deposit(w.alice.public_key, 10), d2 = w.deposit(w.alice.public_key, 20);
  w.admit({d1, d2});
  auto [journal, gate] = w.gate(GateMode::hold);
  auto c = w.committer(journal, 10ms, 1000);
  w.decide(c, d1);
  w.drain();
  w.pass(10ms);
  REQUIRE(gate->held.size() == 1);  // d1's block, held.
  w.decide(c, d1);                  // Again, while its block is in flight.
  w.decide(c, d2);
  w.drain();
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  w.pass(10ms);
  REQUIRE(gate->held.size() == 1);  // The first was released; this is the next block.
  // The second block holds d2 alone: TxFinalized, BlockCommitted.
  const auto& second = gate->held[0].events;
  REQUIRE(second.size() == 2);
  CHECK(std::get<TxFinalized>(second[0]).tx_id == tx_id(d2));
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].tx_ids == ids({d1}));
  CHECK(blocks[1].tx_ids == ids({d2}));
  CHECK(w.p().txs.at(tx_id(d2)).block_height == 2);
}

TEST_CASE("CommitterWithIntervalZeroCutsAsSoonAsThePreviousBlockIsDurable") {
  // block_interval 0 (the node's default): no timer; a block is cut once the decisions queued
  // in the mailbox are in, and decisions that arrive while a block is in flight make the next
  // block the moment it is durable. No time passes in this test.
  World w;
  Tx d1 = w.deposit(w.alice.public_key, 10), d2 = w.deposit(w.alice.public_key, 20),
     d3 = w.deposit(w.alice.public_key, 30);
  w.admit({d1, d2, d3});
  auto [journal, gate] = w.gate(GateMode::hold);
  auto c = w.committer(journal, 0ms, 1000);
  w.decide(c, d1);
  w.drain();
  REQUIRE(gate->held.size() == 1);  // Cut at once.
  w.decide(c, d2);
  w.decide(c, d3);
  w.drain();
  CHECK(gate->held.size() == 1);  // One block in flight at a time.
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  REQUIRE(gate->held.size() == 1);  // The next block, cut when the first was durable.
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  auto blocks = w.blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].tx_ids == ids({d1}));
  CHECK(blocks[1].tx_ids == ids({d2, d3}));
  CHECK(blocks[1].time_ms == w.start_ms);  // No time passed.
}

// --- a block the journal refuses ---------------------------------------------------------

namespace {

caf::error injected_refusal() {
  return actors::make_journal_error(actors::JournalRefusal::rule, "refused: injected by the test");
}

}  // namespace

TEST_CASE("CommitterLosesNoDecisionOfABlockTheJournalRefuses") {
  World w;
  w.fund(w.alice.public_key, 1000);  // Block 1.
  Tx dep = w.deposit(w.bob.public_key, 70), bet = w.bet(w.alice, 1, 100), other = w.deposit(w.bob.public_key, 5);
  w.admit({dep, bet, other});
  auto [journal, gate] = w.gate(GateMode::hold);
  auto c = w.committer(journal, 10ms, 1000);
  w.decide(c, dep);
  w.decide(c, bet);
  w.decide(c, other, false);
  w.drain();
  w.pass(10ms);
  REQUIRE(gate->held.size() == 1);
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::answer_atom::value, injected_refusal());
  w.drain();
  REQUIRE(w.alarms.size() == 1);
  CHECK(w.alarms[0].find("refused a block of 3 decisions") != std::string::npos);
  // The decisions come back one block each, in their order, until all are recorded.
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    w.pass(10ms);
    REQUIRE(gate->held.size() == 1);
    sizes.push_back(static_cast<std::size_t>(
        std::count_if(gate->held[0].events.begin(), gate->held[0].events.end(),
                      [](const Event& e) { return std::holds_alternative<TxFinalized>(e); })));
    caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
    w.drain();
  }
  CHECK(sizes == std::vector<std::size_t>{1, 1, 1});
  CHECK(w.p().txs.at(tx_id(dep)).block_height == 2);
  CHECK(w.p().txs.at(tx_id(bet)).block_height == 3);
  CHECK(w.p().txs.at(tx_id(bet)).outcome.has_value());
  CHECK(w.p().txs.at(tx_id(other)).status == TxStatus::rejected);
  // Back to whole blocks.
  Tx later1 = w.deposit(w.bob.public_key, 6), later2 = w.deposit(w.bob.public_key, 7);
  w.admit({later1, later2});
  w.decide(c, later1);
  w.decide(c, later2);
  w.drain();
  w.pass(10ms);
  REQUIRE(gate->held.size() == 1);
  CHECK(gate->held[0].events.size() == 3);  // Two TxFinalized and their block.
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  CHECK(w.blocks().back().tx_ids == ids({later1, later2}));
}

TEST_CASE("CommitterHoldsADecisionRefusedOnItsOwnAndCommitsTheOnesBehindIt") {
  World w;
  Tx first = w.deposit(w.bob.public_key, 70), second = w.deposit(w.bob.public_key, 80);
  w.admit({first, second});
  auto [journal, gate] = w.gate(GateMode::hold);
  auto c = w.committer(journal, 10ms, 1000);
  w.decide(c, first);
  w.drain();
  w.pass(10ms);
  REQUIRE(gate->held.size() == 1);
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::answer_atom::value, injected_refusal());
  w.drain();
  REQUIRE(w.alarms.size() == 1);
  CHECK(w.alarms[0].find("refused the decision about tx " + to_hex(tx_id(first))) != std::string::npos);
  w.decide(c, second);  // Not held up by the refused one.
  w.drain();
  w.pass(10ms);
  REQUIRE(gate->held.size() == 1);
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  CHECK(w.p().txs.at(tx_id(second)).block_height > 0);
  CHECK(w.p().txs.at(tx_id(first)).status == TxStatus::admitted);
  // A second decision about the held tx is recognised as one (not queued twice).
  w.decide(c, first);
  w.pass(1000ms);  // retry_refused: the held decision is queued again ...
  w.pass(10ms);    // ... and cut block_interval later.
  REQUIRE(gate->held.size() == 1);
  CHECK(gate->held[0].events.size() == 2);  // Its TxFinalized and a block.
  caf::anon_send(caf::actor_cast<caf::actor>(journal), test::release_atom::value);
  w.drain();
  CHECK(w.p().txs.at(tx_id(first)).block_height > 0);
  w.pass(10s);
  CHECK(gate->held.empty());
}
