// The committer's pure decisions (domain/blocks.hpp): plan_block turns consensus decisions
// into TxFinalized for each, then (when any was accepted) BlockCommitted over the accepted
// ones and a BetResolved per accepted bet, with a VRF proof under the house key; the plan
// lists the settlement items (deposits before bets) and the settlement txs of the block;
// apply() accepts the planned events in order. unbatched_items orders leftover items as a
// live node batches them.
// Method: real keys and real signatures; projections built by applying NodeStarted and
// TxAdmitted events by hand (as tests/domain/projections_test.cpp does), then the plans'
// events, so that every plan is checked against the same rules the audit applies.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/blocks.hpp"
#include "domain/projections.hpp"
#include "domain/settlement.hpp"
#include "domain/vrf.hpp"

using namespace croupier;

namespace {

Seed seed_of(std::uint8_t b) {
  Seed s{};
  s.fill(b);
  return s;
}

constexpr std::uint64_t kTime = 1'700'000'000'000;

// Projections of a node with real keys, and helpers that make and admit signed txs.
struct Ledger {
  KeyPair operator_key = keypair_from_seed(seed_of(1));
  KeyPair house_key = keypair_from_seed(seed_of(2));
  KeyPair sequencer_key = keypair_from_seed(seed_of(3));
  Projections p;
  std::uint8_t next_id = 1;

  Ledger() {
    NodeStarted started{Id128{0x70, 0x01}, "test", operator_key.public_key, house_key.public_key,
                        sequencer_key.public_key};
    ok(started);
  }

  void ok(const Event& e) {
    CAPTURE(event_type_name(event_type(e)));
    REQUIRE_NOTHROW(apply(p, p.last_seq + 1, e));
  }

  Deposit deposit(const PublicKey& account, Amount amount) {
    Deposit d{Id128{0xde, next_id++}, account, amount, operator_key.public_key, {}};
    sign_tx(d, operator_key);
    return d;
  }

  Bet bet(const KeyPair& player, std::uint64_t nonce, Game game, Amount wager, std::uint8_t choice) {
    Bet b{Id128{0xbe, next_id++}, player.public_key, nonce, static_cast<std::uint8_t>(game), wager, choice, {}, {}};
    b.client_seed.fill(static_cast<std::uint8_t>(nonce + 0x40));
    sign_tx(b, player);
    return b;
  }

  // Appends TxAdmitted for `tx` and returns its id.
  Hash32 admit(const Tx& tx) {
    ok(TxAdmitted{tx});
    return tx_id(tx);
  }

  std::function<const Tx*(const Hash32&)> tx_of() const {
    return [this](const Hash32& id) -> const Tx* {
      auto it = p.txs.find(id);
      return it == p.txs.end() ? nullptr : &it->second.tx;
    };
  }

  BlockPlan plan(const std::vector<ConsensusDecision>& decisions, std::uint64_t time_ms) const {
    return plan_block(decisions, p.block_height, p.block_hash, time_ms, tx_of(), house_key);
  }

  // Applies every event of `plan` in order.
  void apply_plan(const BlockPlan& plan) {
    for (const auto& e : plan.events) ok(e);
  }
};

std::vector<ConsensusDecision> accept_all(const std::vector<Hash32>& ids) {
  std::vector<ConsensusDecision> out;
  for (const auto& id : ids) out.push_back({id, true});
  return out;
}

settlement::Item deposit_item(const Deposit& d) {
  return {settlement::ItemKind::deposit, d.deposit_id, tx_id(d), d.account, d.amount, 0};
}

}  // namespace

