#pragma once
// Settlement batches: the settled state (a sparse Merkle tree of account balances), the
// prover and the stateless verifier.
//
// A batch is a list of items (finalized deposits and resolved bets) applied in order to
// the settled state. Its public inputs are (batch_id, pre_root, post_root, items_digest,
// totals); its witness is the items plus every touched account's balance with a Merkle
// proof against pre_root; its proof is the sequencer's Ed25519 signature over the public
// inputs (nothing here is zero-knowledge; a ZK prover can replace `prove` later).
// `verify` re-applies the items to a partial tree rebuilt from the witness alone and
// rejects any altered item, balance, root, total or signature.

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/codec.hpp"
#include "domain/crypto.hpp"
#include "domain/ids.hpp"
#include "domain/merkle.hpp"
#include "domain/money.hpp"

namespace croupier::merkle {
template <class Archive>
void serialize(Archive& ar, MerkleProof& p) {
  ar(p.siblings, p.terminal_leaf);
}
}  // namespace croupier::merkle

namespace croupier::settlement {

enum class ItemKind : std::uint8_t { deposit = 1, bet = 2 };

struct Item {
  ItemKind kind = ItemKind::bet;
  Id128 id{};          // deposit_id or bet_id.
  Hash32 tx_id{};
  PublicKey account{};
  Amount amount = 0;   // Deposit: the amount credited. Bet: the wager debited.
  Amount payout = 0;   // Bet: what the player received (0 on a loss). Deposit: 0.
  friend bool operator==(const Item&, const Item&) = default;
  template <class A> void serialize(A& ar) { ar(kind, id, tx_id, account, amount, payout); }
};

struct Totals {
  std::uint64_t item_count = 0;
  Amount deposits = 0;
  Amount wagers = 0;
  Amount payouts = 0;
  friend bool operator==(const Totals&, const Totals&) = default;
  template <class A> void serialize(A& ar) { ar(item_count, deposits, wagers, payouts); }
};

struct PublicInputs {
  Id128 batch_id{};
  Hash32 pre_root{};
  Hash32 post_root{};
  Hash32 items_digest{};
  Totals totals;
  friend bool operator==(const PublicInputs&, const PublicInputs&) = default;
  template <class A> void serialize(A& ar) { ar(batch_id, pre_root, post_root, items_digest, totals); }
};

struct AccountWitness {
  PublicKey account{};
  std::optional<Amount> balance;  // nullopt: the account is not in the pre-state.
  merkle::MerkleProof proof;
  friend bool operator==(const AccountWitness&, const AccountWitness&) = default;
};

// How one account's proof is encoded in a witness (the proofs are most of a batch's bytes).
// The proofs of two keys sharing their first L path bits have the same first L siblings, so
// a proof names an earlier account of the witness (`ref`, its index + 1; 0 for none) and
// copies `shared` siblings from its proof, and stores only the `rest`. A membership leaf is
// the account's own key and balance, so it is stored as a kind byte alone. Nothing decoded
// is trusted: verify() checks every expanded proof against pre_root.
struct CompactProof {
  enum Terminal : std::uint8_t { empty = 0, own_leaf = 1, other_leaf = 2 };
  std::uint32_t ref = 0;
  std::uint16_t shared = 0;
  std::vector<Hash32> rest;
  std::uint8_t terminal = empty;
  std::pair<Hash32, Hash32> other{};  // The terminal leaf when terminal == other_leaf.
};

// The compact forms of `accounts`' proofs, in order; each names the earlier account whose
// path shares the most bits with its own.
std::vector<CompactProof> compact_proofs(const std::vector<AccountWitness>& accounts);
// Rebuilds `accounts[i].proof` from compact[i] (the accounts and balances already set).
// Throws DecodeError when a compact proof names a later account, copies more siblings than
// its reference has, or claims an own leaf without a balance.
void expand_proofs(std::vector<AccountWitness>& accounts, const std::vector<CompactProof>& compact);

struct Witness {
  std::vector<Item> items;
  std::vector<AccountWitness> accounts;  // Each touched account once, in first-touch order.
  friend bool operator==(const Witness&, const Witness&) = default;

