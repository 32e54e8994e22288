// croupier sim: the same seed gives the same digest (in one process and across two), a sweep
// of seeds with swarm faults finds nothing wrong, and every check fails when the component
// it guards is broken on purpose.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "tools/sim/simulation.hpp"

using namespace croupier;
using namespace croupier::sim;

namespace {

// No faults at all unless a test adds them.
SimOptions calm(std::uint64_t seed, std::uint64_t bets) {
  SimOptions o;
  o.seed = seed;
  o.bets = bets;
  o.byzantine = 0;
  o.drop = 0;
  o.duplicate = 0;
  o.crash_rate = 0;
  o.partition_rate = 0;
  o.pause_rate = 0;
  o.forge_rate = 0;
  o.liveness_ms = 60'000;
  return o;
}

std::string describe(const SimResult& r) { return to_text(r); }

void check_sweep(std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.bets = 60;
    o.liveness_ms = 120'000;
    auto r = run_simulation(o);
    INFO(describe(r));
    CHECK_FALSE(r.violation.has_value());
    CHECK(r.workload.bets_sent == 60);
    CHECK(r.acked_bets > 0);
  }
}

}  // namespace

TEST_CASE("TheSameSeedGivesTheSameDigestAndAnotherSeedAnother") {
  auto o = calm(7, 40);
  o.crash_rate = 0.3;  // Crashes and restarts too: they must replay the same way.
  o.drop = 0.05;
  o.byzantine = 0.2;
  auto a = run_simulation(o), b = run_simulation(o);
  INFO(describe(a));
  REQUIRE_FALSE(a.violation.has_value());
  CHECK(a.digest == b.digest);
  CHECK(a.steps == b.steps);
  CHECK(a.virtual_ms == b.virtual_ms);
  CHECK(a.network.sent == b.network.sent);
  o.seed = 8;
  auto c = run_simulation(o);
  CHECK(c.digest != a.digest);
}

TEST_CASE("TheSameSeedGivesTheSameDigestInTwoProcesses") {
  const std::vector<std::string> argv{CROUPIER_BINARY, "sim", "--seed", "11", "--bets", "30", "--json"};
  auto first = test::run_process(argv, std::chrono::minutes(3));
  auto second = test::run_process(argv, std::chrono::minutes(3));
  INFO(test::describe(first));
  REQUIRE(first.exit_code == 0);
  REQUIRE(second.exit_code == 0);
  auto a = nlohmann::json::parse(first.out), b = nlohmann::json::parse(second.out);
  CHECK(a["ok"] == true);
  CHECK(a["digest"].get<std::string>().size() == 64);
  CHECK(a["digest"] == b["digest"]);
  CHECK(a["steps"] == b["steps"]);
  // And the same as this process gets: the digest does not depend on the process.
  SimOptions o;
  o.seed = 11;
  o.bets = 30;
  CHECK(run_simulation(o).digest == a["digest"].get<std::string>());
}

// The CI sweep: seeds 1..20, each drawing its own fault mix (swarm mode), in four parts so
// that CTest can run them side by side.
TEST_CASE("SweepOfSeeds1To5WithSwarmFaultsFindsNothing") { check_sweep(1, 5); }
TEST_CASE("SweepOfSeeds6To10WithSwarmFaultsFindsNothing") { check_sweep(6, 10); }
TEST_CASE("SweepOfSeeds11To15WithSwarmFaultsFindsNothing") { check_sweep(11, 15); }
TEST_CASE("SweepOfSeeds16To20WithSwarmFaultsFindsNothing") { check_sweep(16, 20); }

// Seeds a sweep of 200 (1000..1199, 300 bets) found failing, each a regression run now:
// 1093, two nodes accepted rival bets (a restarted validator voted against its own node's
// decision); 1076, 1090, acknowledged bets unknown at a node; 1110, rival bets accepted.
TEST_CASE("SeedsAWiderSweepFoundFailingPassNow") {
  for (std::uint64_t seed : {1076, 1090, 1093, 1110}) {
    SimOptions o;
    o.seed = seed;
    o.bets = 300;
    auto r = run_simulation(o);
    INFO(describe(r));
    CHECK_FALSE(r.violation.has_value());
  }
}

