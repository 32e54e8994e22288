#pragma once
// Generates a valid event history from a seed: deposits, bets through their whole life
// (admitted, finalized, committed, resolved), and settlement batches (created, proved,
// submitted as a settlement tx that is itself finalized and committed, confirmed).
// Every event is applied to a mirror of the projections as it is made, so the history
// obeys every rule a replay checks. Used by the benchmarks and the tests; it stands in
// for the node's actors until they exist, never for a node.

#include <random>
#include <vector>

#include "domain/projections.hpp"

namespace croupier::tools {

struct LedgerOptions {
  std::uint64_t seed = 1;
  std::size_t accounts = 64;
  // false: bets carry zero signatures and VRF proofs, rolls come from the seed. Such a
  // history passes replay but not `replay --verify`; it makes big benchmark logs fast.
  bool real_crypto = true;
  std::size_t block_size = 100;   // Bets per block.
  std::size_t batch_size = 1000;  // Items per settlement batch.
  Amount deposit = 1'000'000'000;
  std::uint64_t start_ms = 1'763'683'200'000;  // 2025-11-21, the generated history's clock.
};

class LedgerGenerator {
 public:
  explicit LedgerGenerator(const LedgerOptions& options);

  // NodeStarted and one deposit per account, committed in a block. Call once, first.
  std::vector<Event> genesis();
  // `n` more bets through their whole life, cut into blocks, plus every batch that fills.
  void bets(std::size_t n, std::vector<Event>& out);
  // Settles whatever is pending into a last batch (if any).
  void flush(std::vector<Event>& out);

  const Projections& state() const { return mirror_; }
  std::uint64_t now_ms() const { return now_ms_; }
  const KeyPair& operator_key() const { return operator_; }
  const KeyPair& house_key() const { return house_; }
  const KeyPair& sequencer_key() const { return sequencer_; }
  const std::vector<KeyPair>& players() const { return players_; }

 private:
  void emit(Event e, std::vector<Event>& out);
  void commit_block(const std::vector<Hash32>& tx_ids, std::vector<Event>& out);
  void settle_batch(std::vector<Event>& out);
  Id128 next_id();

  LedgerOptions options_;
  std::mt19937_64 rng_;
  KeyPair operator_, house_, sequencer_;
  std::vector<KeyPair> players_;
  Projections mirror_;
  std::uint64_t seq_ = 0;
  std::uint64_t now_ms_;
  std::vector<settlement::Item> pending_items_;
};

}  // namespace croupier::tools
