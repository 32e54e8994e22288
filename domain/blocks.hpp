#pragma once
// The committer's decisions, pure: the events that record a set of consensus decisions as
// one block, and the outcome of each accepted bet by ECVRF with the house key.
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "domain/events.hpp"
#include "domain/projections.hpp"

namespace croupier {

// A bet's outcome: proof = ECVRF(house, alpha = tx_id), roll/win/payout from its beta
// (games.hpp). Requires playable terms (admission checked them).
// `beta_out`, when given, receives the proof's output (proof_to_hash), which decided the outcome.
BetResolved resolve_bet(const Hash32& tx_id, const Bet& bet, const KeyPair& house, vrf::Output* beta_out = nullptr);

struct ConsensusDecision {
  Hash32 tx_id{};
  bool accepted = false;
  friend bool operator==(const ConsensusDecision&, const ConsensusDecision&) = default;
};

struct BlockPlan {
  // In log order: TxFinalized for every decision; then, when any was accepted,
  // BlockCommitted{height + 1} over the accepted ones (in decision order) and a BetResolved
  // for each accepted bet. apply() accepts these events in this order.
  std::vector<Event> events;
  std::optional<BlockCommitted> block;  // The block, when one is cut.
  std::vector<Hash32> rejected;         // Decided rejected (no block).
  std::vector<settlement::Item> items;  // Settlement items the block creates (accepted
                                        // deposits, resolved bets), in block order.
  std::vector<std::pair<Id128, Hash32>> settlements;  // (batch_id, tx id) of settlement txs in the block.
};

// `tx_of` finds an admitted tx by id (the projections); every decision must name one that
// is still undecided. `prev` is the current head (height 0 and a zero hash when none).
// `resolved_of`, when set, gives outcomes computed ahead (resolve_bet with the same house
// key, e.g. on other cores); a bet it has none for is resolved here.
BlockPlan plan_block(std::span<const ConsensusDecision> decisions, std::uint64_t prev_height,
                     const Hash32& prev_hash, std::uint64_t time_ms,
                     const std::function<const Tx*(const Hash32&)>& tx_of, const KeyPair& house,
                     const std::function<const BetResolved*(const Hash32&)>& resolved_of = {});

// The settlement item of a committed tx record, when it makes one: an accepted deposit in a
// block, or a resolved bet. nullopt for settlements, undecided or rejected txs.
std::optional<settlement::Item> settlement_item(const Hash32& tx_id, const TxRecord& record);

// Items of txs not yet in any batch (after a restart), in the order a live node batches
// them: by block height, deposits before bets, bets by (account, nonce).
std::vector<settlement::Item> unbatched_items(const Projections& p);

}  // namespace croupier
