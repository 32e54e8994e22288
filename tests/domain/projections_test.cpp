// Projections, events and the audit: a generated history applies cleanly and conserves
// money; every structural rule of projections.cpp refuses a bad event with ApplyError and
// (where the code promises it) leaves the projections unchanged; snapshots and events
// round-trip through their encodings; audit::run accepts real-crypto events and catches
// tampered outcomes, VRF proofs and signatures.
// Method: seeded LedgerGenerator histories (fake crypto except in the audit tests, which
// stay small), then hand-made events applied to a copy of the generator's state. "Unchanged"
// is checked on the snapshot encoding (every field a snapshot keeps) plus the bet, deposit
// and settlement indexes, which a snapshot rebuilds rather than stores.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "decision_support.hpp"
#include "domain/audit.hpp"
#include "domain/codec.hpp"
#include "domain/projections.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;
using tools::LedgerGenerator;
using tools::LedgerOptions;

namespace {

LedgerOptions fake_crypto(std::uint64_t seed, std::size_t accounts = 4) {
  LedgerOptions o;
  o.seed = seed;
  o.accounts = accounts;
  o.real_crypto = false;
  o.block_size = 5;
  o.batch_size = 1000;  // No batch unless a test flushes.
  o.deposit = 5000;     // Small enough that some players go broke.
  return o;
}

Projections replay(const std::vector<Event>& events) {
  Projections p;
  std::uint64_t seq = 0;
  for (const auto& e : events) apply(p, ++seq, e);
  return p;
}

// Everything the test compares to say "unchanged".
struct Fingerprint {
  Bytes snapshot;
  std::unordered_map<Id128, Hash32, BytesHash> bets, deposits, settlements;
  Hash32 settled_root;
  bool operator==(const Fingerprint&) const = default;
};
Fingerprint fingerprint(const Projections& p) {
  return {encode_snapshot(p), p.bets, p.deposits, p.settlements, p.settled.root()};
}
std::ostream& operator<<(std::ostream& os, const Fingerprint& f) {
  return os << "snapshot " << to_hex(blake2b256(f.snapshot)).substr(0, 8) << " (" << f.snapshot.size()
            << " B) bets=" << f.bets.size() << " deposits=" << f.deposits.size()
            << " settlements=" << f.settlements.size() << " settled_root " << to_hex(f.settled_root).substr(0, 8);
}

// Applies `e` as the next event, expects ApplyError mentioning `message`, and expects the
// projections unchanged.
void expect_refused(Projections& p, const Event& e, const std::string& message) {
  const Fingerprint before = fingerprint(p);
  CHECK_THROWS_WITH_AS(apply(p, p.last_seq + 1, e), doctest::Contains(message.c_str()), ApplyError);
  CHECK(fingerprint(p) == before);
}

// A copy of a small generated state plus helpers that make valid next events.
struct World {
  LedgerGenerator gen;
  std::vector<Event> history;
  Projections p;
  std::uint8_t next_id = 1;

  explicit World(std::uint64_t seed = 11) : gen(fake_crypto(seed, 3)) {
    history = gen.genesis();
    gen.bets(12, history);
    p = gen.state();
  }

  void ok(const Event& e) { REQUIRE_NOTHROW(apply(p, p.last_seq + 1, e)); }

  const PublicKey& player(std::size_t i) const { return gen.players()[i].public_key; }

  Bet new_bet(std::size_t who, Amount wager = 1, std::uint8_t target = 50) {
    Bet b;
    b.bet_id = Id128{0xbe, next_id++};
    b.account = player(who);
    b.nonce = p.accounts.find(b.account)->pending_nonce + 1;
    b.game = static_cast<std::uint8_t>(Game::dice);
    b.choice = target;
    b.wager = wager;
    return b;
  }

  BlockCommitted block(const std::vector<Hash32>& ids) const {
    std::uint64_t h = p.block_height + 1, t = 2'000'000'000'000 + h;
    return {h, p.block_hash, block_hash(h, p.block_hash, t, ids), ids, t};
  }

  BetResolved resolution(const Hash32& id, std::uint8_t roll) const {
    const Bet& b = std::get<Bet>(p.txs.at(id).tx);
    Outcome o = outcome_for_roll(static_cast<Game>(b.game), b.choice, b.wager, roll);
    return {id, b.bet_id, roll, o.win, o.payout, {}};
  }

  // Admits, accepts and commits a bet; returns its tx id.
  Hash32 commit(const Bet& b) {
    Hash32 id = tx_id(b);
    ok(TxAdmitted{b});
    ok(test::decision(p, id, true));
    ok(block({id}));
    return id;
  }

  settlement::Item item(const Hash32& id) const {
    const TxRecord& r = p.txs.at(id);
    if (auto* d = std::get_if<Deposit>(&r.tx))
      return {settlement::ItemKind::deposit, d->deposit_id, id, d->account, d->amount, 0};
    const Bet& b = std::get<Bet>(r.tx);
    return {settlement::ItemKind::bet, b.bet_id, id, b.account, b.wager, r.outcome->payout};
  }

  // Every accepted deposit and resolved bet not yet in a batch, by tx id.
  std::vector<settlement::Item> unbatched() const {
    std::vector<Hash32> ids;
    for (const auto& [id, r] : p.txs) {
      if (r.batch_id || r.status != TxStatus::accepted) continue;
      if (std::holds_alternative<Deposit>(r.tx) || (std::holds_alternative<Bet>(r.tx) && r.outcome)) ids.push_back(id);
    }
    // Deposits first, then each account's bets in nonce order, so no balance dips below zero.
    auto rank = [&](const Hash32& id) {
      const Tx& tx = p.txs.at(id).tx;
      if (auto* d = std::get_if<Deposit>(&tx)) return std::make_tuple(0, d->account, std::uint64_t{0}, id);
      const Bet& b = std::get<Bet>(tx);
      return std::make_tuple(1, b.account, b.nonce, id);
    };
    std::sort(ids.begin(), ids.end(), [&](const Hash32& x, const Hash32& y) { return rank(x) < rank(y); });
    std::vector<settlement::Item> items;
    for (const auto& id : ids) items.push_back(item(id));
    return items;
  }

  BatchProved proof_for(const Id128& batch_id) const {
    const auto& items = p.batches.at(batch_id).items;
    auto b = settlement::prove(batch_id, items, p.settled, gen.sequencer_key());
    return {batch_id, b.inputs, b.witness, gen.sequencer_key().public_key, b.proof};
  }

  // A settlement tx carrying `inputs`, signed by the sequencer. No witness: apply does not
  // read it (the audit does).
  Settlement settlement_tx(const settlement::PublicInputs& inputs) const {
    Settlement s{inputs, gen.sequencer_key().public_key, {}, {}};
    sign_tx(s, gen.sequencer_key());
    return s;
  }
  // The same for a proved batch's recorded inputs.
  Settlement settlement_for(const Id128& batch_id) const { return settlement_tx(*p.batches.at(batch_id).inputs); }

  // The first tx id in the state of the given kind, accepted and committed.
  Hash32 committed(TxKind kind) const {
    std::vector<Hash32> ids;
    for (const auto& [id, r] : p.txs)
      if (tx_kind(r.tx) == kind && r.block_height != 0) ids.push_back(id);
    REQUIRE_FALSE(ids.empty());
    return *std::min_element(ids.begin(), ids.end());
  }
};

const Id128 kBatch{0xba, 1};

}  // namespace

// --- generated histories ------------------------------------------------------------------

