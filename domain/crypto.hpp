#pragma once
// Ed25519 signatures and BLAKE2b-256 hashing, both from libsodium.
// All functions are thread-safe once libsodium is initialised; every entry point here
// initialises it on first use.

#include "domain/bytes.hpp"

namespace croupier {

using PublicKey = FixedBytes<32>;   // Ed25519 public key; an account *is* a public key.
using Signature = FixedBytes<64>;   // Ed25519 signature (R || S).
using Seed = FixedBytes<32>;        // Ed25519 secret seed (RFC 8032 "secret key").

// An Ed25519 key pair. `secret` is libsodium's 64-byte form (seed || public key).
// Intentionally copyable; treat instances as secrets (never log them).
struct KeyPair {
  PublicKey public_key{};
  FixedBytes<64> secret{};
  Seed seed() const;
};

void ensure_sodium();  // sodium_init() once; aborts with a message if it fails.

KeyPair keypair_from_seed(const Seed& seed);
KeyPair random_keypair();  // From the OS CSPRNG: only for tools and tests, never in actors.

Signature sign(const KeyPair& key, ByteView message);
// False for a bad signature, a non-canonical encoding or a small-order key.
bool verify(const PublicKey& key, ByteView message, const Signature& signature);

Hash32 blake2b256(ByteView data);

// Incremental BLAKE2b-256, for hashing several fields without concatenating them.
class Blake2b256 {
 public:
  Blake2b256();
  Blake2b256& update(ByteView data);
  template <std::size_t N>
  Blake2b256& update(const FixedBytes<N>& data) { return update(ByteView{data.data(), N}); }
  Blake2b256& update_u8(std::uint8_t v) { return update(ByteView{&v, 1}); }
  Blake2b256& update_u64_le(std::uint64_t v);
  Hash32 finish();

 private:
  alignas(64) unsigned char state_[384];  // crypto_generichash_state, opaque here.
};

}  // namespace croupier
