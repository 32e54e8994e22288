#include "domain/vrf.hpp"

#include <sodium.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "domain/vrf_internal.hpp"

// ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381 section 5 with the suite of section 5.5. Every
// "x·P" below is integer scalar multiplication; L is the prime group order, B the base point,
// "||" concatenation, s[a..b] the bytes a (inclusive) to b (exclusive).
//
//   x     = clamp(SHA-512(SK)[0..32])                      RFC 8032 secret scalar
//   Y     = x·B, PK = encode(Y)
//   H     = 8·decode(SHA-512(0x03 || 0x01 || PK || alpha || ctr || 0x00)[0..32])
//             for the first ctr = 0, 1, ..., 255 that decodes and gives H != identity
//   Gamma = x·H
//   k     = SHA-512(SHA-512(SK)[32..64] || H) mod L
//   c     = SHA-512(0x03 || 0x02 || Y || H || Gamma || k·B || k·H || 0x00)[0..16]
//   s     = (k + c·x) mod L
//   pi    = Gamma(32) || c(16, little-endian) || s(32, little-endian)
//   beta  = SHA-512(0x03 || 0x03 || 8·Gamma || 0x00)
//
// Verify recomputes U = s·B - c·Y and V = s·H - c·Gamma and accepts when the challenge of
// (Y, H, Gamma, U, V) equals c.
//
// libsodium's scalar multiplication (crypto_scalarmult_ed25519_noclamp) only accepts points
// in the prime-order subgroup, while RFC 9381 accepts a PK or Gamma with a small-order
// component. mul() falls back to n·P = floor(n/8)·(8·P) + (n mod 8)·P for those, using
// point addition (crypto_core_ed25519_add), which takes any point on the curve.

namespace croupier::vrf {

namespace internal {

namespace {

constexpr std::uint8_t kEncodeToCurveFront = 0x01;
constexpr std::uint8_t kChallengeFront = 0x02;
constexpr std::uint8_t kProofToHashFront = 0x03;
constexpr std::uint8_t kBack = 0x00;
constexpr std::size_t kGammaOffset = 0;
constexpr std::size_t kChallengeOffset = 32;
constexpr std::size_t kScalarOffset = 48;
static_assert(kScalarOffset + 32 == std::tuple_size_v<Proof>, "pi = Gamma(32) || c(16) || s(32)");
static_assert(crypto_core_ed25519_BYTES == 32 && crypto_core_ed25519_SCALARBYTES == 32);
static_assert(crypto_core_ed25519_NONREDUCEDSCALARBYTES == 64 && crypto_hash_sha512_BYTES == 64);

constexpr std::uint8_t hex_digit(char ch) {
  return static_cast<std::uint8_t>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
}

constexpr Point point_from_hex(const char (&hex)[65]) {
  Point p{};
  for (std::size_t i = 0; i < p.size(); ++i)
    p[i] = static_cast<std::uint8_t>(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
  return p;
}

class Sha512 {
 public:
  Sha512() { crypto_hash_sha512_init(&state_); }
  Sha512& update(ByteView data) {
    crypto_hash_sha512_update(&state_, data.data(), data.size());
    return *this;
  }
  Sha512& update_u8(std::uint8_t v) { return update(ByteView{&v, 1}); }
  FixedBytes<64> finish() {
    FixedBytes<64> out{};
    crypto_hash_sha512_final(&state_, out.data());
    return out;
  }

 private:
  crypto_hash_sha512_state state_;
};

bool is_zero(const Scalar& n) {
  return sodium_is_zero(n.data(), n.size()) == 1;
}

// floor(n / 8).
Scalar shift_right_3(const Scalar& n) {
  Scalar out{};
  for (std::size_t i = 0; i + 1 < n.size(); ++i)
    out[i] = static_cast<std::uint8_t>(n[i] >> 3 | n[i + 1] << 5);
  out[n.size() - 1] = static_cast<std::uint8_t>(n[n.size() - 1] >> 3);
  return out;
}

// r·p for 0 <= r < 8 by double-and-add; p may have a small-order component.
Point small_multiple(unsigned r, const Point& p) {
  assert(r < 8);
  Point out = kIdentity;
  for (int bit = 2; bit >= 0; --bit) {
    out = add(out, out);
    if ((r >> bit) & 1) out = add(out, p);
  }
  return out;
}

// n·p through libsodium, for p in the prime-order subgroup and n reduced; nullopt when
// libsodium refuses: p outside that subgroup or small, n = 0, or an identity result.
std::optional<Point> mul_prime_order(const Scalar& n, const Point& p) {
  Point out{};
  if (crypto_scalarmult_ed25519_noclamp(out.data(), n.data(), p.data()) != 0) return std::nullopt;
  return out;
}

Scalar widen(const Challenge& c) {
  Scalar out{};
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

}  // namespace

constexpr Point kIdentity =
    point_from_hex("0100000000000000000000000000000000000000000000000000000000000000");

constexpr Point kSmallOrderPoints[8] = {
    kIdentity,  // Order 1.
    point_from_hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // 2
    point_from_hex("0000000000000000000000000000000000000000000000000000000000000000"),  // 4
    point_from_hex("0000000000000000000000000000000000000000000000000000000000000080"),  // 4
    point_from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),  // 8
    point_from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),  // 8
    point_from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),  // 8
    point_from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),  // 8
};