TEST_CASE("GeneratedHistoryAppliesCleanlyAndConservesMoney") {
  auto o = fake_crypto(7, 8);
  o.batch_size = 40;
  LedgerGenerator gen(o);
  auto events = gen.genesis();
  gen.bets(300, events);
  gen.flush(events);

  Projections p = replay(events);
  CHECK(check_invariants(p).empty());
  CHECK(encode_snapshot(p) == encode_snapshot(gen.state()));
  CHECK(p.last_seq == events.size());

  // deposits == balances + house result, live and settled.
  Int128 balances = 0;
  for (const auto& [k, a] : p.accounts.all()) {
    balances += a.balance;
    CHECK(a.reserved == 0);  // Every bet was resolved.
    CHECK(a.nonce == a.pending_nonce);
  }
  CHECK(p.deposits_total == 8u * 5000u);
  CHECK(balances + p.house_result == static_cast<Int128>(p.deposits_total));
  CHECK(p.house_result != 0);
  // After the flush everything is settled: settled balances equal live ones.
  CHECK(p.settled_deposits == p.deposits_total);
  CHECK(p.settled_house_result == p.house_result);
  for (const auto& [k, a] : p.accounts.all()) CHECK(p.settled.balance(k) == a.balance);
  CHECK(p.batches.size() >= 7);
  for (const auto& [id, b] : p.batches) CHECK(b.lifecycle.status() == BatchStatus::confirmed);
  // Each batch has one settlement tx, submitted and committed in the block that confirms it.
  REQUIRE(p.settlements.size() == p.batches.size());
  for (const auto& [id, b] : p.batches) {
    CHECK(p.settlements.at(id) == b.settlement_tx_id);
    const TxRecord& r = p.txs.at(b.settlement_tx_id);
    CHECK(std::get<Settlement>(r.tx).inputs == b.inputs);
    CHECK(r.status == TxStatus::accepted);
    CHECK(r.block_height == b.lifecycle.confirmed_height());
  }

  std::size_t resolved = 0;
  for (const auto& [id, r] : p.txs) {
    if (std::holds_alternative<Bet>(r.tx)) {
      CHECK(r.outcome.has_value());
      CHECK(r.batch_id.has_value());
      ++resolved;
    }
  }
  CHECK(resolved == p.bets.size());
  CHECK(p.event_counts[static_cast<std::size_t>(EventType::bet_resolved) - 1] == resolved);
}

TEST_CASE("MovingApplyWithAKnownTxIdMatchesCopyingApply") {
  LedgerGenerator gen(fake_crypto(3));
  auto events = gen.genesis();
  gen.bets(30, events);
  Projections moved;
  std::uint64_t seq = 0;
  for (auto e : events) {
    std::optional<Hash32> id;
    if (auto* a = std::get_if<TxAdmitted>(&e)) id = tx_id(a->tx);
    apply(moved, ++seq, std::move(e), id);
  }
  CHECK(encode_snapshot(moved) == encode_snapshot(replay(events)));
  CHECK(moved.bets == gen.state().bets);
}

TEST_CASE("InvariantChecksReportBrokenConservation") {
  World w;
  CHECK(check_invariants(w.p).empty());
  Projections broken = w.p;
  broken.house_result += 1;
  auto problems = check_invariants(broken);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("money not conserved") != std::string::npos);
  broken = w.p;
  broken.settled_deposits += 1;
  problems = check_invariants(broken);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("settled money not conserved") != std::string::npos);
}

// --- structural rules --------------------------------------------------------------------

TEST_CASE("EventsMustComeInSeqOrderAndAfterNodeStarted") {
  World w;
  const Event e = w.block({});
  const Fingerprint before = fingerprint(w.p);
  CHECK_THROWS_WITH_AS(apply(w.p, w.p.last_seq + 2, e), doctest::Contains("does not follow the last applied event"),
                       ApplyError);
  CHECK_THROWS_WITH_AS(apply(w.p, w.p.last_seq, e), doctest::Contains("does not follow"), ApplyError);
  CHECK_THROWS_AS(apply(w.p, 0, e), ApplyError);
  CHECK(fingerprint(w.p) == before);

  Projections fresh;
  CHECK_THROWS_WITH_AS(apply(fresh, 1, Event{TxFinalized{Hash32{1}, true, 1, {}}}),
                       doctest::Contains("TxFinalized before any NodeStarted"), ApplyError);
  CHECK_THROWS_WITH_AS(apply(fresh, 1, w.history[1]), doctest::Contains("TxAdmitted before any NodeStarted"),
                       ApplyError);
  CHECK(fresh.last_seq == 0);
  CHECK(fresh.txs.empty());
  apply(fresh, 1, w.history[0]);
  CHECK(fresh.keys.known);

  // A later NodeStarted must name the same node.
  NodeStarted other = std::get<NodeStarted>(w.history[0]);
  other.node_id[0] ^= 1;
  expect_refused(w.p, other, "differs from this log's node");
  w.ok(std::get<NodeStarted>(w.history[0]));  // A restart of the same node is fine.
}

TEST_CASE("TxAdmittedRules") {
  World w;
  SUBCASE("the same tx admitted twice") {
    Hash32 id = w.committed(TxKind::bet);
    expect_refused(w.p, TxAdmitted{w.p.txs.at(id).tx}, "admitted twice");
    Hash32 dep = w.committed(TxKind::deposit);
    expect_refused(w.p, TxAdmitted{w.p.txs.at(dep).tx}, "admitted twice");
  }
  SUBCASE("a bet id reused by another tx") {
    Bet b = w.new_bet(0);
    b.bet_id = std::get<Bet>(w.p.txs.at(w.committed(TxKind::bet)).tx).bet_id;
    expect_refused(w.p, TxAdmitted{b}, "bet id " + to_hex(b.bet_id) + " admitted twice");
  }
  SUBCASE("a bet the account rules refuse") {
    Bet b = w.new_bet(0);
    b.nonce += 1;
    expect_refused(w.p, TxAdmitted{b}, "TxAdmitted: nonce " + std::to_string(b.nonce) + " is not the account's next nonce");
    Bet rich = w.new_bet(1, w.p.accounts.find(w.player(1))->available() + 1);
    expect_refused(w.p, TxAdmitted{rich}, "exceeds the available balance");
    Bet bad = w.new_bet(2, 1, 100);  // Dice target 100.
    expect_refused(w.p, TxAdmitted{bad}, "dice target");
  }
  SUBCASE("a deposit not signed by the operator key") {
    Deposit d{Id128{0xde, 1}, w.player(0), 10, w.player(1), {}};
    expect_refused(w.p, TxAdmitted{d}, "not the operator key in force");
  }
  SUBCASE("a deposit of zero") {
    Deposit d{Id128{0xde, 2}, w.player(0), 0, w.gen.operator_key().public_key, {}};
    expect_refused(w.p, TxAdmitted{d}, "of zero");
  }
  SUBCASE("a deposit id reused") {
    const Deposit& old = std::get<Deposit>(w.p.txs.at(w.committed(TxKind::deposit)).tx);
    Deposit d{old.deposit_id, w.player(2), old.amount + 1, old.operator_key, {}};
    expect_refused(w.p, TxAdmitted{d}, "deposit id " + to_hex(d.deposit_id) + " admitted twice");
  }
  SUBCASE("valid ones are admitted and reserve the wager") {
    Bet b = w.new_bet(0, 3);
    Amount reserved = w.p.accounts.find(b.account)->reserved;
    w.ok(TxAdmitted{b});
    CHECK(w.p.accounts.find(b.account)->reserved == reserved + 3);
    CHECK(w.p.bets.at(b.bet_id) == tx_id(b));
    CHECK(w.p.txs.at(tx_id(b)).status == TxStatus::admitted);
    Deposit d{Id128{0xde, 3}, w.player(0), 10, w.gen.operator_key().public_key, {}};
    w.ok(TxAdmitted{d});
    CHECK(w.p.deposits.at(d.deposit_id) == tx_id(d));
  }
}

