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
  template <class A> void serialize(A& ar) { ar(account, balance, proof); }
};

struct Witness {
  std::vector<Item> items;
  std::vector<AccountWitness> accounts;  // Each touched account once, in first-touch order.
  friend bool operator==(const Witness&, const Witness&) = default;
  template <class A> void serialize(A& ar) { ar(items, accounts); }
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
