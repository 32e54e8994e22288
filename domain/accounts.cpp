#include "domain/accounts.hpp"

#include <algorithm>
#include <cassert>

#include "domain/games.hpp"
#include "domain/transactions.hpp"

namespace croupier {

std::string_view rule_code_name(RuleViolation::Code c) {
  switch (c) {
    case RuleViolation::Code::bad_terms: return "bad_terms";
    case RuleViolation::Code::wrong_nonce: return "wrong_nonce";
    case RuleViolation::Code::insufficient_funds: return "insufficient_funds";
  }
  return "unknown";
}

std::optional<RuleViolation> Accounts::check_bet(const Bet& bet) const {
  if (auto bad = check_bet_terms(bet.game, bet.choice, bet.wager))
    return RuleViolation{RuleViolation::Code::bad_terms, *bad};
  const Account* a = find(bet.account);
  std::uint64_t expected = (a ? a->pending_nonce : 0) + 1;
  if (bet.nonce != expected)
    return RuleViolation{RuleViolation::Code::wrong_nonce,
                         "nonce " + std::to_string(bet.nonce) + " is not the account's next nonce " +
                             std::to_string(expected)};
  Amount available = a ? a->available() : 0;
  if (available < bet.wager)
    return RuleViolation{RuleViolation::Code::insufficient_funds,
                         "wager " + std::to_string(bet.wager) + " exceeds the available balance " +
                             std::to_string(available)};
  return std::nullopt;
}

Account& Accounts::must_find(const PublicKey& account, const char* what) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) throw RuleError(std::string(what) + ": unknown account " + to_hex(account));
  return it->second;
}

void Accounts::admit_bet(const Bet& bet) {
  if (auto bad = check_bet(bet)) throw RuleError("admit bet: " + bad->message);
  Account& a = must_find(bet.account, "admit bet");  // check_bet passed: balance > 0, so it exists.
  a.reserved = checked_add(a.reserved, bet.wager, "reserve wager");
  a.pending_nonce = bet.nonce;
  assert(a.reserved <= a.balance);
}

void Accounts::accept_bet(const Bet& bet) {
  Account& a = must_find(bet.account, "accept bet");
  if (bet.nonce == 0 || bet.nonce > a.pending_nonce)
    throw RuleError("accept bet: nonce " + std::to_string(bet.nonce) + " was never admitted (last admitted " +
                    std::to_string(a.pending_nonce) + ")");
  if (a.reserved < bet.wager) throw RuleError("accept bet: the wager is not reserved");
  // Bets on different nonces are separate conflict sets and may be decided in any order.
  a.nonce = std::max(a.nonce, bet.nonce);
  assert(a.nonce <= a.pending_nonce);
}

void Accounts::reject_bet(const Bet& bet) {
  Account& a = must_find(bet.account, "reject bet");
  if (a.reserved < bet.wager) throw RuleError("reject bet: the wager is not reserved");
  a.reserved -= bet.wager;
  // Free the nonce slot so the player can use it again; bets admitted after it keep
  // their nonces (consensus decides them on their own).
  if (a.pending_nonce == bet.nonce) a.pending_nonce = bet.nonce - 1;
  if (a.pending_nonce < a.nonce) a.pending_nonce = a.nonce;
}

void Accounts::resolve_bet(const Bet& bet, Amount payout) {
  Account& a = must_find(bet.account, "resolve bet");
  if (a.reserved < bet.wager || a.balance < bet.wager)
    throw RuleError("resolve bet: the wager is not reserved");
  Amount new_balance = checked_add(a.balance - bet.wager, payout, "credit payout");
  a.reserved -= bet.wager;
  a.balance = new_balance;
  assert(a.reserved <= a.balance);
}

void Accounts::credit(const PublicKey& account, Amount amount) {
  const Account* existing = find(account);
  Amount balance = checked_add(existing ? existing->balance : 0, amount, "deposit");
  accounts_[account].balance = balance;
}

const Account* Accounts::find(const PublicKey& account) const {
  auto it = accounts_.find(account);
  return it == accounts_.end() ? nullptr : &it->second;
}

Amount Accounts::total_balance() const {
  Amount sum = 0;
  for (const auto& [k, a] : accounts_) sum = checked_add(sum, a.balance, "total balance");
  return sum;
}

}  // namespace croupier