TEST_CASE("TxFinalizedRules") {
  World w;
  expect_refused(w.p, test::decision(w.p, w.committed(TxKind::bet), true), "was already decided");
  expect_refused(w.p, test::decision(w.p, w.committed(TxKind::deposit), false), "was already decided");
  expect_refused(w.p, TxFinalized{Hash32{0x77}, true, 1, {}}, "TxFinalized: unknown tx");

  Bet b = w.new_bet(0, 4);
  Hash32 id = tx_id(b);
  w.ok(TxAdmitted{b});
  Amount balance = w.p.accounts.find(b.account)->balance;
  w.ok(test::decision(w.p, id, false));
  CHECK(w.p.txs.at(id).status == TxStatus::rejected);
  CHECK(w.p.accounts.find(b.account)->balance == balance);
  expect_refused(w.p, test::decision(w.p, id, true), "was already decided");

  // An accepted deposit credits its account and the deposits total; a rejected one does not.
  Deposit d{Id128{0xde, 9}, w.player(1), 70, w.gen.operator_key().public_key, {}};
  Deposit r{Id128{0xde, 10}, w.player(1), 80, w.gen.operator_key().public_key, {}};
  Amount before = w.p.accounts.find(w.player(1))->balance, total = w.p.deposits_total;
  w.ok(TxAdmitted{d});
  w.ok(TxAdmitted{r});
  w.ok(test::decision(w.p, tx_id(d), true));
  w.ok(test::decision(w.p, tx_id(r), false));
  CHECK(w.p.accounts.find(w.player(1))->balance == before + 70);
  CHECK(w.p.deposits_total == total + 70);
  CHECK(check_invariants(w.p).empty());

  // A deposit whose credit could overflow is never admitted (an admitted tx must always be
  // applicable when it is decided: exposure.hpp), so no TxFinalized can meet it.
  Deposit huge{Id128{0xde, 11}, w.player(2), UINT64_MAX, w.gen.operator_key().public_key, {}};
  expect_refused(w.p, TxAdmitted{huge}, "could overflow the deposits total");
  CHECK_FALSE(w.p.txs.contains(tx_id(huge)));
  CHECK_FALSE(w.p.deposits.contains(huge.deposit_id));
}

TEST_CASE("ABetAdmittedAfterARejectedOneCanStillBeAccepted") {
  // Consensus decides each (account, nonce) on its own: bet 1 may be rejected while bet 2,
  // admitted after it, is accepted. accounts.cpp's reject_bet says later bets "keep their
  // nonces (consensus decides them on their own)", so the acceptance must apply.
  World w;
  Bet first = w.new_bet(0, 5);
  w.ok(TxAdmitted{first});
  Bet second = w.new_bet(0, 6);
  w.ok(TxAdmitted{second});
  w.ok(test::decision(w.p, tx_id(first), false));
  CHECK_NOTHROW(apply(w.p, w.p.last_seq + 1, test::decision(w.p, tx_id(second), true)));
  CHECK(w.p.txs.at(tx_id(second)).status == TxStatus::accepted);
}

TEST_CASE("BlockCommittedRules") {
  World w;
  Bet b = w.new_bet(0);
  Hash32 fresh = tx_id(b);
  w.ok(TxAdmitted{b});
  w.ok(test::decision(w.p, fresh, true));
  Bet pending = w.new_bet(1);
  w.ok(TxAdmitted{pending});  // Admitted, never decided.

  BlockCommitted good = w.block({fresh});
  SUBCASE("height") {
    BlockCommitted e = good;
    e.height += 1;
    e.hash = block_hash(e.height, e.prev_hash, e.time_ms, e.tx_ids);
    expect_refused(w.p, e, "height " + std::to_string(e.height) + " does not follow");
    e.height = w.p.block_height;
    e.hash = block_hash(e.height, e.prev_hash, e.time_ms, e.tx_ids);
    expect_refused(w.p, e, "does not follow");
  }
  SUBCASE("prev_hash") {
    BlockCommitted e = good;
    e.prev_hash[0] ^= 1;
    e.hash = block_hash(e.height, e.prev_hash, e.time_ms, e.tx_ids);
    expect_refused(w.p, e, "prev_hash does not match the previous block");
  }
  SUBCASE("hash") {
    BlockCommitted e = good;
    e.hash[31] ^= 1;
    expect_refused(w.p, e, "block hash does not match its contents");
    e = good;
    e.time_ms += 1;  // The hash covers the time.
    expect_refused(w.p, e, "block hash does not match its contents");
  }
  SUBCASE("a tx already in an earlier block") {
    // The fresh tx comes first, so the refusal must also undo its mark.
    expect_refused(w.p, w.block({fresh, w.committed(TxKind::bet)}), "is already in a block");
    expect_refused(w.p, w.block({fresh, w.committed(TxKind::deposit)}), "is already in a block");
  }
  SUBCASE("a tx twice in one block") {
    expect_refused(w.p, w.block({fresh, fresh}), "is already in a block");
  }
  SUBCASE("a tx not accepted") {
    expect_refused(w.p, w.block({fresh, tx_id(pending)}), "is not accepted");
  }
  SUBCASE("an unknown tx") {
    expect_refused(w.p, w.block({fresh, Hash32{0x42}}), "BlockCommitted: unknown tx");
  }
  SUBCASE("a good block marks its txs") {
    std::uint64_t height = w.p.block_height + 1;
    w.ok(good);
    CHECK(w.p.block_height == height);
    CHECK(w.p.block_hash == good.hash);
    CHECK(w.p.txs.at(fresh).block_height == height);
    w.ok(w.block({}));  // An empty block is fine.
    CHECK(w.p.block_height == height + 1);
  }
}

TEST_CASE("BetResolvedRules") {
  World w;
  Hash32 dice = w.commit(w.new_bet(0, 10, 50));
  Bet flip = w.new_bet(1, 10);
  flip.game = static_cast<std::uint8_t>(Game::coinflip);
  flip.choice = 1;
  Hash32 coin = w.commit(flip);

  SUBCASE("payout or win inconsistent with the roll") {
    BetResolved e = w.resolution(dice, 80);  // A loss.
    e.payout = 20;
    expect_refused(w.p, e, "records win=0 payout=20 but roll 80 gives win=0 payout=0");
    e = w.resolution(dice, 10);  // A win: floor(10 * 99 / 49) = 20.
    CHECK(e.payout == 20);
    e.payout = 21;
    expect_refused(w.p, e, "gives win=1 payout=20");
    e = w.resolution(dice, 10);
    e.win = false;
    expect_refused(w.p, e, "records win=0");
    e = w.resolution(dice, 10);
    e.roll = 60;  // The recorded win and payout belong to roll 10.
    expect_refused(w.p, e, "but roll 60 gives win=0 payout=0");
  }
  SUBCASE("roll out of range") {
    BetResolved e = w.resolution(dice, 1);
    e.roll = 0;
    expect_refused(w.p, e, "roll 0 out of range");
    e.roll = 101;
    expect_refused(w.p, e, "roll 101 out of range");
    BetResolved c = w.resolution(coin, 1);
    c.roll = 2;
    expect_refused(w.p, c, "roll 2 out of range");
  }
  SUBCASE("resolved twice") {
    w.ok(w.resolution(dice, 70));
    CHECK(w.p.txs.at(dice).outcome == Outcome{70, false, 0});
    expect_refused(w.p, w.resolution(dice, 70), "resolved twice");
    w.ok(w.resolution(coin, 1));
    CHECK(w.p.txs.at(coin).outcome == Outcome{1, true, 19});
    expect_refused(w.p, w.resolution(coin, 0), "resolved twice");
    CHECK(check_invariants(w.p).empty());
  }
  SUBCASE("not a committed bet") {
    Bet b = w.new_bet(2);
    Hash32 id = tx_id(b);
    w.ok(TxAdmitted{b});
    w.ok(test::decision(w.p, id, true));
    expect_refused(w.p, w.resolution(id, 5), "is not committed in a block");
    expect_refused(w.p, BetResolved{w.committed(TxKind::deposit), Id128{}, 1, false, 0, {}}, "is not a bet");
    expect_refused(w.p, BetResolved{Hash32{0x99}, Id128{}, 1, false, 0, {}}, "BetResolved: unknown tx");
  }
  SUBCASE("bet id does not match") {
    BetResolved e = w.resolution(dice, 5);
    e.bet_id[0] ^= 1;
    expect_refused(w.p, e, "bet id does not match the tx");
  }
  SUBCASE("a resolution moves money between the player and the house") {
    const PublicKey& who = w.player(0);
    Amount balance = w.p.accounts.find(who)->balance, reserved = w.p.accounts.find(who)->reserved;
    std::int64_t house = w.p.house_result;
    w.ok(w.resolution(dice, 1));  // Pays 20 for 10.
    CHECK(w.p.accounts.find(who)->balance == balance + 10);
    CHECK(w.p.accounts.find(who)->reserved == reserved - 10);
    CHECK(w.p.house_result == house - 10);
  }
}

