#pragma once
// A validator: answers consensus queries from its own view (domain/consensus.hpp
// ValidatorView: the first valid tx asked about wins its conflict key, until the node
// decides the key). A settlement is valid only when the sequencer key in force signed it
// and its batch proof verifies (settlement::verify): validators check the proof before
// they prefer it. Bets and deposits are checked by the node's mempool before any voter
// asks about them, so a local validator does not verify their signatures again.
//
// Protocol:
//   (query_atom, VoteQueries)  -> Votes    one vote per query, in order
//   (forget_atom, Decided)                 the node decided these keys
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/message_types.hpp"
#include "actors/node_state.hpp"

namespace croupier::actors {

// (conflict key, accepted tx) pairs.
using Decided = std::vector<std::pair<std::string, Hash32>>;

struct ValidatorOptions {
  std::shared_ptr<NodeState> state;  // For the sequencer key in force.
  std::string name = "validator";
};

caf::actor spawn_validator(caf::actor_system& system, ValidatorOptions options);

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::Decided)
