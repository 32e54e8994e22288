#include "domain/merkle.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <ostream>
#include <string>

#include "domain/crypto.hpp"

namespace croupier::merkle {

namespace {

using Ref = detail::Trie::Ref;

// Ref layout: bits 31..30 = kind, bits 29..0 = index into that kind's pool. Kind 3 is used
// only by the empty ref (all ones), so every index below 2^30 is usable.
constexpr unsigned kKindShift = 30;
constexpr Ref kIndexMask = (Ref{1} << kKindShift) - 1;
constexpr Ref kKindInternal = 0;
constexpr Ref kKindLeaf = 1;
constexpr Ref kKindOpaque = 2;
constexpr Ref kEmpty = 0xFFFFFFFFu;
constexpr std::size_t kPoolMax = kIndexMask;  // Exclusive bound on a pool's size.

constexpr Ref kind_of(Ref ref) { return ref >> kKindShift; }
constexpr std::uint32_t index_of(Ref ref) { return ref & kIndexMask; }
constexpr Ref make_ref(Ref kind, std::size_t index) {
  return (kind << kKindShift) | static_cast<Ref>(index);
}
constexpr bool is_internal(Ref ref) { return ref != kEmpty && kind_of(ref) == kKindInternal; }
constexpr bool is_leaf(Ref ref) { return ref != kEmpty && kind_of(ref) == kKindLeaf; }
constexpr bool is_opaque(Ref ref) { return ref != kEmpty && kind_of(ref) == kKindOpaque; }
static_assert(kind_of(kEmpty) == 3, "the empty ref must not alias a pool entry");
static_assert(make_ref(kKindOpaque, kIndexMask - 1) != kEmpty, "");

constexpr Hash32 kZeroHash{};
constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kInternalPrefix = 0x01;

// Index of the first bit where a and b differ; kKeyBits if they are equal.
std::size_t first_difference(const Hash32& a, const Hash32& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<std::uint8_t>(a[i] ^ b[i]);
    if (x != 0) return i * 8 + static_cast<std::size_t>(std::countl_zero(x));
  }
  return kKeyBits;
}

std::string short_hex(const Hash32& h) {
  if (h == kZeroHash) return "0";
  return to_hex(ByteView{h.data(), 4});
}

std::string describe_uncovered(const Hash32& key, std::size_t depth) {
  return "merkle: key " + to_hex(key) + " is not covered by any proof (its path enters an "
         "unopened subtree at depth " + std::to_string(depth) + ")";
}

// Recomputes the hashes on `key`'s path from the proof's terminal up to the root.
// Returns them as path[0] = implied root ... path[d] = terminal, d = siblings.size(), or
// nullopt if the proof cannot support the claim whatever the root.
std::optional<std::vector<Hash32>> fold_path(const Hash32& key,
                                             const std::optional<Hash32>& value_hash,
                                             const MerkleProof& proof) {
  const std::size_t depth = proof.siblings.size();
  if (depth > kKeyBits) return std::nullopt;
  std::vector<Hash32> path(depth + 1);
  if (proof.terminal_leaf) {
    const auto& [terminal_key, terminal_value] = *proof.terminal_leaf;
    // A leaf sits where its own key leads; one that does not share the first `depth` bits of
    // `key` says nothing about `key`.
    if (first_difference(terminal_key, key) < depth) return std::nullopt;
    if (value_hash) {
      if (terminal_key != key || terminal_value != *value_hash) return std::nullopt;
    } else if (terminal_key == key) {
      return std::nullopt;  // The key is present: this proves membership, not absence.
    }
    // A canonical tree never puts a leaf below an empty sibling: their parent would hold one
    // leaf and be replaced by it.
    if (depth > 0 && proof.siblings[depth - 1] == kZeroHash) return std::nullopt;
    path[depth] = leaf_hash(terminal_key, terminal_value);
  } else {
    if (value_hash) return std::nullopt;  // Membership needs the leaf.
    // An empty subtree's sibling holds >= 2 leaves, so it is neither empty nor at depth
    // kKeyBits (where a subtree holds at most one key).
    if (depth > 0 && (depth == kKeyBits || proof.siblings[depth - 1] == kZeroHash))
      return std::nullopt;
    path[depth] = kZeroHash;
  }
  for (std::size_t level = depth; level-- > 0;) {
    const Hash32& sibling = proof.siblings[level];
    path[level] = key_bit(key, level) ? internal_hash(sibling, path[level + 1])
                                      : internal_hash(path[level + 1], sibling);
  }
  assert(path.size() == depth + 1);
  return path;
}

}  // namespace

