#include "domain/crypto.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace croupier {

static_assert(sizeof(crypto_generichash_state) <= 384, "Blake2b256::state_ too small");

void ensure_sodium() {
  static const bool ok = [] { return sodium_init() >= 0; }();
  if (!ok) {
    std::fputs("croupier: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

Seed KeyPair::seed() const {
  Seed s{};
  std::memcpy(s.data(), secret.data(), s.size());  // libsodium: secret = seed || pk.
  return s;
}

KeyPair keypair_from_seed(const Seed& seed) {
  ensure_sodium();
  KeyPair k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret.data(), seed.data());
  return k;
}

KeyPair random_keypair() {
  ensure_sodium();
  KeyPair k;
  crypto_sign_keypair(k.public_key.data(), k.secret.data());
  return k;
}

Signature sign(const KeyPair& key, ByteView message) {
  ensure_sodium();
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), key.secret.data());
  return sig;
}

bool verify(const PublicKey& key, ByteView message, const Signature& signature) {
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.data()) == 0;
}

Hash32 blake2b256(ByteView data) {
  ensure_sodium();
  Hash32 out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Blake2b256::Blake2b256() {
  ensure_sodium();
  crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, 32);
}

Blake2b256& Blake2b256::update(ByteView data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), data.data(),
                            data.size());
  return *this;
}

Blake2b256& Blake2b256::update_u64_le(std::uint64_t v) {
  std::uint8_t b[8];
  put_u64_le(b, v);
  return update(ByteView{b, 8});
}

Hash32 Blake2b256::finish() {
  Hash32 out{};
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out.data(),
                           out.size());
  return out;
}

}  // namespace croupier
