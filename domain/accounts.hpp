#pragma once
// The accounts projection: balances, nonces and funds reserved by pending bets.
//
// Life of a bet against an account:
//   admit   (TxAdmitted):          needs nonce == pending_nonce + 1 and available >= wager;
//                                  reserves the wager, pending_nonce = nonce.
//   accept  (TxFinalized accepted): nonce = max(nonce, bet.nonce) (funds stay reserved); bets on
//                                  different nonces are separate conflict sets, decided in any order.
//   reject  (TxFinalized rejected): releases the reservation and frees the nonce slot.
//   resolve (BetResolved):         releases the reservation, debits the wager, credits the payout.
// Deposits credit the balance when they are finalized as accepted.
// Invariants: reserved <= balance; nonce <= pending_nonce.

#include <algorithm>
#include <optional>
#include <vector>
#include <string>
#include <unordered_map>

#include "domain/crypto.hpp"
#include "domain/ids.hpp"
#include "domain/money.hpp"

namespace croupier {

struct Bet;

struct Account {
  Amount balance = 0;              // Minor units, resolved results included.
  Amount reserved = 0;             // Sum of wagers of admitted, unresolved bets.
  std::uint64_t nonce = 0;         // Highest nonce finalized as accepted.
  std::uint64_t pending_nonce = 0; // Last nonce admitted (>= nonce).
  Amount available() const { return balance - reserved; }
  friend bool operator==(const Account&, const Account&) = default;
  template <class A> void serialize(A& ar) { ar(balance, reserved, nonce, pending_nonce); }
};

// Why a bet is not admissible; `code` is stable (API error codes), `message` is for people.
struct RuleViolation {
  enum class Code { bad_terms, wrong_nonce, insufficient_funds } code;
  std::string message;
};
std::string_view rule_code_name(RuleViolation::Code c);

// A state change that breaks the rules above (e.g. resolving a bet that holds no
// reservation). During replay this means the log is inconsistent.
class RuleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Accounts {
 public:
  std::optional<RuleViolation> check_bet(const Bet& bet) const;

  // Each throws RuleError (or MoneyError) and changes nothing when its precondition fails.
  void admit_bet(const Bet& bet);
  void accept_bet(const Bet& bet);
  void reject_bet(const Bet& bet);
  void resolve_bet(const Bet& bet, Amount payout);
  void credit(const PublicKey& account, Amount amount);

  const Account* find(const PublicKey& account) const;
  const std::unordered_map<PublicKey, Account, BytesHash>& all() const { return accounts_; }
  Amount total_balance() const;  // Checked sum of all balances.

  template <class A> void save(A& ar) const {
    std::vector<std::pair<PublicKey, Account>> v(accounts_.begin(), accounts_.end());
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.first < y.first; });
    ar(v);
  }
  template <class A> void load(A& ar) {
    std::vector<std::pair<PublicKey, Account>> v;
    ar(v);
    accounts_.clear();
    accounts_.reserve(v.size());
    for (auto& [k, a] : v) accounts_.emplace(k, a);
  }

 private:
  Account& must_find(const PublicKey& account, const char* what);
  std::unordered_map<PublicKey, Account, BytesHash> accounts_;
};

}  // namespace croupier