TEST_CASE("BatchCreatedRules") {
  World w;
  Hash32 unresolved = w.commit(w.new_bet(0, 2));
  auto items = w.unbatched();
  REQUIRE(items.size() >= 10);
  const settlement::Item dep = *std::find_if(items.begin(), items.end(),
                                             [](auto& i) { return i.kind == settlement::ItemKind::deposit; });
  const settlement::Item bet = *std::find_if(items.begin(), items.end(),
                                             [](auto& i) { return i.kind == settlement::ItemKind::bet; });

  auto with = [&](std::function<void(std::vector<settlement::Item>&)> f) {
    auto v = items;
    f(v);
    return BatchCreated{kBatch, v, 5};
  };
  expect_refused(w.p, BatchCreated{kBatch, {}, 5}, "has no items");
  expect_refused(w.p, BatchCreated{kBatch, items, 0}, "max_attempts is 0");
  expect_refused(w.p, with([](auto& v) { v.back().tx_id = Hash32{0x31}; }), "names unknown tx");
  // Each field of a deposit item and of a bet item must match the tx.
  struct Row {
    std::string name;
    settlement::Item item;
    const char* message;
  };
  auto tweak = [](settlement::Item i, std::function<void(settlement::Item&)> f) {
    f(i);
    return i;
  };
  const std::vector<Row> rows{
      {"deposit id", tweak(dep, [](auto& i) { i.id[0] ^= 1; }), "does not match its deposit"},
      {"deposit account", tweak(dep, [](auto& i) { i.account[0] ^= 1; }), "does not match its deposit"},
      {"deposit amount", tweak(dep, [](auto& i) { i.amount += 1; }), "does not match its deposit"},
      {"deposit payout", tweak(dep, [](auto& i) { i.payout = 1; }), "does not match its deposit"},
      {"deposit as a bet", tweak(dep, [](auto& i) { i.kind = settlement::ItemKind::bet; }), "is not a resolved bet"},
      {"bet id", tweak(bet, [](auto& i) { i.id[0] ^= 1; }), "does not match its bet"},
      {"bet account", tweak(bet, [](auto& i) { i.account[0] ^= 1; }), "does not match its bet"},
      {"bet wager", tweak(bet, [](auto& i) { i.amount += 1; }), "does not match its bet"},
      {"bet payout", tweak(bet, [](auto& i) { i.payout += 1; }), "does not match its bet"},
      {"bet as a deposit", tweak(bet, [](auto& i) { i.kind = settlement::ItemKind::deposit; }),
       "is not an accepted deposit"},
      // Not taken for a bet (the old else branch did so).
      {"unknown kind", tweak(bet, [](auto& i) { i.kind = static_cast<settlement::ItemKind>(3); }),
       "has unknown kind 3"},
      {"kind 0", tweak(dep, [](auto& i) { i.kind = static_cast<settlement::ItemKind>(0); }), "has unknown kind 0"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    // Valid items first, so the refusal must undo their marks.
    expect_refused(w.p, with([&](auto& v) {
                     std::erase_if(v, [&](const auto& i) { return i.tx_id == row.item.tx_id; });
                     v.push_back(row.item);
                   }),
                   row.message);
  }
  settlement::Item open{settlement::ItemKind::bet, std::get<Bet>(w.p.txs.at(unresolved).tx).bet_id, unresolved,
                        w.player(0), 2, 0};
  expect_refused(w.p, BatchCreated{kBatch, {items[0], open}, 5}, "is not a resolved bet");
  // A deposit must be committed in a block, as a bet is through its outcome.
  Deposit late{Id128{0xde, 0x21}, w.player(1), 30, w.gen.operator_key().public_key, {}};
  w.ok(TxAdmitted{late});
  w.ok(test::decision(w.p, tx_id(late), true));
  const settlement::Item uncommitted = w.item(tx_id(late));
  expect_refused(w.p, BatchCreated{kBatch, {items[0], uncommitted}, 5},
                 "BatchCreated: item " + to_hex(late.deposit_id) + " is a deposit not committed in a block");
  w.ok(w.block({tx_id(late)}));
  items.push_back(uncommitted);  // Committed now: the good batches below may take it.

  // An item twice in one batch.
  expect_refused(w.p, with([&](auto& v) { v.push_back(v.front()); }), "is already in batch " + to_hex(kBatch));

  // A good batch marks its txs; an item in two batches and a batch created twice are refused.
  std::vector<settlement::Item> first(items.begin(), items.begin() + 4);
  w.ok(BatchCreated{kBatch, first, 5});
  for (const auto& i : first) CHECK(w.p.txs.at(i.tx_id).batch_id == kBatch);
  CHECK(w.p.batches.at(kBatch).lifecycle.status() == BatchStatus::created);
  std::vector<settlement::Item> second(items.begin() + 4, items.end());
  second.push_back(items[2]);
  expect_refused(w.p, BatchCreated{Id128{0xba, 2}, second, 5}, "is already in batch " + to_hex(kBatch));
  expect_refused(w.p, BatchCreated{kBatch, {items[5]}, 5}, "created twice");
  second.pop_back();
  w.ok(BatchCreated{Id128{0xba, 2}, second, 5});
}

TEST_CASE("BatchProvedRules") {
  World w;
  w.ok(BatchCreated{kBatch, w.unbatched(), 5});
  const BatchProved good = w.proof_for(kBatch);
  struct Row {
    std::string name;
    std::function<void(BatchProved&)> tamper;
    const char* message;
  };
  const std::vector<Row> rows{
      {"pre_root", [](BatchProved& e) { e.inputs.pre_root[0] ^= 1; }, "pre_root is not the settled root"},
      {"item_count", [](BatchProved& e) { e.inputs.totals.item_count += 1; }, "totals do not match the items"},
      {"deposits", [](BatchProved& e) { e.inputs.totals.deposits -= 1; }, "totals do not match the items"},
      {"wagers", [](BatchProved& e) { e.inputs.totals.wagers += 1; }, "totals do not match the items"},
      {"payouts", [](BatchProved& e) { e.inputs.totals.payouts += 1; }, "totals do not match the items"},
      {"key", [&](BatchProved& e) { e.sequencer_key = w.gen.operator_key().public_key; },
       "not signed by the sequencer key in force"},
      {"items_digest", [](BatchProved& e) { e.inputs.items_digest[0] ^= 1; }, "items_digest mismatch"},
      {"witness items", [](BatchProved& e) { e.witness.items.pop_back(); }, "witness items differ from the created batch"},
      {"inputs name another batch", [](BatchProved& e) { e.inputs.batch_id[0] ^= 1; }, "public inputs name another batch"},
      {"unknown batch", [](BatchProved& e) { e.batch_id[0] ^= 1; e.inputs.batch_id = e.batch_id; }, "unknown batch"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    BatchProved e = good;
    row.tamper(e);
    expect_refused(w.p, e, row.message);
  }

  SUBCASE("post_root") {
    // projections.hpp: apply "throws ApplyError without changing anything when one fails".
    // A wrong post_root must not leave the batch proved and its items settled, or the honest
    // BatchProved that follows is refused.
    BatchProved e = good;
    e.inputs.post_root[0] ^= 1;
    expect_refused(w.p, e, "post_root does not match the applied items");
    CHECK(w.p.batches.at(kBatch).lifecycle.status() == BatchStatus::created);
    CHECK_NOTHROW(apply(w.p, w.p.last_seq + 1, good));
  }
  SUBCASE("a good proof settles the items, once") {
    w.ok(good);
    const auto& b = w.p.batches.at(kBatch);
    CHECK(b.lifecycle.status() == BatchStatus::proved);
    CHECK(b.inputs == good.inputs);
    CHECK(w.p.settled.root() == good.inputs.post_root);
    CHECK(w.p.settled_deposits == good.inputs.totals.deposits);
    CHECK(check_invariants(w.p).empty());
    expect_refused(w.p, good, "is proved, not created");
  }
}

TEST_CASE("BatchSubmittedConfirmedFailedRules") {
  World w;
  w.ok(BatchCreated{kBatch, w.unbatched(), 2});
  expect_refused(w.p, BatchSubmitted{kBatch, 1, Hash32{1}}, "BatchSubmitted: illegal batch transition: submit from created");
  expect_refused(w.p, BatchConfirmed{kBatch, w.p.block_height}, "illegal batch transition: confirm from created");
  w.ok(w.proof_for(kBatch));
  const Settlement tx = w.settlement_for(kBatch);
  const Hash32 sid = tx_id(tx);
  w.ok(TxAdmitted{tx});
  expect_refused(w.p, BatchSubmitted{kBatch, 2, sid}, "submit attempt 2");
  expect_refused(w.p, BatchSubmitted{Id128{7}, 1, sid}, "BatchSubmitted: unknown batch");
  w.ok(BatchSubmitted{kBatch, 1, sid});
  w.ok(BatchSubmitted{kBatch, 2, sid});  // A retry names the same tx (deterministic signature).
  CHECK(w.p.batches.at(kBatch).lifecycle.attempts() == 2);
  CHECK(w.p.batches.at(kBatch).settlement_tx_id == sid);
  expect_refused(w.p, BatchSubmitted{kBatch, 3, sid}, "beyond the last attempt");
  // A batch whose settlement is alive is never failed (domain/batch_step.hpp) ...
  expect_refused(w.p, BatchFailed{kBatch, "timed out"}, "'s settlement tx " + to_hex(sid) + " is still undecided");

  w.ok(test::decision(w.p, sid, true));
  w.ok(w.block({sid}));
  // ... nor once the ledger accepted it.
  expect_refused(w.p, BatchFailed{kBatch, "timed out"}, "'s settlement tx " + to_hex(sid) + " was accepted");
  CHECK(w.p.batches.at(kBatch).lifecycle.status() == BatchStatus::submitted);
  expect_refused(w.p, BatchConfirmed{kBatch, w.p.block_height + 1},
                 "height " + std::to_string(w.p.block_height + 1) + " is not a committed block");
  expect_refused(w.p, BatchConfirmed{kBatch, 0}, "height 0 is not a committed block");
  expect_refused(w.p, BatchConfirmed{Id128{7}, 1}, "BatchConfirmed: unknown batch");
  w.ok(BatchConfirmed{kBatch, w.p.block_height});
  CHECK(w.p.batches.at(kBatch).lifecycle.confirmed_height() == w.p.block_height);
  expect_refused(w.p, BatchConfirmed{kBatch, w.p.block_height}, "confirm from confirmed");
  expect_refused(w.p, BatchFailed{kBatch, "late"}, "BatchFailed: illegal batch transition: fail from confirmed");
  expect_refused(w.p, BatchFailed{Id128{7}, "?"}, "BatchFailed: unknown batch");

  // A created batch can fail.
  World v;
  auto items = v.unbatched();
  v.ok(BatchCreated{kBatch, items, 5});
  v.ok(BatchFailed{kBatch, "gave up"});
  CHECK(v.p.batches.at(kBatch).lifecycle.status() == BatchStatus::failed);
  expect_refused(v.p, BatchFailed{kBatch, "again"}, "fail from failed");
}

TEST_CASE("SettlementTxAdmittedRules") {
  World w;
  w.ok(BatchCreated{kBatch, w.unbatched(), 5});
  const BatchProved proof = w.proof_for(kBatch);
  const std::string what = "TxAdmitted: settlement ";

  // Not yet proved: there are no recorded inputs to match.
  expect_refused(w.p, TxAdmitted{w.settlement_tx(proof.inputs)}, "the batch is created, not proved or submitted");
  w.ok(proof);
  const Settlement good = w.settlement_for(kBatch);
  REQUIRE(good.inputs == proof.inputs);

  struct Row {
    std::string name;
    std::function<void(Settlement&)> tamper;
    std::string message;
  };
  const std::vector<Row> rows{
      {"another key", [&](Settlement& s) { s.sequencer_key = w.gen.operator_key().public_key; },
       "not the sequencer key in force"},
      {"unknown batch", [](Settlement& s) { s.inputs.batch_id[0] ^= 1; }, "names an unknown batch"},
      {"pre_root", [](Settlement& s) { s.inputs.pre_root[0] ^= 1; }, "public inputs differ from the batch's proved inputs"},
      {"post_root", [](Settlement& s) { s.inputs.post_root[0] ^= 1; }, "public inputs differ"},
      {"items_digest", [](Settlement& s) { s.inputs.items_digest[0] ^= 1; }, "public inputs differ"},
      {"item_count", [](Settlement& s) { s.inputs.totals.item_count += 1; }, "public inputs differ"},
      {"deposits", [](Settlement& s) { s.inputs.totals.deposits -= 1; }, "public inputs differ"},
      {"wagers", [](Settlement& s) { s.inputs.totals.wagers += 1; }, "public inputs differ"},
      {"payouts", [](Settlement& s) { s.inputs.totals.payouts += 1; }, "public inputs differ"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Settlement s = good;
    row.tamper(s);
    expect_refused(w.p, TxAdmitted{s}, row.message);
    CHECK(w.p.settlements.empty());
  }

  SUBCASE("a failed batch takes no settlement") {
    w.ok(BatchFailed{kBatch, "gave up"});
    expect_refused(w.p, TxAdmitted{good}, "the batch is failed, not proved or submitted");
  }
  SUBCASE("one settlement tx per batch") {
    w.ok(TxAdmitted{good});
    CHECK(w.p.settlements.at(kBatch) == tx_id(good));
    CHECK(w.p.txs.at(tx_id(good)).status == TxStatus::admitted);
    expect_refused(w.p, TxAdmitted{good}, "admitted twice");
    Settlement rival = good;  // Same inputs, another signature: another tx id.
    rival.proof[0] ^= 1;
    REQUIRE(tx_id(rival) != tx_id(good));
    expect_refused(w.p, TxAdmitted{rival}, "already has settlement tx " + to_hex(tx_id(good)));
    // Still refused once the batch is submitted, and once it is confirmed.
    w.ok(BatchSubmitted{kBatch, 1, tx_id(good)});
    expect_refused(w.p, TxAdmitted{rival}, "already has settlement tx");
    w.ok(test::decision(w.p, tx_id(good), true));
    w.ok(w.block({tx_id(good)}));
    w.ok(BatchConfirmed{kBatch, w.p.block_height});
    expect_refused(w.p, TxAdmitted{rival}, "the batch is confirmed, not proved or submitted");
  }
}

TEST_CASE("BatchSubmittedMustNameItsSettlementTx") {
  World w;
  auto items = w.unbatched();
  const Id128 kOther{0xba, 2};
  const auto half = static_cast<std::ptrdiff_t>(items.size() / 2);
  w.ok(BatchCreated{kBatch, {items.begin(), items.begin() + half}, 5});
  w.ok(BatchCreated{kOther, {items.begin() + half, items.end()}, 5});
  w.ok(w.proof_for(kBatch));
  w.ok(w.proof_for(kOther));
  const Settlement mine = w.settlement_for(kBatch), other = w.settlement_for(kOther);

  const std::string message = "not an admitted settlement tx for this batch";
  // Not admitted yet: the generator used to submit before admitting.
  expect_refused(w.p, BatchSubmitted{kBatch, 1, tx_id(mine)}, "BatchSubmitted: batch " + to_hex(kBatch) + " names " +
                                                                  to_hex(tx_id(mine)) + ", " + message);
  w.ok(TxAdmitted{mine});
  w.ok(TxAdmitted{other});
  expect_refused(w.p, BatchSubmitted{kBatch, 1, Hash32{0x51}}, message);
  expect_refused(w.p, BatchSubmitted{kBatch, 1, w.committed(TxKind::bet)}, message);
  expect_refused(w.p, BatchSubmitted{kBatch, 1, w.committed(TxKind::deposit)}, message);
  expect_refused(w.p, BatchSubmitted{kBatch, 1, tx_id(other)}, message);
  CHECK(w.p.batches.at(kBatch).lifecycle.status() == BatchStatus::proved);

  w.ok(BatchSubmitted{kBatch, 1, tx_id(mine)});
  w.ok(BatchSubmitted{kOther, 1, tx_id(other)});
  // A retry still has to name this batch's tx, and a refused one counts no attempt.
  expect_refused(w.p, BatchSubmitted{kBatch, 2, tx_id(other)}, message);
  CHECK(w.p.batches.at(kBatch).lifecycle.attempts() == 1);
  w.ok(BatchSubmitted{kBatch, 2, tx_id(mine)});
  CHECK(w.p.batches.at(kBatch).settlement_tx_id == tx_id(mine));
}

TEST_CASE("BatchConfirmedMustNameTheBlockOfItsSettlementTx") {
  World w;
  w.ok(BatchCreated{kBatch, w.unbatched(), 5});
  w.ok(w.proof_for(kBatch));
  const Settlement tx = w.settlement_for(kBatch);
  const Hash32 sid = tx_id(tx);
  w.ok(TxAdmitted{tx});
  w.ok(BatchSubmitted{kBatch, 1, sid});
  const std::string message = "settlement tx " + to_hex(sid) + " was not committed at height ";

  // Admitted, then accepted, but in no block yet: no committed height confirms it.
  const std::uint64_t earlier = w.p.block_height;
  expect_refused(w.p, BatchConfirmed{kBatch, earlier}, message + std::to_string(earlier));
  w.ok(test::decision(w.p, sid, true));
  expect_refused(w.p, BatchConfirmed{kBatch, earlier}, message + std::to_string(earlier));

  w.ok(w.block({sid}));
  const std::uint64_t height = w.p.block_height;
  w.ok(w.block({}));  // A later block that does not hold it.
  expect_refused(w.p, BatchConfirmed{kBatch, earlier}, message + std::to_string(earlier));
  expect_refused(w.p, BatchConfirmed{kBatch, height + 1}, message + std::to_string(height + 1));
  CHECK(w.p.batches.at(kBatch).lifecycle.status() == BatchStatus::submitted);
  w.ok(BatchConfirmed{kBatch, height});
  CHECK(w.p.batches.at(kBatch).lifecycle.confirmed_height() == height);

  {  // A rejected settlement tx confirms nothing; the batch can only fail.
    World v;
    v.ok(BatchCreated{kBatch, v.unbatched(), 5});
    v.ok(v.proof_for(kBatch));
    const Settlement t = v.settlement_for(kBatch);
    v.ok(TxAdmitted{t});
    v.ok(BatchSubmitted{kBatch, 1, tx_id(t)});
    v.ok(test::decision(v.p, tx_id(t), false));
    v.ok(v.block({}));
    expect_refused(v.p, BatchConfirmed{kBatch, v.p.block_height}, "was not committed at height");
    v.ok(BatchFailed{kBatch, "settlement rejected"});
  }
}

// --- snapshots and event encodings ---------------------------------------------------------

TEST_CASE("SnapshotRoundTripGivesIdenticalProjections") {
  auto o = fake_crypto(5, 6);
  o.batch_size = 25;
  LedgerGenerator gen(o);
  auto events = gen.genesis();
  gen.bets(60, events);
  const Projections& p = gen.state();
  REQUIRE_FALSE(p.batches.empty());

  Bytes blob = encode_snapshot(p);
  Projections back = decode_snapshot(blob);
  CHECK(encode_snapshot(back) == blob);
  // Only what the rules need: the txs not finished, with their keys.
  auto unfinished = [&](const auto& index) {
    std::remove_cvref_t<decltype(index)> kept;
    for (const auto& [key, id] : index)
      if (!is_finished(p, p.txs.at(id))) kept.emplace(key, id);
    return kept;
  };
  CHECK(back.bets == unfinished(p.bets));
  CHECK(back.deposits == unfinished(p.deposits));
  CHECK(back.settlements == unfinished(p.settlements));
  CHECK(back.txs.size() < p.txs.size());
  for (const auto& [id, r] : back.txs) CHECK(encode(r) == encode(p.txs.at(id)));
  CHECK(back.settled.root() == p.settled.root());
  CHECK(back.last_seq == p.last_seq);
  CHECK(back.last_batch_id == p.last_batch_id);
  CHECK(back.exposure == p.exposure);

  // The decoded projections go on exactly like the original.
  Projections original = p;
  std::size_t done = events.size();
  gen.bets(40, events);
  gen.flush(events);
  for (std::size_t i = done; i < events.size(); ++i) {
    apply(original, i + 1, events[i]);
    apply(back, i + 1, events[i]);
  }
  CHECK(encode_snapshot(back) == encode_snapshot(original));
  CHECK(encode_snapshot(back) == encode_snapshot(gen.state()));
  CHECK(check_invariants(back).empty());
}

TEST_CASE("MemoryHoldsWhatTheRulesNeedAndAWindowOfFinishedTxsNotTheHistory") {
  // A history of 600 bets in batches of 25, with windows of 50 finished txs and 2 ended
  // batches: whatever the history's length, the projections hold the live txs (undecided,
  // unbatched, open batches' settlements) and the windows, and the same rule state as ones
  // that forget nothing.
  auto o = fake_crypto(5, 7);
  o.batch_size = 25;
  LedgerGenerator gen(o);
  auto events = gen.genesis();
  gen.bets(600, events);
  Projections small, all;
  set_windows(small, 50, 2);
  set_windows(all, 1'000'000, 1'000'000);
  for (std::size_t i = 0; i < events.size(); ++i) {
    apply(small, i + 1, events[i]);
    apply(all, i + 1, events[i]);
  }
  CHECK(all.txs.size() > 400);
  CHECK(small.txs.size() <= 50 + 25 + 10);  // The window, an unbatched batch's worth, open settlements.
  CHECK(small.batches.size() <= 2 + 2);
  CHECK(small.bets.size() + small.deposits.size() + small.settlements.size() == small.txs.size());
  CHECK(encode_snapshot(small) == encode_snapshot(all));  // The windows are not in the rule state.
  CHECK(small.accounts.all() == all.accounts.all());
  CHECK(small.last_batch_id == all.last_batch_id);
  CHECK(check_invariants(small).empty());
  // The newest finished txs are the ones kept.
  for (auto it = all.finished_txs.end() - 50; it != all.finished_txs.end(); ++it) CHECK(small.txs.contains(*it));
}

TEST_CASE("ANodeThatDoesNotSettleForgetsEachTxOnceItIsDoneAndKeepsItsRole") {
  // 600 bets as a node that does not settle sees them: its own NodeStarted says so, and
  // nothing is batched (only the settling node cuts batches and admits their settlement txs).
  // Each tx is finished once decided and, if accepted, committed (and a bet resolved), so a
  // window of 50 bounds its memory as it does a settling node's.
  auto o = fake_crypto(5, 7);
  o.batch_size = 1'000'000;
  LedgerGenerator gen(o);
  auto events = gen.genesis();
  gen.bets(600, events);
  for (auto& e : events) {
    REQUIRE_FALSE(batch_id_of(e));
    if (auto* started = std::get_if<NodeStarted>(&e)) started->settles = false;
  }
  Projections small, all;
  set_windows(small, 50, 2);
  set_windows(all, 1'000'000, 1'000'000);
  std::size_t most = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    apply(small, i + 1, events[i]);
    apply(all, i + 1, events[i]);
    most = std::max(most, small.txs.size());
  }
  CHECK_FALSE(small.keys.settles);
  const auto admitted = static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [](const Event& e) { return std::holds_alternative<TxAdmitted>(e); }));
  CHECK(admitted > 400);
  CHECK(all.txs.size() == admitted);
  CHECK(most <= 50 + 2 * o.block_size);  // The window and the txs of a block being decided.
  CHECK(small.bets.size() + small.deposits.size() + small.settlements.size() == small.txs.size());
  for (const auto& [id, r] : all.txs) CHECK(is_finished(all, r));  // The history ends on a resolved block.
  CHECK(encode_snapshot(small) == encode_snapshot(all));
  CHECK(decode_snapshot(encode_snapshot(all)).txs.empty());  // Nothing live: a snapshot holds no tx.
  CHECK(small.accounts.all() == all.accounts.all());
  CHECK(check_invariants(small).empty());

  // The role is the log's for good: a start in the other role is refused, naming both.
  NodeStarted again = std::get<NodeStarted>(events.front());
  for (bool settles : {true, false}) {
    CAPTURE(settles);
    Projections p = all;
    p.keys.settles = settles;
    again.settles = !settles;
    CHECK_THROWS_WITH_AS(apply(p, p.last_seq + 1, Event{again}),
                         doctest::Contains(settles ? "node settles batches; a node keeps its role"
                                                   : "node does not settle batches; a node keeps its role"),
                         ApplyError);
    again.settles = settles;
    CHECK_NOTHROW(apply(p, p.last_seq + 1, Event{again}));
  }
}

