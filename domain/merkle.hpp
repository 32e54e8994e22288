#pragma once
// A compacted sparse Merkle tree over 256-bit keys (account public keys), hashed with
// BLAKE2b-256, with membership and non-membership proofs and a stateless PartialTree that
// replays updates from proofs alone.
//
// Tree shape (Diem/JMT-style, binary):
//   bit(key, i)  = bit (7 - i % 8) of key[i / 8]: the path starts at the most significant
//                  bit of byte 0; 0 goes left, 1 goes right. In-order is key (byte) order.
//   A subtree holding no leaf is "empty"; a subtree holding exactly one leaf is that leaf
//   itself (no chain of internal nodes above it); every internal node holds >= 2 leaves.
//   So the shape depends only on the set of keys, never on insertion order, and a leaf of
//   uniformly distributed keys sits at depth ~log2(n).
// Node hashes (each node kind has its own prefix byte, so none can pose as another):
//   empty    = 32 zero bytes
//   leaf     = BLAKE2b-256(0x00 || key[32] || value_hash[32])
//   internal = BLAKE2b-256(0x01 || left[32] || right[32])
//   root     = hash of the top node (all zeros for the empty tree).
// Proof (MerkleProof): siblings[i] is the hash of the subtree beside the key's path at depth
// i + 1, listed from the root downwards, one per level until the path reaches a leaf
// (terminal_leaf) or an empty subtree (terminal_leaf = nullopt) at depth siblings.size().
// Siblings are not compressed; a proof is 32 * depth bytes plus the terminal.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "domain/bytes.hpp"

namespace croupier::merkle {

inline constexpr std::size_t kKeyBits = 256;  // Path length of a key; maximum leaf depth.

// Returns bit `index` (0 = most significant bit of byte 0) of `key`.
bool key_bit(const Hash32& key, std::size_t index);

Hash32 leaf_hash(const Hash32& key, const Hash32& value_hash);
Hash32 internal_hash(const Hash32& left, const Hash32& right);

// Evidence that `key` holds a value (membership) or holds none (non-membership) under a root.
// Intentionally copyable.
struct MerkleProof {
  // Hashes of the subtrees beside the path, root level first; all-zero = empty subtree.
  std::vector<Hash32> siblings;
  // The (key, value_hash) leaf where the path ends: the key itself for membership, another
  // key sharing the first siblings.size() bits for non-membership. nullopt: the path ends in
  // an empty subtree (non-membership).
  std::optional<std::pair<Hash32, Hash32>> terminal_leaf;

  bool operator==(const MerkleProof&) const = default;
};

// Compact rendering for test failures: hashes are shortened to their first 4 bytes, e.g.
// "MerkleProof{siblings=[1a2b3c4d,0],terminal=leaf(9f00aa01:77e1c2d3)}".
std::ostream& operator<<(std::ostream& os, const MerkleProof& proof);

// Checks `proof` against `root` for `key`: membership of exactly `value_hash` when it is set,
// non-membership when it is nullopt. Returns false (never throws) for any proof that does not
// establish the claim: wrong siblings, wrong value or key, a terminal leaf off the key's path,
// a sibling list too long (> kKeyBits) or too short, or a shape no canonical tree produces.
bool verify_proof(const Hash32& root, const Hash32& key, const std::optional<Hash32>& value_hash,
                  const MerkleProof& proof);

// Thrown by PartialTree when a key's path runs into a subtree that no proof opened.
class UncoveredKey : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

// A growable array that never moves its elements in bulk: it grows in chunks of kChunkSize,
// so adding a node to a tree of millions costs no 100 MB reallocation (no latency spike, no
// doubled peak memory). Intentionally copyable.
template <typename T>
class ChunkedPool {
 public:
  static constexpr std::size_t kChunkShift = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkShift;

