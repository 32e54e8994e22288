#pragma once
// The steps of ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381), exposed so tests can check each
// against the RFC's vectors byte for byte and craft proofs the public API never makes.
// Not for production callers: use domain/vrf.hpp.
//
// A Point is always the canonical RFC 8032 encoding of a point on edwards25519 (any point
// on the curve, including those with a small-order component). Functions taking a Point
// assert that it decodes; obtain one from decode_point() or from another function here.

#include <cstdint>
#include <optional>

#include "domain/vrf.hpp"

namespace croupier::vrf::internal {

using Point = FixedBytes<32>;      // Canonical RFC 8032 point encoding.
using Scalar = FixedBytes<32>;     // Little-endian integer; "reduced" means below L.
using Challenge = FixedBytes<16>;  // c, a little-endian 128-bit integer.

inline constexpr std::uint8_t kSuiteString = 0x03;  // ECVRF-EDWARDS25519-SHA512-TAI.

// The identity (0, 1) and the 8 canonical encodings of the small-order points: the torsion
// subgroup of edwards25519 is cyclic of order 8, so these are all of them.
extern const Point kIdentity;
extern const Point kSmallOrderPoints[8];

// RFC 8032 section 5.1.3 decoding: nullopt unless `encoding` is a canonical encoding of a
// point on the curve. On success the result equals `encoding`.
std::optional<Point> decode_point(const FixedBytes<32>& encoding);
bool is_small_order(const Point& p);  // 8·p is the identity.

Point add(const Point& a, const Point& b);
Point sub(const Point& a, const Point& b);
Point times8(const Point& p);  // The cofactor multiple; always in the prime-order subgroup.

// n·p for any curve point p and any integer 0 <= n < 2^256 (not reduced mod L: a point with
// a small-order component needs n mod 8 too). A prime-order p takes one libsodium scalar
// multiplication; otherwise n·p = floor(n/8)·(8·p) + (n mod 8)·p.
Point mul(const Scalar& n, const Point& p);
Point mul_base(const Scalar& n);  // n·B for the standard base point B.

// The split the RFC-exactness argument rests on, computed the long way (two scalar
// multiplications) for tests: p = p_prime + torsion, p_prime = 8^-1·(8·p) of prime order,
// torsion = p - p_prime of order dividing 8.
struct PointSplit {
  Point prime_part;
  Point torsion_part;
};
PointSplit split_point(const Point& p);

Scalar reduce(const Scalar& n);                                       // n mod L.
Scalar muladd(const Scalar& a, const Scalar& b, const Scalar& c);    // (a·b + c) mod L.
Scalar secret_scalar(const Seed& sk);  // x: RFC 8032 clamp(SHA-512(sk)[0..32]), reduced mod L.

// ECVRF_encode_to_curve_try_and_increment with encode_to_curve_salt = pk. Aborts if all
// 256 counters fail, which happens with probability about 2^-256.
Point encode_to_curve_tai(const PublicKey& pk, ByteView alpha);

// ECVRF_nonce_generation_RFC8032: SHA-512(SHA-512(sk)[32..64] || h_string) mod L.
Scalar nonce_generation(const Seed& sk, const Point& h_string);

// ECVRF_challenge_generation: the first 16 bytes of
// SHA-512(0x03 || 0x02 || p1 || p2 || p3 || p4 || p5 || 0x00).
Challenge challenge_generation(const Point& p1, const Point& p2, const Point& p3,
                               const Point& p4, const Point& p5);

// ECVRF_decode_proof: nullopt when Gamma does not decode or s >= L.
struct DecodedProof {
  Point gamma;
  Challenge c;
  Scalar s;
};
std::optional<DecodedProof> decode_proof(const Proof& pi);

// beta = SHA-512(0x03 || 0x03 || 8·gamma || 0x00).
Output gamma_to_hash(const Point& gamma);

Proof encode_proof(const Point& gamma, const Challenge& c, const Scalar& s);

// Every intermediate value of ECVRF_prove, named as in RFC 9381 appendix B.
struct ProveTrace {
  Point h;      // H = encode_to_curve(PK, alpha).
  Scalar k;     // The nonce.
  Point u;      // U = k·B.
  Point v;      // V = k·H.
  Point gamma;  // Gamma = x·H.
  Proof pi;
  Output beta;
};
ProveTrace prove_trace(const KeyPair& key, ByteView alpha);

}  // namespace croupier::vrf::internal