TEST_CASE("SeedsThatFailedWithATenTxWindowPassNow") {
  // A node's syncer took a peer's block holding a tx it had decided and forgotten for an
  // unknown one, and stopped pulling that peer there.
  for (std::uint64_t seed : {4017, 4024}) {
    SimOptions o;
    o.seed = seed;
    o.bets = 200;
    o.recent_txs = 10;
    auto r = run_simulation(o);
    INFO(describe(r));
    CHECK_FALSE(r.violation.has_value());
  }
}

TEST_CASE("EveryKindOfFaultIsInjectedAndSurvived") {
  auto o = calm(3, 80);
  o.byzantine = 0.2;
  o.drop = 0.03;
  o.duplicate = 0.03;
  o.crash_rate = 0.5;
  o.partition_rate = 0.1;
  o.pause_rate = 0.1;
  o.forge_rate = 1;
  o.rival_rate = 0.2;  // Rival bets on one nonce at two nodes, by design rather than by luck.
  auto r = run_simulation(o);
  INFO(describe(r));
  CHECK_FALSE(r.violation.has_value());
  CHECK(r.faults.byzantine_nodes == 1);
  CHECK(r.crashes > 0);
  CHECK(r.crashes_after_commit > 0);
  CHECK(r.crashes_mid_batch > 0);
  CHECK(r.restarts > 0);
  CHECK(r.partitions > 0);
  CHECK(r.pauses > 0);
  CHECK(r.forged > 0);
  CHECK(r.forged_rejected > 0);
  CHECK(r.network.dropped > 0);
  CHECK(r.network.duplicated > 0);
  CHECK(r.workload.rivals_sent > 0);
  CHECK(r.workload.resends_checked > 0);
  CHECK(r.batches_confirmed == r.batches);
  CHECK(r.batches > 0);
}

TEST_CASE("NodesThatRememberOnlyTwentyFinishedTxsPassEveryCheckUnderEveryFault") {
  // With a window of 20 finished txs, most of a node's history is forgotten while it runs and
  // after each restart: dedup, resends, agreement and acknowledged bets are all answered from
  // the logs, and every check still holds.
  auto o = calm(5, 200);
  o.recent_txs = 20;
  o.byzantine = 0.2;
  o.drop = 0.02;
  o.duplicate = 0.02;
  o.crash_rate = 0.3;
  o.partition_rate = 0.05;
  o.rival_rate = 0.1;
  auto r = run_simulation(o);
  INFO(describe(r));
  CHECK_FALSE(r.violation.has_value());
  CHECK(r.restarts > 0);
  CHECK(r.workload.resends_checked > 0);
  CHECK(r.cold_lookups > 0);
  CHECK(r.batches_confirmed == r.batches);
  // Every node, the four that do not settle included, holds the window and nothing more
  // once all is decided and settled.
  CHECK(r.most_decided_txs_held <= 20);
  CHECK(r.most_decided_txs_held > 0);
  CHECK(reproduce_command(o).find("--recent-txs 20") != std::string::npos);
}

