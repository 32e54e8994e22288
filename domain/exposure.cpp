#include "domain/exposure.hpp"

#include <cassert>

#include "domain/games.hpp"

namespace croupier {

Amount Exposure::credit_of(const PublicKey& account) const {
  auto it = credit.find(account);
  return it == credit.end() ? 0 : it->second;
}

Amount largest_net_win(const Bet& bet) {
  assert(!check_bet_terms(bet.game, bet.choice, bet.wager));
  const auto game = static_cast<Game>(bet.game);
  // The winning roll with the largest payout: coinflip's side == choice, dice's lowest roll.
  const std::uint8_t roll = game == Game::coinflip ? bet.choice : 1;
  const Outcome best = outcome_for_roll(game, bet.choice, bet.wager, roll);
  return best.payout > bet.wager ? best.payout - bet.wager : 0;
}

namespace {

// The account a tx credits and by how much at worst (nullopt: a settlement).
struct Credit {
  const PublicKey* account;
  Amount amount;
};

std::optional<Credit> credit_of_tx(const Tx& tx) {
  if (const auto* d = std::get_if<Deposit>(&tx)) return Credit{&d->account, d->amount};
  if (const auto* b = std::get_if<Bet>(&tx)) return Credit{&b->account, largest_net_win(*b)};
  return std::nullopt;
}

}  // namespace

void add_exposure(Exposure& e, const Tx& tx) {
  auto credit = credit_of_tx(tx);
  if (!credit) return;
  // Every sum first, so that an overflow changes nothing.
  Amount deposits = e.deposits, wagers = e.wagers, wins = e.wins;
  if (const auto* d = std::get_if<Deposit>(&tx)) {
    deposits = checked_add(deposits, d->amount, "pending deposits");
  } else {
    wagers = checked_add(wagers, std::get<Bet>(tx).wager, "pending wagers");
    wins = checked_add(wins, credit->amount, "pending wins");
  }
  const Amount account = checked_add(e.credit_of(*credit->account), credit->amount, "pending credit");
  e.deposits = deposits;
  e.wagers = wagers;
  e.wins = wins;
  if (account > 0) e.credit[*credit->account] = account;
}

void remove_exposure(Exposure& e, const Tx& tx) {
  auto credit = credit_of_tx(tx);
  if (!credit) return;
  if (const auto* d = std::get_if<Deposit>(&tx)) {
    assert(e.deposits >= d->amount);
    e.deposits -= d->amount;
  } else {
    const auto& b = std::get<Bet>(tx);
    assert(e.wagers >= b.wager && e.wins >= credit->amount);
    e.wagers -= b.wager;
    e.wins -= credit->amount;
  }
  if (credit->amount == 0) return;
  auto it = e.credit.find(*credit->account);
  assert(it != e.credit.end() && it->second >= credit->amount);
  it->second -= credit->amount;
  if (it->second == 0) e.credit.erase(it);
}

}  // namespace croupier