  std::size_t size() const { return size_; }
  T& operator[](std::size_t index) { return chunks_[index >> kChunkShift][index & kMask]; }
  const T& operator[](std::size_t index) const {
    return chunks_[index >> kChunkShift][index & kMask];
  }
  // Appends `value` and returns its index.
  std::size_t push_back(const T& value) {
    if (size_ % kChunkSize == 0) chunks_.emplace_back();  // The last chunk is full.
    // Within a chunk, growth doubles as usual (small pools stay small); it stops at
    // kChunkSize, a power of two, so a chunk never holds more than that.
    chunks_.back().push_back(value);
    return size_++;
  }
  void reserve_chunks(std::size_t count) { chunks_.reserve(count / kChunkSize + 1); }

 private:
  static constexpr std::size_t kMask = kChunkSize - 1;
  std::vector<std::vector<T>> chunks_;
  std::size_t size_ = 0;
};

// Node storage shared by SparseMerkleTree and PartialTree; not part of the API.
// Nodes live in per-kind pools and refer to each other by a 32-bit Ref whose top two bits
// give the kind and whose low 30 bits index its pool (memory: ~96 B per leaf, ~44 B per
// internal node, ~1.44 internal nodes per leaf for uniform keys).
// Invariants:
//   - every internal node has >= 2 leaves (or opaque subtrees) below it; a lone leaf is
//     stored at the highest depth it can take;
//   - an internal node is dirty (its hash stale) => all its ancestors are dirty;
//   - an opaque node stands for a non-empty subtree known only by its hash (PartialTree).
// Not thread-safe: const members refresh cached hashes (mutable internals_).
class Trie {
 public:
  using Ref = std::uint32_t;
  static constexpr Ref kEmptyRef = 0xFFFFFFFFu;  // The empty subtree; no pool entry.

  Trie() = default;

  // Hash of the whole trie; recomputes only dirty internal nodes.
  Hash32 root() const;
  // Throws UncoveredKey if the key's path runs into an opaque node.
  std::optional<Hash32> get(const Hash32& key) const;
  // Inserts or updates. Throws UncoveredKey (before changing anything) on an opaque node.
  void set(const Hash32& key, const Hash32& value_hash);
  // Removes the key if present; requires a trie without opaque nodes.
  bool erase(const Hash32& key);
  // Requires a trie without opaque nodes on the key's path.
  MerkleProof prove(const Hash32& key) const;
  void for_each_leaf(const std::function<void(const Hash32&, const Hash32&)>& visit) const;
  std::size_t leaf_count() const { return leaf_count_; }

  // Replaces the contents with `leaves` (strictly increasing keys, checked by the caller).
  void build(const std::vector<std::pair<Hash32, Hash32>>& leaves);
  // Empties the trie and makes the root an opaque subtree with hash `root`.
  void reset_opaque(const Hash32& root);
  // Opens the opaque nodes along `key`'s path as `proof` describes. `path` holds the hashes
  // of the nodes on the path, path[0] = root ... path[d] = terminal. False if the proof
  // disagrees with what earlier proofs opened.
  bool graft(const Hash32& key, const MerkleProof& proof, const std::vector<Hash32>& path);

 private:
  struct Leaf {
    Hash32 key;
    Hash32 value_hash;
    Hash32 hash;  // leaf_hash(key, value_hash), kept current by every write.
  };
  struct Internal {
    Hash32 hash;     // Valid only when !dirty.
    Ref child[2];    // [0] = bit 0 (left), [1] = bit 1 (right).
    bool dirty;      // A write below has not been folded into `hash` yet.
  };

  Hash32 refresh(Ref ref) const;  // Hash of `ref`, recomputing dirty internal nodes.
  Hash32 clean_hash(Ref ref) const;  // Hash of `ref`, which must not be dirty.
  Ref build_range(const std::pair<Hash32, Hash32>* first, const std::pair<Hash32, Hash32>* last,
                  std::size_t depth);
  Ref new_leaf(const Hash32& key, const Hash32& value_hash);
  Ref new_internal(Ref left, Ref right, bool dirty, const Hash32& hash);
  Ref new_subtree(const Hash32& hash);  // Empty for all zeros, opaque otherwise.
  void free_node(Ref ref);
  Ref& slot(Ref parent, bool side);  // The root slot when parent is kEmptyRef.

