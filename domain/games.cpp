#include "domain/games.hpp"

#include <cassert>

namespace croupier {

std::optional<Game> game_from_name(std::string_view name) {
  if (name == "coinflip") return Game::coinflip;
  if (name == "dice") return Game::dice;
  return std::nullopt;
}

std::optional<Game> game_from_number(std::uint8_t number) {
  if (number == static_cast<std::uint8_t>(Game::coinflip)) return Game::coinflip;
  if (number == static_cast<std::uint8_t>(Game::dice)) return Game::dice;
  return std::nullopt;
}

std::string_view game_name(Game g) {
  switch (g) {
    case Game::coinflip: return "coinflip";
    case Game::dice: return "dice";
  }
  return "unknown";
}

std::optional<std::string> check_bet_terms(std::uint8_t game, std::uint8_t choice, Amount wager) {
  if (wager < kWagerMin || wager > kWagerMax)
    return "wager " + std::to_string(wager) + " out of range [" + std::to_string(kWagerMin) + ", " +
           std::to_string(kWagerMax) + "]";
  switch (static_cast<Game>(game)) {
    case Game::coinflip:
      if (choice > 1) return "coinflip choice must be 0 (heads) or 1 (tails), got " + std::to_string(choice);
      return std::nullopt;
    case Game::dice:
      if (choice < 2 || choice > 99) return "dice target must be in 2..99, got " + std::to_string(choice);
      return std::nullopt;
  }
  return "unknown game " + std::to_string(game);
}

Outcome outcome_for_roll(Game game, std::uint8_t choice, Amount wager, std::uint8_t roll) {
  Outcome o;
  o.roll = roll;
  switch (game) {
    case Game::coinflip:
      assert(roll <= 1 && choice <= 1);
      o.win = roll == choice;
      o.payout = o.win ? mul_div_floor(wager, 198, 100, "coinflip payout") : 0;
      break;
    case Game::dice:
      assert(roll >= 1 && roll <= 100 && choice >= 2 && choice <= 99);
      o.win = roll < choice;
      o.payout = o.win ? mul_div_floor(wager, 99, choice - 1u, "dice payout") : 0;
      break;
  }
  return o;
}

Outcome resolve_game(Game game, std::uint8_t choice, Amount wager, const FixedBytes<64>& beta) {
  UInt128 r = 0;
  for (int i = 15; i >= 0; --i) r = (r << 8) | beta[static_cast<std::size_t>(i)];
  std::uint8_t roll = game == Game::coinflip ? static_cast<std::uint8_t>(r % 2)
                                             : static_cast<std::uint8_t>(r % 100 + 1);
  return outcome_for_roll(game, choice, wager, roll);
}

}  // namespace croupier
