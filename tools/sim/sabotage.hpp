#pragma once
// Components broken on purpose, so that the simulator's tests can show each check failing.
// They live here, in the simulator, and not in actors/: the node a casino runs has no code
// path that skips deduplication or a proof check. Each one is an actor put in front of a
// real one (NodeOptions::front_mempool, NodeOptions::make_validator): it changes what it
// was built to break and hands every other message on unchanged.
//
//   deaf mempool        drops learn_atom: the node never records other nodes' txs (check 1).
//   forgetful mempool   answers a resent tx (a duplicate) as a new, undecided admission
//                       (check 6).
//   proofless validator prefers every settlement first seen for its batch without checking
//                       its proof; bets and deposits go to a real validator (check 3).
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/node_state.hpp"

namespace croupier::sim {

// In front of `mempool`, linked to it (the two stop together).
caf::actor spawn_deaf_mempool(caf::actor_system& system, const caf::actor& mempool);
caf::actor spawn_forgetful_mempool(caf::actor_system& system, const caf::actor& mempool);

// A real validator (actors/validator.hpp, asked by peers) behind a front that answers
// settlement queries unchecked.
caf::actor spawn_proofless_validator(caf::actor_system& system, const std::shared_ptr<actors::NodeState>& state);

}  // namespace croupier::sim