  mutable ChunkedPool<Internal> internals_;
  ChunkedPool<Leaf> leaves_;
  ChunkedPool<Hash32> opaques_;  // Hashes of opaque nodes; never freed (PartialTree is small).
  std::vector<std::uint32_t> free_internals_;  // Indices of erased nodes, reused first.
  std::vector<std::uint32_t> free_leaves_;
  Ref root_ = kEmptyRef;
  std::size_t leaf_count_ = 0;  // Leaves stored (PartialTree: leaves opened or added only).
};

}  // namespace detail

// The full tree: every account's value_hash, and proofs for any key.
// Writes are cheap: set() and erase() only mark the nodes on the key's path dirty; root() and
// prove() rehash the dirty nodes once, so k writes then one root() cost about k * depth hashes.
// Not thread-safe, not even for concurrent const calls (they refresh cached hashes).
// Intentionally copyable; a copy is independent.
class SparseMerkleTree {
 public:
  SparseMerkleTree() = default;

  // Builds bottom-up in O(n) hashes from leaves sorted by strictly increasing key (the order
  // leaves() returns). Throws InputError if the keys are not strictly increasing.
  static SparseMerkleTree from_leaves(const std::vector<std::pair<Hash32, Hash32>>& leaves);

  void set(const Hash32& key, const Hash32& value_hash);  // Insert or update.
  bool erase(const Hash32& key);                          // False if the key was absent.
  std::optional<Hash32> get(const Hash32& key) const;     // nullopt if absent.
  Hash32 root() const;
  std::size_t size() const { return trie_.leaf_count(); }
  bool empty() const { return size() == 0; }
  // Membership proof if the key is present, non-membership proof otherwise.
  MerkleProof prove(const Hash32& key) const;

  // Visits every (key, value_hash) in increasing key order. `visit` must not modify the tree.
  void for_each_leaf(const std::function<void(const Hash32&, const Hash32&)>& visit) const;
  std::vector<std::pair<Hash32, Hash32>> leaves() const;  // In increasing key order.

 private:
  detail::Trie trie_;
};

// One key's claim and its proof, as a stateless verifier receives it.
struct ProvenKey {
  Hash32 key;
  std::optional<Hash32> value_hash;  // nullopt: the proof shows the key is absent.
  MerkleProof proof;
};

// The part of a tree that a set of proofs reveals, enough to read and write the proven keys
// and to compute the new root exactly as the full tree would.
// A key is covered when its path ends in a revealed leaf or a revealed empty subtree; that
// includes every proven key, and also any key whose presence or absence the proofs imply
// (for example another key inside a proven-empty subtree). Keys added by set() are covered.
// Erasing is not supported: it would need to know whether a sibling subtree is a single leaf,
// which a sibling hash does not tell.
// Not thread-safe (as SparseMerkleTree). Intentionally copyable.
class PartialTree {
 public:
  // Checks every proof against `root` and merges them. nullopt if any proof fails or two
  // proofs disagree about a node.
  static std::optional<PartialTree> from_proofs(const Hash32& root,
                                                const std::vector<ProvenKey>& proofs);

  // nullopt if the key is absent. Throws UncoveredKey if the key is not covered.
  std::optional<Hash32> get(const Hash32& key) const;
  // Insert or update. Throws UncoveredKey (and changes nothing) if the key is not covered.
  void set(const Hash32& key, const Hash32& value_hash);
  Hash32 root() const;

 private:
  PartialTree() = default;
  detail::Trie trie_;
};

}  // namespace croupier::merkle
