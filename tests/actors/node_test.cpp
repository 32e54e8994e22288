// The whole node under CAF's deterministic test coordinator: a bet goes from submission to
// a confirmed settlement batch; resends are idempotent; refusals create nothing; a restart
// from the log resumes every unfinished piece of work; the live state equals a replay.
#include <doctest/doctest.h>

#include "actors/api_json.hpp"
#include "actors/syncer.hpp"
#include "eventlog/replay.hpp"
#include "node_world.hpp"

using namespace croupier;
using actors::SubmitOutcome;
namespace api = actors::api;
using Kind = actors::SubmitOutcome::Kind;

namespace {

BatchStatus batch_status_of_bet(test::NodeWorld& w, const Id128& bet_id) {
  return w.with_state([&](const Projections& p) {
    auto& r = p.txs.at(p.bets.at(bet_id));
    if (!r.batch_id) return BatchStatus::failed;
    return p.batches.at(*r.batch_id).lifecycle.status();
  });
}

eventlog::ReplayResult replay_of(const std::filesystem::path& dir) {
  eventlog::Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.audit = true;
  auto log = eventlog::EventLog::open(o);
  eventlog::ReplayOptions ro;
  ro.from = 0;
  ro.verify = true;
  ro.threads = 1;
  return eventlog::replay(*log, ro);
}

}  // namespace

TEST_CASE("ABetGoesFromSubmissionToAConfirmedBatch") {
  test::NodeWorld w;
  w.start();
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  auto d = w.submit(w.deposit(player.public_key, 1000));
  CHECK(d.kind == Kind::admitted);
  CHECK(d.final);
  Bet b = w.bet(player, 1, 100);
  auto r = w.submit(b);
  REQUIRE(r.kind == Kind::admitted);
  CHECK(r.final);
  CHECK(r.tx_id == tx_id(b));
  w.with_state([&](const Projections& p) {
    auto& rec = p.txs.at(r.tx_id);
    CHECK(rec.status == TxStatus::accepted);
    CHECK(rec.block_height > 0);
    CHECK(rec.outcome.has_value());
    return 0;
  });
  // The proof the API shows comes from the committer's recent outcomes: it verifies under the
  // house key for alpha = tx_id and its output is the one that decided the outcome.
  auto proof = w.node->bet_proof(r.tx_id, b.bet_id);
  REQUIRE(proof);
  auto beta = vrf::verify(w.keys.house_key.public_key, ByteView{r.tx_id.data(), r.tx_id.size()}, proof->proof);
  REQUIRE(beta);
  CHECK(*beta == proof->output);
  CHECK(resolve_game(Game::coinflip, b.choice, b.wager, *beta) ==
        w.with_state([&](const Projections& p) { return *p.txs.at(r.tx_id).outcome; }));
  // The reconciler reported once at start (and found nothing wrong since).
  CHECK(w.with_state([](const Projections& p) {
    return p.event_counts[static_cast<std::size_t>(EventType::reconciliation_report) - 1];
  }) == 1);
  auto t_final = w.scheduler->clock().now();
  REQUIRE(w.run_until([&] { return batch_status_of_bet(w, b.bet_id) == BatchStatus::confirmed; }));
  MESSAGE("lag ms: " << std::chrono::duration_cast<std::chrono::milliseconds>(w.scheduler->clock().now() - t_final).count());
  auto height = w.with_state([](const Projections& p) { return p.block_height; });
  auto block = w.node->block(height);
  REQUIRE(block);
  CHECK(block->height == height);
  CHECK_FALSE(w.node->block(height + 1));
  w.stop();
  // After a restart the recent outcomes are gone: the same proof and output, from the log.
  w.start();
  auto from_log = w.node->bet_proof(r.tx_id, b.bet_id);
  REQUIRE(from_log);
  CHECK(from_log->proof == proof->proof);
  CHECK(from_log->output == proof->output);
  w.stop();
  auto replayed = replay_of(w.dir.path());
  CHECK(replayed.clean());
  CHECK(replayed.projections.accounts.find(player.public_key)->balance ==
        1000 - 100 + replayed.projections.txs.at(r.tx_id).outcome->payout);
}