std::optional<Point> decode_point(const FixedBytes<32>& encoding) {
  ensure_sodium();
  // Adding the identity decodes and re-encodes. libsodium's decoding is looser than
  // RFC 8032 (it reduces y >= p and ignores the sign bit when x = 0); both cases, and only
  // they, change the encoding, so comparing with the input gives RFC 8032 decoding.
  Point out{};
  if (crypto_core_ed25519_add(out.data(), encoding.data(), kIdentity.data()) != 0)
    return std::nullopt;
  if (out != encoding) return std::nullopt;
  return out;
}

bool is_small_order(const Point& p) {
  for (const Point& q : kSmallOrderPoints)
    if (p == q) return true;
  return false;
}

Point add(const Point& a, const Point& b) {
  ensure_sodium();
  Point out{};
  const int rc = crypto_core_ed25519_add(out.data(), a.data(), b.data());
  assert(rc == 0 && "add: an operand is not a point on the curve");
  (void)rc;
  return out;
}

Point sub(const Point& a, const Point& b) {
  ensure_sodium();
  Point out{};
  const int rc = crypto_core_ed25519_sub(out.data(), a.data(), b.data());
  assert(rc == 0 && "sub: an operand is not a point on the curve");
  (void)rc;
  return out;
}

Point times8(const Point& p) {
  Point out = add(p, p);
  out = add(out, out);
  out = add(out, out);
  return out;
}

Point mul(const Scalar& n, const Point& p) {
  ensure_sodium();
  // When libsodium accepts p, p has prime order L, so n·p = (n mod L)·p.
  if (auto fast = mul_prime_order(reduce(n), p)) return *fast;
  // p has a small-order component (or n mod L = 0, or the result is the identity):
  // n = 8·floor(n/8) + (n mod 8), and 8·p has prime order (or is the identity).
  const Point p8 = times8(p);
  const Scalar high_scalar = reduce(shift_right_3(n));
  Point high = kIdentity;
  if (p8 != kIdentity && !is_zero(high_scalar)) {
    auto product = mul_prime_order(high_scalar, p8);
    assert(product && "8·p has prime order and the scalar is nonzero mod L");
    high = *product;
  }
  return add(high, small_multiple(n[0] & 7u, p));
}

Point mul_base(const Scalar& n) {
  ensure_sodium();
  const Scalar reduced = reduce(n);
  if (is_zero(reduced)) return kIdentity;  // libsodium refuses a zero scalar.
  Point out{};
  const int rc = crypto_scalarmult_ed25519_base_noclamp(out.data(), reduced.data());
  assert(rc == 0 && "a nonzero reduced scalar times B is never the identity");
  (void)rc;
  return out;
}

PointSplit split_point(const Point& p) {
  ensure_sodium();
  const Point p8 = times8(p);
  if (p8 == kIdentity) return {kIdentity, p};
  Scalar eight{};
  eight[0] = 8;
  Scalar eight_inverse{};
  const int inv_rc = crypto_core_ed25519_scalar_invert(eight_inverse.data(), eight.data());
  assert(inv_rc == 0);
  (void)inv_rc;
  auto prime_part = mul_prime_order(eight_inverse, p8);
  assert(prime_part && "8·p has prime order");
  return {*prime_part, sub(p, *prime_part)};
}

Scalar reduce(const Scalar& n) {
  ensure_sodium();
  FixedBytes<64> wide{};
  std::memcpy(wide.data(), n.data(), n.size());
  Scalar out{};
  crypto_core_ed25519_scalar_reduce(out.data(), wide.data());
  return out;
}

Scalar muladd(const Scalar& a, const Scalar& b, const Scalar& c) {
  ensure_sodium();
  // libsodium's scalar_add adds 32-byte values without a carry out, so every operand must
  // be reduced first; scalar_mul reduces its product.
  Scalar product{};
  crypto_core_ed25519_scalar_mul(product.data(), reduce(a).data(), reduce(b).data());
  Scalar out{};
  crypto_core_ed25519_scalar_add(out.data(), product.data(), reduce(c).data());
  return out;
}

Scalar secret_scalar(const Seed& sk) {
  ensure_sodium();
  FixedBytes<64> h = Sha512().update(sk).finish();
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  Scalar x{};
  std::memcpy(x.data(), h.data(), x.size());
  sodium_memzero(h.data(), h.size());
  return reduce(x);
}

Point encode_to_curve_tai(const PublicKey& pk, ByteView alpha) {
  ensure_sodium();
  for (unsigned ctr = 0; ctr <= 255; ++ctr) {
    const FixedBytes<64> hash = Sha512()
                                    .update_u8(kSuiteString)
                                    .update_u8(kEncodeToCurveFront)
                                    .update(pk)
                                    .update(alpha)
                                    .update_u8(static_cast<std::uint8_t>(ctr))
                                    .update_u8(kBack)
                                    .finish();
    FixedBytes<32> candidate{};
    std::memcpy(candidate.data(), hash.data(), candidate.size());
    const auto point = decode_point(candidate);
    if (!point) continue;
    const Point h = times8(*point);
    if (h != kIdentity) return h;
  }
  // Each counter fails with probability about 1/2, independently.
  std::fputs("croupier: vrf encode_to_curve failed for 256 counters\n", stderr);
  std::abort();
}

