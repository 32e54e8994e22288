#pragma once
// What the node's actors share: the projections (the one copy of the node's state, applied
// only by the journal, read by everyone under a read lock), the node's keys and its
// metrics. Reads are short (a lookup, an admission decision); the journal holds the write
// lock from applying a group until its commit is durable, so no reader ever sees an event
// that is not yet on disk.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/node_api.hpp"
#include "domain/crypto.hpp"
#include "domain/projections.hpp"
#include "domain/vrf.hpp"

namespace croupier::actors {

// A fixed-bucket histogram, lock-free (counts only grow).
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds{0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 100, 250, 1000, 5000};
  void observe(double value);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1000; }
  // Prometheus text lines for a histogram named `name`.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // Last: +Inf.
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};  // Sum in thousandths, to stay integral.
};

// Counters the actors bump and the inspector renders (GET /metrics).
struct Metrics {
  using Counter = std::atomic<std::uint64_t>;
  Counter events_appended{0}, commits{0}, appends_refused{0};
  Counter txs_admitted{0}, txs_refused{0}, txs_duplicate{0}, txs_conflict{0}, mempool_full{0};
  Counter mempool_size{0};  // Admitted, undecided (a gauge).
  Counter consensus_polls{0}, consensus_rounds_successful{0}, consensus_decided{0};
  Counter router_bundles{0};
  Counter blocks{0}, bets_resolved{0};
  Counter batches_created{0}, batches_proved{0}, batches_submitted{0}, batches_confirmed{0}, batches_failed{0};
  Counter submit_retries{0};
  Counter reconciliations{0}, reconcile_alarms{0};
  Histogram group_commit_size;            // Events per commit.
  Histogram journal_commit_duration_ms;   // Apply + append + durable commit: the write lock held.
  Histogram finalization_wait_duration_ms;  // Submit -> final answer (final answers only).
  // A snapshot: its time from its encoding (under the shared lock) until it is durable (with
  // the group commit it rides with, or its own for `snapshot now`) and applied, the part with
  // the exclusive locks held, its size, the longest yet and the longest encoding (in us).
  Histogram snapshot_duration_ms, snapshot_lock_duration_ms;
  Counter snapshot_bytes{0}, snapshot_longest_us{0}, snapshot_encode_longest_us{0};
};

// The ECVRF proof and output of the bets resolved most recently (put by the committer once
// their block is durable), so that answering a bet the moment it is final costs neither a log
// read nor a proof_to_hash (a point decompression: about a fifth of a proof's cost). Bounded:
// the oldest are dropped, and the node reads those from the log.
class RecentProofs {
 public:
  explicit RecentProofs(std::size_t capacity) : capacity_(capacity) {}
  void put(const Hash32& tx_id, const vrf::Proof& proof, const vrf::Output& output);
  std::optional<std::pair<vrf::Proof, vrf::Output>> find(const Hash32& tx_id) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  const std::size_t capacity_;
  std::unordered_map<Hash32, std::pair<vrf::Proof, vrf::Output>, BytesHash> by_tx_;
  std::deque<Hash32> order_;  // Oldest first.
};

struct NodeState {
  // Two locks, always taken in this order (durable, then mutex):
  //  - `mutex` guards the memory: the journal holds it exclusively while it applies a group
  //    (microseconds); the actors read under it and may see a group whose commit is still
  //    under way. That is safe for their decisions: the journal appends in order, so anything
  //    they append lands after that group, and if its commit fails the journal refuses
  //    everything after it and the node stops.
  //  - `durable` is held exclusively by the journal from applying a group until its commit is
  //    durable. Whoever tells the outside world (the API's reads, the waiters' "already
  //    final") or reads the log by a seq found here reads under it too, so what they say is
  //    on disk.
  mutable std::shared_mutex durable;
  mutable std::shared_mutex mutex;
  // Set (under `durable`) when the journal fails: the memory may then hold a group that never
  // reached the disk, so durable readers refuse from then on.
  std::atomic<bool> journal_failed{false};
  Projections projections;
  std::atomic<std::uint64_t> log_head{0};
  // The block height the log holds durably: published with log_head after each commit.
  // Blocks and bet outcomes are found in the log through its indexes (block_index, a bet's
  // index entry), so the node keeps no per-block or per-bet positions in memory.
  std::atomic<std::uint64_t> durable_height{0};
  RecentProofs recent_proofs{16384};  // ≈ 4 MB; a few seconds of bets at full load.
};

// Both read locks, in their order, for what the node tells the outside world (the HTTP API,
// the debug shell): what the log holds. After a journal failure the memory may hold a group
// that never reached the disk, so it throws NodeUnavailable instead.
struct DurableRead {
  std::shared_lock<std::shared_mutex> durable, memory;
  explicit DurableRead(const NodeState& s) : durable(s.durable), memory(s.mutex) {
    if (s.journal_failed) throw NodeUnavailable("the node's journal failed and the node is stopping");
  }
};

// For reads of the log itself (which holds committed records only): after a journal failure
// the node answers nothing but that it is stopping, as DurableRead does.
inline void throw_if_journal_failed(const NodeState& s) {
  if (s.journal_failed) throw NodeUnavailable("the node's journal failed and the node is stopping");
}

// Whether `tx_id` is final *on disk*, and at which height (0: rejected); nullopt when it is
// not, or not yet durably. For the waiters' "already final" lookup, which runs for every
// client that registers on a scheduler thread, so it must not wait out a commit: an accepted
// tx is final once its block is durable (durable_height is published after the commit and
// before the committer hears of it, so a block the waiters were told of always passes); a tx
// final in memory only is "not yet" (the committer's committed_atom will answer it).
// Rejections (rare, no block) are read under the durable lock; none after a journal failure.
struct DurableFinal {
  bool final = false;
  std::uint64_t block_height = 0;
};
std::optional<DurableFinal> durable_final(const NodeState& state, const Hash32& tx_id);

// The node's keys (secrets included): only the actors that sign get them.
struct NodeSecrets {
  KeyPair operator_key, house_key, sequencer_key;
  KeyPair node_key;  // The node's identity: signs the block headers of finality receipts.
};

}  // namespace croupier::actors