bool key_bit(const Hash32& key, std::size_t index) {
  assert(index < kKeyBits);
  return ((key[index / 8] >> (7 - index % 8)) & 1) != 0;
}

Hash32 leaf_hash(const Hash32& key, const Hash32& value_hash) {
  // One contiguous buffer: a single-block BLAKE2b call is cheaper than three updates.
  std::array<std::uint8_t, 65> buf;
  buf[0] = kLeafPrefix;
  std::memcpy(buf.data() + 1, key.data(), 32);
  std::memcpy(buf.data() + 33, value_hash.data(), 32);
  return blake2b256(buf);
}

Hash32 internal_hash(const Hash32& left, const Hash32& right) {
  std::array<std::uint8_t, 65> buf;
  buf[0] = kInternalPrefix;
  std::memcpy(buf.data() + 1, left.data(), 32);
  std::memcpy(buf.data() + 33, right.data(), 32);
  return blake2b256(buf);
}

std::ostream& operator<<(std::ostream& os, const MerkleProof& proof) {
  os << "MerkleProof{siblings=[";
  for (std::size_t i = 0; i < proof.siblings.size(); ++i)
    os << (i == 0 ? "" : ",") << short_hex(proof.siblings[i]);
  os << "],terminal=";
  if (proof.terminal_leaf)
    os << "leaf(" << short_hex(proof.terminal_leaf->first) << ':'
       << short_hex(proof.terminal_leaf->second) << ')';
  else
    os << "empty";
  return os << '}';
}

bool verify_proof(const Hash32& root, const Hash32& key, const std::optional<Hash32>& value_hash,
                  const MerkleProof& proof) {
  const auto path = fold_path(key, value_hash, proof);
  return path && path->front() == root;
}

// --- detail::Trie ----------------------------------------------------------------------

