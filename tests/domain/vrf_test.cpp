// ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381): goal and method.
//
// Goal: our proofs verify with any RFC 9381 implementation, and we accept exactly the
// proofs RFC 9381 ECVRF_verify (validate_key = true) accepts, with the same beta.
// Method: (1) reproduce every intermediate value of the RFC's three TAI vectors byte for
// byte; (2) tamper with valid proofs (each of the 640 bits, alpha, PK, s + L, -Gamma) and
// see each rejected; (3) craft the proofs libsodium alone would get wrong: Gamma or PK
// carrying an order-8 component, with c = 0 mod 8, which the RFC accepts, and proofs under
// small-order keys that pass the verification equations but fail validate_key; (4) check
// the mixed-point multiplication against repeated addition and against the split
// P = P' + T of the RFC-exactness argument.
#include <doctest/doctest.h>
#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "domain/vrf.hpp"
#include "domain/vrf_internal.hpp"

using namespace croupier;
using namespace croupier::vrf;
using namespace croupier::vrf::internal;

namespace {

struct TaiVector {
  std::string sk, pk, alpha, h, k, u, v, pi, beta;
};

std::vector<TaiVector> load_tai_vectors() {
  std::ifstream in(CROUPIER_TEST_DATA "/rfc9381-ecvrf-edwards25519.json");
  REQUIRE(in.good());
  const auto doc = nlohmann::json::parse(in);
  const auto& suite = doc.at("ECVRF-EDWARDS25519-SHA512-TAI");
  REQUIRE(suite.at("suite_string").get<std::string>() == "03");
  std::vector<TaiVector> out;
  for (const auto& v : suite.at("vectors"))
    out.push_back({v.at("SK"), v.at("PK"), v.at("alpha"), v.at("H"), v.at("k"), v.at("U"),
                   v.at("V"), v.at("pi"), v.at("beta")});
  REQUIRE(out.size() == 3);
  return out;
}

std::string hex_of(const std::optional<Output>& beta) {
  return beta ? to_hex(*beta) : std::string("nullopt");
}

Point gamma_of(const Proof& pi) {
  Point g{};
  std::copy_n(pi.begin(), 32, g.begin());
  return g;
}

Challenge challenge_of(const Proof& pi) {
  Challenge c{};
  std::copy_n(pi.begin() + 32, 16, c.begin());
  return c;
}

Scalar scalar_of(const Proof& pi) {
  Scalar s{};
  std::copy_n(pi.begin() + 48, 32, s.begin());
  return s;
}

Scalar widen(const Challenge& c) {
  Scalar s{};
  std::copy(c.begin(), c.end(), s.begin());
  return s;
}

// A deterministic scalar for test case `label`/`i` (not reduced: any 256-bit value).
Scalar test_scalar(std::string_view label, unsigned i) {
  Bytes in(label.begin(), label.end());
  in.push_back(static_cast<std::uint8_t>(i));
  in.push_back(static_cast<std::uint8_t>(i >> 8));
  const Hash32 h = blake2b256(in);
  Scalar s{};
  std::copy(h.begin(), h.end(), s.begin());
  return s;
}

Scalar small_scalar(std::uint64_t n) {
  Scalar s{};
  put_u64_le(s.data(), n);
  return s;
}

KeyPair test_key(unsigned i) {
  return keypair_from_seed(test_scalar("vrf test key", i));
}

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const Scalar kOrderL = fixed_from_hex<32>(
    "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

// a + b as 256-bit integers; the tests only use sums below 2^256.
Scalar add_integers(const Scalar& a, const Scalar& b) {
  Scalar out{};
  unsigned carry = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned sum = a[i] + b[i] + carry;
    out[i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  REQUIRE(carry == 0);
  return out;
}

Point repeated_addition(std::uint64_t n, const Point& p) {
  Point out = kIdentity;
  for (std::uint64_t i = 0; i < n; ++i) out = add(out, p);
  return out;
}

const Point kOrder8 = kSmallOrderPoints[4];

// The proof an honest prover with secret scalar x would make for public-key encoding
// `pk` and Gamma = x·H + torsion, using nonces k drawn from `label` until the challenge's
// residue mod 8 satisfies `want_c_mod_8_zero`. pk's own small-order component is the
// caller's business: the proof verifies when c·(pk's torsion) and c·torsion vanish.
Proof crafted_proof(const Scalar& x, const PublicKey& pk, ByteView alpha, const Point& torsion,
                    bool want_c_mod_8_zero, std::string_view label) {
  const Point h = encode_to_curve_tai(pk, alpha);
  const Point gamma = add(mul(x, h), torsion);
  for (unsigned i = 0; i < 1000; ++i) {
    const Scalar k = reduce(test_scalar(label, i));
    const Challenge c =
        challenge_generation(pk, h, gamma, mul_base(k), mul(k, h));
    if (((c[0] & 7) == 0) != want_c_mod_8_zero) continue;
    return encode_proof(gamma, c, muladd(widen(c), x, k));
  }
  FAIL("no nonce gave the wanted challenge residue in 1000 tries");
  return {};
}

}  // namespace

TEST_CASE("RFC 9381 TAI vectors reproduce byte for byte") {
  for (const auto& vec : load_tai_vectors()) {
    CAPTURE(vec.alpha);
    const KeyPair key = keypair_from_seed(fixed_from_hex<32>(vec.sk, "SK"));
    CHECK(to_hex(key.public_key) == vec.pk);
    const Bytes alpha = bytes_from_hex(vec.alpha, "alpha");

    const Point h = encode_to_curve_tai(key.public_key, alpha);
    CHECK(to_hex(h) == vec.h);
    CHECK(to_hex(nonce_generation(key.seed(), h)) == vec.k);

    const ProveTrace t = prove_trace(key, alpha);
    CHECK(to_hex(t.h) == vec.h);
    CHECK(to_hex(t.k) == vec.k);
    CHECK(to_hex(t.u) == vec.u);
    CHECK(to_hex(t.v) == vec.v);
    CHECK(to_hex(t.gamma) == vec.pi.substr(0, 64));
    CHECK(to_hex(t.pi) == vec.pi);
    CHECK(to_hex(t.beta) == vec.beta);

    const Proof pi = prove(key, alpha);
    CHECK(to_hex(pi) == vec.pi);
    CHECK(hex_of(proof_to_hash(pi)) == vec.beta);
    CHECK(hex_of(verify(key.public_key, alpha, pi)) == vec.beta);
  }
}

TEST_CASE("Verifier recomputes the vectors' U and V from the proof alone") {
  for (const auto& vec : load_tai_vectors()) {
    CAPTURE(vec.alpha);
    const auto pk = fixed_from_hex<32>(vec.pk);
    const auto pi = fixed_from_hex<80>(vec.pi);
    const auto d = decode_proof(pi);
    REQUIRE(d);
    const Point h = encode_to_curve_tai(pk, bytes_from_hex(vec.alpha));
    const Point u = sub(mul_base(d->s), mul(widen(d->c), pk));
    const Point v = sub(mul(d->s, h), mul(widen(d->c), d->gamma));
    CHECK(to_hex(u) == vec.u);
    CHECK(to_hex(v) == vec.v);
    CHECK(challenge_generation(pk, h, d->gamma, u, v) == d->c);
  }
}

TEST_CASE("Every single-bit flip of a proof is rejected") {
  for (const auto& vec : load_tai_vectors()) {
    CAPTURE(vec.alpha);
    const auto pk = fixed_from_hex<32>(vec.pk);
    const Bytes alpha = bytes_from_hex(vec.alpha);
    const auto pi = fixed_from_hex<80>(vec.pi);
    REQUIRE(verify(pk, alpha, pi));
    unsigned accepted = 0;
    for (unsigned bit = 0; bit < 8 * pi.size(); ++bit) {
      Proof flipped = pi;
      flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      if (verify(pk, alpha, flipped)) {
        ++accepted;
        CAPTURE(bit);
        FAIL_CHECK("a proof with one bit flipped verified");
      }
    }
    CHECK(accepted == 0);
  }
}

TEST_CASE("Tampered proofs, alphas and keys are rejected") {
  const auto vectors = load_tai_vectors();
  const auto& vec = vectors[1];
  const auto pk = fixed_from_hex<32>(vec.pk);
  const Bytes alpha = bytes_from_hex(vec.alpha);
  const auto pi = fixed_from_hex<80>(vec.pi);
  REQUIRE(verify(pk, alpha, pi));

  SUBCASE("wrong alpha") {
    CHECK_FALSE(verify(pk, bytes_from_hex(vectors[0].alpha), pi));
    CHECK_FALSE(verify(pk, bytes_from_hex("7200"), pi));
    CHECK_FALSE(verify(pk, bytes_from_hex("73"), pi));
  }
  SUBCASE("wrong public key") {
    CHECK_FALSE(verify(fixed_from_hex<32>(vectors[0].pk), alpha, pi));
    CHECK_FALSE(verify(fixed_from_hex<32>(vectors[2].pk), alpha, pi));
  }
  SUBCASE("s + L: the same residue, not reduced") {
    const Scalar s_plus_l = add_integers(scalar_of(pi), kOrderL);
    REQUIRE(reduce(s_plus_l) == scalar_of(pi));
    const Proof bad = encode_proof(gamma_of(pi), challenge_of(pi), s_plus_l);
    CHECK_FALSE(decode_proof(bad));
    CHECK_FALSE(proof_to_hash(bad));
    CHECK_FALSE(verify(pk, alpha, bad));
  }
  SUBCASE("-Gamma") {
    const Point minus_gamma = sub(kIdentity, gamma_of(pi));
    REQUIRE(minus_gamma != gamma_of(pi));
    const Proof bad = encode_proof(minus_gamma, challenge_of(pi), scalar_of(pi));
    CHECK_FALSE(verify(pk, alpha, bad));
  }
  SUBCASE("Gamma that is not a point") {
    // y = 2 has no x on edwards25519; the same proof otherwise.
    Point not_a_point{};
    not_a_point[0] = 2;
    REQUIRE_FALSE(decode_point(not_a_point));
    const Proof bad = encode_proof(not_a_point, challenge_of(pi), scalar_of(pi));
    CHECK_FALSE(proof_to_hash(bad));
    CHECK_FALSE(verify(pk, alpha, bad));
  }
  SUBCASE("public key that is not a point") {
    Point not_a_point{};
    not_a_point[0] = 2;
    CHECK_FALSE(verify(not_a_point, alpha, pi));
  }
}

TEST_CASE("Points decode exactly as RFC 8032 says") {
  // The identity (0, 1), in its canonical form and in two forms libsodium alone accepts:
  // y = p + 1, and the sign bit set although x = 0.
  CHECK(decode_point(kIdentity) == kIdentity);
  const auto y_above_p =
      fixed_from_hex<32>("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const auto negative_zero_x =
      fixed_from_hex<32>("0100000000000000000000000000000000000000000000000000000000000080");
  CHECK_FALSE(decode_point(y_above_p));
  CHECK_FALSE(decode_point(negative_zero_x));
  Point out{};
  CHECK(crypto_core_ed25519_add(out.data(), y_above_p.data(), kIdentity.data()) == 0);
  CHECK(out == kIdentity);
  CHECK(crypto_core_ed25519_add(out.data(), negative_zero_x.data(), kIdentity.data()) == 0);
  CHECK(out == kIdentity);

  // A proof whose Gamma is a non-canonical encoding does not decode.
  const Proof bad = encode_proof(y_above_p, Challenge{}, Scalar{});
  CHECK_FALSE(proof_to_hash(bad));
  CHECK(proof_to_hash(encode_proof(kIdentity, Challenge{}, Scalar{})));
}

TEST_CASE("The small-order list is exactly the torsion subgroup") {
  REQUIRE(decode_point(kOrder8));
  CHECK(times8(kOrder8) == kIdentity);
  CHECK(add(add(kOrder8, kOrder8), add(kOrder8, kOrder8)) != kIdentity);  // 4·T != 0.
  std::set<Point> listed(std::begin(kSmallOrderPoints), std::end(kSmallOrderPoints));
  std::set<Point> generated;
  for (unsigned i = 0; i < 8; ++i) generated.insert(repeated_addition(i, kOrder8));
  CHECK(listed.size() == 8);
  CHECK(generated == listed);
  for (const Point& p : kSmallOrderPoints) {
    CHECK(decode_point(p) == p);
    CHECK(is_small_order(p));
  }
  CHECK_FALSE(is_small_order(test_key(0).public_key));
  CHECK_FALSE(is_small_order(add(test_key(0).public_key, kOrder8)));
}

TEST_CASE("Multiplication of mixed points matches repeated addition and the split") {
  const Point prime = test_key(1).public_key;
  const Point mixed = add(prime, kOrder8);
  REQUIRE(crypto_core_ed25519_is_valid_point(prime.data()) == 1);
  REQUIRE(crypto_core_ed25519_is_valid_point(mixed.data()) == 0);  // libsodium refuses it.

  for (const Point& p : {prime, mixed, kOrder8, kSmallOrderPoints[1], kIdentity}) {
    CAPTURE(to_hex(p));
    for (std::uint64_t n = 0; n <= 20; ++n) {
      CAPTURE(n);
      CHECK(mul(small_scalar(n), p) == repeated_addition(n, p));
    }
  }

  const PointSplit split = split_point(mixed);
  CHECK(split.prime_part == prime);
  CHECK(split.torsion_part == kOrder8);
  CHECK(split_point(prime).torsion_part == kIdentity);
  CHECK(split_point(kOrder8).prime_part == kIdentity);

  // n·P = n·P' + (n mod 8)·T for large n, including n >= L and the worst 256-bit n.
  std::vector<Scalar> scalars;
  for (unsigned i = 0; i < 16; ++i) scalars.push_back(test_scalar("split", i));
  scalars.push_back(kOrderL);
  scalars.push_back(add_integers(kOrderL, small_scalar(3)));
  Scalar all_ones{};
  all_ones.fill(0xff);
  scalars.push_back(all_ones);
  for (const Scalar& n : scalars) {
    CAPTURE(to_hex(n));
    const Point expected =
        add(mul(reduce(n), split.prime_part), repeated_addition(n[0] & 7u, split.torsion_part));
    CHECK(mul(n, mixed) == expected);
  }
  // L·P keeps only the torsion: L = 5 mod 8.
  CHECK(mul(kOrderL, mixed) == repeated_addition(5, kOrder8));
  CHECK(mul(kOrderL, prime) == kIdentity);
  CHECK(mul_base(kOrderL) == kIdentity);
  CHECK(mul_base(Scalar{}) == kIdentity);
}

TEST_CASE("A Gamma with an order-8 component and c = 0 mod 8 verifies, as the RFC says") {
  const KeyPair key = test_key(2);
  const Bytes alpha{0xbe, 0x7};
  const Scalar x = secret_scalar(key.seed());
  REQUIRE(mul_base(x) == key.public_key);

  const Proof crafted = crafted_proof(x, key.public_key, alpha, kOrder8, true, "gamma8");
  REQUIRE(crypto_core_ed25519_is_valid_point(gamma_of(crafted).data()) == 0);
  const auto honest_beta = verify(key.public_key, alpha, prove(key, alpha));
  REQUIRE(honest_beta);
  // The output stays unique: 8·Gamma clears the order-8 component.
  CHECK(hex_of(verify(key.public_key, alpha, crafted)) == hex_of(honest_beta));
  CHECK(hex_of(proof_to_hash(crafted)) == hex_of(honest_beta));

  // With c != 0 mod 8 the component survives in V and the proof fails.
  const Proof odd = crafted_proof(x, key.public_key, alpha, kOrder8, false, "gamma8-odd");
  CHECK_FALSE(verify(key.public_key, alpha, odd));
}

TEST_CASE("A public key with an order-8 component is valid, as the RFC says") {
  const KeyPair key = test_key(3);
  const Bytes alpha{0x01};
  const Scalar x = secret_scalar(key.seed());
  const PublicKey mixed_pk = add(key.public_key, kOrder8);
  REQUIRE_FALSE(is_small_order(mixed_pk));
  // U = s·B - c·(Y + T) = k·B - c·T, so c = 0 mod 8 is needed here too.
  const Proof crafted = crafted_proof(x, mixed_pk, alpha, kIdentity, true, "pk8");
  const auto beta = verify(mixed_pk, alpha, crafted);
  CHECK(beta);
  CHECK(hex_of(beta) == hex_of(proof_to_hash(crafted)));
  CHECK_FALSE(verify(key.public_key, alpha, crafted));  // H depends on the PK bytes.
  const Proof odd = crafted_proof(x, mixed_pk, alpha, kIdentity, false, "pk8-odd");
  CHECK_FALSE(verify(mixed_pk, alpha, odd));
}

TEST_CASE("Small-order public keys are rejected even when the equations hold") {
  // With Y of small order, Gamma = identity, s = k and c = 0 mod 8, U = k·B and V = k·H:
  // the proof passes every check but validate_key.
  const Bytes alpha{0x42};
  for (const Point& y : kSmallOrderPoints) {
    CAPTURE(to_hex(y));
    const Point h = encode_to_curve_tai(y, alpha);
    std::optional<Proof> crafted;
    for (unsigned i = 0; i < 1000 && !crafted; ++i) {
      const Scalar k = reduce(test_scalar("small-order pk", i));
      const Challenge c = challenge_generation(y, h, kIdentity, mul_base(k), mul(k, h));
      if ((c[0] & 7) == 0) crafted = encode_proof(kIdentity, c, k);
    }
    REQUIRE(crafted);
    const auto d = decode_proof(*crafted);
    REQUIRE(d);
    const Point u = sub(mul_base(d->s), mul(widen(d->c), y));
    const Point v = sub(mul(d->s, h), mul(widen(d->c), d->gamma));
    CHECK(challenge_generation(y, h, d->gamma, u, v) == d->c);  // Only validate_key stops it.
    CHECK_FALSE(verify(y, alpha, *crafted));
  }
}

TEST_CASE("proof_to_hash of a fresh proof equals verify's output") {
  for (unsigned i = 0; i < 8; ++i) {
    CAPTURE(i);
    const KeyPair key = test_key(100 + i);
    const Bytes alpha(i * 7, static_cast<std::uint8_t>(i));
    const Proof pi = prove(key, alpha);
    CHECK(prove(key, alpha) == pi);  // Deterministic.
    const auto beta = verify(key.public_key, alpha, pi);
    REQUIRE(beta);
    CHECK(hex_of(proof_to_hash(pi)) == hex_of(beta));
    CHECK(*beta == prove_trace(key, alpha).beta);
    CHECK_FALSE(verify(test_key(200 + i).public_key, alpha, pi));
  }
}
