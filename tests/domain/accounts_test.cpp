// Accounts: the life of a bet against a balance (admit, accept, reject, resolve) as the
// header comment of accounts.hpp lays it out, and the promise that a refused operation
// changes nothing.
// Method: one account driven step by step, asserting against a compact rendering
// "balance/reserved nonce=N pending=P" after every step; refusals compare the whole map
// before and after.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "domain/accounts.hpp"
#include "domain/games.hpp"
#include "domain/transactions.hpp"

using namespace croupier;

namespace {

PublicKey key(std::uint8_t fill) {
  PublicKey k{};
  k.fill(fill);
  return k;
}

const PublicKey kAlice = key(0xa1);
const PublicKey kBob = key(0xb0);

Bet bet(std::uint64_t nonce, Amount wager, const PublicKey& account = kAlice) {
  Bet b;
  b.bet_id[0] = static_cast<std::uint8_t>(nonce);
  b.account = account;
  b.nonce = nonce;
  b.game = static_cast<std::uint8_t>(Game::dice);
  b.choice = 50;
  b.wager = wager;
  return b;  // Unsigned: Accounts does not look at signatures.
}

std::string show(const Accounts& a, const PublicKey& k = kAlice) {
  const Account* x = a.find(k);
  if (!x) return "absent";
  return std::to_string(x->balance) + "/" + std::to_string(x->reserved) + " nonce=" + std::to_string(x->nonce) +
         " pending=" + std::to_string(x->pending_nonce);
}

Accounts funded(Amount amount) {
  Accounts a;
  a.credit(kAlice, amount);
  return a;
}

}  // namespace

TEST_CASE("CreditCreatesAndGrowsAnAccount") {
  Accounts a;
  CHECK(show(a) == "absent");
  a.credit(kAlice, 100);
  CHECK(show(a) == "100/0 nonce=0 pending=0");
  a.credit(kAlice, 50);
  a.credit(kBob, 7);
  CHECK(show(a) == "150/0 nonce=0 pending=0");
  CHECK(a.total_balance() == 157);
  CHECK(a.all().size() == 2);
}

TEST_CASE("AdmitReservesTheWagerAndTakesTheNextNonce") {
  Accounts a = funded(100);
  a.admit_bet(bet(1, 30));
  CHECK(show(a) == "100/30 nonce=0 pending=1");
  CHECK(a.find(kAlice)->available() == 70);
  a.admit_bet(bet(2, 70));  // Exactly the available balance.
  CHECK(show(a) == "100/100 nonce=0 pending=2");
  CHECK(a.find(kAlice)->available() == 0);
}