namespace detail {

static_assert(Trie::kEmptyRef == kEmpty, "");

Trie::Ref Trie::new_leaf(const Hash32& key, const Hash32& value_hash) {
  const Leaf leaf{key, value_hash, leaf_hash(key, value_hash)};
  if (!free_leaves_.empty()) {
    const auto index = free_leaves_.back();
    free_leaves_.pop_back();
    leaves_[index] = leaf;
    return make_ref(kKindLeaf, index);
  }
  assert(leaves_.size() < kPoolMax);
  return make_ref(kKindLeaf, leaves_.push_back(leaf));
}

Trie::Ref Trie::new_internal(Ref left, Ref right, bool dirty, const Hash32& hash) {
  // Two empty children, or one leaf beside an empty one, would break canonical shape. (A lone
  // opaque child is fine: it stands for >= 2 leaves whenever its sibling is empty.)
  assert(!(left == kEmpty && right == kEmpty));
  assert(!(left == kEmpty && is_leaf(right)) && !(right == kEmpty && is_leaf(left)));
  const Internal node{hash, {left, right}, dirty};
  if (!free_internals_.empty()) {
    const auto index = free_internals_.back();
    free_internals_.pop_back();
    internals_[index] = node;
    return make_ref(kKindInternal, index);
  }
  assert(internals_.size() < kPoolMax);
  return make_ref(kKindInternal, internals_.push_back(node));
}

Trie::Ref Trie::new_subtree(const Hash32& hash) {
  if (hash == kZeroHash) return kEmpty;
  assert(opaques_.size() < kPoolMax);
  return make_ref(kKindOpaque, opaques_.push_back(hash));
}

void Trie::free_node(Ref ref) {
  assert(!is_opaque(ref) && ref != kEmpty);
  if (is_leaf(ref))
    free_leaves_.push_back(index_of(ref));
  else
    free_internals_.push_back(index_of(ref));
}

Trie::Ref& Trie::slot(Ref parent, bool side) {
  if (parent == kEmpty) return root_;
  assert(is_internal(parent));
  return internals_[index_of(parent)].child[side];
}

Hash32 Trie::clean_hash(Ref ref) const {
  if (ref == kEmpty) return kZeroHash;
  switch (kind_of(ref)) {
    case kKindLeaf: return leaves_[index_of(ref)].hash;
    case kKindOpaque: return opaques_[index_of(ref)];
    default: break;
  }
  const Internal& node = internals_[index_of(ref)];
  assert(!node.dirty);
  return node.hash;
}

Hash32 Trie::refresh(Ref ref) const {
  if (!is_internal(ref)) return clean_hash(ref);
  // Recursion depth <= kKeyBits; only dirty nodes are entered, and a clean node has no dirty
  // descendant (dirtiness is marked on the whole path).
  Internal& node = internals_[index_of(ref)];
  if (node.dirty) {
    const Ref left = node.child[0];
    const Ref right = node.child[1];
    // `node` stays valid: refresh() only rewrites hashes, it never grows a pool.
    node.hash = internal_hash(refresh(left), refresh(right));
    node.dirty = false;
  }
  return node.hash;
}

Hash32 Trie::root() const { return refresh(root_); }

std::optional<Hash32> Trie::get(const Hash32& key) const {
  Ref cur = root_;
  std::size_t depth = 0;
  while (is_internal(cur)) {
    assert(depth < kKeyBits);
    cur = internals_[index_of(cur)].child[key_bit(key, depth)];
    ++depth;
  }
  if (is_opaque(cur)) throw UncoveredKey(describe_uncovered(key, depth));
  if (cur == kEmpty) return std::nullopt;
  const Leaf& leaf = leaves_[index_of(cur)];
  assert(first_difference(leaf.key, key) >= depth);
  if (leaf.key != key) return std::nullopt;
  return leaf.value_hash;
}

void Trie::set(const Hash32& key, const Hash32& value_hash) {
  std::array<Ref, kKeyBits> path;  // Internal nodes on the key's path, root first.
  Ref parent = kEmpty;
  bool side = false;
  Ref cur = root_;
  std::size_t depth = 0;
  while (is_internal(cur)) {
    assert(depth < kKeyBits);
    path[depth] = cur;
    parent = cur;
    side = key_bit(key, depth);
    cur = internals_[index_of(cur)].child[side];
    ++depth;
  }
  // Check before writing, so a refused set leaves the trie as it was.
  if (is_opaque(cur)) throw UncoveredKey(describe_uncovered(key, depth));
  for (std::size_t i = 0; i < depth; ++i) internals_[index_of(path[i])].dirty = true;

  if (cur == kEmpty) {
    slot(parent, side) = new_leaf(key, value_hash);
    ++leaf_count_;
    return;
  }
  assert(is_leaf(cur));
  Leaf& leaf = leaves_[index_of(cur)];
  if (leaf.key == key) {
    leaf.value_hash = value_hash;
    leaf.hash = leaf_hash(key, value_hash);
    return;
  }
  // Another key's leaf holds this subtree: push both down to where their keys part.
  const std::size_t split = first_difference(leaf.key, key);
  assert(split >= depth);
  assert(split < kKeyBits);
  const Ref fresh = new_leaf(key, value_hash);  // Invalidates `leaf`.
  Ref sub = key_bit(key, split) ? new_internal(cur, fresh, true, {})
                                : new_internal(fresh, cur, true, {});
  for (std::size_t level = split; level-- > depth;)
    sub = key_bit(key, level) ? new_internal(kEmpty, sub, true, {})
                              : new_internal(sub, kEmpty, true, {});
  slot(parent, side) = sub;
  ++leaf_count_;
}

bool Trie::erase(const Hash32& key) {
  std::array<Ref, kKeyBits> path;
  Ref cur = root_;
  std::size_t depth = 0;
  while (is_internal(cur)) {
    assert(depth < kKeyBits);
    path[depth] = cur;
    cur = internals_[index_of(cur)].child[key_bit(key, depth)];
    ++depth;
  }
  assert(!is_opaque(cur));
  if (!is_leaf(cur) || leaves_[index_of(cur)].key != key) return false;
  free_node(cur);
  --leaf_count_;

  // Walk up while the node left behind holds a single leaf (or none): it must be replaced by
  // that leaf (or by empty) to keep the shape canonical.
  Ref replacement = kEmpty;
  std::size_t level = depth;
  for (; level > 0; --level) {
    const Ref node = path[level - 1];
    const bool side = key_bit(key, level - 1);
    const Ref other = internals_[index_of(node)].child[!side];
    assert(!is_opaque(other));
    assert(!(replacement == kEmpty && other == kEmpty));  // It held >= 2 leaves.
    const bool collapses = (replacement == kEmpty && is_leaf(other)) ||
                           (is_leaf(replacement) && other == kEmpty);
    if (!collapses) {
      internals_[index_of(node)].child[side] = replacement;
      break;
    }
    if (replacement == kEmpty) replacement = other;
    free_node(node);
  }
  if (level == 0) {
    root_ = replacement;
  } else {
    for (std::size_t i = 0; i < level; ++i) internals_[index_of(path[i])].dirty = true;
  }
  assert(!is_internal(replacement));
  return true;
}

MerkleProof Trie::prove(const Hash32& key) const {
  (void)root();  // Bring every hash up to date; the siblings are read clean below.
  MerkleProof proof;
  Ref cur = root_;
  std::size_t depth = 0;
  while (is_internal(cur)) {
    assert(depth < kKeyBits);
    const Internal& node = internals_[index_of(cur)];
    const bool side = key_bit(key, depth);
    proof.siblings.push_back(clean_hash(node.child[!side]));
    cur = node.child[side];
    ++depth;
  }
  assert(!is_opaque(cur));
  if (is_leaf(cur)) {
    const Leaf& leaf = leaves_[index_of(cur)];
    proof.terminal_leaf.emplace(leaf.key, leaf.value_hash);
  }
  assert(proof.siblings.size() == depth);
  return proof;
}

void Trie::for_each_leaf(const std::function<void(const Hash32&, const Hash32&)>& visit) const {
  std::vector<Ref> stack;  // Right child pushed first, so leaves come out in key order.
  stack.reserve(2 * kKeyBits);
  if (root_ != kEmpty) stack.push_back(root_);
  while (!stack.empty()) {
    const Ref cur = stack.back();
    stack.pop_back();
    assert(cur != kEmpty && !is_opaque(cur));
    if (is_leaf(cur)) {
      const Leaf& leaf = leaves_[index_of(cur)];
      visit(leaf.key, leaf.value_hash);
      continue;
    }
    const Internal& node = internals_[index_of(cur)];
    if (node.child[1] != kEmpty) stack.push_back(node.child[1]);
    if (node.child[0] != kEmpty) stack.push_back(node.child[0]);
  }
}

Trie::Ref Trie::build_range(const std::pair<Hash32, Hash32>* first,
                            const std::pair<Hash32, Hash32>* last, std::size_t depth) {
  const auto count = static_cast<std::size_t>(last - first);
  if (count == 0) return kEmpty;
  if (count == 1) return new_leaf(first->first, first->second);
  assert(depth < kKeyBits);  // Distinct keys part before the last bit.
  const auto* mid = std::partition_point(
      first, last, [depth](const auto& leaf) { return !key_bit(leaf.first, depth); });
  const Ref left = build_range(first, mid, depth + 1);
  const Ref right = build_range(mid, last, depth + 1);
  return new_internal(left, right, false, internal_hash(clean_hash(left), clean_hash(right)));
}

void Trie::build(const std::vector<std::pair<Hash32, Hash32>>& leaves) {
  *this = Trie{};
  leaves_.reserve_chunks(leaves.size());
  internals_.reserve_chunks(leaves.size() + leaves.size() / 2);  // ~1/ln 2 per leaf.
  root_ = build_range(leaves.data(), leaves.data() + leaves.size(), 0);
  leaf_count_ = leaves.size();
  assert(leaves_.size() == leaves.size());
}

void Trie::reset_opaque(const Hash32& root) {
  *this = Trie{};
  root_ = new_subtree(root);
}

bool Trie::graft(const Hash32& key, const MerkleProof& proof, const std::vector<Hash32>& path) {
  const std::size_t depth = proof.siblings.size();
  assert(path.size() == depth + 1);
  Ref parent = kEmpty;
  bool side = false;
  for (std::size_t level = 0; level < depth; ++level) {
    Ref cur = slot(parent, side);
    const bool bit = key_bit(key, level);
    if (is_opaque(cur)) {
      if (opaques_[index_of(cur)] != path[level]) return false;
      const Ref on = new_subtree(path[level + 1]);
      const Ref off = new_subtree(proof.siblings[level]);
      cur = bit ? new_internal(off, on, false, path[level])
                : new_internal(on, off, false, path[level]);
      slot(parent, side) = cur;
    } else if (is_internal(cur)) {
      // Opened by an earlier proof: both must describe the same node.
      const Internal& node = internals_[index_of(cur)];
      if (node.hash != path[level] || clean_hash(node.child[!bit]) != proof.siblings[level])
        return false;
    } else {
      return false;  // An earlier proof ended here in a leaf or an empty subtree.
    }
    parent = cur;
    side = bit;
  }
  const Ref cur = slot(parent, side);
  if (!proof.terminal_leaf) return cur == kEmpty;
  const auto& [terminal_key, terminal_value] = *proof.terminal_leaf;
  if (is_opaque(cur)) {
    if (opaques_[index_of(cur)] != path[depth]) return false;
    const Ref leaf = new_leaf(terminal_key, terminal_value);
    slot(parent, side) = leaf;
    ++leaf_count_;
    return true;
  }
  if (!is_leaf(cur)) return false;
  const Leaf& leaf = leaves_[index_of(cur)];
  return leaf.key == terminal_key && leaf.value_hash == terminal_value;
}

}  // namespace detail

