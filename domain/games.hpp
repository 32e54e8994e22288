#pragma once
// The games and how an outcome follows from a VRF output.
//
// r = the first 16 bytes of beta read as an unsigned little-endian 128-bit integer.
//   coinflip: side = r mod 2 (0 = heads, 1 = tails); the player wins when side == choice;
//             a win pays floor(wager * 198 / 100) (1.98x), a loss pays 0.
//   dice:     roll = (r mod 100) + 1, in 1..100; choice = target in 2..99; the player wins
//             when roll < target; a win pays floor(wager * 99 / (target - 1)), a loss 0.
// The bias of "mod" on a 128-bit number is below 2^-120 and ignored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/bytes.hpp"
#include "domain/money.hpp"

namespace croupier {

enum class Game : std::uint8_t { coinflip = 1, dice = 2 };

std::optional<Game> game_from_name(std::string_view name);
// The game a bet's `game` byte names, or nullopt for a number no game has.
std::optional<Game> game_from_number(std::uint8_t number);
std::string_view game_name(Game g);

// Limits on a wager in minor units; both inclusive.
inline constexpr Amount kWagerMin = 1;
inline constexpr Amount kWagerMax = 1'000'000'000'000'000ull;  // 10^15: payouts stay far below 2^63.

// Why a game/choice/wager combination is not playable, or nullopt when it is.
std::optional<std::string> check_bet_terms(std::uint8_t game, std::uint8_t choice, Amount wager);

struct Outcome {
  std::uint8_t roll = 0;  // coinflip: side 0/1; dice: 1..100.
  bool win = false;
  Amount payout = 0;      // What the player receives; the wager is always taken.
  friend bool operator==(const Outcome&, const Outcome&) = default;
  template <class A> void serialize(A& ar) { ar(roll, win, payout); }
};

// The outcome for a VRF output. Precondition: check_bet_terms(...) accepted the terms.
Outcome resolve_game(Game game, std::uint8_t choice, Amount wager, const FixedBytes<64>& beta);

// The outcome a given roll implies (used by the audit to re-check a recorded outcome
// without re-running the VRF).
Outcome outcome_for_roll(Game game, std::uint8_t choice, Amount wager, std::uint8_t roll);

}  // namespace croupier
