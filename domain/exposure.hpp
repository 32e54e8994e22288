#pragma once
// What the admitted, undecided transactions may still add to balances and totals.
//
// A tx that is admitted must always be applicable when it is decided: consensus has no way
// to take back a decision that the journal then refuses. Deposits credit a balance and the
// deposits total when they are accepted; a bet moves its account by payout - wager and the
// house result by wager - payout when it is resolved. So admission (admission.hpp,
// check_admissible) counts the worst case of every tx still pending, the way a pending
// bet's wager is reserved, and refuses a tx whose own worst case would overflow on top:
//   deposits_total + pending deposits + amount            <= UINT64_MAX
//   balance + pending credit of the account + amount       <= UINT64_MAX   (deposit)
//   balance + pending credit of the account + largest win  <= UINT64_MAX   (bet)
//   house_result + pending wagers + wager                  <= INT64_MAX    (every bet lost)
//   house_result - pending wins - largest win              >= INT64_MIN    (every bet won)
// where a bet's largest win is its largest payout minus its wager. Pure values; apply()
// keeps the Exposure of the projections up to date (add at TxAdmitted, remove when the tx is
// decided, or for an accepted bet when it is resolved).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "domain/ids.hpp"
#include "domain/money.hpp"
#include "domain/transactions.hpp"

namespace croupier {

struct Exposure {
  Amount deposits = 0;  // Pending deposits: what deposits_total may still gain.
  Amount wagers = 0;    // Wagers of pending bets: what the house result may still gain.
  Amount wins = 0;      // Their largest net wins: what the house result may still lose.
  // Per account: pending deposits to it plus its pending bets' largest net wins (no entry: 0).
  std::unordered_map<PublicKey, Amount, BytesHash> credit;
  Amount credit_of(const PublicKey& account) const;
  friend bool operator==(const Exposure&, const Exposure&) = default;
};

// payout - wager when the bet wins with its best roll. Precondition: check_bet_terms accepts it.
Amount largest_net_win(const Bet& bet);

// Counts a newly admitted deposit or bet (settlements move no money here); throws MoneyError
// on overflow, which check_admissible rules out.
void add_exposure(Exposure& e, const Tx& tx);
// Takes back what add_exposure counted (the tx was decided, or the bet resolved).
void remove_exposure(Exposure& e, const Tx& tx);

}  // namespace croupier
