// Sparse Merkle tree: shape and hashes as documented in domain/merkle.hpp, proofs that verify
// and proofs that must not, and the PartialTree replaying writes to the same root.
// Method: hand-computed small trees pin the hash format; seeded random trees
// (std::mt19937_64, fixed seeds) check the properties against an oracle: from_leaves for the
// tree shape, the full tree for the partial tree. Tampering is a table of named mutations.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "domain/crypto.hpp"
#include "domain/merkle.hpp"

using namespace croupier;
using namespace croupier::merkle;

namespace {

using Leaves = std::vector<std::pair<Hash32, Hash32>>;

const Hash32 kZero{};

Hash32 random_hash(std::mt19937_64& rng) {
  Hash32 h{};
  for (std::size_t i = 0; i < h.size(); i += 8) put_u64_le(h.data() + i, rng());
  return h;
}

// A stand-in for an account-state hash.
Hash32 value_of(std::uint64_t n) {
  std::uint8_t b[8];
  put_u64_le(b, n);
  return blake2b256(ByteView{b, 8});
}

// A key whose leading bits are `bits` ('0'/'1', MSB of byte 0 first) and whose other bits are 0.
Hash32 key_from_bits(std::string_view bits) {
  Hash32 key{};
  for (std::size_t i = 0; i < bits.size(); ++i)
    if (bits[i] == '1') key[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
  return key;
}

Hash32 with_bit_flipped(Hash32 key, std::size_t bit) {
  key[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  return key;
}

// `base` with every bit from `from` on replaced by random bits: a key that shares at least
// `from` leading bits with `base`, so it lands deep beside it.
Hash32 random_key_near(const Hash32& base, std::size_t from, std::mt19937_64& rng) {
  Hash32 key = random_hash(rng);
  for (std::size_t i = 0; i < from; ++i)
    if (key_bit(key, i) != key_bit(base, i)) key = with_bit_flipped(key, i);
  return key;
}

// Hashes written out by hand from the format in merkle.hpp, independently of merkle.cpp.
Hash32 hand_leaf(const Hash32& key, const Hash32& value) {
  return Blake2b256().update_u8(0x00).update(key).update(value).finish();
}
Hash32 hand_internal(const Hash32& left, const Hash32& right) {
  return Blake2b256().update_u8(0x01).update(left).update(right).finish();
}

Leaves random_leaves(std::mt19937_64& rng, std::size_t count) {
  std::map<Hash32, Hash32> sorted;
  while (sorted.size() < count) sorted.emplace(random_hash(rng), random_hash(rng));
  return Leaves(sorted.begin(), sorted.end());
}

SparseMerkleTree build_incrementally(Leaves leaves, std::mt19937_64& rng) {
  std::shuffle(leaves.begin(), leaves.end(), rng);
  SparseMerkleTree tree;
  for (const auto& [key, value] : leaves) tree.set(key, value);
  return tree;
}

ProvenKey proven(const SparseMerkleTree& tree, const Hash32& key) {
  return ProvenKey{key, tree.get(key), tree.prove(key)};
}

}  // namespace

// --- shape and hashes -------------------------------------------------------------------

TEST_CASE("EmptyTreeRootIsAllZeros") {
  SparseMerkleTree tree;
  CHECK(tree.root() == kZero);
  CHECK(tree.size() == 0);
  CHECK(tree.empty());
  const Hash32 key = value_of(7);
  CHECK_FALSE(tree.get(key));
  CHECK_FALSE(tree.erase(key));
  const MerkleProof proof = tree.prove(key);
  CHECK(proof == MerkleProof{});
  CHECK(verify_proof(kZero, key, std::nullopt, proof));
  CHECK_FALSE(verify_proof(kZero, key, value_of(1), proof));
  CHECK(SparseMerkleTree::from_leaves({}).root() == kZero);
}

TEST_CASE("SingleLeafRootIsItsLeafHash") {
  const Hash32 key = value_of(1), value = value_of(2);
  SparseMerkleTree tree;
  tree.set(key, value);
  CHECK(tree.root() == hand_leaf(key, value));
  CHECK(tree.root() == leaf_hash(key, value));
  CHECK(tree.get(key) == value);
  CHECK(tree.size() == 1);
  const MerkleProof proof = tree.prove(key);
  CHECK(proof.siblings.empty());
  CHECK(proof.terminal_leaf == std::pair{key, value});
  CHECK(verify_proof(tree.root(), key, value, proof));
  // Any other key ends at the same leaf: it proves their absence.
  const Hash32 other = value_of(3);
  CHECK(tree.prove(other) == proof);
  CHECK(verify_proof(tree.root(), other, std::nullopt, proof));
}

TEST_CASE("SmallTreesHaveTheDocumentedShape") {
  const Hash32 a = key_from_bits("00"), b = key_from_bits("01"), c = key_from_bits("1");
  const Hash32 va = value_of(1), vb = value_of(2), vc = value_of(3);

  SUBCASE("three keys: a and b part at bit 1, c alone on the right") {
    SparseMerkleTree tree;
    tree.set(a, va);
    tree.set(b, vb);
    tree.set(c, vc);
    const Hash32 expected =
        hand_internal(hand_internal(hand_leaf(a, va), hand_leaf(b, vb)), hand_leaf(c, vc));
    CHECK(tree.root() == expected);
    // Pinned against drift of the format itself (hash, prefixes, bit order).
    CHECK(to_hex(tree.root()) ==
          "bdb1a199acec4e1586af6f491e92a262fe70a48f4860ae5f49d5271818eeb752");
    // Root level first: a's sibling at depth 1 is c, at depth 2 it is b.
    CHECK(tree.prove(a).siblings == std::vector{hand_leaf(c, vc), hand_leaf(b, vb)});
    CHECK(tree.prove(c).siblings ==
          std::vector{hand_internal(hand_leaf(a, va), hand_leaf(b, vb))});
  }
  SUBCASE("keys sharing two bits hang under a chain with empty siblings") {
    const Hash32 x = key_from_bits("000"), y = key_from_bits("001");
    SparseMerkleTree tree;
    tree.set(x, va);
    tree.set(y, vb);
    const Hash32 expected =
        hand_internal(hand_internal(hand_internal(hand_leaf(x, va), hand_leaf(y, vb)), kZero),
                      kZero);
    CHECK(tree.root() == expected);
    const MerkleProof proof = tree.prove(y);
    CHECK(proof.siblings == std::vector{kZero, kZero, hand_leaf(x, va)});
    CHECK(verify_proof(expected, y, vb, proof));
  }
  SUBCASE("keys differing only in the last bit sit at depth 256") {
    const Hash32 x{}, y = with_bit_flipped(Hash32{}, kKeyBits - 1);
    SparseMerkleTree tree;
    tree.set(y, vb);
    tree.set(x, va);
    Hash32 expected = hand_internal(hand_leaf(x, va), hand_leaf(y, vb));
    for (std::size_t i = 0; i < kKeyBits - 1; ++i) expected = hand_internal(expected, kZero);
    CHECK(tree.root() == expected);
    const MerkleProof proof = tree.prove(x);
    CHECK(proof.siblings.size() == kKeyBits);
    CHECK(verify_proof(expected, x, va, proof));
    // Erasing one collapses the whole chain back into the other's leaf.
    CHECK(tree.erase(y));
    CHECK(tree.root() == hand_leaf(x, va));
    CHECK(tree.prove(x).siblings.empty());
  }
}

TEST_CASE("KeyBitsAreMostSignificantFirst") {
  Hash32 key{};
  key[0] = 0x80;
  key[1] = 0x01;
  CHECK(key_bit(key, 0));
  CHECK_FALSE(key_bit(key, 1));
  CHECK_FALSE(key_bit(key, 14));
  CHECK(key_bit(key, 15));
}

TEST_CASE("RootDependsOnlyOnTheKeySetNotOnInsertionOrder") {
  std::mt19937_64 rng(11);
  const Leaves leaves = random_leaves(rng, 500);
  const Hash32 expected = SparseMerkleTree::from_leaves(leaves).root();
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    CHECK(build_incrementally(leaves, rng).root() == expected);
  }
}

TEST_CASE("FromLeavesEqualsIncrementalBuild") {
  std::mt19937_64 rng(12);
  for (std::size_t count : {0u, 1u, 2u, 3u, 17u, 256u, 3000u}) {
    CAPTURE(count);
    const Leaves leaves = random_leaves(rng, count);
    const SparseMerkleTree bulk = SparseMerkleTree::from_leaves(leaves);
    const SparseMerkleTree incremental = build_incrementally(leaves, rng);
    CHECK(bulk.size() == count);
    CHECK(bulk.root() == incremental.root());
    CHECK(bulk.leaves() == leaves);
    CHECK(incremental.leaves() == leaves);
    for (const auto& [key, value] : leaves) CHECK(bulk.get(key) == value);
    // The bulk-built tree takes writes like any other.
    if (count > 0) {
      SparseMerkleTree a = bulk, b = incremental;
      a.set(leaves.front().first, value_of(99));
      b.set(leaves.front().first, value_of(99));
      a.set(random_hash(rng), value_of(100));
      CHECK(a.root() != bulk.root());
      CHECK(bulk.get(leaves.front().first) == leaves.front().second);  // Copies independent.
    }
  }
}

TEST_CASE("FromLeavesRejectsUnsortedOrDuplicateKeys") {
  const Hash32 a = key_from_bits("0"), b = key_from_bits("1");
  CHECK_THROWS_WITH_AS(SparseMerkleTree::from_leaves({{b, kZero}, {a, kZero}}),
                       doctest::Contains("strictly increasing"), InputError);
  CHECK_THROWS_WITH_AS(SparseMerkleTree::from_leaves({{a, kZero}, {a, value_of(1)}}),
                       doctest::Contains("key 1"), InputError);
}

TEST_CASE("LeavesComeOutInKeyOrder") {
  std::mt19937_64 rng(13);
  SparseMerkleTree tree;
  for (int i = 0; i < 300; ++i) tree.set(random_hash(rng), value_of(i));
  const Leaves leaves = tree.leaves();
  CHECK(leaves.size() == 300);
  CHECK(std::is_sorted(leaves.begin(), leaves.end()));
  std::size_t visited = 0;
  tree.for_each_leaf([&](const Hash32& key, const Hash32& value) {
    REQUIRE(visited < leaves.size());
    CHECK(leaves[visited] == std::pair{key, value});
    ++visited;
  });
  CHECK(visited == 300);
}

TEST_CASE("UpdateReplacesTheValueAndKeepsTheSize") {
  std::mt19937_64 rng(14);
  Leaves leaves = random_leaves(rng, 100);
  SparseMerkleTree tree = SparseMerkleTree::from_leaves(leaves);
  const Hash32 before = tree.root();
  tree.set(leaves[40].first, value_of(1));
  CHECK(tree.size() == 100);
  CHECK(tree.get(leaves[40].first) == value_of(1));
  CHECK(tree.root() != before);
  leaves[40].second = value_of(1);
  CHECK(tree.root() == SparseMerkleTree::from_leaves(leaves).root());
  tree.set(leaves[40].first, random_hash(rng));
  tree.set(leaves[40].first, value_of(1));  // Two writes between roots fold into one.
  CHECK(tree.root() == SparseMerkleTree::from_leaves(leaves).root());
}

TEST_CASE("EraseLeavesTheTreeOfTheRemainingKeys") {
  std::mt19937_64 rng(15);
  const Leaves leaves = random_leaves(rng, 1000);
  SparseMerkleTree tree = SparseMerkleTree::from_leaves(leaves);
  CHECK_FALSE(tree.erase(random_hash(rng)));
  CHECK(tree.size() == 1000);
  Leaves kept;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    if (rng() % 2 == 0) {
      CHECK(tree.erase(leaves[i].first));
      CHECK_FALSE(tree.get(leaves[i].first));
      if (i % 97 == 0) (void)tree.root();  // Interleave erases with rehashing.
    } else {
      kept.push_back(leaves[i]);
    }
  }
  CHECK(tree.size() == kept.size());
  CHECK(tree.root() == SparseMerkleTree::from_leaves(kept).root());
  CHECK(tree.leaves() == kept);
  // Freed nodes are reused by later inserts without disturbing the shape.
  for (const auto& leaf : leaves) tree.set(leaf.first, leaf.second);
  CHECK(tree.root() == SparseMerkleTree::from_leaves(leaves).root());
  for (const auto& leaf : leaves) CHECK(tree.erase(leaf.first));
  CHECK(tree.empty());
  CHECK(tree.root() == kZero);
}

