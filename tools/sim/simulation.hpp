#pragma once
// `croupier sim`: a deterministic simulation of a whole cluster (see the README). One seed
// drives the workload, the network, the faults and the order in which ready actors run; the
// nodes are the real ones (sim_cluster.hpp) on virtual time; the checks (sim_checks.hpp,
// sim_workload.hpp) run while it goes and at the end. The same options give the same digest.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/sim/agenda.hpp"
#include "tools/sim/cluster.hpp"
#include "tools/sim/workload.hpp"

namespace croupier::sim {

struct SimOptions {
  std::uint64_t seed = 1;
  std::size_t nodes = 5;
  std::uint64_t bets = 20'000;
  std::size_t clients = 0;  // 0: bets / 25, at least 4 and at most 64.
  // Fault rates; unset ones are drawn from the seed (swarm mode).
  std::optional<double> byzantine;       // Fraction of nodes with lying validators.
  std::optional<double> drop;            // Per message.
  std::optional<double> duplicate;       // Per message.
  std::optional<double> crash_rate;      // Crashes per virtual second, cluster-wide.
  std::optional<double> partition_rate;  // Partitions per virtual second.
  std::optional<double> pause_rate;      // Node pauses per virtual second.
  std::optional<double> forge_rate;      // Forged settlements per virtual second.
  // Faults stop then, or once every bet is sent if that comes first: long enough for many
  // crashes and partitions in a short run.
  std::uint64_t heal_after_ms = 60'000;
  // After the heal and the last bet sent, everything is decided within this; while clients
  // still send after the heal, some bet is sent or finalized within this.
  std::uint64_t liveness_ms = 120'000;
  int beta = 20;
  // Finished txs each node keeps in memory; a small window sends lookups to the log.
  std::size_t recent_txs = 100'000;
  double rival_rate = 0.04;              // A new bet gets a rival on the same nonce at another node.
  std::filesystem::path dir;             // Where the logs go; empty: a fresh temporary directory.
  Sabotage sabotage = Sabotage::none;    // Tests only.
  std::function<void(const std::string&)> progress;  // Lines for people, now and then.
};

// The fault mix in force (given or drawn).
struct FaultMix {
  double byzantine = 0, drop = 0, duplicate = 0, crash_rate = 0, partition_rate = 0, pause_rate = 0, forge_rate = 0;
  std::size_t byzantine_nodes = 0;
};

struct Violation {
  int invariant = 0;
  std::string detail;
  std::uint64_t step = 0;
  std::uint64_t virtual_ms = 0;
};

struct SimResult {
  SimOptions options;
  FaultMix faults;
  std::optional<Violation> violation;  // The first one found.
  std::string digest;                  // Hex; of the logs as the run left them.
  std::uint64_t steps = 0, virtual_ms = 0, heal_ms = 0;
  std::uint64_t final_at_heal = 0;  // Bets the clients saw final while the faults were on.
  std::uint64_t longest_quiet_ms = 0;  // While the faults were on: the longest time no bet became final.
  std::uint64_t all_sent_ms = 0;    // When the clients had sent every bet (0: never).
  // Bets final per virtual second while the faults were on (0 for a run healed at once).
  double fault_rate() const { return heal_ms ? static_cast<double>(final_at_heal) * 1000 / heal_ms : 0; }
  double wall_seconds = 0;
  std::uint64_t crashes = 0, crashes_after_commit = 0, crashes_mid_batch = 0, restarts = 0, partitions = 0,
                pauses = 0, forged = 0, forged_rejected = 0;
  std::uint64_t batches = 0, batches_confirmed = 0, txs_decided = 0;
  NetworkCounters network;
  WorkloadCounters workload;
  std::uint64_t acked_bets = 0;
  std::uint64_t cold_lookups = 0;  // The checks' reads of a forgotten tx from a node's log.
  // At the end, the most decided txs any running node holds in memory (the settling node and
  // the others alike: --recent-txs bounds them once all is settled). Undecided ones are not
  // counted: the mempool bounds those, and a rival bet may stay undecided for good.
  std::size_t most_decided_txs_held = 0;
};

SimResult run_simulation(const SimOptions& options);

// The command line that reproduces a run: the seed and every option given explicitly.
std::string reproduce_command(const SimOptions& options);
nlohmann::ordered_json to_json(const SimResult& r);
std::string to_text(const SimResult& r);

}  // namespace croupier::sim
