#pragma once
// The peer door: the one actor a cluster node publishes on cluster.listen (CAF's io
// middleman), besides the admin door. Every other node's peer link talks to it; anything
// else a process sends is dropped. It runs the acceptor's side of the handshake of
// domain/peer_session.hpp per sender, then opens, answers and seals that sender's messages
// (domain/peer_messages.hpp). As the admin door, it answers itself and never delegates: an
// actor that answers a peer becomes addressable by that peer.
//
// Protocol (built-in types only; the bytes travel in std::string):
//   (peer_hello_atom, hello)  -> welcome        or an error naming why the hello is refused
//   (peer_proof_atom, proof)  -> ok_atom        or an error (the session is then open)
//   (peer_msg_atom, sealed)   -> sealed answer  or an error (the session is then dropped)
// A refused hello is one log line naming the reason (wrong cluster id, unknown protocol
// version, a node key not in cluster.peers, a bad signature). Handshakes in progress are
// bounded and expire after kHandshakeTimeout; a sender that goes down loses its session.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include "actors/peer_table.hpp"
#include "domain/peer_session.hpp"

namespace croupier::actors {

using peer_hello_atom = caf::atom_constant<caf::atom("phello")>;
using peer_proof_atom = caf::atom_constant<caf::atom("pproof")>;
using peer_msg_atom = caf::atom_constant<caf::atom("pmsg")>;

// The bytes of a handshake step or a sealed message as they travel (std::string, a CAF
// built-in type), and back.
inline std::string to_wire(const Bytes& b) { return std::string(b.begin(), b.end()); }
inline Bytes from_wire(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct PeerDoorOptions {
  peer::Identity identity;
  peer::RandomSource random;                   // The OS CSPRNG in a node.
  std::function<std::uint64_t()> block_height;  // This node's durable block height (Pong).
  std::shared_ptr<PeerTable> table;
  std::function<void(const std::string&)> log_line;
};

caf::actor spawn_peer_door(caf::actor_system& system, PeerDoorOptions options);

}  // namespace croupier::actors