TEST_CASE("DepthStaysNearLog2OfTheSize") {
  std::mt19937_64 rng(16);
  const Leaves leaves = random_leaves(rng, 4096);  // log2 = 12.
  const SparseMerkleTree tree = SparseMerkleTree::from_leaves(leaves);
  std::size_t depth_max = 0, depth_sum = 0;
  for (const auto& [key, value] : leaves) {
    const std::size_t depth = tree.prove(key).siblings.size();
    depth_max = std::max(depth_max, depth);
    depth_sum += depth;
  }
  CHECK(depth_max <= 40);
  CHECK(depth_sum / leaves.size() <= 16);
}

// --- proofs -------------------------------------------------------------------------------

TEST_CASE("ProofsVerifyForEveryKeyAndForAbsentKeys") {
  std::mt19937_64 rng(21);
  const Leaves leaves = random_leaves(rng, 2000);
  const SparseMerkleTree tree = SparseMerkleTree::from_leaves(leaves);
  const Hash32 root = tree.root();
  for (const auto& [key, value] : leaves) {
    const MerkleProof proof = tree.prove(key);
    CHECK(verify_proof(root, key, value, proof));
    CHECK_FALSE(verify_proof(root, key, std::nullopt, proof));
  }
  std::size_t ends_at_leaf = 0, ends_at_empty = 0;
  for (int i = 0; i < 2000; ++i) {
    // Half the absent keys are drawn next to a present key, so their paths run deep.
    const Hash32 key = i % 2 == 0 ? random_hash(rng)
                                   : random_key_near(leaves[rng() % leaves.size()].first,
                                                     rng() % 64, rng);
    if (tree.get(key)) continue;
    const MerkleProof proof = tree.prove(key);
    CAPTURE(proof);
    CHECK(verify_proof(root, key, std::nullopt, proof));
    CHECK_FALSE(verify_proof(root, key, value_of(0), proof));
    if (proof.terminal_leaf) {
      ++ends_at_leaf;
      CHECK(proof.terminal_leaf->first != key);
    } else {
      ++ends_at_empty;
    }
  }
  CHECK(ends_at_leaf > 100);
  CHECK(ends_at_empty > 100);
}

