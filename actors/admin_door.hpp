#pragma once
// The admin door: the one actor the node publishes on its admin port (CAF's io middleman),
// for `croupier shell`. It accepts only (shell_atom, token, words): it checks the token in
// constant time, asks the inspector and passes its answer back. Anything else a peer sends is
// dropped with an error. The door never delegates: CAF's BASP makes every actor that sends a
// message to a peer addressable by that peer (by its id), so the door must be the only actor
// of the node that talks to the network; the inspector also refuses senders of other nodes.
//
// Protocol (built-in types only, so a shell needs no type registration):
//   (shell_atom, std::string token, std::vector<std::string> words) -> std::string (JSON)
// The token is never empty (std::invalid_argument): the door is closed to anyone without it,
// loopback included, since any local user can reach a loopback port.
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/inspector.hpp"

namespace croupier::actors {

caf::actor spawn_admin_door(caf::actor_system& system, caf::actor inspector, std::string token);

}  // namespace croupier::actors
