#pragma once
// Finality receipts: what lets anyone check, offline, that a bet was final in a block.
//
// The block's tx tree is a binary Merkle tree over its tx ids in block order, shaped and
// walked as RFC 9162 (Certificate Transparency v2, section 2.1) does, with BLAKE2b-256:
//   leaf      = BLAKE2b-256(0x00 || tx_id[32])
//   interior  = BLAKE2b-256(0x01 || left[32] || right[32])
//   tree of n > 1 leaves: left = the first k leaves, k the largest power of two < n; right
//   = the rest. (Equivalently: pair neighbours level by level; a lone last node is carried
//   up unchanged.) A tx's path lists the sibling hashes from its leaf upwards.
// The header a receipt shows is the block's, with that tree's root:
//   header_bytes = "croupier/block-header" (21 ASCII bytes) || version u8 (1)
//                  || height u64 LE || prev_hash[32] || time_ms u64 LE
//                  || tx_count u32 LE || tx_root[32] || block_hash[32] || house_key[32]
// (170 bytes). block_hash is the hash the log chains blocks by (events.hpp block_hash, over
// every tx id); the next block's prev_hash names it. house_key is the key the block's bets'
// outcomes are proved under: signed, so that nobody can swap in a key (and a proof, and an
// outcome) of their own. Every signature of a receipt is
// Ed25519 over header_bytes: the node's today; a cluster's validators sign the same bytes
// and are listed beside it, so adding them changes no format.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/crypto.hpp"
#include "domain/events.hpp"
#include "domain/games.hpp"
#include "domain/transactions.hpp"
#include "domain/vrf.hpp"

namespace croupier::receipt {

inline constexpr std::uint8_t kHeaderVersion = 1;
inline constexpr std::string_view kHeaderTag = "croupier/block-header";
inline constexpr std::size_t kHeaderBytes = 21 + 1 + 8 + 32 + 8 + 4 + 32 + 32 + 32;

Hash32 tx_leaf_hash(const Hash32& tx_id);
Hash32 tx_interior_hash(const Hash32& left, const Hash32& right);

// The tree over one block's tx ids, every level kept, so that a path costs no hashing.
// Memory: about 2 * 32 bytes per tx. Intentionally copyable.
class TxTree {
 public:
  // Precondition: at least one tx id (a block is never empty).
  explicit TxTree(std::span<const Hash32> tx_ids);
  Hash32 root() const { return levels_.back().front(); }
  std::size_t size() const { return levels_.front().size(); }
  // The sibling hashes from leaf `index` upwards. Precondition: index < size().
  std::vector<Hash32> path(std::size_t index) const;

 private:
  std::vector<std::vector<Hash32>> levels_;  // [0] = leaf hashes; back() = {root}.
};

// True when `path` leads from tx_id's leaf at `index` of a tree of `count` leaves to `root`
// (RFC 9162 section 2.1.3.2). False, never a throw, for anything else: an index out of
// range, a path too short or too long, a wrong hash.
bool verify_tx_path(const Hash32& root, const Hash32& tx_id, std::uint64_t index, std::uint64_t count,
                    std::span<const Hash32> path);

struct BlockHeader {
  std::uint8_t version = kHeaderVersion;
  std::uint64_t height = 0;
  Hash32 prev_hash{};
  std::uint64_t time_ms = 0;
  std::uint32_t tx_count = 0;
  Hash32 tx_root{};
  Hash32 block_hash{};
  PublicKey house_key{};
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

Bytes header_bytes(const BlockHeader& h);

// A signature over header_bytes; `signer` says in what role ("node" today; "validator" in a
// cluster).
struct HeaderSignature {
  std::string signer;
  PublicKey key{};
  Signature signature{};
  friend bool operator==(const HeaderSignature&, const HeaderSignature&) = default;
};

// A committed block as receipts show it: its header, signed, and its tx tree. Built once per
// block and shared by every receipt of it.
struct SignedBlock {
  BlockHeader header;
  std::vector<HeaderSignature> signatures;
  TxTree tree;
  std::unordered_map<Hash32, std::uint32_t, BytesHash> positions;  // tx id -> its index.
  // tx_id's position in the block, or nullopt.
  std::optional<std::size_t> index_of(const Hash32& tx_id) const;
};

// Precondition: the block holds at least one tx and fewer than 2^32. `house_key`: the key
// its bets' outcomes are proved under.
SignedBlock sign_block(const BlockCommitted& block, const PublicKey& house_key, const KeyPair& node_key);

// One bet's receipt, as the answer carries it and a checker reads it back.
struct BetReceipt {
  Bet bet;                      // Every field, signature and client_seed included.
  Hash32 tx_id{};
  std::uint64_t answer_height = 0;  // The answer's block_height.
  Outcome outcome;              // The answer's outcome and payout.
  vrf::Proof vrf_proof{};
  vrf::Output vrf_output{};
  PublicKey house_key{};        // As the answer names it (it must be the header's).
  BlockHeader header;
  std::uint64_t tx_index = 0;
  std::vector<Hash32> tx_path;
  std::vector<HeaderSignature> signatures;
};

// What checking a receipt found: every failed check, in a sentence each (empty: all passed).
struct ReceiptCheck {
  std::vector<std::string> failures;
  bool ok() const { return failures.empty(); }
};

// Checks `r` against the node key (its signature must be among r.signatures, and every
// signature listed must verify) and the house key (the header's, which the signatures cover;
// when given, it must be that too; the answer's house_key must be the header's):
// the player's signature over the bet, tx_id = BLAKE2b(signing bytes || signature), the
// path from tx_id to the header's tx_root, the answer's height against the header's, the
// ECVRF proof under the house key with alpha = tx_id, its output, and the outcome and payout
// the game's rule gives for that output.
ReceiptCheck check_bet_receipt(const BetReceipt& r, const PublicKey& node_key,
                               const std::optional<PublicKey>& house_key);

}  // namespace croupier::receipt