namespace {

// A claim as verify_proof sees it; the tampering rows mutate one field.
struct Claim {
  Hash32 root;
  Hash32 key;
  std::optional<Hash32> value_hash;
  MerkleProof proof;
  bool verifies() const { return verify_proof(root, key, value_hash, proof); }
};

struct TamperRow {
  const char* name;
  std::function<bool(Claim&, std::mt19937_64&)> mutate;  // False: row does not apply.
};

const std::vector<TamperRow>& tamper_rows() {
  static const std::vector<TamperRow> rows = {
      {"wrong root", [](Claim& c, auto&) { c.root[5] ^= 1; return true; }},
      {"wrong value", [](Claim& c, auto&) { c.value_hash = value_of(12345); return true; }},
      {"membership claimed as absence",
       [](Claim& c, auto&) {
         if (!c.value_hash) return false;
         c.value_hash.reset();
         return true;
       }},
      {"absence claimed as membership",
       [](Claim& c, auto&) {
         if (c.value_hash) return false;
         c.value_hash = c.proof.terminal_leaf ? c.proof.terminal_leaf->second : value_of(1);
         return true;
       }},
      {"wrong key, last bit", [](Claim& c, auto&) {
         c.key = with_bit_flipped(c.key, kKeyBits - 1);
         // Still ends at the same place; for absence that may legitimately verify.
         return c.value_hash.has_value();
       }},
      {"wrong key, first bit",
       [](Claim& c, auto&) {
         if (c.proof.siblings.empty()) return false;  // Root is a leaf: any key ends there.
         c.key = with_bit_flipped(c.key, 0);
         return true;
       }},
      {"terminal value changed",
       [](Claim& c, auto&) {
         if (!c.proof.terminal_leaf) return false;
         c.proof.terminal_leaf->second[0] ^= 1;
         return true;
       }},
      {"terminal key changed",
       [](Claim& c, auto&) {
         if (!c.proof.terminal_leaf) return false;
         c.proof.terminal_leaf->first[31] ^= 1;
         return true;
       }},
      {"terminal dropped",
       [](Claim& c, auto&) {
         if (!c.proof.terminal_leaf) return false;
         c.proof.terminal_leaf.reset();
         return true;
       }},
      {"terminal invented",
       [](Claim& c, auto& rng) {
         if (c.proof.terminal_leaf) return false;
         c.proof.terminal_leaf.emplace(random_key_near(c.key, c.proof.siblings.size(), rng),
                                       value_of(3));
         return true;
       }},
      {"last sibling dropped",
       [](Claim& c, auto&) {
         if (c.proof.siblings.empty()) return false;
         c.proof.siblings.pop_back();
         return true;
       }},
      {"first sibling dropped",
       [](Claim& c, auto&) {
         if (c.proof.siblings.empty()) return false;
         c.proof.siblings.erase(c.proof.siblings.begin());
         return true;
       }},
      {"empty sibling appended", [](Claim& c, auto&) { c.proof.siblings.push_back(kZero); return true; }},
      {"random sibling appended",
       [](Claim& c, auto& rng) { c.proof.siblings.push_back(random_hash(rng)); return true; }},
      {"random sibling prepended",
       [](Claim& c, auto& rng) {
         c.proof.siblings.insert(c.proof.siblings.begin(), random_hash(rng));
         return true;
       }},
      {"more siblings than key bits",
       [](Claim& c, auto& rng) {
         c.proof.siblings.resize(kKeyBits + 1, random_hash(rng));
         return true;
       }},
  };
  return rows;
}

}  // namespace