TEST_CASE("CheckBetNamesEachViolation") {
  Accounts a = funded(100);
  struct Row {
    std::string name;
    Bet bet;
    RuleViolation::Code code;
    const char* message;
  };
  Bet bad_terms = bet(1, 10);
  bad_terms.choice = 1;  // Dice target 1.
  Bet zero = bet(1, 0);
  const std::vector<Row> rows{
      {"nonce 0", bet(0, 10), RuleViolation::Code::wrong_nonce, "nonce 0 is not the account's next nonce 1"},
      {"nonce skips one", bet(2, 10), RuleViolation::Code::wrong_nonce, "nonce 2 is not the account's next nonce 1"},
      {"wager above balance", bet(1, 101), RuleViolation::Code::insufficient_funds,
       "wager 101 exceeds the available balance 100"},
      {"unknown account", bet(1, 1, kBob), RuleViolation::Code::insufficient_funds,
       "exceeds the available balance 0"},
      {"bad terms", bad_terms, RuleViolation::Code::bad_terms, "dice target"},
      {"wager 0", zero, RuleViolation::Code::bad_terms, "wager 0 out of range"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto v = a.check_bet(row.bet);
    REQUIRE(v.has_value());
    CHECK(v->code == row.code);
    CHECK(v->message.find(row.message) != std::string::npos);
    // admit_bet refuses the same bet with the same message and changes nothing.
    CHECK_THROWS_WITH_AS(a.admit_bet(row.bet), doctest::Contains(row.message), RuleError);
    CHECK(show(a) == "100/0 nonce=0 pending=0");
    CHECK(show(a, kBob) == "absent");
  }
  CHECK_FALSE(a.check_bet(bet(1, 100)).has_value());
  CHECK(rule_code_name(RuleViolation::Code::bad_terms) == "bad_terms");
  CHECK(rule_code_name(RuleViolation::Code::wrong_nonce) == "wrong_nonce");
  CHECK(rule_code_name(RuleViolation::Code::insufficient_funds) == "insufficient_funds");
}

TEST_CASE("ReservedFundsAreNotAvailableToTheNextBet") {
  Accounts a = funded(100);
  a.admit_bet(bet(1, 60));
  auto v = a.check_bet(bet(2, 41));
  REQUIRE(v.has_value());
  CHECK(v->code == RuleViolation::Code::insufficient_funds);
  CHECK(v->message == "wager 41 exceeds the available balance 40");
  CHECK_FALSE(a.check_bet(bet(2, 40)).has_value());
}

TEST_CASE("AcceptAdvancesTheNonceAndKeepsTheReservation") {
  Accounts a = funded(100);
  a.admit_bet(bet(1, 30));
  a.admit_bet(bet(2, 20));
  a.accept_bet(bet(1, 30));
  CHECK(show(a) == "100/50 nonce=1 pending=2");
  a.accept_bet(bet(2, 20));
  CHECK(show(a) == "100/50 nonce=2 pending=2");
}

TEST_CASE("ResolveReleasesDebitsAndCredits") {
  Accounts a = funded(100);
  a.admit_bet(bet(1, 30));
  a.accept_bet(bet(1, 30));
  a.resolve_bet(bet(1, 30), 0);  // A loss.
  CHECK(show(a) == "70/0 nonce=1 pending=1");
  a.admit_bet(bet(2, 70));
  a.accept_bet(bet(2, 70));
  a.resolve_bet(bet(2, 70), 138);  // A coinflip win: floor(70 * 1.98).
  CHECK(show(a) == "138/0 nonce=2 pending=2");
}

TEST_CASE("RejectReleasesTheReservationAndFreesTheNonceSlot") {
  Accounts a = funded(100);
  a.admit_bet(bet(1, 30));
  a.reject_bet(bet(1, 30));
  CHECK(show(a) == "100/0 nonce=0 pending=0");
  // The slot is free again: another bet with nonce 1 is admissible and can be accepted.
  CHECK_FALSE(a.check_bet(bet(1, 100)).has_value());
  a.admit_bet(bet(1, 100));
  a.accept_bet(bet(1, 100));
  CHECK(show(a) == "100/100 nonce=1 pending=1");

  // Rejecting the latest of several pending bets frees only its own slot.
  Accounts b = funded(100);
  b.admit_bet(bet(1, 10));
  b.admit_bet(bet(2, 10));
  b.accept_bet(bet(1, 10));
  b.reject_bet(bet(2, 10));
  CHECK(show(b) == "100/10 nonce=1 pending=1");
  CHECK_FALSE(b.check_bet(bet(2, 90)).has_value());
}

TEST_CASE("RejectingAnEarlierBetLeavesLaterBetsDecidable") {
  // reject_bet's comment: "bets admitted after it keep their nonces (consensus decides them
  // on their own)". Consensus may then accept the later bet; accounts must take it.
  Accounts a = funded(100);
  a.admit_bet(bet(1, 10));
  a.admit_bet(bet(2, 20));
  a.reject_bet(bet(1, 10));
  CHECK(show(a) == "100/20 nonce=0 pending=2");
  CHECK_NOTHROW(a.accept_bet(bet(2, 20)));
  CHECK(show(a) == "100/20 nonce=2 pending=2");
}

TEST_CASE("RefusedOperationsChangeNothing") {
  Accounts a = funded(100);
  a.admit_bet(bet(1, 30));
  const auto before = a.all();
  const std::string rendered = show(a);
  struct Row {
    std::string name;
    std::function<void(Accounts&)> op;
    const char* message;
  };
  const std::vector<Row> rows{
      {"accept a nonce never admitted", [](Accounts& x) { x.accept_bet(bet(2, 30)); }, "was never admitted"},
      {"accept more than reserved", [](Accounts& x) { x.accept_bet(bet(1, 31)); }, "accept bet: the wager is not reserved"},
      {"accept on an unknown account", [](Accounts& x) { x.accept_bet(bet(1, 1, kBob)); }, "accept bet: unknown account"},
      {"reject more than reserved", [](Accounts& x) { x.reject_bet(bet(1, 31)); }, "reject bet: the wager is not reserved"},
      {"reject on an unknown account", [](Accounts& x) { x.reject_bet(bet(1, 1, kBob)); }, "reject bet: unknown account"},
      {"resolve more than reserved", [](Accounts& x) { x.resolve_bet(bet(1, 31), 0); }, "resolve bet: the wager is not reserved"},
      {"resolve on an unknown account", [](Accounts& x) { x.resolve_bet(bet(1, 1, kBob), 0); }, "resolve bet: unknown account"},
      {"admit a wrong nonce", [](Accounts& x) { x.admit_bet(bet(1, 1)); }, "admit bet: nonce 1"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK_THROWS_WITH_AS(row.op(a), doctest::Contains(row.message), RuleError);
    CHECK(a.all() == before);
    CHECK(show(a) == rendered);
    CHECK(a.find(kBob) == nullptr);
  }
}

TEST_CASE("OverflowIsAnErrorThatChangesNothing") {
  Accounts a = funded(UINT64_MAX - 10);
  CHECK_THROWS_WITH_AS(a.credit(kAlice, 11), "deposit: amount overflow", MoneyError);
  CHECK(show(a) == std::to_string(UINT64_MAX - 10) + "/0 nonce=0 pending=0");
  a.credit(kAlice, 10);
  CHECK(a.find(kAlice)->balance == UINT64_MAX);

  // A payout that would take the balance past 2^64 - 1.
  a.admit_bet(bet(1, 5));
  a.accept_bet(bet(1, 5));
  const std::string rendered = show(a);
  CHECK_THROWS_WITH_AS(a.resolve_bet(bet(1, 5), 6), "credit payout: amount overflow", MoneyError);
  CHECK(show(a) == rendered);
  a.resolve_bet(bet(1, 5), 5);
  CHECK(show(a) == std::to_string(UINT64_MAX) + "/0 nonce=1 pending=1");

  // The total over accounts is checked too.
  a.credit(kBob, 1);
  CHECK_THROWS_AS((void)a.total_balance(), MoneyError);
}
