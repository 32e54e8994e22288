#include "domain/receipt.hpp"

#include <cassert>
#include <limits>
#include <tuple>

#include "domain/codec.hpp"

namespace croupier::receipt {

namespace {

std::string describe_outcome(const Outcome& o) {
  return "roll " + std::to_string(o.roll) + ", " + (o.win ? "win" : "loss") + ", payout " + std::to_string(o.payout);
}

void check_signatures(const BetReceipt& r, const PublicKey& node_key, ReceiptCheck& c) {
  const Bytes signed_bytes = header_bytes(r.header);
  bool node_signed = false;
  for (const auto& s : r.signatures) {
    if (!verify(s.key, signed_bytes, s.signature)) {
      c.failures.push_back("the " + s.signer + " signature by " + to_hex(s.key) + " does not verify over the block header");
      continue;
    }
    node_signed = node_signed || (s.key == node_key && s.signer == "node");
  }
  if (!node_signed) c.failures.push_back("the block header carries no valid node signature by " + to_hex(node_key));
}

void check_outcome(const BetReceipt& r, const std::optional<PublicKey>& house_key, ReceiptCheck& c) {
  const PublicKey& signed_house = r.header.house_key;  // The signatures cover it.
  if (house_key && *house_key != signed_house)
    c.failures.push_back("the header's house_key " + to_hex(signed_house) + " is not the expected " + to_hex(*house_key));
  if (r.house_key != signed_house)
    c.failures.push_back("the answer's house_key " + to_hex(r.house_key) + " is not the signed header's " +
                         to_hex(signed_house));
  auto beta = vrf::verify(signed_house, r.tx_id, r.vrf_proof);
  if (!beta) {
    c.failures.push_back("the vrf_proof does not verify under the signed house key " + to_hex(signed_house) +
                         " for alpha = tx_id");
    return;
  }
  if (*beta != r.vrf_output) c.failures.push_back("vrf_output is not the proof's output (ECVRF_proof_to_hash)");
  if (check_bet_terms(r.bet.game, r.bet.choice, r.bet.wager)) {
    c.failures.push_back("the bet's terms are not playable, so no outcome follows from them");
    return;
  }
  const Outcome expected = resolve_game(static_cast<Game>(r.bet.game), r.bet.choice, r.bet.wager, *beta);
  if (expected != r.outcome)
    c.failures.push_back("the outcome (" + describe_outcome(r.outcome) + ") is not what the VRF output gives (" +
                         describe_outcome(expected) + ")");
}

}  // namespace

Hash32 tx_leaf_hash(const Hash32& tx_id) { return Blake2b256().update_u8(0).update(tx_id).finish(); }

Hash32 tx_interior_hash(const Hash32& left, const Hash32& right) {
  return Blake2b256().update_u8(1).update(left).update(right).finish();
}

TxTree::TxTree(std::span<const Hash32> tx_ids) {
  assert(!tx_ids.empty());
  std::vector<Hash32> level;
  level.reserve(tx_ids.size());
  for (const auto& id : tx_ids) level.push_back(tx_leaf_hash(id));
  levels_.push_back(std::move(level));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<Hash32> above;
    above.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) above.push_back(tx_interior_hash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) above.push_back(below.back());  // Carried up: RFC 9162's split.
    levels_.push_back(std::move(above));
  }
}

std::vector<Hash32> TxTree::path(std::size_t index) const {
  assert(index < size());
  std::vector<Hash32> out;
  for (std::size_t l = 0; l + 1 < levels_.size(); ++l, index /= 2) {
    const std::size_t sibling = index ^ 1;
    if (sibling < levels_[l].size()) out.push_back(levels_[l][sibling]);
  }
  return out;
}

bool verify_tx_path(const Hash32& root, const Hash32& tx_id, std::uint64_t index, std::uint64_t count,
                    std::span<const Hash32> path) {
  if (index >= count) return false;
  std::uint64_t fn = index, sn = count - 1;
  Hash32 r = tx_leaf_hash(tx_id);
  for (const auto& p : path) {
    if (sn == 0) return false;  // The path is longer than the tree is deep.
    if ((fn & 1) == 1 || fn == sn) {
      r = tx_interior_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {  // Skip the levels where this node was carried up.
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = tx_interior_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

Bytes header_bytes(const BlockHeader& h) {
  // The fields in the domain codec's fixed-width little-endian form (as signing_bytes), after the tag.
  const Bytes fields = encode(std::make_tuple(h.version, h.height, h.prev_hash, h.time_ms, h.tx_count, h.tx_root,
                                              h.block_hash, h.house_key));
  Bytes out;
  out.reserve(kHeaderBytes);
  out.insert(out.end(), kHeaderTag.begin(), kHeaderTag.end());
  out.insert(out.end(), fields.begin(), fields.end());
  assert(out.size() == kHeaderBytes);
  return out;
}

std::optional<std::size_t> SignedBlock::index_of(const Hash32& tx_id) const {
  auto it = positions.find(tx_id);
  if (it == positions.end()) return std::nullopt;
  return it->second;
}

SignedBlock sign_block(const BlockCommitted& block, const PublicKey& house_key, const KeyPair& node_key) {
  assert(!block.tx_ids.empty() && block.tx_ids.size() <= std::numeric_limits<std::uint32_t>::max());
  TxTree tree(block.tx_ids);
  BlockHeader h{kHeaderVersion, block.height, block.prev_hash, block.time_ms,
                static_cast<std::uint32_t>(block.tx_ids.size()), tree.root(), block.hash, house_key};
  HeaderSignature s{"node", node_key.public_key, sign(node_key, header_bytes(h))};
  SignedBlock out{h, {s}, std::move(tree), {}};
  out.positions.reserve(block.tx_ids.size());
  for (std::size_t i = 0; i < block.tx_ids.size(); ++i)
    out.positions.emplace(block.tx_ids[i], static_cast<std::uint32_t>(i));  // The first, if one repeats.
  return out;
}

ReceiptCheck check_bet_receipt(const BetReceipt& r, const PublicKey& node_key,
                               const std::optional<PublicKey>& house_key) {
  ReceiptCheck c;
  if (r.header.version != kHeaderVersion)
    c.failures.push_back("header version " + std::to_string(r.header.version) + " is not the version " +
                         std::to_string(kHeaderVersion) + " this checker knows");
  if (!verify(r.bet.account, signing_bytes(r.bet), r.bet.signature))
    c.failures.push_back("the player's signature does not verify over the bet's fields under account " +
                         to_hex(r.bet.account));
  if (tx_id(r.bet) != r.tx_id)
    c.failures.push_back("tx_id " + to_hex(r.tx_id) + " is not the bet's (" + to_hex(tx_id(r.bet)) +
                         ", BLAKE2b-256 of its signing bytes and signature)");
  if (!verify_tx_path(r.header.tx_root, r.tx_id, r.tx_index, r.header.tx_count, r.tx_path))
    c.failures.push_back("the tx path does not lead from tx_id at index " + std::to_string(r.tx_index) + " of " +
                         std::to_string(r.header.tx_count) + " to the header's tx_root");
  if (r.answer_height != r.header.height)
    c.failures.push_back("the answer's block_height " + std::to_string(r.answer_height) + " is not the header's " +
                         std::to_string(r.header.height));
  check_signatures(r, node_key, c);
  check_outcome(r, house_key, c);
  return c;
}

}  // namespace croupier::receipt