TEST_CASE("TamperedProofsAreRejected") {
  std::mt19937_64 rng(22);
  for (std::size_t count : {1u, 2u, 50u, 1000u}) {
    const Leaves leaves = random_leaves(rng, count);
    const SparseMerkleTree tree = SparseMerkleTree::from_leaves(leaves);
    std::vector<Claim> claims;
    for (int i = 0; i < 3; ++i) {
      const auto& [key, value] = leaves[rng() % leaves.size()];
      claims.push_back({tree.root(), key, value, tree.prove(key)});
    }
    for (int i = 0; i < 12; ++i) {
      const Hash32 key = random_key_near(leaves[rng() % leaves.size()].first, rng() % 24, rng);
      if (!tree.get(key)) claims.push_back({tree.root(), key, std::nullopt, tree.prove(key)});
    }
    for (const Claim& claim : claims) {
      CAPTURE(count);
      CAPTURE(claim.proof);
      REQUIRE(claim.verifies());
      for (const TamperRow& row : tamper_rows()) {
        CAPTURE(row.name);
        Claim tampered = claim;
        if (row.mutate(tampered, rng)) CHECK_FALSE(tampered.verifies());
      }
      for (std::size_t i = 0; i < claim.proof.siblings.size(); ++i) {
        CAPTURE(i);
        Claim tampered = claim;
        tampered.proof.siblings[i][rng() % 32] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        CHECK_FALSE(tampered.verifies());
      }
    }
  }
}