TEST_CASE("SnapshotDecodeRejectsDamagedBlobs") {
  World w;
  Bytes blob = encode_snapshot(w.p);
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, blob.size() / 2, blob.size() - 1}) {
    CAPTURE(cut);
    Bytes shorter(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK_THROWS_WITH_AS(decode_snapshot(shorter), doctest::Contains("snapshot: "), DecodeError);
  }
  Bytes shorter(blob.begin(), blob.end() - 1);
  CHECK_THROWS_WITH_AS(decode_snapshot(shorter), doctest::Contains("truncated"), DecodeError);
  Bytes longer = blob;
  longer.push_back(0);
  CHECK_THROWS_WITH_AS(decode_snapshot(longer), doctest::Contains("1 trailing bytes"), DecodeError);
  Bytes version = blob;
  version[0] = 4;
  CHECK_THROWS_WITH_AS(decode_snapshot(version), doctest::Contains("unknown format version 4"), DecodeError);
}

TEST_CASE("EveryEventTypeRoundTripsThroughItsEncoding") {
  auto o = fake_crypto(9);
  o.batch_size = 10;
  LedgerGenerator gen(o);
  auto events = gen.genesis();
  gen.bets(12, events);
  gen.flush(events);
  Id128 batch = std::get<BatchCreated>(*std::find_if(events.begin(), events.end(), [](auto& e) {
                  return std::holds_alternative<BatchCreated>(e);
                })).batch_id;
  events.push_back(BatchFailed{batch, "operator gave up"});
  events.push_back(ReconciliationReport{{batch}, {Id128{1}}, {}, {Id128{2}, Id128{3}}});
  events.push_back(SnapshotTaken{42, Hash32{9, 9}});

  std::set<EventType> seen;
  for (const auto& e : events) {
    EventType t = event_type(e);
    const std::string name(event_type_name(t));
    CAPTURE(name);
    seen.insert(t);
    Bytes bytes = encode_event(e);
    REQUIRE(bytes.size() >= 1);
    CHECK(bytes[0] == kEventFormatVersion);
    Event back = decode_event(static_cast<std::uint16_t>(t), bytes);
    CHECK(event_type(back) == t);
    CHECK(encode_event(back) == bytes);
  }
  CHECK(seen.size() == kEventTypeCount);

  // Stable type numbers and names.
  CHECK(static_cast<int>(event_type(Event{NodeStarted{}})) == 1);
  CHECK(static_cast<int>(event_type(Event{SnapshotTaken{}})) == 12);
  CHECK(event_type_name(EventType::bet_resolved) == "BetResolved");
  CHECK(event_type_name(static_cast<EventType>(0)) == "Unknown");
  CHECK(event_type_from_number(5) == EventType::bet_resolved);
  CHECK_FALSE(event_type_from_number(0).has_value());
  CHECK_FALSE(event_type_from_number(13).has_value());
}

