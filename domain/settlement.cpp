#include "domain/settlement.hpp"

#include <algorithm>
#include <bit>
#include <map>
#include <cassert>
#include <unordered_set>

namespace croupier::settlement {

Hash32 account_leaf_value(Amount balance) {
  return Blake2b256().update_u8(1).update_u64_le(balance).finish();
}

Hash32 items_digest(const std::vector<Item>& items) { return blake2b256(encode(items)); }

Totals compute_totals(const std::vector<Item>& items) {
  Totals t;
  t.item_count = items.size();
  for (const auto& item : items) {
    if (item.kind == ItemKind::deposit) {
      t.deposits = checked_add(t.deposits, item.amount, "batch deposit total");
    } else {
      t.wagers = checked_add(t.wagers, item.amount, "batch wager total");
      t.payouts = checked_add(t.payouts, item.payout, "batch payout total");
    }
  }
  return t;
}

Bytes public_inputs_signing_bytes(const PublicInputs& inputs, const PublicKey& sequencer_key) {
  std::uint8_t version = 1, kind = 3;  // kTxFormatVersion, TxKind::settlement
  return encode(std::make_tuple(version, kind, inputs, sequencer_key));
}

namespace {

// The new balance of one account after one item; throws MoneyError.
Amount apply_item(Amount balance, const Item& item) {
  if (item.kind == ItemKind::deposit) return checked_add(balance, item.amount, "settled deposit");
  Amount after_wager = checked_sub(balance, item.amount, "settled wager");
  return checked_add(after_wager, item.payout, "settled payout");
}

// Items must name each bet/deposit once, and deposits carry no payout.
std::optional<std::string> check_items_shape(const std::vector<Item>& items) {
  std::unordered_set<Id128, BytesHash> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    if (item.kind != ItemKind::deposit && item.kind != ItemKind::bet)
      return "item " + std::to_string(i) + ": unknown kind";
    if (item.kind == ItemKind::deposit && item.payout != 0)
      return "item " + std::to_string(i) + ": a deposit with a payout";
    if (!seen.insert(item.id).second)
      return "item " + std::to_string(i) + ": id " + to_hex(item.id) + " appears twice";
  }
  return std::nullopt;
}

}  // namespace

namespace {

// How many leading path bits two keys share (256 when they are equal).
std::size_t common_prefix_bits(const Hash32& a, const Hash32& b) {
  for (std::size_t byte = 0; byte < a.size(); ++byte)
    if (auto diff = static_cast<std::uint8_t>(a[byte] ^ b[byte]))
      return byte * 8 + static_cast<std::size_t>(std::countl_zero(diff));
  return merkle::kKeyBits;
}

}  // namespace

std::vector<CompactProof> compact_proofs(const std::vector<AccountWitness>& accounts) {
  std::vector<CompactProof> out(accounts.size());
  // The earlier keys in key order: the one sharing the most bits with a key is beside it.
  std::map<Hash32, std::size_t> earlier;
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto& a = accounts[i];
    const auto& siblings = a.proof.siblings;
    auto& c = out[i];
    std::size_t best_bits = 0;
    auto consider = [&](std::map<Hash32, std::size_t>::const_iterator it) {
      const std::size_t bits = common_prefix_bits(it->first, a.account);
      if (c.ref == 0 || bits > best_bits) c.ref = static_cast<std::uint32_t>(it->second + 1), best_bits = bits;
    };
    auto next = earlier.lower_bound(a.account);
    if (next != earlier.end()) consider(next);
    if (next != earlier.begin()) consider(std::prev(next));
    if (c.ref != 0)
      c.shared = static_cast<std::uint16_t>(
          std::min({best_bits, accounts[c.ref - 1].proof.siblings.size(), siblings.size()}));
    if (c.shared == 0) c.ref = 0;
    c.rest.assign(siblings.begin() + c.shared, siblings.end());
    const auto& leaf = a.proof.terminal_leaf;
    if (leaf && a.balance && leaf->first == a.account && leaf->second == account_leaf_value(*a.balance))
      c.terminal = CompactProof::own_leaf;
    else if (leaf)
      c.terminal = CompactProof::other_leaf, c.other = *leaf;
    earlier.emplace(a.account, i);
  }
  return out;
}

void expand_proofs(std::vector<AccountWitness>& accounts, const std::vector<CompactProof>& compact) {
  assert(accounts.size() == compact.size());
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto& c = compact[i];
    auto& a = accounts[i];
    const std::string where = "witness account " + std::to_string(i) + ": ";
    if (c.ref > i) throw DecodeError(where + "its proof refers to account " + std::to_string(c.ref - 1) + ", not an earlier one");
    if (c.ref == 0 && c.shared != 0) throw DecodeError(where + "copies siblings from no account");
    const auto& from = c.ref ? accounts[c.ref - 1].proof.siblings : a.proof.siblings;
    if (c.shared > from.size() || c.shared + c.rest.size() > merkle::kKeyBits)
      throw DecodeError(where + "copies " + std::to_string(c.shared) + " siblings of a proof of " +
                        std::to_string(from.size()));
    std::vector<Hash32> siblings(from.begin(), from.begin() + c.shared);
    siblings.insert(siblings.end(), c.rest.begin(), c.rest.end());
    a.proof.siblings = std::move(siblings);
    if (c.terminal == CompactProof::own_leaf) {
      if (!a.balance) throw DecodeError(where + "claims its own leaf but holds no balance");
      a.proof.terminal_leaf = std::pair{a.account, account_leaf_value(*a.balance)};
    } else if (c.terminal == CompactProof::other_leaf) {
      a.proof.terminal_leaf = c.other;
    } else {
      a.proof.terminal_leaf.reset();
    }
  }
}