TEST_CASE("AResendIsAnsweredFromTheOriginalAndAChangedResendIsAConflict") {
  test::NodeWorld w;
  w.start();
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  w.submit(w.deposit(player.public_key, 1000));
  Bet b = w.bet(player, 1, 100);
  auto first = w.submit(b);
  auto again = w.submit(b);
  CHECK(again.kind == Kind::duplicate);
  CHECK(again.final);
  CHECK(again.tx_id == first.tx_id);
  Bet changed = b;
  changed.wager = 101;
  sign_tx(changed, player);
  auto conflict = w.submit(changed);
  CHECK(conflict.kind == Kind::conflict);
  CHECK(conflict.tx_id == first.tx_id);
  auto admitted = w.with_state([](const Projections& p) { return p.event_counts[1]; });
  CHECK(admitted == 2);  // The deposit and the bet: nothing for the resend or the conflict.
}

TEST_CASE("RefusedTransactionsAreAnsweredWithTheirCodeAndNeverReachTheLog") {
  test::NodeWorld w;
  w.start();
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  w.submit(w.deposit(player.public_key, 100));
  auto head = w.node->state()->log_head.load();
  auto wrong_nonce = w.submit(w.bet(player, 5, 10));
  CHECK(wrong_nonce.kind == Kind::refused);
  CHECK(wrong_nonce.code == "wrong_nonce");
  auto too_much = w.submit(w.bet(player, 1, 1000));
  CHECK(too_much.code == "insufficient_funds");
  Bet forged = w.bet(player, 1, 10);
  forged.wager = 20;
  CHECK(w.submit(forged).code == "bad_signature");
  KeyPair stranger = keypair_from_seed(test::NodeWorld::seed_of(42));
  Deposit not_operator{w.fresh_id(), player.public_key, 5, stranger.public_key, {}};
  sign_tx(not_operator, stranger);
  CHECK(w.submit(not_operator).code == "not_operator");
  CHECK(w.node->state()->log_head.load() == head);
}

TEST_CASE("DepositsUpToTheLargestTotalAreFinalAndEveryLaterTxStillDecides") {
  // Once the deposits total is full, a deposit whose credit would overflow it is refused at
  // admission (amount_overflow), not admitted and then stuck when its block cannot apply
  // (which used to stop every later block); the bets keep finalizing, also after a restart.
  test::NodeWorld w;
  w.start();
  KeyPair whale = keypair_from_seed(test::NodeWorld::seed_of(9)), player = keypair_from_seed(test::NodeWorld::seed_of(10));
  REQUIRE(w.submit(w.deposit(player.public_key, 1000)).final);
  auto huge = w.submit(w.deposit(whale.public_key, UINT64_MAX - 1000));
  REQUIRE(huge.kind == Kind::admitted);
  CHECK(huge.final);
  auto more = w.submit(w.deposit(player.public_key, 1));
  CHECK(more.kind == Kind::refused);
  CHECK(more.code == "amount_overflow");
  CHECK(more.message.find("deposits total") != std::string::npos);
  // A win of the whale's (0.98 x 2000 on coinflip) could overflow its balance: refused too.
  CHECK(w.submit(w.bet(whale, 1, 2000)).code == "amount_overflow");
  CHECK(w.submit(w.bet(whale, 1, 1000)).final);  // 980 fits.
  auto bet = w.submit(w.bet(player, 1, 100));
  CHECK(bet.kind == Kind::admitted);
  CHECK(bet.final);
  w.stop();
  w.start();
  CHECK(w.submit(w.deposit(player.public_key, 1)).code == "amount_overflow");
  CHECK(w.submit(w.bet(player, 2, 10)).final);
  CHECK(w.node->node_metrics().mempool_size.load() == 0);  // Nothing admitted is left undecided.
  w.stop();
  CHECK(replay_of(w.dir.path()).clean());
}