TEST_CASE("PlanBlockFinalizesEveryDecisionThenCommitsTheAcceptedOnesAndResolvesTheirBets") {
  Ledger l;
  KeyPair alice = keypair_from_seed(seed_of(10)), bob = keypair_from_seed(seed_of(11));

  // Block 1: alice's deposit, so that she can bet.
  Deposit d1 = l.deposit(alice.public_key, 10'000);
  Hash32 d1_id = l.admit(d1);
  auto first = l.plan(accept_all({d1_id}), kTime);
  REQUIRE(first.block);
  CHECK(first.block->height == 1);
  CHECK(first.block->prev_hash == Hash32{});
  CHECK(first.items == std::vector<settlement::Item>{deposit_item(d1)});
  l.apply_plan(first);
  CHECK(l.p.block_height == 1);
  CHECK(l.p.block_hash == first.block->hash);

  // Block 2: bets of both games, another deposit, and rejected txs mixed in.
  Bet coin = l.bet(alice, 1, Game::coinflip, 100, 1);
  Bet dice = l.bet(alice, 2, Game::dice, 250, 40);
  Bet loser = l.bet(alice, 3, Game::dice, 10, 50);  // Decided rejected.
  Deposit d2 = l.deposit(bob.public_key, 777);
  Deposit d3 = l.deposit(bob.public_key, 5);  // Decided rejected.
  Hash32 coin_id = l.admit(coin), dice_id = l.admit(dice), loser_id = l.admit(loser);
  Hash32 d2_id = l.admit(d2), d3_id = l.admit(d3);
  const std::vector<ConsensusDecision> decisions{
      {coin_id, true}, {d3_id, false}, {d2_id, true}, {loser_id, false}, {dice_id, true}};
  const std::uint64_t t2 = kTime + 2000;
  const Hash32 prev = l.p.block_hash;
  auto plan = l.plan(decisions, t2);

  // TxFinalized for every decision, in decision order.
  REQUIRE(plan.events.size() == decisions.size() + 1 + 2);
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    CAPTURE(i);
    auto* f = std::get_if<TxFinalized>(&plan.events[i]);
    REQUIRE(f);
    CHECK(f->tx_id == decisions[i].tx_id);
    CHECK(f->accepted == decisions[i].accepted);
  }
  // Then the block over the accepted ones only, in decision order.
  auto* block = std::get_if<BlockCommitted>(&plan.events[decisions.size()]);
  REQUIRE(block);
  CHECK(block->height == 2);
  CHECK(block->prev_hash == prev);
  CHECK(block->time_ms == t2);
  CHECK(block->tx_ids == std::vector<Hash32>{coin_id, d2_id, dice_id});
  CHECK(block->hash == block_hash(2, prev, t2, block->tx_ids));
  REQUIRE(plan.block);
  CHECK(plan.block->hash == block->hash);
  CHECK(plan.block->tx_ids == block->tx_ids);
  CHECK(plan.rejected == std::vector<Hash32>{d3_id, loser_id});
  CHECK(plan.settlements.empty());

  // Then one BetResolved per accepted bet, in block order, each provable by anyone.
  std::vector<const Bet*> bets{&coin, &dice};
  std::vector<Hash32> bet_ids{coin_id, dice_id};
  std::vector<Amount> payouts;
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    auto* r = std::get_if<BetResolved>(&plan.events[decisions.size() + 1 + i]);
    REQUIRE(r);
    CHECK(r->tx_id == bet_ids[i]);
    CHECK(r->bet_id == bets[i]->bet_id);
    auto beta = vrf::verify(l.house_key.public_key, bet_ids[i], r->vrf_proof);
    REQUIRE_MESSAGE(beta, "the VRF proof does not verify under the house key");
    Outcome o = resolve_game(static_cast<Game>(bets[i]->game), bets[i]->choice, bets[i]->wager, *beta);
    CHECK(r->roll == o.roll);
    CHECK(r->win == o.win);
    CHECK(r->payout == o.payout);
    // Under any other key the proof is worthless.
    CHECK_FALSE(vrf::verify(l.operator_key.public_key, bet_ids[i], r->vrf_proof));
    // resolve_bet is what the plan used.
    auto again = resolve_bet(bet_ids[i], *bets[i], l.house_key);
    CHECK(again.vrf_proof == r->vrf_proof);
    CHECK(again.payout == r->payout);
    payouts.push_back(r->payout);
  }

  // Items: the block's deposits first, then its bets (in block order).
  const std::vector<settlement::Item> items{
      deposit_item(d2),
      {settlement::ItemKind::bet, coin.bet_id, coin_id, alice.public_key, 100, payouts[0]},
      {settlement::ItemKind::bet, dice.bet_id, dice_id, alice.public_key, 250, payouts[1]},
  };
  CHECK(plan.items == items);

  // apply() takes the whole plan in order, on the projections that admitted the txs.
  l.apply_plan(plan);
  CHECK(l.p.block_height == 2);
  CHECK(l.p.block_hash == block->hash);
  CHECK(l.p.txs.at(coin_id).status == TxStatus::accepted);
  CHECK(l.p.txs.at(coin_id).block_height == 2);
  CHECK(l.p.txs.at(coin_id).outcome);
  CHECK(l.p.txs.at(loser_id).status == TxStatus::rejected);
  CHECK(l.p.txs.at(d3_id).status == TxStatus::rejected);
  CHECK(l.p.txs.at(d3_id).block_height == 0);
  CHECK(check_invariants(l.p).empty());
  const auto* a = l.p.accounts.find(alice.public_key);
  REQUIRE(a);
  CHECK(a->balance == 10'000 - 100 - 250 + payouts[0] + payouts[1]);
  CHECK(a->reserved == 0);
  CHECK(l.p.accounts.find(bob.public_key)->balance == 777);
  // The same items come back from settlement_item for each committed record.
  for (const auto& item : items) CHECK(settlement_item(item.tx_id, l.p.txs.at(item.tx_id)) == item);
  CHECK_FALSE(settlement_item(d3_id, l.p.txs.at(d3_id)));
}

