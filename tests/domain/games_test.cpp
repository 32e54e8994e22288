// Games: how a VRF output becomes a roll and a payout, which terms are playable, and the
// checked money arithmetic the payouts rely on.
// Method: betas built by hand so that r (the little-endian u128 of beta[0..16]) takes exact
// values, expected payouts worked out on paper, and edge rows in named tables.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "domain/games.hpp"
#include "domain/money.hpp"

using namespace croupier;

namespace {

// A beta whose first 16 bytes are `r` little-endian; the rest is noise the games ignore.
FixedBytes<64> beta_for(UInt128 r) {
  FixedBytes<64> beta{};
  for (std::size_t i = 0; i < 16; ++i) beta[i] = static_cast<std::uint8_t>(r >> (8 * i));
  for (std::size_t i = 16; i < 64; ++i) beta[i] = 0xee;
  return beta;
}

constexpr auto kCoinflip = static_cast<std::uint8_t>(Game::coinflip);
constexpr auto kDice = static_cast<std::uint8_t>(Game::dice);

}  // namespace

TEST_CASE("RollIsLittleEndianU128OfTheFirst16BytesMod100PlusOne") {
  struct Row {
    std::string name;
    FixedBytes<64> beta;
    std::uint8_t roll;
  };
  FixedBytes<64> high_byte{};
  high_byte[15] = 1;  // r = 2^120; 2^20 = 76 (mod 100) and 76^k = 76, so r mod 100 = 76.
  FixedBytes<64> second_byte{};
  second_byte[1] = 1;  // r = 256 (little-endian); big-endian would give 2^120.
  FixedBytes<64> beyond{};
  beyond[16] = 0xff;  // Byte 16 onwards does not count: r = 0.
  beyond[63] = 0xff;
  FixedBytes<64> all_ones{};
  all_ones.fill(0xff);  // r = 2^128 - 1 = 340282366920938463463374607431768211455, mod 100 = 55.
  const std::vector<Row> rows{
      {"r = 0 gives roll 1", beta_for(0), 1},
      {"r = 99 gives roll 100", beta_for(99), 100},
      {"r = 100 wraps to roll 1", beta_for(100), 1},
      {"r = 49 gives roll 50", beta_for(49), 50},
      {"byte 1 is worth 256", second_byte, 57},
      {"byte 15 is the most significant", high_byte, 77},
      {"bytes 16..63 are ignored", beyond, 1},
      {"all ones", all_ones, 56},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(resolve_game(Game::dice, 50, 100, row.beta).roll == row.roll);
  }
}

