#pragma once
// The simulator's cluster: N real nodes (actors/node.hpp, every actor of a node) in one
// actor system on CAF's deterministic scheduler, each with its own event log in its own
// directory, reaching each other only through the simulated network's links. Node 0 is the
// one that sequences and settles batches; all of them validate, vote, commit and answer
// clients. A Byzantine node runs a lying validator (sim_byzantine.hpp) and is otherwise
// the real node; the checks leave it out.
//
// Crash: the node's actors are killed where they stand (actors/node.hpp crash()), then its
// log is closed; restart reopens the log, replays it, and spawns the actors anew.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/node.hpp"
#include "tools/sim/byzantine.hpp"
#include "tools/sim/network.hpp"

namespace croupier::sim {

// Components broken on purpose, so that the tests can show each check failing.
enum class Sabotage : std::uint8_t {
  none,
  node_ignores_peers,     // Node 1 never records other nodes' txs (check 1: acknowledged bets).
  validators_agree,       // Every validator says yes to every tx (check 2: agreement).
  validators_skip_proof,  // Validators prefer settlements without checking the proof (check 3).
  state_outside_log,      // Node 1's state is changed without an event (check 4: replay).
  never_heal,             // A partition that never heals (check 5: liveness).
  mempool_skips_dedup,    // Resent txs are taken for new ones (check 6: deduplication).
};

struct ClusterOptions {
  std::filesystem::path dir;       // Node i's log: dir/node-i.
  std::size_t nodes = 5;
  std::size_t byzantine = 0;       // The last `byzantine` nodes lie (never node 0).
  int beta = 20;
  std::size_t recent_txs = 100'000;  // NodeOptions::recent_txs.
  std::uint64_t seed = 1;
  std::uint64_t start_ms = 1'767'225'600'000;  // The virtual clock's zero (2026-01-01).
  Sabotage sabotage = Sabotage::none;
};

class Cluster {
 public:
  Cluster(caf::actor_system& system, caf::scheduler::test_coordinator& scheduler, std::shared_ptr<SimNetwork> network,
          ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  std::size_t size() const { return nodes_.size(); }
  bool up(std::size_t i) const { return static_cast<bool>(nodes_[i].node); }
  bool honest(std::size_t i) const { return !nodes_[i].lie; }
  std::optional<Lie> lie(std::size_t i) const { return nodes_[i].lie; }
  actors::Node& node(std::size_t i) { return *nodes_[i].node; }
  const actors::NodeSecrets& keys() const { return keys_; }
  std::uint64_t now_ms() const;  // Unix ms on the virtual clock.
  // Runs `reader` on node i's durable state, as the API reads it; false (reader not run) when
  // the node is down or its journal failed.
  bool read(std::size_t i, const std::function<void(const Projections&)>& reader);
  // What node i says of a tx, as GET /v1/bets or /v1/deposits would: from its memory, else
  // (a tx it has forgotten, or one finished before a restart) from its log. `reachable`
  // false when the node is down or its journal failed.
  struct Lookup {
    bool reachable = false;
    std::optional<TxRecord> record;
  };
  Lookup find(std::size_t i, const Hash32& tx_id, const TxKey& key);

  // Starts (or restarts) node i from its log; throws what the Node throws (a log that does
  // not replay cleanly). The caller runs the jobs.
  void start(std::size_t i);
  // Kills node i's actors; the caller runs the jobs, then calls close(i).
  void crash(std::size_t i);
  // Closes a crashed node's log once its actors are gone; false while they are not yet.
  bool close(std::size_t i);
  bool closing(std::size_t i) const { return static_cast<bool>(nodes_[i].dying); }
  // Stops every node that is up (as on SIGTERM); the caller runs the jobs after.
  void stop_all();
  // Destroys every Node (after stop_all and the jobs), closing the logs.
  void release();

  std::uint64_t starts(std::size_t i) const { return nodes_[i].starts; }
  // Records find() read from a node's log because its memory had forgotten them.
  std::uint64_t cold_lookups() const { return cold_lookups_; }
  // The reconciliation alarms honest nodes raised ("node i: ..."): their books and their
  // ledger disagreed.
  const std::vector<std::string>& reconciliation_alarms() const { return alarms_; }

 private:
  struct SimNode {
    std::unique_ptr<actors::Node> node;
    std::unique_ptr<actors::Node> dying;  // Crashed, actors not yet gone.
    std::weak_ptr<const eventlog::EventLog> dying_log;
    std::optional<Lie> lie;
    std::vector<caf::actor> validator_links, syncer_links;  // To every other node.
    std::uint64_t starts = 0;
  };
  actors::NodeOptions options_for(std::size_t i);

  caf::actor_system& system_;
  caf::scheduler::test_coordinator& scheduler_;
  std::shared_ptr<SimNetwork> network_;
  ClusterOptions options_;
  actors::NodeSecrets keys_;  // Shared by every node, but for node_key: each its own (options_for).
  std::vector<SimNode> nodes_;
  std::uint64_t cold_lookups_ = 0;
  std::vector<std::string> alarms_;
};

}  // namespace croupier::sim