  // items, then u64 n, then n times: account, balance (optional), ref u32, shared u16,
  // rest count u16, rest hashes, terminal kind u8 (and the other leaf's key and value hash).
  template <class A> void save(A& ar) const {
    ar(items);
    const auto compact = compact_proofs(accounts);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(accounts.size())));
    for (std::size_t i = 0; i < accounts.size(); ++i) {
      const auto& c = compact[i];
      ar(accounts[i].account, accounts[i].balance, c.ref, c.shared, static_cast<std::uint16_t>(c.rest.size()));
      for (const auto& h : c.rest) ar(h);
      ar(c.terminal);
      if (c.terminal == CompactProof::other_leaf) ar(c.other);
    }
  }
  template <class A> void load(A& ar) {
    ar(items);
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    if (n > items.size()) throw DecodeError("witness: " + std::to_string(n) + " accounts for " +
                                            std::to_string(items.size()) + " items");
    accounts.assign(static_cast<std::size_t>(n), AccountWitness{});
    std::vector<CompactProof> compact(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < accounts.size(); ++i) {
      auto& c = compact[i];
      std::uint16_t rest = 0;
      ar(accounts[i].account, accounts[i].balance, c.ref, c.shared, rest);
      if (rest > merkle::kKeyBits) throw DecodeError("witness: a proof of " + std::to_string(rest) + " siblings");
      c.rest.resize(rest);
      for (auto& h : c.rest) ar(h);
      ar(c.terminal);
      if (c.terminal > CompactProof::other_leaf)
        throw DecodeError("witness: terminal kind " + std::to_string(c.terminal) + " is unknown");
      if (c.terminal == CompactProof::other_leaf) ar(c.other);
    }
    expand_proofs(accounts, compact);
  }
};

// The leaf value of an account: BLAKE2b-256(0x01 || balance u64 LE).
Hash32 account_leaf_value(Amount balance);

// BLAKE2b-256 over the canonical encoding of the item list.
Hash32 items_digest(const std::vector<Item>& items);

// Sums the items; throws MoneyError on overflow.
Totals compute_totals(const std::vector<Item>& items);

// The canonical bytes the sequencer signs (also a settlement tx's signed bytes).
Bytes public_inputs_signing_bytes(const PublicInputs& inputs, const PublicKey& sequencer_key);

// Balances after every batch proved so far, and their Merkle tree.
class SettledState {
 public:
  Hash32 root() const { return tree_.root(); }
  std::optional<Amount> balance(const PublicKey& account) const;
  std::size_t size() const { return balances_.size(); }
  const std::unordered_map<PublicKey, Amount, BytesHash>& balances() const { return balances_; }

  // Applies items in order. Throws MoneyError (debit beyond balance, overflow) leaving
  // the state unchanged.
  void apply(const std::vector<Item>& items);
  // The same, but keeps the result only when the new root is `expected_root`; otherwise
  // restores the previous state and returns false.
  bool apply(const std::vector<Item>& items, const Hash32& expected_root);

  merkle::MerkleProof prove(const PublicKey& account) const { return tree_.prove(account); }

  // Rebuilds from (account, balance) pairs, e.g. from a snapshot.
  static SettledState from_balances(std::vector<std::pair<PublicKey, Amount>> balances);

 private:
  std::unordered_map<PublicKey, Amount, BytesHash> balances_;
  merkle::SparseMerkleTree tree_;
};

struct ProvedBatch {
  PublicInputs inputs;
  Witness witness;
  Signature proof{};
};

// Builds the witness and public inputs for `items` against `pre`, and signs them.
// Throws MoneyError when the items cannot apply (a debit beyond a balance, overflow).
ProvedBatch prove(const Id128& batch_id, const std::vector<Item>& items, const SettledState& pre,
                  const KeyPair& sequencer);

// Checks a proved batch statelessly. Returns nullopt when valid, else what is wrong.
std::optional<std::string> verify(const PublicInputs& inputs, const Witness& witness,
                                  const Signature& proof, const PublicKey& sequencer_key);

}  // namespace croupier::settlement