TEST_CASE("OffPathTerminalIsRejectedEvenWhenTheHashesFold") {
  // The attacker picks the root to match their proof, so only the path check can object:
  // a leaf whose key leaves `key`'s path above the terminal depth says nothing about `key`.
  const Hash32 key = key_from_bits("00");
  const Hash32 stranger = key_from_bits("10");  // Parts from `key` at bit 0.
  MerkleProof proof;
  proof.siblings = {value_of(1), value_of(2)};
  proof.terminal_leaf.emplace(stranger, value_of(3));
  const Hash32 folded =
      hand_internal(hand_internal(hand_leaf(stranger, value_of(3)), value_of(2)), value_of(1));
  CHECK_FALSE(verify_proof(folded, key, std::nullopt, proof));
  // The same leaf on the path (shares the first two bits) is accepted.
  const Hash32 neighbour = key_from_bits("001");
  proof.terminal_leaf.emplace(neighbour, value_of(3));
  const Hash32 folded_on_path =
      hand_internal(hand_internal(hand_leaf(neighbour, value_of(3)), value_of(2)), value_of(1));
  CHECK(verify_proof(folded_on_path, key, std::nullopt, proof));
}

TEST_CASE("NonCanonicalShapesAreRejectedEvenWhenTheHashesFold") {
  const Hash32 key = key_from_bits("0");
  SUBCASE("leaf beside an empty sibling") {
    MerkleProof proof{{kZero}, std::pair{key, value_of(1)}};
    const Hash32 folded = hand_internal(hand_leaf(key, value_of(1)), kZero);
    CHECK_FALSE(verify_proof(folded, key, value_of(1), proof));
  }
  SUBCASE("empty subtree beside an empty sibling") {
    MerkleProof proof{{value_of(1), kZero}, std::nullopt};
    const Hash32 folded = hand_internal(hand_internal(kZero, kZero), value_of(1));
    CHECK_FALSE(verify_proof(folded, key, std::nullopt, proof));
  }
}

