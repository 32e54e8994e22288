#pragma once
// Authenticated, encrypted sessions between the nodes of a cluster (issue 15's "nobody
// without a key"). CAF's io middleman has no TLS, so every peer message is a byte string this
// module makes and checks; the transport (peer links over the middleman) only carries them.
//
// Handshake, three messages (the dialer D connects to the acceptor A):
//   1 D -> A  Hello   {version u16, cluster_id[16], node_key[32], kx_key[32], nonce[32]}
//   2 A -> D  Welcome {version u16, cluster_id[16], node_key[32], kx_key[32], nonce[32], signature[64]}
//   3 D -> A  Proof   {signature[64]}
// node_key is the node's long-term Ed25519 key (the peer list names each node by it); kx_key is
// a fresh X25519 key for this session only. Welcome's signature, by A's node key, is over
// BLAKE2b-256("croupier peer welcome v1" || Hello || Welcome without its signature); Proof's,
// by D's node key, over BLAKE2b-256("croupier peer proof v1" || Hello || Welcome). So each side
// proves it holds its node key by signing the other's fresh nonce, and the signed transcript
// binds both session keys (no one in between can swap them). A wrong cluster id, an unknown
// protocol version, a node key not in the peer list (or the node's own), a key other than the
// one dialed, and a bad signature are each refused with a HandshakeError that names them.
//
// Session keys come from libsodium's crypto_kx (D is its client, A its server); one key per
// direction. Each message is sealed with XChaCha20-Poly1305 (crypto_aead_xchacha20poly1305_ietf)
// under the sender's key, with the message's number as the nonce and as associated data:
//   sealed := number u64 LE | ciphertext (plaintext size + 16)
// Numbers start at 0 in each direction and must arrive exactly in order (one TCP connection
// per pair delivers in order), so a replayed, reordered, dropped, reflected or altered message
// is refused (SessionError) and the link must be dropped and the handshake run again.
//
// Randomness (the session's X25519 key and nonce) comes from the caller, so that the
// simulator can run sessions from its seed; a node passes the OS CSPRNG.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/crypto.hpp"
#include "domain/ids.hpp"

namespace croupier::peer {

inline constexpr std::uint16_t kProtocolVersion = 1;

// Fills its argument with random bytes.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;

// Who this node is in its cluster, and whom it lets in.
struct Identity {
  Id128 cluster_id{};
  KeyPair node_key;
  std::vector<PublicKey> peers;  // The other nodes' keys (the peer list).
};

class HandshakeError : public std::runtime_error {
 public:
  enum class Kind { malformed, version, cluster, unknown_key, wrong_key, bad_signature, out_of_order };
  HandshakeError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class SessionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One direction's key and message number.
struct Direction {
  FixedBytes<32> key{};
  std::uint64_t next = 0;
};

// An established session: seals what this node sends, opens what its peer sent.
class Session {
 public:
  Session(PublicKey peer, Direction send, Direction receive) : peer_(peer), send_(send), receive_(receive) {}
  const PublicKey& peer() const { return peer_; }
  Bytes seal(ByteView plaintext);
  // Throws SessionError for anything but the peer's next message, intact.
  Bytes open(ByteView sealed);

 private:
  PublicKey peer_;
  Direction send_, receive_;
};

// The side that connects. hello() first; then welcome() with the acceptor's answer returns
// the Proof to send, after which session() is ready.
class Dialer {
 public:
  // `expected_peer`: the node key the peer list gives for the address dialed.
  Dialer(Identity identity, PublicKey expected_peer, const RandomSource& random);
  ~Dialer();
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  const Bytes& hello() const { return hello_; }
  Bytes welcome(ByteView welcome);  // Throws HandshakeError.
  Session session() const;          // After welcome().

 private:
  Identity identity_;
  PublicKey expected_;
  FixedBytes<32> kx_public_{}, kx_secret_{};
  Bytes hello_;
  std::optional<Session> session_;
};

// The side that is connected to. hello() with the dialer's first message returns the Welcome
// to send; proof() with its answer completes, after which session() is ready.
class Acceptor {
 public:
  Acceptor(Identity identity, const RandomSource& random);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  Bytes hello(ByteView hello);  // Throws HandshakeError.
  void proof(ByteView proof);   // Throws HandshakeError.
  Session session() const;      // After proof().

 private:
  Identity identity_;
  FixedBytes<32> kx_public_{}, kx_secret_{};
  Hash32 nonce_{};
  Bytes hello_, welcome_;
  PublicKey peer_{};
  std::optional<Direction> send_, receive_;
  bool done_ = false;
};

}  // namespace croupier::peer
