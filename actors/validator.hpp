#pragma once
// A validator: answers consensus queries from its own view (domain/consensus.hpp
// ValidatorView: the first valid tx asked about wins its conflict key, until the node
// decides the key). A settlement is valid only when the sequencer key in force signed it
// and its batch proof verifies (settlement::verify): validators check the proof before
// they prefer it. Bets and deposits are checked by the node's mempool before any of its
// voters asks about them; in a cluster (`peers`) the validator is also asked by other
// nodes, so it checks their id and signature itself, and hands any the node has not seen to
// its mempool to learn (learn_atom), so that the node votes on it and records it too. A
// validator spawned on a node that has decided txs (after a restart) starts from their
// winners, so it never votes against its own node's decision. Its view is bounded
// (`capacity` keys); asked about a key it does not hold, it answers from what its node
// decided when the node decided that tx or its key (memory, else the log): the tx itself
// when the node accepted it, none when the node rejected it or accepted another bet at its
// account's nonce (or later); only a key the node never decided is first-seen-wins.
//
// Protocol:
//   (query_atom, VoteQueries)  -> Votes    one vote per query, in order
//   (follow_atom, string conflict_key, Hash32 tx_id)   the node's voter prefers tx_id now
//   (forget_atom, Decided)                 the node decided these keys
//   (put_atom, actor mempool)              where to send txs to learn
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/message_types.hpp"
#include "actors/node_state.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::actors {

// (conflict key, accepted tx) pairs.
using Decided = std::vector<std::pair<std::string, Hash32>>;

struct ValidatorOptions {
  std::shared_ptr<NodeState> state;  // For the sequencer key in force, and what the node decided.
  std::string name = "validator";
  bool peers = false;  // Asked by other nodes too (see above).
  // The node's log, for a key the view has forgotten about a tx the node's memory has
  // forgotten too (null: memory only).
  std::shared_ptr<const eventlog::EventLog> log;
  std::size_t capacity = 1'000'000;  // Conflict keys the view holds (domain/consensus.hpp).
};

caf::actor spawn_validator(caf::actor_system& system, ValidatorOptions options);

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::Decided)
