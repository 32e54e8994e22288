#pragma once
// The mempool: admission of transactions. For each submitted tx it takes the domain's
// decision (domain/admission.hpp: idempotency, signature, nonce, funds) against the
// projections; an admissible tx is appended as TxAdmitted and only once that is durable is
// the submitter answered and the tx's voter spawned. Bounded: with `max_pending` txs
// admitted and undecided it answers busy (HTTP 503 + Retry-After).
//
// Protocol:
//   (submit_atom, Tx, Prechecked) -> SubmitReply   precheck(tx) made by the sender (the node
//                                                 does it on the caller's thread, so the
//                                                 Ed25519 checks run in parallel)
//   (submit_atom, Tx)          -> SubmitReply      the same, the precheck made here
//   (learn_atom, Tx)              a tx heard of from another node (its validator or syncer):
//                                 admitted like a client's when admissible here, silently
//                                 left otherwise (it is heard of again)
//   (block_atom, BlockReport)     the committer decided these txs: they leave the mempool
//   (recover_atom)                spawn voters for every admitted, undecided tx (at start; a
//                                 settlement's witness from `load_settlement`)
//   (stats_atom)               -> uint64 (txs admitted and undecided)
//   (voters_atom)              -> VoterList (each undecided tx and its voter, by tx id; a
//                                 voter that has decided may have quit already)
//   (voters_atom, Hash32)      -> VoterList (that tx's, or empty)
//   (inspect_atom)             -> JSON text (introspection.hpp)
// Races with a concurrent admission of the same key are settled by the journal (it applies
// before it commits): a refused append is decided again and answered as a duplicate,
// conflict or refusal.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"
#include "actors/voter.hpp"
#include "domain/admission.hpp"

namespace croupier::actors {

using recover_atom = caf::atom_constant<caf::atom("recover")>;
using voters_atom = caf::atom_constant<caf::atom("voters")>;
using VoterList = std::vector<std::pair<Hash32, caf::actor>>;

struct MempoolOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  journal_actor journal;
  VoterOptions voter;                      // For the voters it spawns.
  std::size_t max_pending = 100'000;
  bool one_bet_in_flight = false;  // In a cluster: refuse_while_in_flight (admission.hpp).
  // A proved batch's settlement with its witness (from its BatchProved: the projections keep
  // no witness), for the voters respawned at start, whose validators check the proof.
  std::function<std::optional<Settlement>(const Id128& batch_id)> load_settlement;
  // The log's index, for a key the projections have forgotten (admission.hpp's KeyLookup).
  KeyLookup held_in_log;
};

caf::actor spawn_mempool(caf::actor_system& system, MempoolOptions options);

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::VoterList)