TEST_CASE("AFullMempoolAnswersBusy") {
  test::NodeWorld w;
  auto o = w.options();
  o.mempool_max = 1;
  w.start(o);
  KeyPair a = keypair_from_seed(test::NodeWorld::seed_of(9)), b = keypair_from_seed(test::NodeWorld::seed_of(10));
  // Two deposits submitted together: the first is admitted and pending, the second finds
  // the mempool full.
  std::optional<SubmitOutcome> first, second;
  w.node->submit(w.deposit(a.public_key, 5), std::chrono::milliseconds(0), [&](SubmitOutcome x) { first = x; });
  w.node->submit(w.deposit(b.public_key, 5), std::chrono::milliseconds(0), [&](SubmitOutcome x) { second = x; });
  w.run();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->kind == Kind::admitted);
  CHECK(second->kind == Kind::busy);
  CHECK(second->retry_after_ms > 0);
}

TEST_CASE("ClientsWaitingAtShutdownAreAnsweredPending") {
  test::NodeWorld w;
  auto o = w.options();
  o.block_interval = std::chrono::seconds(60);  // Decided txs wait a minute for their block.
  w.start(o);
  KeyPair a = keypair_from_seed(test::NodeWorld::seed_of(9));
  std::optional<SubmitOutcome> out;
  w.node->submit(w.deposit(a.public_key, 5), std::chrono::milliseconds(30000), [&](SubmitOutcome x) { out = x; });
  w.run();
  CHECK_FALSE(out);
  w.stop();
  REQUIRE(out);
  CHECK(out->kind == Kind::admitted);
  CHECK_FALSE(out->final);
}

TEST_CASE("ARestartResumesUndecidedTxsAndUnfinishedBatches") {
  test::NodeWorld w;
  auto o = w.options();
  o.block_interval = std::chrono::seconds(60);
  w.start(o);
  KeyPair a = keypair_from_seed(test::NodeWorld::seed_of(9));
  auto dep = w.submit(w.deposit(a.public_key, 500), std::chrono::milliseconds(0));
  REQUIRE(dep.kind == Kind::admitted);
  CHECK_FALSE(dep.final);
  w.stop();  // The deposit is admitted, decided in memory, but not in a block.
  w.start();  // Normal block interval: the respawned voter decides it again.
  CHECK(w.node->recovered_undecided() == 1);
  REQUIRE(w.run_until([&] {
    return w.with_state([&](const Projections& p) {
      auto& r = p.txs.at(dep.tx_id);
      return r.block_height > 0 && r.batch_id && p.batches.at(*r.batch_id).lifecycle.status() == BatchStatus::confirmed;
    });
  }));
  auto live = w.with_state([](const Projections& p) { return encode_snapshot(p); });
  w.stop();
  auto replayed = replay_of(w.dir.path());
  CHECK(replayed.clean());
  // NodeStarted of each start counts in the projections; the replay saw both starts too.
  CHECK(encode_snapshot(replayed.projections) == live);
}

TEST_CASE("ManyLocalValidatorsDecideWithScaledParameters") {
  test::NodeWorld w;
  auto o = w.options();
  o.local_validators = 5;
  w.start(o);
  KeyPair a = keypair_from_seed(test::NodeWorld::seed_of(9));
  w.submit(w.deposit(a.public_key, 1000));
  auto r = w.submit(w.bet(a, 1, 10));
  CHECK(r.final);
  CHECK(w.node->node_metrics().consensus_polls.load() >= 2 * 20);  // beta = 20 polls per tx.
}

// --- hot and cold state ------------------------------------------------------------------

namespace {

// The API's body for a bet, from memory or (forgotten there) from the log, as the gateway
// builds it.
std::string bet_body(test::NodeWorld& w, const Id128& bet_id) {
  std::optional<api::TxView> view;
  w.node->read([&](const Projections& p) { view = api::bet_view(p, bet_id); });
  if (!view) {
    auto cold = w.node->cold_tx(TxKind::bet, bet_id);
    if (!cold) return "unknown";
    view = api::TxView{cold->tx_id, cold->record, w.keys.house_key.public_key, cold->batch_status};
  }
  if (view->record.batch_id && !view->batch_status) view->batch_status = w.node->cold_batch_status(*view->record.batch_id);
  std::optional<actors::BetProof> proof;
  if (api::needs_bet_proof(*view)) proof = w.node->bet_proof(view->tx_id, bet_id);
  return api::tx_reply(*view, proof, false).body.dump();
}

}  // namespace

