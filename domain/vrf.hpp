#pragma once
// ECVRF-EDWARDS25519-SHA512-TAI: the verifiable random function of RFC 9381 (suite_string
// 0x03), built on libsodium's public edwards25519 point and scalar API.
//
// The key pair is an ordinary Ed25519 key pair: SK is the 32-byte seed, PK the 32-byte
// public key, exactly as RFC 9381 section 5.5 reuses RFC 8032. A proof made here verifies
// with any RFC 9381 implementation, and every proof an RFC 9381 verifier accepts (with
// validate_key) is accepted here, with the same output.
//
// Strictness (RFC 9381 exactly):
//   - points (PK, Gamma) decode as in RFC 8032 section 5.1.3: y >= p and "x = 0 with the
//     sign bit set" are rejected; points with a small-order component are accepted;
//   - the public key is validated (ECVRF_validate_key): a small-order PK is rejected;
//   - s must be below the group order L; c is any 128-bit integer.
//
// All functions are pure and thread-safe; each initialises libsodium on first use.

#include <optional>

#include "domain/crypto.hpp"

namespace croupier::vrf {

using Proof = FixedBytes<80>;   // pi = Gamma(32) || c(16) || s(32), see vrf.cpp.
using Output = FixedBytes<64>;  // beta, the VRF output.

// The proof for `alpha` under `key`. Deterministic: the same key and alpha give the same
// proof. Precondition: `key` is a consistent libsodium key pair (secret = seed || public_key).
Proof prove(const KeyPair& key, ByteView alpha);

// beta for a proof, without verifying it (RFC 9381 ECVRF_proof_to_hash). nullopt when pi
// does not decode: Gamma is not a valid point encoding, or s >= L. Only call this on a proof
// that verify() accepted, or when the caller knows the proof is its own.
std::optional<Output> proof_to_hash(const Proof& pi);

// beta when pi is a valid proof for `alpha` under `pk` (RFC 9381 ECVRF_verify with
// validate_key = true), nullopt otherwise: bad encodings, a small-order pk, s >= L, or a
// challenge mismatch all give nullopt.
std::optional<Output> verify(const PublicKey& pk, ByteView alpha, const Proof& pi);

}  // namespace croupier::vrf