// --- SparseMerkleTree ------------------------------------------------------------------

SparseMerkleTree SparseMerkleTree::from_leaves(
    const std::vector<std::pair<Hash32, Hash32>>& leaves) {
  for (std::size_t i = 1; i < leaves.size(); ++i) {
    if (!(leaves[i - 1].first < leaves[i].first))
      throw InputError("merkle: from_leaves: keys must be strictly increasing, but key " +
                       std::to_string(i) + " (" + to_hex(leaves[i].first) +
                       ") is not greater than key " + std::to_string(i - 1));
  }
  SparseMerkleTree tree;
  tree.trie_.build(leaves);
  assert(tree.size() == leaves.size());
  return tree;
}

void SparseMerkleTree::set(const Hash32& key, const Hash32& value_hash) {
  trie_.set(key, value_hash);
}

bool SparseMerkleTree::erase(const Hash32& key) { return trie_.erase(key); }

std::optional<Hash32> SparseMerkleTree::get(const Hash32& key) const { return trie_.get(key); }

Hash32 SparseMerkleTree::root() const { return trie_.root(); }

MerkleProof SparseMerkleTree::prove(const Hash32& key) const { return trie_.prove(key); }

void SparseMerkleTree::for_each_leaf(
    const std::function<void(const Hash32&, const Hash32&)>& visit) const {
  trie_.for_each_leaf(visit);
}