std::optional<Amount> SettledState::balance(const PublicKey& account) const {
  auto it = balances_.find(account);
  if (it == balances_.end()) return std::nullopt;
  return it->second;
}

void SettledState::apply(const std::vector<Item>& items) {
  // Compute every new balance first so that a failing item leaves the state unchanged.
  std::unordered_map<PublicKey, Amount, BytesHash> updated;
  for (const auto& item : items) {
    auto it = updated.find(item.account);
    Amount current = it != updated.end() ? it->second : balance(item.account).value_or(0);
    updated[item.account] = apply_item(current, item);
  }
  for (const auto& [account, amount] : updated) {
    balances_[account] = amount;
    tree_.set(account, account_leaf_value(amount));
  }
}

bool SettledState::apply(const std::vector<Item>& items, const Hash32& expected_root) {
  std::vector<std::pair<PublicKey, std::optional<Amount>>> previous;
  for (const auto& item : items) previous.emplace_back(item.account, balance(item.account));
  apply(items);
  if (root() == expected_root) return true;
  // Restore in reverse, so an account listed twice ends with its first (original) value.
  for (auto it = previous.rbegin(); it != previous.rend(); ++it) {
    const auto& [account, amount] = *it;
    if (amount) {
      balances_[account] = *amount;
      tree_.set(account, account_leaf_value(*amount));
    } else {
      balances_.erase(account);
      tree_.erase(account);
    }
  }
  return false;
}

SettledState SettledState::from_balances(std::vector<std::pair<PublicKey, Amount>> balances) {
  std::sort(balances.begin(), balances.end());
  std::vector<std::pair<Hash32, Hash32>> leaves;
  leaves.reserve(balances.size());
  SettledState s;
  for (const auto& [account, amount] : balances) {
    leaves.emplace_back(account, account_leaf_value(amount));
    s.balances_.emplace(account, amount);
  }
  s.tree_ = merkle::SparseMerkleTree::from_leaves(std::move(leaves));
  return s;
}

namespace {

// Re-applies the items to a partial tree built from the witness; returns the post root
// or what is wrong. Shared by the prover (to compute post_root) and the verifier, so
// both sides run the very same rules.
std::variant<Hash32, std::string> apply_statelessly(const Hash32& pre_root, const Witness& w) {
  std::vector<merkle::ProvenKey> proven;
  std::unordered_map<PublicKey, std::optional<Amount>, BytesHash> balances;
  proven.reserve(w.accounts.size());
  for (const auto& a : w.accounts) {
    if (!balances.emplace(a.account, a.balance).second)
      return "witness lists account " + to_hex(a.account) + " twice";
    std::optional<Hash32> value;
    if (a.balance) value = account_leaf_value(*a.balance);
    if (!merkle::verify_proof(pre_root, a.account, value, a.proof))
      return "witness proof for account " + to_hex(a.account) + " does not verify against pre_root";
    proven.push_back({a.account, value, a.proof});
  }
  auto partial = merkle::PartialTree::from_proofs(pre_root, proven);
  if (!partial) return std::string("witness proofs are inconsistent with each other");
  for (std::size_t i = 0; i < w.items.size(); ++i) {
    const auto& item = w.items[i];
    auto it = balances.find(item.account);
    if (it == balances.end())
      return "item " + std::to_string(i) + ": account " + to_hex(item.account) + " is not in the witness";
    try {
      it->second = apply_item(it->second.value_or(0), item);
    } catch (const MoneyError& e) {
      return "item " + std::to_string(i) + ": " + e.what();
    }
    partial->set(item.account, account_leaf_value(*it->second));
  }
  return partial->root();
}

}  // namespace

ProvedBatch prove(const Id128& batch_id, const std::vector<Item>& items, const SettledState& pre,
                  const KeyPair& sequencer) {
  if (auto bad = check_items_shape(items)) throw MoneyError("cannot prove batch: " + *bad);
  ProvedBatch b;
  b.witness.items = items;
  std::unordered_set<PublicKey, BytesHash> touched;
  for (const auto& item : items) {
    if (!touched.insert(item.account).second) continue;
    b.witness.accounts.push_back({item.account, pre.balance(item.account), pre.prove(item.account)});
  }
  b.inputs.batch_id = batch_id;
  b.inputs.pre_root = pre.root();
  b.inputs.items_digest = items_digest(items);
  b.inputs.totals = compute_totals(items);
  auto post = apply_statelessly(b.inputs.pre_root, b.witness);
  if (auto* err = std::get_if<std::string>(&post)) throw MoneyError("cannot prove batch: " + *err);
  b.inputs.post_root = std::get<Hash32>(post);
  b.proof = sign(sequencer, public_inputs_signing_bytes(b.inputs, sequencer.public_key));
  return b;
}

std::optional<std::string> verify(const PublicInputs& inputs, const Witness& witness,
                                  const Signature& proof, const PublicKey& sequencer_key) {
  if (!croupier::verify(sequencer_key, public_inputs_signing_bytes(inputs, sequencer_key), proof))
    return std::string("sequencer signature over the public inputs is invalid");
  if (items_digest(witness.items) != inputs.items_digest)
    return std::string("items do not match items_digest");
  if (auto bad = check_items_shape(witness.items)) return bad;
  try {
    if (compute_totals(witness.items) != inputs.totals)
      return std::string("totals do not match the items");
  } catch (const MoneyError& e) {
    return std::string("totals: ") + e.what();
  }
  auto post = apply_statelessly(inputs.pre_root, witness);
  if (auto* err = std::get_if<std::string>(&post)) return *err;
  if (std::get<Hash32>(post) != inputs.post_root)
    return std::string("re-applying the items gives a different post_root");
  return std::nullopt;
}

}  // namespace croupier::settlement
