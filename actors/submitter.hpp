#pragma once
// The submitter: puts each proved batch on the ledger as a settlement transaction (through
// the node's own mempool and consensus; the validators verify its proof before they prefer
// it) and follows it to BatchConfirmed.
//
// For each batch: wait delay_before(attempt) (domain/retry.hpp: exponential backoff with
// jitter from the node's PRNG), submit the settlement tx, append BatchSubmitted{attempt}
// once it is admitted (or known already: the tx id is deterministic, so a resubmission is
// idempotent), then wait up to `submit_timeout` for its block. Committed accepted ->
// BatchConfirmed{height}. Decided rejected or timed out -> the next attempt; after the
// batch's last attempt, BatchFailed, kept for an operator. A settlement the mempool refuses
// (bad proof, not the sequencer's, no such proved batch) cannot succeed by retrying: the
// batch fails at once with the refusal. Busy or unavailable: the same attempt later.
//
// Protocol:
//   (settle_atom, Id128, shared_ptr<const Settlement>)  from the prover, for a new batch
//   (settle_atom, Id128)                  take up a Proved or Submitted batch (after a
//                                         restart, or reported missing); the settlement
//                                         comes from `load_settlement`
//   (confirm_atom, Id128, uint64 height)  the reconciler found the batch's settlement on
//                                         the ledger at `height`: record it
//   (block_atom, BlockReport)             from the committer
//   (stats_atom) -> std::string
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"
#include "domain/retry.hpp"

namespace croupier::actors {

struct SubmitterOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  journal_actor journal;
  caf::actor mempool;
  RetryPolicy retry;  // max_attempts is each batch's own (BatchCreated::max_attempts).
  std::chrono::milliseconds submit_timeout{5000};
  std::uint64_t seed = 1;
  // The proved settlement of a batch (from its BatchProved in the log); nullopt if none.
  std::function<std::optional<Settlement>(const Id128&)> load_settlement;
};

caf::actor spawn_submitter(caf::actor_system& system, SubmitterOptions options);

}  // namespace croupier::actors