std::vector<std::pair<Hash32, Hash32>> SparseMerkleTree::leaves() const {
  std::vector<std::pair<Hash32, Hash32>> out;
  out.reserve(size());
  trie_.for_each_leaf([&out](const Hash32& key, const Hash32& value_hash) {
    out.emplace_back(key, value_hash);
  });
  assert(out.size() == size());
  return out;
}

// --- PartialTree -----------------------------------------------------------------------

std::optional<PartialTree> PartialTree::from_proofs(const Hash32& root,
                                                    const std::vector<ProvenKey>& proofs) {
  PartialTree tree;
  tree.trie_.reset_opaque(root);
  for (const ProvenKey& proven : proofs) {
    const auto path = fold_path(proven.key, proven.value_hash, proven.proof);
    if (!path || path->front() != root) return std::nullopt;
    if (!tree.trie_.graft(proven.key, proven.proof, *path)) return std::nullopt;
  }
  assert(tree.root() == root);
  return tree;
}

std::optional<Hash32> PartialTree::get(const Hash32& key) const { return trie_.get(key); }

void PartialTree::set(const Hash32& key, const Hash32& value_hash) {
  trie_.set(key, value_hash);
}

Hash32 PartialTree::root() const { return trie_.root(); }

}  // namespace croupier::merkle
