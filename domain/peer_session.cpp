#include "domain/peer_session.hpp"

#include <sodium.h>

#include <cassert>
#include <cstring>
#include <string_view>

#include "domain/codec.hpp"

namespace croupier::peer {

namespace {

using Kind = HandshakeError::Kind;

// Hello, and the Welcome without its signature: the same fields.
struct Greeting {
  std::uint16_t version = kProtocolVersion;
  Id128 cluster_id{};
  PublicKey node_key{};
  FixedBytes<32> kx_key{};
  Hash32 nonce{};
  template <class A> void serialize(A& ar) { ar(version, cluster_id, node_key, kx_key, nonce); }
};

struct Welcome {
  Greeting greeting;
  Signature signature{};
  template <class A> void serialize(A& ar) { ar(greeting, signature); }
};

struct Proof {
  Signature signature{};
  template <class A> void serialize(A& ar) { ar(signature); }
};

// The version is read before anything else: another version's layout may differ.
void expect_protocol(ByteView message, const char* what) {
  if (message.size() < 2) throw HandshakeError(Kind::malformed, std::string(what) + ": " + std::to_string(message.size()) + " bytes");
  const std::uint16_t version = static_cast<std::uint16_t>(message[0] | (message[1] << 8));
  if (version != kProtocolVersion)
    throw HandshakeError(Kind::version, std::string(what) + " of protocol version " + std::to_string(version) +
                                            "; this node speaks version " + std::to_string(kProtocolVersion));
}

template <class T>
T parse(ByteView message, const char* what) {
  try {
    return decode<T>(message, what);
  } catch (const DecodeError& e) {
    throw HandshakeError(Kind::malformed, e.what());
  }
}

void check_cluster(const Identity& me, const Greeting& g, const char* what) {
  if (g.cluster_id != me.cluster_id)
    throw HandshakeError(Kind::cluster, std::string(what) + " from cluster " + to_hex(g.cluster_id) + "; this node is in " +
                                            to_hex(me.cluster_id));
}

void check_known(const Identity& me, const PublicKey& key, const char* what) {
  if (key == me.node_key.public_key)
    throw HandshakeError(Kind::unknown_key, std::string(what) + " names this node's own key " + to_hex(key));
  for (const auto& peer : me.peers)
    if (peer == key) return;
  throw HandshakeError(Kind::unknown_key, std::string(what) + " from node key " + to_hex(key) + ", which is not in the peer list");
}

Hash32 transcript(std::string_view label, ByteView hello, ByteView welcome) {
  return Blake2b256()
      .update(ByteView(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()))
      .update(hello)
      .update(welcome)
      .finish();
}

// A fresh X25519 key pair and nonce from `random`.
void fresh_keys(const RandomSource& random, FixedBytes<32>& kx_public, FixedBytes<32>& kx_secret, Hash32& nonce) {
  ensure_sodium();
  FixedBytes<crypto_kx_SEEDBYTES> seed{};
  random(seed);
  random(nonce);
  crypto_kx_seed_keypair(kx_public.data(), kx_secret.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
}

std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce_of(std::uint64_t number) {
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  put_u64_le(nonce.data(), number);
  return nonce;
}

}  // namespace

Bytes Session::seal(ByteView plaintext) {
  assert(send_.next != UINT64_MAX);
  const std::uint64_t number = send_.next++;
  Bytes out(8 + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  put_u64_le(out.data(), number);
  unsigned long long size = 0;
  const auto nonce = nonce_of(number);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 8, &size, plaintext.data(), plaintext.size(), out.data(), 8,
                                             nullptr, nonce.data(), send_.key.data());
  assert(size + 8 == out.size());
  return out;
}

Bytes Session::open(ByteView sealed) {
  if (sealed.size() < 8 + crypto_aead_xchacha20poly1305_ietf_ABYTES)
    throw SessionError("a sealed message of " + std::to_string(sealed.size()) + " bytes is too short");
  const std::uint64_t number = get_u64_le(sealed.data());
  if (number != receive_.next)
    throw SessionError("message number " + std::to_string(number) + " where " + std::to_string(receive_.next) +
                       " was expected: replayed, reordered or dropped");
  Bytes out(sealed.size() - 8 - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long size = 0;
  const auto nonce = nonce_of(number);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &size, nullptr, sealed.data() + 8, sealed.size() - 8,
                                                 sealed.data(), 8, nonce.data(), receive_.key.data()) != 0)
    throw SessionError("message " + std::to_string(number) + " failed authentication: altered, or not sealed by " +
                       to_hex(peer_) + " for this session");
  ++receive_.next;
  return out;
}

Dialer::Dialer(Identity identity, PublicKey expected_peer, const RandomSource& random)
    : identity_(std::move(identity)), expected_(expected_peer) {
  Greeting g;
  g.cluster_id = identity_.cluster_id;
  g.node_key = identity_.node_key.public_key;
  fresh_keys(random, kx_public_, kx_secret_, g.nonce);
  g.kx_key = kx_public_;
  hello_ = encode(g);
}

Dialer::~Dialer() { sodium_memzero(kx_secret_.data(), kx_secret_.size()); }

Bytes Dialer::welcome(ByteView message) {
  if (session_) throw HandshakeError(Kind::out_of_order, "a second Welcome");
  expect_protocol(message, "a Welcome");
  const auto w = parse<Welcome>(message, "Welcome");
  check_cluster(identity_, w.greeting, "a Welcome");
  check_known(identity_, w.greeting.node_key, "a Welcome");
  if (w.greeting.node_key != expected_)
    throw HandshakeError(Kind::wrong_key, "a Welcome from node key " + to_hex(w.greeting.node_key) +
                                              " where the peer list names " + to_hex(expected_));
  const ByteView unsigned_part = message.first(message.size() - w.signature.size());
  if (!verify(w.greeting.node_key, transcript("croupier peer welcome v1", hello_, unsigned_part), w.signature))
    throw HandshakeError(Kind::bad_signature, "a Welcome whose signature is not by node key " + to_hex(expected_));
  Direction send, receive;
  if (crypto_kx_client_session_keys(receive.key.data(), send.key.data(), kx_public_.data(), kx_secret_.data(),
                                    w.greeting.kx_key.data()) != 0)
    throw HandshakeError(Kind::malformed, "a Welcome with an unusable session key");
  session_.emplace(expected_, send, receive);
  return encode(Proof{sign(identity_.node_key, transcript("croupier peer proof v1", hello_, message))});
}

Session Dialer::session() const {
  if (!session_) throw HandshakeError(Kind::out_of_order, "no session before the Welcome");
  return *session_;
}

Acceptor::Acceptor(Identity identity, const RandomSource& random) : identity_(std::move(identity)) {
  fresh_keys(random, kx_public_, kx_secret_, nonce_);
}

Acceptor::~Acceptor() { sodium_memzero(kx_secret_.data(), kx_secret_.size()); }

Bytes Acceptor::hello(ByteView message) {
  if (!hello_.empty()) throw HandshakeError(Kind::out_of_order, "a second Hello");
  expect_protocol(message, "a Hello");
  const auto h = parse<Greeting>(message, "Hello");
  check_cluster(identity_, h, "a Hello");
  check_known(identity_, h.node_key, "a Hello");
  Direction send, receive;
  if (crypto_kx_server_session_keys(receive.key.data(), send.key.data(), kx_public_.data(), kx_secret_.data(),
                                    h.kx_key.data()) != 0)
    throw HandshakeError(Kind::malformed, "a Hello with an unusable session key");
  Greeting mine;
  mine.cluster_id = identity_.cluster_id;
  mine.node_key = identity_.node_key.public_key;
  mine.kx_key = kx_public_;
  mine.nonce = nonce_;
  Bytes welcome = encode(mine);
  const Signature signature = sign(identity_.node_key, transcript("croupier peer welcome v1", message, welcome));
  welcome.insert(welcome.end(), signature.begin(), signature.end());
  hello_.assign(message.begin(), message.end());
  welcome_ = welcome;
  peer_ = h.node_key;
  send_ = send;
  receive_ = receive;
  return welcome;
}

void Acceptor::proof(ByteView message) {
  if (hello_.empty() || done_) throw HandshakeError(Kind::out_of_order, done_ ? "a second Proof" : "a Proof before the Hello");
  const auto p = parse<Proof>(message, "Proof");
  if (!verify(peer_, transcript("croupier peer proof v1", hello_, welcome_), p.signature))
    throw HandshakeError(Kind::bad_signature, "a Proof whose signature is not by node key " + to_hex(peer_));
  done_ = true;
}

Session Acceptor::session() const {
  if (!done_) throw HandshakeError(Kind::out_of_order, "no session before the Proof");
  return Session(peer_, *send_, *receive_);
}

}  // namespace croupier::peer