TEST_CASE("ProofPrintsCompactly") {
  MerkleProof proof;
  proof.siblings = {kZero, Hash32{0xab, 0xcd, 0xef, 0x01, 0x23}};
  std::ostringstream empty_end;
  empty_end << proof;
  CHECK(empty_end.str() == "MerkleProof{siblings=[0,abcdef01],terminal=empty}");
  proof.terminal_leaf.emplace(Hash32{0x12, 0x34, 0x56, 0x78, 0x9a}, kZero);
  std::ostringstream leaf_end;
  leaf_end << proof;
  CHECK(leaf_end.str() == "MerkleProof{siblings=[0,abcdef01],terminal=leaf(12345678:0)}");
}

// --- PartialTree ----------------------------------------------------------------------------

namespace {

// Draws the keys a batch touches: present keys, fresh keys, and fresh keys right beside
// present or other fresh keys (which split a revealed leaf or land in a revealed empty
// subtree, deep in the tree).
std::vector<Hash32> touched_keys(const Leaves& leaves, std::size_t count, std::mt19937_64& rng) {
  std::vector<Hash32> keys;
  while (keys.size() < count) {
    const auto pick = rng() % 5;
    if (pick == 0 && !leaves.empty()) {
      keys.push_back(leaves[rng() % leaves.size()].first);
    } else if (pick == 1 && !leaves.empty()) {
      keys.push_back(random_key_near(leaves[rng() % leaves.size()].first, rng() % 257, rng));
    } else if (pick == 2 && !keys.empty()) {
      keys.push_back(random_key_near(keys[rng() % keys.size()], rng() % 257, rng));
    } else if (pick == 3 && !keys.empty()) {
      keys.push_back(keys[rng() % keys.size()]);  // Proven twice.
    } else {
      keys.push_back(random_hash(rng));
    }
  }
  return keys;
}

}  // namespace

TEST_CASE("PartialTreeReplaysWritesToTheFullTreeRoot") {
  const std::size_t sizes[] = {0, 1, 2, 3, 8, 50, 400, 3000, 20000};
  std::size_t rounds = 0;
  for (std::uint64_t seed = 1; seed <= 180; ++seed) {
    std::mt19937_64 rng(seed);
    const std::size_t count = sizes[seed % std::size(sizes)];
    const Leaves leaves = random_leaves(rng, count);
    SparseMerkleTree full = SparseMerkleTree::from_leaves(leaves);
    const std::vector<Hash32> keys = touched_keys(leaves, 1 + rng() % 24, rng);

    std::vector<ProvenKey> proofs;
    for (const Hash32& key : keys) proofs.push_back(proven(full, key));
    std::shuffle(proofs.begin(), proofs.end(), rng);  // Order of proofs must not matter.
    auto partial = PartialTree::from_proofs(full.root(), proofs);
    CAPTURE(seed);
    CAPTURE(count);
    REQUIRE(partial);
    CHECK(partial->root() == full.root());
    for (const Hash32& key : keys) CHECK(partial->get(key) == full.get(key));

    // Writes in random order, each key possibly several times, the roots compared as we go.
    const std::size_t writes = 2 * keys.size();
    for (std::size_t i = 0; i < writes; ++i) {
      const Hash32& key = keys[rng() % keys.size()];
      const Hash32 value = value_of(rng());
      full.set(key, value);
      partial->set(key, value);
      if (rng() % 3 == 0) REQUIRE(partial->root() == full.root());
    }
    REQUIRE(partial->root() == full.root());
    for (const Hash32& key : keys) CHECK(partial->get(key) == full.get(key));
    ++rounds;
  }
  CHECK(rounds == 180);
}

TEST_CASE("PartialTreeFromNoProofsKeepsTheRootAndCoversNothing") {
  std::mt19937_64 rng(31);
  const SparseMerkleTree full = SparseMerkleTree::from_leaves(random_leaves(rng, 10));
  auto partial = PartialTree::from_proofs(full.root(), {});
  REQUIRE(partial);
  CHECK(partial->root() == full.root());
  CHECK_THROWS_AS(partial->get(random_hash(rng)), UncoveredKey);
}