TEST_CASE("NodeStartedKeepsTheCroupierVersionString") {
  // Its serialize once wrote the macro's format byte where the version string belongs.
  NodeStarted started{Id128{7}, "1.2.3-test", PublicKey{1}, PublicKey{2}, PublicKey{3}};
  Event back = decode_event(static_cast<std::uint16_t>(EventType::node_started), encode_event(started));
  REQUIRE(std::holds_alternative<NodeStarted>(back));
  CHECK(std::get<NodeStarted>(back).version == "1.2.3-test");
  CHECK(std::get<NodeStarted>(back).sequencer_key == PublicKey{3});
}

TEST_CASE("NodeStartedRecordsTheRoleAndOnlyFormat3Decodes") {
  NodeStarted started{Id128{7}, "v", PublicKey{1}, PublicKey{2}, PublicKey{3}, false};
  Bytes bytes = encode_event(started);
  Event back = decode_event(static_cast<std::uint16_t>(EventType::node_started), bytes);
  CHECK_FALSE(std::get<NodeStarted>(back).settles);
  CHECK(NodeStarted{}.settles);
  // Formats 1 and 2 (refused at open with the log) and a future one are refused by name.
  for (std::uint8_t format : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{4}}) {
    bytes[0] = format;
    CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::node_started), bytes),
                         doctest::Contains(("NodeStarted: unknown format version " + std::to_string(format)).c_str()),
                         DecodeError);
  }
}

