#pragma once
// A peer link: this node's side of its connection to one other node of the cluster (one link
// per entry of cluster.peers). It runs on its own thread (a detached actor), because its
// reachability probe blocks (actors/tcp_probe.hpp), and keeps one authenticated session
// with the peer's door (actors/peer_door.hpp):
//
//   probe HOST:PORT (1 s) -> middleman connect (5 s) -> Hello/Welcome/Proof (2 s each)
//   -> linked: a sealed Ping every cluster.heartbeat, answered by a Pong within 2 heartbeats
//
// Any failure (refused, unreachable, timed out, a session error, the peer's node down) drops
// the session and the link tries again after a backoff: exponential from 200 ms to 10 s, half
// of it random (domain/retry.hpp, drawn from the node's seeded PRNG). A link that lost a
// session it had is shown benched until it has one again. A failure is logged when it is not
// the same as the previous one, so a peer that stays down is one line, not one per attempt.
// The link writes its row of the PeerTable on every change. It answers nothing to anyone:
// every message but its own timers and the answers to its own requests is dropped.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/peer_table.hpp"
#include "domain/peer_session.hpp"

namespace croupier::actors {

struct PeerLinkOptions {
  peer::Identity identity;
  PublicKey peer_key{};
  std::string host;
  std::uint16_t port = 0;
  std::size_t row = 0;  // This link's row of `table`.
  std::shared_ptr<PeerTable> table;
  peer::RandomSource random;  // Session keys and nonces: the OS CSPRNG in a node.
  std::uint64_t seed = 0;     // Backoff jitter.
  std::chrono::milliseconds heartbeat{500};
  std::function<void(const std::string&)> log_line;
};

caf::actor spawn_peer_link(caf::actor_system& system, PeerLinkOptions options);

}  // namespace croupier::actors