TEST_CASE("PartialTreeOfTheEmptyTreeCoversEveryKey") {
  // With root zero there is nothing to hide: the whole tree is one known-empty subtree.
  std::mt19937_64 rng(32);
  SparseMerkleTree full;
  auto partial = PartialTree::from_proofs(kZero, {});
  REQUIRE(partial);
  for (int i = 0; i < 20; ++i) {
    const Hash32 key = random_hash(rng);
    CHECK_FALSE(partial->get(key));
    full.set(key, value_of(i));
    partial->set(key, value_of(i));
  }
  CHECK(partial->root() == full.root());
}

TEST_CASE("UncoveredKeyIsATypedErrorAndChangesNothing") {
  std::mt19937_64 rng(33);
  const Leaves leaves = random_leaves(rng, 100);
  const SparseMerkleTree full = SparseMerkleTree::from_leaves(leaves);
  const Hash32& proven_key = leaves.front().first;  // Smallest key: bit 0 is 0 w.h.p.
  const Hash32& hidden_key = leaves.back().first;   // Largest key: bit 0 is 1 w.h.p.
  REQUIRE(key_bit(proven_key, 0) != key_bit(hidden_key, 0));
  auto partial = PartialTree::from_proofs(full.root(), {proven(full, proven_key)});
  REQUIRE(partial);
  const Hash32 root = partial->root();
  const std::string hidden_hex = to_hex(hidden_key);
  CHECK_THROWS_WITH_AS(partial->get(hidden_key), doctest::Contains(hidden_hex.c_str()),
                       UncoveredKey);
  CHECK_THROWS_WITH_AS(partial->set(hidden_key, value_of(1)),
                       doctest::Contains("not covered by any proof"), UncoveredKey);
  CHECK(partial->root() == root);
  CHECK(partial->get(proven_key) == leaves.front().second);
}

TEST_CASE("KeysInsideARevealedSubtreeAreCovered") {
  // A proof of absence reveals a whole subtree (empty, or one other leaf); every key in it is
  // then known, proven or not.
  std::mt19937_64 rng(34);
  const Leaves leaves = random_leaves(rng, 500);
  SparseMerkleTree full = SparseMerkleTree::from_leaves(leaves);
  const Hash32 absent = random_hash(rng);
  const MerkleProof proof = full.prove(absent);
  auto partial = PartialTree::from_proofs(full.root(), {proven(full, absent)});
  REQUIRE(partial);
  const Hash32 beside = random_key_near(absent, proof.siblings.size(), rng);
  CHECK(partial->get(beside) == full.get(beside));
  partial->set(beside, value_of(1));
  full.set(beside, value_of(1));
  CHECK(partial->root() == full.root());
}

TEST_CASE("PartialTreeRejectsProofsThatFailOrDisagree") {
  std::mt19937_64 rng(35);
  const Leaves leaves = random_leaves(rng, 200);
  const SparseMerkleTree full = SparseMerkleTree::from_leaves(leaves);
  const Hash32 root = full.root();
  std::vector<ProvenKey> good;
  for (int i = 0; i < 5; ++i) good.push_back(proven(full, leaves[rng() % leaves.size()].first));
  good.push_back(proven(full, random_hash(rng)));
  REQUIRE(PartialTree::from_proofs(root, good));

  struct Row {
    const char* name;
    std::function<void(std::vector<ProvenKey>&, Hash32&)> mutate;
  };
  SparseMerkleTree other = full;
  other.set(leaves[0].first, value_of(77));
  const Row rows[] = {
      {"wrong root", [](auto&, Hash32& r) { r[0] ^= 1; }},
      {"sibling flipped", [](auto& p, Hash32&) { p[2].proof.siblings[0][3] ^= 4; }},
      {"value claimed wrongly", [](auto& p, Hash32&) { p[1].value_hash = value_of(5); }},
      {"present key claimed absent", [](auto& p, Hash32&) { p[0].value_hash.reset(); }},
      {"proof from another tree",
       [&](auto& p, Hash32&) { p.push_back(proven(other, leaves[0].first)); }},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    std::vector<ProvenKey> proofs = good;
    Hash32 claimed_root = root;
    row.mutate(proofs, claimed_root);
    CHECK_FALSE(PartialTree::from_proofs(claimed_root, proofs));
  }
}