Scalar nonce_generation(const Seed& sk, const Point& h_string) {
  ensure_sodium();
  FixedBytes<64> hashed_sk = Sha512().update(sk).finish();
  const FixedBytes<64> k_string =
      Sha512().update(ByteView{hashed_sk.data() + 32, 32}).update(h_string).finish();
  sodium_memzero(hashed_sk.data(), hashed_sk.size());
  Scalar k{};
  crypto_core_ed25519_scalar_reduce(k.data(), k_string.data());
  return k;
}

Challenge challenge_generation(const Point& p1, const Point& p2, const Point& p3,
                               const Point& p4, const Point& p5) {
  ensure_sodium();
  const FixedBytes<64> hash = Sha512()
                                  .update_u8(kSuiteString)
                                  .update_u8(kChallengeFront)
                                  .update(p1)
                                  .update(p2)
                                  .update(p3)
                                  .update(p4)
                                  .update(p5)
                                  .update_u8(kBack)
                                  .finish();
  Challenge c{};
  std::memcpy(c.data(), hash.data(), c.size());
  return c;
}

std::optional<DecodedProof> decode_proof(const Proof& pi) {
  FixedBytes<32> gamma_string{};
  std::memcpy(gamma_string.data(), pi.data() + kGammaOffset, gamma_string.size());
  const auto gamma = decode_point(gamma_string);
  if (!gamma) return std::nullopt;
  DecodedProof d{*gamma, {}, {}};
  std::memcpy(d.c.data(), pi.data() + kChallengeOffset, d.c.size());
  std::memcpy(d.s.data(), pi.data() + kScalarOffset, d.s.size());
  if (reduce(d.s) != d.s) return std::nullopt;  // s >= L.
  return d;
}

Output gamma_to_hash(const Point& gamma) {
  ensure_sodium();
  return Sha512()
      .update_u8(kSuiteString)
      .update_u8(kProofToHashFront)
      .update(times8(gamma))
      .update_u8(kBack)
      .finish();
}

Proof encode_proof(const Point& gamma, const Challenge& c, const Scalar& s) {
  Proof pi{};
  std::memcpy(pi.data() + kGammaOffset, gamma.data(), gamma.size());
  std::memcpy(pi.data() + kChallengeOffset, c.data(), c.size());
  std::memcpy(pi.data() + kScalarOffset, s.data(), s.size());
  return pi;
}

ProveTrace prove_trace(const KeyPair& key, ByteView alpha) {
  ensure_sodium();
  const Seed sk = key.seed();
  const PublicKey& pk = key.public_key;
  Scalar x = secret_scalar(sk);
  // A key pair whose public key does not match its seed would make proofs nobody accepts.
  assert(mul_base(x) == pk && "KeyPair: public_key does not match the seed");
  ProveTrace t{};
  t.h = encode_to_curve_tai(pk, alpha);
  t.gamma = mul(x, t.h);
  t.k = nonce_generation(sk, t.h);
  t.u = mul_base(t.k);
  t.v = mul(t.k, t.h);
  const Challenge c = challenge_generation(pk, t.h, t.gamma, t.u, t.v);
  const Scalar s = muladd(widen(c), x, t.k);
  sodium_memzero(x.data(), x.size());
  t.pi = encode_proof(t.gamma, c, s);
  t.beta = gamma_to_hash(t.gamma);
  assert(t.gamma != kIdentity && t.h != kIdentity);
  return t;
}

}  // namespace internal

using namespace internal;

Proof prove(const KeyPair& key, ByteView alpha) {
  ProveTrace t = prove_trace(key, alpha);
  sodium_memzero(t.k.data(), t.k.size());  // k and pi together give x.
  return t.pi;
}

std::optional<Output> proof_to_hash(const Proof& pi) {
  const auto d = decode_proof(pi);
  if (!d) return std::nullopt;
  return gamma_to_hash(d->gamma);
}

std::optional<Output> verify(const PublicKey& pk, ByteView alpha, const Proof& pi) {
  const auto y = decode_point(pk);
  if (!y) return std::nullopt;
  if (is_small_order(*y)) return std::nullopt;  // ECVRF_validate_key.
  const auto d = decode_proof(pi);
  if (!d) return std::nullopt;
  const Point h = encode_to_curve_tai(pk, alpha);
  const Scalar c = widen(d->c);
  const Point u = sub(mul_base(d->s), mul(c, *y));
  const Point v = sub(mul(d->s, h), mul(c, d->gamma));
  if (challenge_generation(*y, h, d->gamma, u, v) != d->c) return std::nullopt;
  return gamma_to_hash(d->gamma);
}

}  // namespace croupier::vrf
