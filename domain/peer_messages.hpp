#pragma once
// What two nodes of a cluster say to each other inside an authenticated session
// (domain/peer_session.hpp seals and opens the bytes; actors/peer_link.hpp carries them).
//
// Each message is a u16 type followed by its fields through the domain codec:
//   1 Ping {number u64}                       the dialer's liveness probe, every heartbeat
//   2 Pong {number u64, block_height u64}     the acceptor's answer: the Ping's number, and
//                                             its own block height (what a link shows as the
//                                             peer's height, and catch-up will start from)
// The session's protocol version (peer::kProtocolVersion, checked at the hello) covers this
// list: a type this build does not know is a DecodeError, and the link is dropped.
#include <cstdint>
#include <variant>

#include "domain/bytes.hpp"

namespace croupier::peer {

struct Ping {
  std::uint64_t number = 0;
  friend bool operator==(const Ping&, const Ping&) = default;
};

struct Pong {
  std::uint64_t number = 0;
  std::uint64_t block_height = 0;
  friend bool operator==(const Pong&, const Pong&) = default;
};

using Message = std::variant<Ping, Pong>;

Bytes encode_message(const Message& m);
// Throws DecodeError (domain/codec.hpp) for an unknown type, a short or a long message.
Message decode_message(ByteView bytes);

}  // namespace croupier::peer