TEST_CASE("PlanBlockCutsNoBlockWhenEveryDecisionIsRejected") {
  Ledger l;
  KeyPair alice = keypair_from_seed(seed_of(10));
  Hash32 a = l.admit(l.deposit(alice.public_key, 5)), b = l.admit(l.deposit(alice.public_key, 6));
  const std::vector<ConsensusDecision> decisions{{b, false}, {a, false}};
  auto plan = l.plan(decisions, kTime);
  CHECK_FALSE(plan.block);
  CHECK(plan.items.empty());
  CHECK(plan.settlements.empty());
  CHECK(plan.rejected == std::vector<Hash32>{b, a});
  REQUIRE(plan.events.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    auto* f = std::get_if<TxFinalized>(&plan.events[i]);
    REQUIRE(f);
    CHECK(f->tx_id == decisions[i].tx_id);
    CHECK_FALSE(f->accepted);
  }
  l.apply_plan(plan);
  CHECK(l.p.block_height == 0);
  CHECK(l.p.block_hash == Hash32{});
  CHECK(l.p.deposits_total == 0);

  // No decisions at all: nothing to record.
  auto empty = l.plan({}, kTime);
  CHECK(empty.events.empty());
  CHECK_FALSE(empty.block);
}

TEST_CASE("PlanBlockListsTheSettlementTxsOfTheBlockAndMakesNoItemOfThem") {
  Ledger l;
  KeyPair alice = keypair_from_seed(seed_of(10));
  Deposit d = l.deposit(alice.public_key, 1000);
  Hash32 d_id = l.admit(d);
  l.apply_plan(l.plan(accept_all({d_id}), kTime));

  // Batch the deposit, prove it, and admit its settlement tx.
  const Id128 batch{0xba, 0x01};
  l.ok(BatchCreated{batch, {deposit_item(d)}, 5});
  auto proved = settlement::prove(batch, {deposit_item(d)}, l.p.settled, l.sequencer_key);
  l.ok(BatchProved{batch, proved.inputs, proved.witness, l.sequencer_key.public_key, proved.proof});
  Settlement s{proved.inputs, l.sequencer_key.public_key, {}, proved.witness};
  sign_tx(s, l.sequencer_key);
  CHECK(s.proof == proved.proof);  // The tx's signature is the batch proof.
  Hash32 s_id = l.admit(s);

  // The same block also carries a new deposit.
  Deposit d2 = l.deposit(alice.public_key, 50);
  Hash32 d2_id = l.admit(d2);
  auto plan = l.plan(accept_all({s_id, d2_id}), kTime + 1);
  REQUIRE(plan.block);
  CHECK(plan.block->tx_ids == std::vector<Hash32>{s_id, d2_id});
  REQUIRE(plan.settlements.size() == 1);
  CHECK(plan.settlements[0].first == batch);
  CHECK(plan.settlements[0].second == s_id);
  CHECK(plan.items == std::vector<settlement::Item>{deposit_item(d2)});
  l.apply_plan(plan);
  CHECK(l.p.txs.at(s_id).block_height == 2);
  // The block that committed the settlement tx confirms its batch (after BatchSubmitted).
  l.ok(BatchSubmitted{batch, 1, s_id});
  l.ok(BatchConfirmed{batch, 2});
  CHECK(l.p.batches.at(batch).lifecycle.status() == BatchStatus::confirmed);
}