TEST_CASE("DecodeEventRejectsUnknownTypesAndMismatchedPayloads") {
  Bytes finalized = encode_event(TxFinalized{Hash32{1}, true, 1, {}});
  for (std::uint16_t type : {std::uint16_t{0}, std::uint16_t{13}, std::uint16_t{65535}}) {
    CAPTURE(type);
    CHECK_THROWS_WITH_AS(decode_event(type, finalized), doctest::Contains(("unknown event type " + std::to_string(type)).c_str()),
                         DecodeError);
  }
  // TxFinalized's 59 bytes read as BatchConfirmed (25 bytes) leave 34 behind.
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::batch_confirmed), finalized),
                       doctest::Contains("BatchConfirmed: 34 trailing bytes"), DecodeError);
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::tx_finalized), Bytes(finalized.begin(), finalized.end() - 1)),
                       doctest::Contains("TxFinalized: truncated"), DecodeError);
  Bytes version = finalized;
  version[0] = 0;
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::tx_finalized), version),
                       doctest::Contains("unknown format version 0"), DecodeError);
}

TEST_CASE("TxFinalizedNamesItsTxsKeyAndTheBlockThatCommitsIt") {
  World w;
  Bet b = w.new_bet(0, 4);
  const Hash32 id = tx_id(b);
  w.ok(TxAdmitted{b});
  const TxFinalized good = finalized(id, Tx{b}, true, w.p.block_height + 1);
  CHECK(good.key == TxKey{TxKind::bet, b.bet_id});
  TxFinalized other_key = good;
  other_key.key.id[0] ^= 1;
  expect_refused(w.p, other_key, "names key");
  TxFinalized other_kind = good;
  other_kind.key.kind = TxKind::deposit;
  expect_refused(w.p, other_kind, "names key");
  TxFinalized later = good;
  later.block_height += 1;
  expect_refused(w.p, later, "not the next block");
  TxFinalized rejected_with_height = finalized(id, Tx{b}, false, 7);
  CHECK(rejected_with_height.block_height == 0);  // finalized() writes none for a rejection.
  rejected_with_height.block_height = 7;
  expect_refused(w.p, rejected_with_height, "though it is rejected");
  w.ok(good);
  // The block that follows must be the one its TxFinalized named.
  BlockCommitted skipped = w.block({});
  w.ok(skipped);
  expect_refused(w.p, w.block({id}), "was finalized for block");
}

TEST_CASE("ASettlementsWitnessIsStoredOnceInItsBatchProved") {
  World w;
  w.ok(BatchCreated{kBatch, w.unbatched(), 5});
  const BatchProved proved = w.proof_for(kBatch);
  w.ok(proved);
  Settlement s = w.settlement_for(kBatch);
  s.witness = proved.witness;  // As the submitter sends it.
  REQUIRE(s.witness != settlement::Witness{});
  // In the log: TxAdmitted without the witness, which its BatchProved holds; the tx id
  // leaves the witness out, so it is the same settlement.
  auto decoded = decode_event(static_cast<std::uint16_t>(EventType::tx_admitted), encode_event(TxAdmitted{s}));
  const auto& stored = std::get<Settlement>(std::get<TxAdmitted>(decoded).tx);
  CHECK(stored.witness == settlement::Witness{});
  CHECK(tx_id(stored) == tx_id(s));
  CHECK(encode_event(TxAdmitted{s}) == encode_event(TxAdmitted{stored}));  // Not one witness byte.
  // In memory: none either, so the live state and its replay agree.
  w.ok(TxAdmitted{s});
  CHECK(std::get<Settlement>(w.p.txs.at(tx_id(s)).tx).witness == settlement::Witness{});
}