TEST_CASE("CoinflipSideIsRMod2AndPays198Percent") {
  struct Row {
    std::string name;
    UInt128 r;
    std::uint8_t choice;
    Amount wager;
    Outcome expected;
  };
  const UInt128 big = static_cast<UInt128>(1) << 127;  // Even: heads.
  const std::vector<Row> rows{
      {"heads called, heads", 0, 0, 100, {0, true, 198}},
      {"tails called, heads", 0, 1, 100, {0, false, 0}},
      {"tails called, tails", 1, 1, 100, {1, true, 198}},
      {"heads called, tails", 1, 0, 100, {1, false, 0}},
      {"r = 99 is tails (roll 100 would be even)", 99, 1, 100, {1, true, 198}},
      {"2^127 is heads", big, 0, 100, {0, true, 198}},
      {"2^127 + 1 is tails", big + 1, 1, 100, {1, true, 198}},
      {"wager 1 pays floor(1.98) = 1", 0, 0, 1, {0, true, 1}},
      {"wager 3 pays floor(5.94) = 5", 0, 0, 3, {0, true, 5}},
      {"wager 51 pays floor(100.98) = 100", 0, 0, 51, {0, true, 100}},
      {"wager max pays 1.98e15", 0, 0, kWagerMax, {0, true, 1'980'000'000'000'000ull}},
      {"a loss pays 0 whatever the wager", 1, 0, kWagerMax, {1, false, 0}},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Outcome o = resolve_game(Game::coinflip, row.choice, row.wager, beta_for(row.r));
    CHECK(o == row.expected);
    CHECK(outcome_for_roll(Game::coinflip, row.choice, row.wager, o.roll) == o);
  }
}

TEST_CASE("DiceWinsBelowTargetAndPaysWager99OverTargetMinus1") {
  struct Row {
    std::string name;
    std::uint8_t roll;
    std::uint8_t target;
    Amount wager;
    Outcome expected;
  };
  const std::vector<Row> rows{
      {"target 2, roll 1 wins 99x", 1, 2, 10, {1, true, 990}},
      {"target 2, roll 2 loses", 2, 2, 10, {2, false, 0}},
      {"target 2, roll 100 loses", 100, 2, 10, {100, false, 0}},
      {"target 99, roll 98 wins floor(10*99/98) = 10", 98, 99, 10, {98, true, 10}},
      {"target 99, roll 99 loses", 99, 99, 10, {99, false, 0}},
      {"target 99, roll 1 wins floor(98*99/98) = 99", 1, 99, 98, {1, true, 99}},
      {"target 99, roll 100 loses", 100, 99, 10, {100, false, 0}},
      {"target 50, roll 49 wins floor(10*99/49) = 20", 49, 50, 10, {49, true, 20}},
      {"target 50, roll 50 loses", 50, 50, 10, {50, false, 0}},
      {"target 51, wager 1 pays floor(99/50) = 1", 1, 51, 1, {1, true, 1}},
      {"target 3, wager 1 pays floor(99/2) = 49", 2, 3, 1, {2, true, 49}},
      {"wager max at target 2 pays 9.9e16", 1, 2, kWagerMax, {1, true, 99'000'000'000'000'000ull}},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    // The beta that gives this roll: r = roll - 1, plus a multiple of 100 to show mod.
    UInt128 r = row.roll - 1u + static_cast<UInt128>(100) * 123456789;
    Outcome o = resolve_game(Game::dice, row.target, row.wager, beta_for(r));
    CHECK(o == row.expected);
    CHECK(outcome_for_roll(Game::dice, row.target, row.wager, row.roll) == row.expected);
  }
}

TEST_CASE("BetTermsTableOfPlayableAndUnplayable") {
  struct Row {
    std::string name;
    std::uint8_t game;
    std::uint8_t choice;
    Amount wager;
    const char* error;  // nullptr: playable.
  };
  const std::vector<Row> rows{
      {"coinflip heads", kCoinflip, 0, 1, nullptr},
      {"coinflip tails at the max wager", kCoinflip, 1, kWagerMax, nullptr},
      {"dice target 2", kDice, 2, 100, nullptr},
      {"dice target 99", kDice, 99, 100, nullptr},
      {"wager 0", kCoinflip, 0, 0, "wager 0 out of range"},
      {"wager 0 on dice", kDice, 50, 0, "wager 0 out of range"},
      {"wager above the max", kCoinflip, 0, kWagerMax + 1, "out of range"},
      {"wager u64 max", kDice, 50, UINT64_MAX, "out of range"},
      {"coinflip choice 2", kCoinflip, 2, 100, "coinflip choice must be 0 (heads) or 1 (tails), got 2"},
      {"coinflip choice 255", kCoinflip, 255, 100, "got 255"},
      {"dice target 1", kDice, 1, 100, "dice target must be in 2..99, got 1"},
      {"dice target 100", kDice, 100, 100, "dice target must be in 2..99, got 100"},
      {"dice target 0", kDice, 0, 100, "got 0"},
      {"game 0", 0, 0, 100, "unknown game 0"},
      {"game 3", 3, 0, 100, "unknown game 3"},
      {"game 255", 255, 50, 100, "unknown game 255"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto got = check_bet_terms(row.game, row.choice, row.wager);
    if (!row.error) {
      CHECK_FALSE(got.has_value());
    } else {
      REQUIRE(got.has_value());
      CHECK(got->find(row.error) != std::string::npos);
    }
  }
}

TEST_CASE("GameNamesRoundTrip") {
  CHECK(game_from_name("coinflip") == Game::coinflip);
  CHECK(game_from_name("dice") == Game::dice);
  CHECK_FALSE(game_from_name("roulette").has_value());
  CHECK(game_from_number(1) == Game::coinflip);
  CHECK(game_from_number(2) == Game::dice);
  CHECK_FALSE(game_from_number(0).has_value());
  CHECK_FALSE(game_from_number(3).has_value());
  CHECK_FALSE(game_from_name("Dice").has_value());
  CHECK(game_name(Game::coinflip) == "coinflip");
  CHECK(game_name(Game::dice) == "dice");
  CHECK(kCoinflip == 1);  // Stable on-the-wire numbers.
  CHECK(kDice == 2);
}

TEST_CASE("MoneyArithmeticIsCheckedAndNamesWhatFailed") {
  CHECK(checked_add(UINT64_MAX - 1, 1, "x") == UINT64_MAX);
  CHECK_THROWS_WITH_AS(checked_add(UINT64_MAX, 1, "balance"), "balance: amount overflow", MoneyError);

  CHECK(checked_sub(5, 5, "x") == 0);
  CHECK_THROWS_WITH_AS(checked_sub(4, 5, "wager"), "wager: amount would go negative", MoneyError);
  CHECK_THROWS_AS(checked_sub(0, 1, "wager"), MoneyError);

  // 128-bit intermediate: no overflow of the product itself.
  CHECK(mul_div_floor(UINT64_MAX, 198, 198, "x") == UINT64_MAX);
  CHECK(mul_div_floor(UINT64_MAX, 99, 100, "x") == static_cast<Amount>(static_cast<UInt128>(UINT64_MAX) * 99 / 100));
  CHECK(mul_div_floor(7, 1, 2, "x") == 3);  // Rounds down.
  CHECK_THROWS_WITH_AS(mul_div_floor(UINT64_MAX, 198, 100, "payout"), "payout: amount overflow", MoneyError);
  CHECK_THROWS_WITH_AS(mul_div_floor(1, 1, 0, "payout"), "payout: division by zero", MoneyError);

  CHECK(checked_add_signed(INT64_MAX - 1, 1, "x") == INT64_MAX);
  CHECK(checked_add_signed(INT64_MIN, 5, "x") == INT64_MIN + 5);
  CHECK_THROWS_WITH_AS(checked_add_signed(INT64_MAX, 1, "house"), "house: overflow", MoneyError);
  CHECK_THROWS_AS(checked_add_signed(INT64_MIN, -1, "house"), MoneyError);

  CHECK(to_signed(static_cast<Amount>(INT64_MAX), "x") == INT64_MAX);
  CHECK_THROWS_WITH_AS(to_signed(static_cast<Amount>(INT64_MAX) + 1, "wager"), "wager: overflow", MoneyError);
}

TEST_CASE("PayoutsAtTheMaxWagerFitInSigned64Bits") {
  // The header promises payouts stay far below 2^63 at kWagerMax; the largest multiplier is
  // dice at target 2 (99x).
  Outcome worst = outcome_for_roll(Game::dice, 2, kWagerMax, 1);
  CHECK(worst.payout == kWagerMax * 99);
  CHECK(worst.payout < static_cast<Amount>(INT64_MAX) / 10);
}