TEST_CASE("PlanBlockPutsTheBlocksDepositsBeforeItsBetsInItems") {
  Ledger l;
  KeyPair alice = keypair_from_seed(seed_of(10)), bob = keypair_from_seed(seed_of(11));
  Deposit da = l.deposit(alice.public_key, 1000);
  l.apply_plan(l.plan(accept_all({l.admit(da)}), kTime));
  Bet b1 = l.bet(alice, 1, Game::coinflip, 10, 0);
  Bet b2 = l.bet(alice, 2, Game::coinflip, 10, 1);
  Deposit db = l.deposit(bob.public_key, 30);
  Deposit dc = l.deposit(alice.public_key, 40);
  Hash32 b1_id = l.admit(b1), b2_id = l.admit(b2), db_id = l.admit(db), dc_id = l.admit(dc);
  // Decision order interleaves bets and deposits.
  auto plan = l.plan(accept_all({b1_id, db_id, b2_id, dc_id}), kTime + 5);
  REQUIRE(plan.items.size() == 4);
  CHECK(plan.items[0] == deposit_item(db));
  CHECK(plan.items[1] == deposit_item(dc));
  CHECK(plan.items[2].kind == settlement::ItemKind::bet);
  CHECK(plan.items[2].tx_id == b1_id);
  CHECK(plan.items[3].tx_id == b2_id);
  // The block keeps the decision order.
  CHECK(plan.block->tx_ids == std::vector<Hash32>{b1_id, db_id, b2_id, dc_id});
  l.apply_plan(plan);
  CHECK(check_invariants(l.p).empty());
  // The items apply to the settled state as they are listed.
  settlement::SettledState settled;
  std::vector<settlement::Item> all{deposit_item(da)};
  all.insert(all.end(), plan.items.begin(), plan.items.end());
  CHECK_NOTHROW(settled.apply(all));
}

TEST_CASE("ConsecutivePlansChainTheirBlocks") {
  Ledger l;
  KeyPair alice = keypair_from_seed(seed_of(10));
  std::vector<Hash32> hashes{Hash32{}};
  for (std::uint64_t h = 1; h <= 4; ++h) {
    CAPTURE(h);
    Hash32 id = l.admit(l.deposit(alice.public_key, h));
    auto plan = l.plan(accept_all({id}), kTime + h);
    REQUIRE(plan.block);
    CHECK(plan.block->height == h);
    CHECK(plan.block->prev_hash == hashes.back());
    CHECK(plan.block->hash == block_hash(h, hashes.back(), kTime + h, {id}));
    l.apply_plan(plan);
    hashes.push_back(plan.block->hash);
  }
  CHECK(l.p.block_height == 4);
  CHECK(l.p.block_hash == hashes.back());
}

