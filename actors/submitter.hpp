#pragma once
// The submitter: puts each proved batch on the ledger as a settlement transaction (through
// the node's own mempool and consensus; the validators verify its proof before they prefer
// it) and follows it to BatchConfirmed.
//
// What it does for a batch is domain/batch_step.hpp's next_batch_step, decided afresh from
// the projections whenever something may have changed (a block, a mempool answer, a durable
// append, a timer): submit the settlement tx (attempt 1 at once, later ones after
// delay_before's exponential backoff with jitter from the node's PRNG) and record
// BatchSubmitted{attempt} once it is admitted (or known already: the tx id is
// deterministic); wait while it is alive, looking again every `submit_timeout` (a batch
// whose settlement is still being voted on is never failed, and a resubmission of a live tx
// is not an attempt); BatchConfirmed{height} once it is committed; after a rejection, or a
// refusal by the mempool (which leaves no event), the next attempt; after the batch's last
// attempt, BatchFailed, kept for an operator. Busy or unavailable: the same attempt later.
// A journal refusal of its own append is retried (with a line to `alarm`); a stopped
// journal stops the node, and a restart resumes every batch from the log.
//
// Protocol:
//   (settle_atom, Id128, shared_ptr<const Settlement>)  from the prover, for a new batch
//   (settle_atom, Id128)                  take up a Proved or Submitted batch (after a
//                                         restart, or reported missing); the settlement
//                                         comes from `load_settlement` when needed (one
//                                         not in the log yet, whose BatchProved is still
//                                         being committed, is looked for again shortly)
//   (confirm_atom, Id128, uint64 height)  the reconciler found the batch's settlement on
//                                         the ledger: record it
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
  std::function<void(const std::string&)> alarm;  // Lines for the operator; may be empty.
};

caf::actor spawn_submitter(caf::actor_system& system, SubmitterOptions options);

}  // namespace croupier::actors