TEST_CASE("SixPercentLossAndAByzantineValidatorCostLatencyNotLiveness") {
  // Fifteen virtual minutes of 6% message loss with one lying validator among five (the other
  // faults off): bets keep finalizing all along, and the run passes every check, liveness
  // included. Before polls re-asked a lost answer, this collapsed to a handful of bets.
  auto o = calm(11, 2000);
  o.clients = 4;
  o.byzantine = 0.2;
  o.drop = 0.06;
  o.heal_after_ms = 15 * 60'000;
  o.liveness_ms = 120'000;
  auto lossy = run_simulation(o);
  INFO(describe(lossy));
  CHECK_FALSE(lossy.violation.has_value());
  CHECK(lossy.heal_ms == o.heal_after_ms);  // The faults lasted the whole 15 minutes.
  CHECK(lossy.longest_quiet_ms < 30'000);    // Never half a minute without a bet final.
  o.drop = 0;
  auto clean = run_simulation(o);
  INFO(describe(clean));
  CHECK_FALSE(clean.violation.has_value());
  const double ratio = lossy.fault_rate() / clean.fault_rate();
  MESSAGE("bets final per virtual second during the faults: " << lossy.fault_rate() << " with 6% loss, "
                                                              << clean.fault_rate() << " without (" << ratio << ")");
  CHECK(ratio > 0.35);
}

// --- each check fails when its component is broken ---------------------------------------

namespace {

SimResult sabotaged(Sabotage s, std::uint64_t bets = 40) {
  auto o = calm(5, bets);
  o.sabotage = s;
  return run_simulation(o);
}

}  // namespace

TEST_CASE("Check1CatchesANodeThatNeverRecordsOtherNodesTxs") {
  auto r = sabotaged(Sabotage::node_ignores_peers);
  INFO(describe(r));
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->invariant == 1);
  CHECK(r.violation->detail.find("node 1") != std::string::npos);
  CHECK(reproduce_command(r.options).find("croupier sim --seed 5") == 0);
}

TEST_CASE("Check2CatchesValidatorsThatSayYesToEveryTx") {
  auto o = calm(5, 60);
  o.rival_rate = 0.3;
  o.sabotage = Sabotage::validators_agree;
  auto r = run_simulation(o);
  INFO(describe(r));
  REQUIRE(r.workload.rivals_sent > 0);  // Rival bets on one nonce: both get accepted somewhere.
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->invariant == 2);
}

TEST_CASE("Check3CatchesValidatorsThatPreferSettlementsWithoutCheckingTheProof") {
  auto o = calm(5, 20);
  o.forge_rate = 1;
  o.sabotage = Sabotage::validators_skip_proof;
  auto r = run_simulation(o);
  INFO(describe(r));
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->invariant == 3);
  CHECK(r.violation->detail.find("forged settlement") != std::string::npos);
  // The same forgeries are refused by the validators as built.
  o.sabotage = Sabotage::none;
  auto honest = run_simulation(o);
  INFO(describe(honest));
  CHECK_FALSE(honest.violation.has_value());
  CHECK(honest.forged_rejected > 0);
}

TEST_CASE("Check4CatchesStateChangedWithoutAnEvent") {
  auto r = sabotaged(Sabotage::state_outside_log);
  INFO(describe(r));
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->invariant == 4);
  CHECK(r.violation->detail.find("node 1") != std::string::npos);
}

TEST_CASE("Check5CatchesANetworkThatNeverHeals") {
  auto o = calm(5, 10);
  o.liveness_ms = 20'000;
  o.sabotage = Sabotage::never_heal;
  auto r = run_simulation(o);
  INFO(describe(r));
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->invariant == 5);
}

TEST_CASE("Check6CatchesAMempoolThatTakesAResentTxForANewOne") {
  auto r = sabotaged(Sabotage::mempool_skips_dedup, 60);
  INFO(describe(r));
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->invariant == 6);
}

TEST_CASE("SimCommandPrintsTheViolationAndNothingElseForBadUsage") {
  auto bad = test::run_process({CROUPIER_BINARY, "sim", "--seed", "1", "--drop", "2"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--drop must be a number from 0 to 1") != std::string::npos);
  auto both = test::run_process({CROUPIER_BINARY, "sim", "--seed", "1", "--seeds", "1..2"});
  CHECK(both.exit_code == 2);
  auto range = test::run_process({CROUPIER_BINARY, "sim", "--seeds", "5..2"});
  CHECK(range.exit_code == 2);
  CHECK(range.err.find("A <= B") != std::string::npos);
  auto sweep = test::run_process({CROUPIER_BINARY, "sim", "--seeds", "1..2", "--bets", "10"}, std::chrono::minutes(3));
  INFO(test::describe(sweep));
  CHECK(sweep.exit_code == 0);
  CHECK(sweep.out.find("sweep of seeds 1..2: 2 ok, 0 failing") != std::string::npos);
  CHECK(sweep.err.find("sim sweep: seed 2 ok (2/2") != std::string::npos);
}