TEST_CASE("UnbatchedItemsComeByHeightThenDepositsBeforeBetsThenAccountAndNonce") {
  Ledger l;
  KeyPair k1 = keypair_from_seed(seed_of(10)), k2 = keypair_from_seed(seed_of(11));
  // Name the two players so that `low` has the smaller key.
  const bool k1_low = k1.public_key < k2.public_key;
  const KeyPair& low = k1_low ? k1 : k2;
  const KeyPair& high = k1_low ? k2 : k1;

  // Height 1: a deposit for each (high's decided first) and one more that goes into a batch.
  Deposit d_high = l.deposit(high.public_key, 1000), d_low = l.deposit(low.public_key, 1000);
  Deposit d_batched = l.deposit(low.public_key, 3);
  Hash32 d_high_id = l.admit(d_high), d_low_id = l.admit(d_low), d_batched_id = l.admit(d_batched);
  l.apply_plan(l.plan(accept_all({d_high_id, d_batched_id, d_low_id}), kTime));
  l.ok(BatchCreated{Id128{0xba, 1}, {deposit_item(d_batched)}, 5});

  // Height 2: bets of both players, decided out of (account, nonce) order, a deposit
  // decided last, and a rejected deposit.
  Bet h1 = l.bet(high, 1, Game::dice, 10, 50), h2 = l.bet(high, 2, Game::coinflip, 10, 0);
  Bet l1 = l.bet(low, 1, Game::coinflip, 10, 1), l2 = l.bet(low, 2, Game::dice, 10, 90);
  Deposit d_late = l.deposit(high.public_key, 7), d_rejected = l.deposit(low.public_key, 9);
  Hash32 h1_id = l.admit(h1), h2_id = l.admit(h2), l1_id = l.admit(l1), l2_id = l.admit(l2);
  Hash32 d_late_id = l.admit(d_late), d_rejected_id = l.admit(d_rejected);
  l.apply_plan(l.plan({{h2_id, true}, {l2_id, true}, {h1_id, true}, {d_rejected_id, false}, {l1_id, true},
                       {d_late_id, true}},
                      kTime + 1));

  // Height 3: a bet committed but not yet resolved (its BetResolved not applied) makes no item.
  Bet l3 = l.bet(low, 3, Game::coinflip, 10, 0);
  Hash32 l3_id = l.admit(l3);
  auto plan3 = l.plan(accept_all({l3_id}), kTime + 2);
  REQUIRE(plan3.events.size() == 3);  // TxFinalized, BlockCommitted, BetResolved
  l.ok(plan3.events[0]);
  l.ok(plan3.events[1]);

  auto items = unbatched_items(l.p);
  std::vector<Hash32> order;
  for (const auto& item : items) order.push_back(item.tx_id);
  const std::vector<Hash32> expected{d_low_id, d_high_id,                // height 1, deposits by account
                                     d_late_id,                          // height 2, deposits first
                                     l1_id,    l2_id,    h1_id, h2_id};  // then bets by (account, nonce)
  CHECK(order == expected);
  for (const auto& item : items) CHECK(settlement_item(item.tx_id, l.p.txs.at(item.tx_id)) == item);

  // Once l3 is resolved it joins, last; once a batch takes items they leave.
  l.ok(plan3.events[2]);
  items = unbatched_items(l.p);
  REQUIRE(items.size() == expected.size() + 1);
  CHECK(items.back().tx_id == l3_id);
  std::vector<settlement::Item> first_two(items.begin(), items.begin() + 2);
  l.ok(BatchCreated{Id128{0xba, 2}, first_two, 5});
  items = unbatched_items(l.p);
  REQUIRE(items.size() == expected.size() - 1);
  CHECK(items.front().tx_id == d_late_id);
  // In this order they apply to a settled state that holds the earlier batches.
  settlement::SettledState settled;
  settled.apply({deposit_item(d_batched)});
  settled.apply(first_two);
  CHECK_NOTHROW(settled.apply(items));
}
