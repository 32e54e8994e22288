#pragma once
// The prover: proves created batches in creation order, one at a time (each batch's
// pre-state is the settled state after the previous one): the witness (touched accounts
// with Merkle proofs against pre_root), the public inputs and the sequencer's signature
// (domain/settlement.hpp; nothing here is zero-knowledge). Appends BatchProved, then hands
// the settlement to the submitter. A batch whose items cannot apply to the settled state
// (a bug upstream) is recorded as BatchFailed with the reason, for an operator. An append
// the journal refuses (JournalRefusal::rule) is tried again after `retry_refused`, with a
// line to `alarm`, before any later batch (they build on its settled state).
//
// Protocol:
//   (prove_atom, Id128 batch_id)   a Created batch to prove
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"

namespace croupier::actors {

struct ProverOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  journal_actor journal;
  caf::actor submitter;
  KeyPair sequencer_key;
  std::chrono::milliseconds retry_refused{1000};
  std::function<void(const std::string&)> alarm;  // Lines for the operator; may be empty.
};

caf::actor spawn_prover(caf::actor_system& system, ProverOptions options);

}  // namespace croupier::actors