TEST_CASE("AForgottenBetIsAnsweredFromTheLogExactlyAsFromMemory") {
  // A window of 3 finished txs: the early bets leave memory as later ones finish. Each is
  // answered, resent and conflicted exactly as while it was in memory, also after a restart.
  test::NodeWorld w;
  auto o = w.options();
  o.recent_txs = 3;
  o.batch_max = 2;
  o.reconcile_interval = std::chrono::seconds(1);
  w.start(o);
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  REQUIRE(w.submit(w.deposit(player.public_key, 100'000)).final);
  std::vector<Bet> bets;
  std::vector<std::string> hot_bodies;
  for (std::uint64_t n = 1; n <= 12; ++n) {
    bets.push_back(w.bet(player, n, 10 + n));
    REQUIRE(w.submit(bets.back()).final);
    REQUIRE(w.run_until([&] { return batch_status_of_bet(w, bets.back().bet_id) == BatchStatus::confirmed; }));
    hot_bodies.push_back(bet_body(w, bets.back().bet_id));  // In memory still: the newest.
  }
  const std::size_t in_memory = w.with_state([](const Projections& p) { return p.txs.size(); });
  CHECK(in_memory <= 3 + 4);  // The window, and at most a batch still open with its settlement.
  CHECK_FALSE(w.with_state([&](const Projections& p) { return p.bets.contains(bets[0].bet_id); }));
  auto check_answers = [&] {
    for (std::size_t i = 0; i < bets.size(); ++i) {
      CAPTURE(i);
      CHECK(bet_body(w, bets[i].bet_id) == hot_bodies[i]);
    }
    // A resend of the first is a duplicate, final at once; a changed one is a conflict.
    auto again = w.submit(bets[0]);
    CHECK(again.kind == Kind::duplicate);
    CHECK(again.final);
    CHECK(again.tx_id == tx_id(bets[0]));
    Bet changed = bets[0];
    changed.wager += 1;
    sign_tx(changed, player);
    auto conflict = w.submit(changed);
    CHECK(conflict.kind == Kind::conflict);
    CHECK(conflict.tx_id == tx_id(bets[0]));
    // Its batch, from the log too.
    const auto first_batch = *w.node->cold_tx(TxKind::bet, bets[0].bet_id)->record.batch_id;
    auto batch = w.node->cold_batch(first_batch);
    REQUIRE(batch);
    CHECK(batch->lifecycle.status() == BatchStatus::confirmed);
    CHECK(batch->items.size() >= 1);
    REQUIRE(batch->inputs);
    // A peer pulling this node's blocks gets every bet and deposit, forgotten ones from the log.
    auto chunk = actors::read_blocks(*w.node->state(), w.node->log(), 1, 1000);
    std::set<Hash32> served;
    for (const auto& block : chunk.blocks)
      for (const auto& tx : block) served.insert(tx_id(tx));
    CHECK(served.size() == 1 + bets.size());
    for (const auto& b : bets) CHECK(served.contains(tx_id(b)));
  };
  check_answers();
  // The reconciler compares what memory holds: a confirmed batch whose settlement tx is
  // forgotten is not mismatched, nor a settlement whose batch is forgotten orphaned.
  w.run_until([] { return false; }, std::chrono::seconds(3));
  CHECK(w.node->node_metrics().reconciliations.load() >= 2);
  CHECK(w.node->node_metrics().reconcile_alarms.load() == 0);
  w.stop();
  auto o2 = w.options();
  o2.recent_txs = 3;
  w.start(o2);
  check_answers();
  // Nothing was admitted for the resends; the log replays clean.
  w.stop();
  auto replayed = replay_of(w.dir.path());
  CHECK(replayed.clean());
  CHECK(replayed.projections.event_counts[static_cast<std::size_t>(EventType::tx_admitted) - 1] ==
        1 + bets.size() + replayed.projections.event_counts[static_cast<std::size_t>(EventType::batch_proved) - 1]);
}