// --- audit -----------------------------------------------------------------------------------

namespace {

struct Audited {
  std::vector<Event> events;
  Projections p;  // After all events.
};

// A small real-crypto history (every bet signed and VRF-resolved), audited as it applies.
const Audited& real_history() {
  static const Audited a = [] {
    LedgerOptions o;
    o.seed = 21;
    o.accounts = 3;
    o.real_crypto = true;
    o.block_size = 4;
    o.batch_size = 8;
    LedgerGenerator gen(o);
    Audited out;
    out.events = gen.genesis();
    gen.bets(12, out.events);
    gen.flush(out.events);
    out.p = gen.state();
    return out;
  }();
  return a;
}

std::optional<std::string> audit_as_next(const Projections& p, const Event& e) {
  auto job = audit::job_for(p, p.last_seq + 1, e);
  REQUIRE(job.has_value());
  return audit::run(*job);
}

template <class T>
std::vector<T> all_of(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const auto& e : events)
    if (auto* x = std::get_if<T>(&e)) out.push_back(*x);
  return out;
}

}  // namespace

TEST_CASE("AuditPassesForARealCryptoHistory") {
  const auto& h = real_history();
  Projections p;
  std::uint64_t seq = 0;
  std::array<std::size_t, 3> jobs{};
  for (const auto& e : h.events) {
    auto job = audit::job_for(p, ++seq, e);
    apply(p, seq, e);
    if (!job) continue;
    ++jobs[job->check.index()];
    CHECK(job->seq == seq);
    CHECK(audit::run(*job) == std::nullopt);
  }
  CHECK(jobs[0] > 12);  // Deposits, bets and settlement txs.
  CHECK(jobs[1] == 12);
  CHECK(jobs[2] >= 2);
  CHECK(check_invariants(p).empty());
}

TEST_CASE("AuditCatchesAChangedRoll") {
  const auto& h = real_history();
  auto resolved = all_of<BetResolved>(h.events);
  REQUIRE_FALSE(resolved.empty());
  for (const auto& r : resolved) CHECK(audit_as_next(h.p, r) == std::nullopt);

  // The recorded roll changed, nothing re-signed: the VRF output gives another roll.
  BetResolved e = resolved[0];
  const Bet& bet = std::get<Bet>(h.p.txs.at(e.tx_id).tx);
  auto other = static_cast<std::uint8_t>(bet.game == static_cast<std::uint8_t>(Game::coinflip) ? 1 - e.roll
                                                                                              : e.roll % 100 + 1);
  e.roll = other;
  auto why = audit_as_next(h.p, e);
  REQUIRE(why.has_value());
  CHECK(why->find("recorded roll " + std::to_string(other)) != std::string::npos);

  // Even when win and payout are made consistent with the new roll (so that apply would
  // take it), the VRF output still disagrees.
  Outcome o = outcome_for_roll(static_cast<Game>(bet.game), bet.choice, bet.wager, other);
  e.win = o.win;
  e.payout = o.payout;
  why = audit_as_next(h.p, e);
  REQUIRE(why.has_value());
  CHECK(why->find("but the VRF output gives roll") != std::string::npos);
}

TEST_CASE("AuditCatchesATamperedVrfProof") {
  const auto& h = real_history();
  BetResolved e = all_of<BetResolved>(h.events).at(1);
  struct Row {
    std::string name;
    std::function<void(BetResolved&)> tamper;
  };
  const std::vector<Row> rows{
      {"gamma", [](BetResolved& r) { r.vrf_proof[0] ^= 1; }},
      {"c", [](BetResolved& r) { r.vrf_proof[40] ^= 1; }},
      {"s", [](BetResolved& r) { r.vrf_proof[60] ^= 1; }},
      {"zero proof", [](BetResolved& r) { r.vrf_proof = vrf::Proof{}; }},
      {"proof of another bet", [&](BetResolved& r) { r.vrf_proof = all_of<BetResolved>(h.events).at(2).vrf_proof; }},
      {"a valid proof under another key",
       [](BetResolved& r) {
         Seed s{};
         s.fill(0x13);
         r.vrf_proof = vrf::prove(keypair_from_seed(s), r.tx_id);
       }},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    BetResolved t = e;
    row.tamper(t);
    auto why = audit_as_next(h.p, t);
    REQUIRE(why.has_value());
    CHECK(why->find("VRF proof does not verify under the house key") != std::string::npos);
  }
}

TEST_CASE("AuditCatchesTamperedTxSignatures") {
  const auto& h = real_history();
  auto admitted = all_of<TxAdmitted>(h.events);
  auto first = [&](TxKind k) {
    return std::find_if(admitted.begin(), admitted.end(), [&](auto& a) { return tx_kind(a.tx) == k; })->tx;
  };
  struct Row {
    std::string name;
    std::function<void(Tx&)> tamper;
    const char* message;
  };
  const std::vector<Row> rows{
      {"bet signature", [](Tx& t) { std::get<Bet>(t).signature[5] ^= 1; }, "bet "},
      {"bet wager", [](Tx& t) { std::get<Bet>(t).wager += 1; }, "bet "},
      {"bet choice", [](Tx& t) { std::get<Bet>(t).choice ^= 1; }, "bet "},
      {"deposit signature", [](Tx& t) { std::get<Deposit>(t).signature[5] ^= 1; }, "deposit "},
      {"deposit amount", [](Tx& t) { std::get<Deposit>(t).amount += 1; }, "deposit "},
      {"settlement proof", [](Tx& t) { std::get<Settlement>(t).proof[5] ^= 1; }, "settlement "},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Tx tx = first(row.name[0] == 'b' ? TxKind::bet : row.name[0] == 'd' ? TxKind::deposit : TxKind::settlement);
    CHECK(audit_as_next(h.p, TxAdmitted{tx}) == std::nullopt);
    row.tamper(tx);
    auto why = audit_as_next(h.p, TxAdmitted{tx});
    REQUIRE(why.has_value());
    CHECK(why->find(row.message) == 0);
    CHECK(why->find("invalid signature") != std::string::npos);
  }

  // A settlement's witness is not signed and not in its TxAdmitted: the audit checks the one
  // in its batch's BatchProved, the one event that holds it.
  const Event stored = decode_event(static_cast<std::uint16_t>(EventType::tx_admitted),
                                   encode_event(TxAdmitted{first(TxKind::settlement)}));
  CHECK(std::get<Settlement>(std::get<TxAdmitted>(stored).tx).witness == settlement::Witness{});
  BatchProved bp = all_of<BatchProved>(h.events).at(0);
  CHECK(audit_as_next(h.p, bp) == std::nullopt);
  bp.witness.items[0].amount += 1;
  auto why = audit_as_next(h.p, bp);
  REQUIRE(why.has_value());
  CHECK(why->find("items do not match items_digest") != std::string::npos);
}

TEST_CASE("AuditRefusesFakeCryptoHistories") {
  // real_crypto = false leaves bets unsigned; replay accepts them but the audit must not.
  LedgerGenerator gen(fake_crypto(2, 2));
  auto events = gen.genesis();
  gen.bets(2, events);
  auto admitted = all_of<TxAdmitted>(events);
  auto bet = std::find_if(admitted.begin(), admitted.end(), [](auto& a) { return std::holds_alternative<Bet>(a.tx); });
  REQUIRE(bet != admitted.end());
  auto why = audit_as_next(gen.state(), *bet);
  REQUIRE(why.has_value());
  CHECK(why->find("invalid signature") != std::string::npos);
  auto resolved = all_of<BetResolved>(events).at(0);
  CHECK(audit_as_next(gen.state(), resolved).has_value());
}
