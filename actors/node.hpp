#pragma once
// The node: opens the event log, rebuilds its state by replay, spawns every actor and
// resumes the work the log says was under way; then serves NodeApi (for the HTTP gateway).
//
// Start (recovery): open the log (verifies the tail's chain, clears stale readers); replay
// from the newest snapshot (eventlog/replay.hpp: the whole chain, every rule) and refuse to
// start on any problem; check that the key files are the keys the log was started with;
// append NodeStarted; spawn the actors; respawn a voter for every admitted, undecided tx;
// give every Created batch to the prover; the reconciler's first run (at once) hands every
// Proved or Submitted batch to the submitter and records what the ledger already settled.
// Committed items not yet in a batch are picked up by the sequencer.
//
// Stop: refuse new transactions, answer every waiting client (pending), stop the actors,
// wait for them, close the log. Everything acknowledged was durable before its answer.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

#include "actors/journal.hpp"
#include "actors/node_api.hpp"
#include "actors/node_state.hpp"
#include "actors/peer_table.hpp"
#include "actors/signed_blocks.hpp"
#include "actors/waiters.hpp"
#include "domain/retry.hpp"
#include "domain/snowball.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::actors {

struct NodeOptions {
  std::filesystem::path data = "croupier-data";
  NodeSecrets keys;
  std::string version = "0";
  Id128 node_id_if_new{};                       // For a new log.
  bool durable = true;                          // false only for simulations and benchmarks.
  std::size_t local_validators = 1;             // Validator actors (consensus parameters scale).
  std::chrono::milliseconds block_interval{0};
  std::size_t block_max = 1000;
  std::chrono::milliseconds batch_interval{100};
  std::size_t batch_max = 1000;
  std::uint32_t submit_attempts = 5;
  RetryPolicy retry{5, std::chrono::milliseconds(200), std::chrono::milliseconds(10'000), 0.5};
  std::chrono::milliseconds submit_timeout{5000};
  std::chrono::milliseconds reconcile_interval{10'000};
  std::chrono::milliseconds round_timeout{1000};  // A voter's poll.
  std::chrono::milliseconds round_interval{0};    // Between a voter's successful polls.
  std::size_t mempool_max = 100'000;
  std::size_t max_waiters = 100'000;
  std::uint64_t seed = 1;                       // The node's PRNG (sampling, ids, jitter).
  std::uint64_t snapshot_every = 100'000;       // Events between snapshots; 0 = never.
  std::size_t recent_txs = kRecentTxs;          // Finished txs kept in memory (projections.hpp).
  std::function<std::uint64_t()> clock_ms;      // Unix ms for records, blocks and batch ids.
  std::string config_json = "{}";               // The effective configuration, for the shell.
  std::shared_ptr<PeerTable> peers;              // A cluster node's links (status, peers); null alone.
  bool detached_journal = true;                 // false under the deterministic scheduler.
  std::function<void(const std::string&)> log_line;      // Lines for people (alarms, failures).
  std::function<void(const std::string&)> on_failure;    // The journal stopped: stop the node.
  std::function<void(std::uint64_t, std::uint64_t)> replay_progress;  // (done, total) at start.

  // A node of a cluster (today: the simulator's; see the README's design). The node's own
  // validators are asked with the others' (k scales to all of them), every tx another node
  // asks about or serves is learned here, and the syncer pulls the blocks this node missed.
  std::vector<caf::actor> peer_validators;
  std::vector<caf::actor> peer_syncers;
  std::chrono::milliseconds sync_interval{1000};
  bool settles = true;                               // Runs the sequencer (one node per cluster).
  std::optional<snowball::Parameters> consensus;     // Default: parameters_for(validators).
  // Replaces the local validators (the simulator's Byzantine ones).
  std::function<caf::actor(caf::actor_system&, const std::shared_ptr<NodeState>&)> make_validator;
  // Puts an actor in front of the mempool: the node and its actors send what is meant for
  // the mempool to the actor this returns, which links itself to the mempool so that both
  // stop together (the simulator's broken-on-purpose mempools, tools/sim/sabotage.hpp).
  std::function<caf::actor(caf::actor_system&, const caf::actor& mempool)> front_mempool;
};

class Node final : public NodeApi {
 public:
  // Recovers and starts; throws std::runtime_error with a message for people when the log
  // cannot be opened, is damaged, or does not match the keys.
  Node(caf::actor_system& system, NodeOptions options);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // See the header comment. Idempotent. In a real node (detached journal) it waits for
  // every actor to finish; under the deterministic scheduler the caller runs the jobs.
  void stop();

  // A crash, for the simulator: every actor is killed at once; nothing is flushed, no client
  // is answered, and whatever the journal had not committed is lost, as if the process had
  // died. The Node lets go of its actor handles (a killed actor keeps what it captured until
  // its last handle goes, the log among it). The caller runs the jobs (deterministic
  // scheduler only) and destroys the Node once its log is no one else's (log_handle()).
  void crash();

  // NodeApi.
  void submit(Tx tx, std::chrono::milliseconds wait, std::function<void(SubmitOutcome)> done) override;
  void read(const std::function<void(const Projections&)>& reader) const override;
  void metrics(std::function<void(std::string)> done) override;
  NodeHealth health() const override;
  std::optional<BlockCommitted> block(std::uint64_t height) const override;
  std::shared_ptr<const receipt::SignedBlock> signed_block(std::uint64_t height) const override;
  PublicKey node_key() const override { return options_.keys.node_key.public_key; }
  std::optional<BetProof> bet_proof(const Hash32& tx_id, const Id128& bet_id) const override;
  std::optional<ColdTx> cold_tx(TxKind kind, const Id128& id) const override;
  std::optional<BatchRecord> cold_batch(const Id128& batch_id) const override;
  std::optional<BatchStatus> cold_batch_status(const Id128& batch_id) const override;
  EventPage events_after(std::uint64_t after, EventTypeMask types, std::size_t max_events,
                         std::size_t max_records) const override;

  struct Actors {
    journal_actor journal;
    waiters_actor waiters;
    caf::actor mempool, router, committer, sequencer, prover, submitter, reconciler, inspector, syncer;
    std::vector<caf::actor> validators;
  };
  const Actors& actors() const { return actors_; }
  const std::shared_ptr<NodeState>& state() const { return state_; }
  const eventlog::EventLog& log() const { return *log_; }
  std::weak_ptr<const eventlog::EventLog> log_handle() const { return log_; }
  Metrics& node_metrics() { return *metrics_; }
  std::uint64_t recovered_undecided() const { return recovered_undecided_; }
  // The block height the log holds durably (an atomic read: no lock, for the peer door).
  std::uint64_t durable_height() const;

 private:
  void recover();
  void spawn_actors();
  void exit_actors(caf::exit_reason reason);  // Every actor, waiters first, journal last.
  std::optional<Settlement> load_settlement(const Id128& batch_id) const;

  caf::actor_system& system_;
  NodeOptions options_;
  std::shared_ptr<eventlog::EventLog> log_;
  std::shared_ptr<NodeState> state_;
  std::unique_ptr<Metrics> metrics_;
  Actors actors_;
  std::atomic<bool> accepting_{false};
  std::atomic<bool> stopped_{false};
  std::shared_ptr<std::string> failure_;  // Set once when the journal stopped.
  std::uint64_t recovered_undecided_ = 0;
  mutable SignedBlocks signed_blocks_;  // Thread-safe; a cache, so const readers fill it.
};

}  // namespace croupier::actors
