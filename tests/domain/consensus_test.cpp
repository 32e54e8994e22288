// The node's consensus decisions (domain/consensus.hpp): the Snowball parameters for a
// network of n validators, the tally of one poll's votes, feeding a tallied poll to a
// voter's Snowball instance, and a validator's view of each conflict key.
// Method: plain values, no actors; each rule is pinned with hand-made votes.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/consensus.hpp"

using namespace croupier;
using consensus::kAccept;
using consensus::kReject;
using consensus::PollResult;
using consensus::Vote;

namespace {

Hash32 tx(std::uint8_t n) {
  Hash32 h{};
  h[0] = n;
  h[31] = static_cast<std::uint8_t>(0xa0 + n);
  return h;
}

std::string show(const snowball::Snowball& s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

// `yes` votes for `id`, `other` for another tx, `abstain` for none (nullopt).
std::vector<Vote> votes(const Hash32& id, int yes, int other, int abstain) {
  std::vector<Vote> v;
  for (int i = 0; i < yes; ++i) v.emplace_back(id);
  for (int i = 0; i < other; ++i) v.emplace_back(tx(200));
  for (int i = 0; i < abstain; ++i) v.emplace_back(std::nullopt);
  return v;
}

}  // namespace

// --- parameters_for ----------------------------------------------------------------------

TEST_CASE("ParametersForEveryNetworkSizeFrom1To100PassValidate") {
  for (std::size_t n = 1; n <= 100; ++n) {
    CAPTURE(n);
    auto p = consensus::parameters_for(n);
    auto problem = snowball::validate(p);
    CHECK_MESSAGE(!problem, (problem ? *problem : std::string()));
    CHECK(p.k == static_cast<int>(std::min<std::size_t>(n, 20)));
    REQUIRE(p.terminations.size() == 1);
    // The one termination condition asks every successful poll to count toward confidence.
    CHECK(p.terminations[0].alpha_confidence == p.alpha_preference);
    CHECK(p.k / 2 < p.alpha_preference);
    CHECK(p.alpha_preference <= p.k);
    if (n >= 2) {
      CHECK(p.alpha_preference == std::max(p.k / 2 + 1, (3 * p.k + 3) / 4));  // max(floor(k/2)+1, ceil(3k/4))
      CHECK(p.terminations[0].beta == 20);
    }
  }
}

TEST_CASE("ParametersForOneValidatorAreAllOnes") {
  auto p = consensus::parameters_for(1);
  CHECK(p.k == 1);
  CHECK(p.alpha_preference == 1);
  REQUIRE(p.terminations.size() == 1);
  CHECK(p.terminations[0].alpha_confidence == 1);
  CHECK(p.terminations[0].beta == 1);
}

TEST_CASE("ParametersForTwentyValidatorsAreAvalanchegoDefaults") {
  auto p = consensus::parameters_for(20);
  CHECK(p.k == 20);
  CHECK(p.alpha_preference == 15);
  REQUIRE(p.terminations.size() == 1);
  CHECK(p.terminations[0].alpha_confidence == 15);
  CHECK(p.terminations[0].beta == 20);
  // More validators than 20 still sample 20.
  auto big = consensus::parameters_for(100);
  CHECK(big.k == 20);
  CHECK(big.alpha_preference == 15);
  // A few small networks, worked out by hand.
  CHECK(consensus::parameters_for(2).alpha_preference == 2);
  CHECK(consensus::parameters_for(3).alpha_preference == 3);
  CHECK(consensus::parameters_for(4).alpha_preference == 3);
  CHECK(consensus::parameters_for(5).alpha_preference == 4);
}

// --- tally --------------------------------------------------------------------------------

TEST_CASE("TallyCountsVotesForTheTxAsAcceptAndEverythingElseAsReject") {
  const Hash32 id = tx(1);
  SUBCASE("all yes") {
    auto v = votes(id, 5, 0, 0);
    CHECK(consensus::tally(id, v, 4) == PollResult{true, kAccept, 5});
  }
  SUBCASE("yes reaches alpha exactly with other and abstaining votes") {
    auto v = votes(id, 4, 1, 0);
    CHECK(consensus::tally(id, v, 4) == PollResult{true, kAccept, 4});
  }
  SUBCASE("votes for another tx reach alpha: reject") {
    auto v = votes(id, 1, 4, 0);
    CHECK(consensus::tally(id, v, 4) == PollResult{true, kReject, 4});
  }
  SUBCASE("abstentions (no tx preferred) count for reject") {
    auto v = votes(id, 0, 0, 5);
    CHECK(consensus::tally(id, v, 4) == PollResult{true, kReject, 5});
  }
  SUBCASE("other and abstaining votes add up on the reject side") {
    auto v = votes(id, 1, 2, 2);
    CHECK(consensus::tally(id, v, 4) == PollResult{true, kReject, 4});
  }
  SUBCASE("the order of the votes does not matter") {
    std::vector<Vote> v{std::nullopt, id, tx(9), id, id, id};
    CHECK(consensus::tally(id, v, 4) == PollResult{true, kAccept, 4});
  }
}

TEST_CASE("TallyOfASplitOrShortPollIsUnsuccessful") {
  const Hash32 id = tx(1);
  SUBCASE("split, yes ahead") {
    auto v = votes(id, 3, 1, 1);
    CHECK(consensus::tally(id, v, 4) == PollResult{false, kAccept, 3});
  }
  SUBCASE("split, reject ahead: reports the larger side") {
    auto v = votes(id, 1, 2, 1);
    CHECK(consensus::tally(id, v, 4) == PollResult{false, kReject, 3});
  }
  SUBCASE("a tie reports accept") {
    auto v = votes(id, 2, 1, 1);
    CHECK(consensus::tally(id, v, 4) == PollResult{false, kAccept, 2});
  }
  SUBCASE("missing votes (validators that did not answer) count for no side") {
    // k = 5, alpha = 4, only 3 validators answered, all yes.
    auto v = votes(id, 3, 0, 0);
    CHECK(consensus::tally(id, v, 4) == PollResult{false, kAccept, 3});
    auto r = votes(id, 0, 2, 1);
    CHECK(consensus::tally(id, r, 4) == PollResult{false, kReject, 3});
  }
  SUBCASE("no votes at all") {
    std::vector<Vote> none;
    CHECK(consensus::tally(id, none, 1) == PollResult{false, kAccept, 0});
  }
}

// --- record -------------------------------------------------------------------------------

TEST_CASE("RecordFinalizesAfterBetaSuccessfulPollsAndResetsOnUnsuccessfulOnes") {
  const auto p = consensus::parameters_for(20);  // alpha 15, beta 20
  const Hash32 id = tx(1);
  snowball::Snowball s(p, kAccept);
  s.add(kReject);
  auto yes = votes(id, 16, 4, 0);
  auto split = votes(id, 10, 5, 5);
  auto ok = consensus::tally(id, yes, p.alpha_preference);
  auto bad = consensus::tally(id, split, p.alpha_preference);
  REQUIRE(ok.successful);
  REQUIRE_FALSE(bad.successful);

  for (int i = 0; i < 19; ++i) consensus::record(s, ok);
  CHECK_MESSAGE(!s.finalized(), show(s));
  CHECK(s.confidence() == std::vector<int>{19});
  consensus::record(s, bad);  // One unsuccessful poll zeroes the confidence.
  CHECK(s.confidence() == std::vector<int>{0});
  CHECK_FALSE(s.finalized());
  CHECK(s.strength(kAccept) == 19);  // Strength is a total, never reset.
  for (int i = 0; i < 19; ++i) consensus::record(s, ok);
  CHECK_FALSE(s.finalized());
  consensus::record(s, ok);  // The 20th consecutive successful poll.
  CHECK_MESSAGE(s.finalized(), show(s));
  CHECK(s.preference() == kAccept);
}

TEST_CASE("RecordDrivesARejectDecisionAndAddsTheChoiceWhenNeeded") {
  const auto p = consensus::parameters_for(5);  // k 5, alpha 4, beta 20
  const Hash32 id = tx(1);
  // An instance that never heard of kReject: record() adds it before polling it.
  snowball::Snowball s(p, kAccept);
  auto no = votes(id, 0, 3, 2);
  auto poll = consensus::tally(id, no, p.alpha_preference);
  REQUIRE(poll == PollResult{true, kReject, 5});
  consensus::record(s, poll);
  CHECK(s.snowflake().knows(kReject));
  CHECK(s.preference() == kReject);
  for (int i = 1; i < 20; ++i) {
    CHECK_FALSE(s.finalized());
    consensus::record(s, poll);
  }
  CHECK(s.finalized());
  CHECK(s.preference() == kReject);
}

TEST_CASE("RecordWithOneValidatorDecidesInOnePoll") {
  const auto p = consensus::parameters_for(1);
  const Hash32 id = tx(1);
  snowball::Snowball s(p, kAccept);
  s.add(kReject);
  std::vector<Vote> one{id};
  consensus::record(s, consensus::tally(id, one, p.alpha_preference));
  CHECK(s.finalized());
  CHECK(s.preference() == kAccept);

  snowball::Snowball r(p, kAccept);
  r.add(kReject);
  std::vector<Vote> other{tx(2)};
  consensus::record(r, consensus::tally(id, other, p.alpha_preference));
  CHECK(r.finalized());
  CHECK(r.preference() == kReject);

  // No answer at all (the one validator was silent): unsuccessful, nothing decided.
  snowball::Snowball q(p, kAccept);
  q.add(kReject);
  std::vector<Vote> none;
  consensus::record(q, consensus::tally(id, none, p.alpha_preference));
  CHECK_FALSE(q.finalized());
}

// --- ValidatorView ------------------------------------------------------------------------

TEST_CASE("ValidatorViewFirstValidTxSeenWinsItsConflictKey") {
  consensus::ValidatorView view;
  const Hash32 a = tx(1), b = tx(2);
  CHECK(view.prefer("key", a, true) == Vote{a});
  CHECK(view.prefer("key", b, true) == Vote{a});  // b competes for the same key: still a.
  CHECK(view.prefer("key", a, true) == Vote{a});  // Asking again changes nothing.
  CHECK(view.size() == 1);
  // Another key is independent.
  CHECK(view.prefer("other", b, true) == Vote{b});
  CHECK(view.size() == 2);
}

TEST_CASE("ValidatorViewNeverPrefersAnInvalidTx") {
  consensus::ValidatorView view;
  const Hash32 bad = tx(1), good = tx(2), worse = tx(3);
  CHECK(view.prefer("key", bad, false) == Vote{});  // Prefers none.
  CHECK(view.size() == 0);                          // ... and keeps nothing for the key.
  CHECK(view.prefer("key", bad, false) == Vote{});
  CHECK(view.prefer("key", good, true) == Vote{good});  // The first VALID one wins.
  CHECK(view.prefer("key", worse, false) == Vote{good});  // An invalid one asked later: the winner.
  CHECK(view.prefer("key", bad, false) == Vote{good});
  CHECK(view.size() == 1);
}

TEST_CASE("ValidatorViewDecidedPinsTheWinner") {
  consensus::ValidatorView view;
  const Hash32 a = tx(1), b = tx(2), c = tx(3);
  CHECK(view.prefer("key", a, true) == Vote{a});
  view.decided("key", b);  // The node decided otherwise: b won.
  CHECK(view.prefer("key", a, true) == Vote{b});
  CHECK(view.prefer("key", c, true) == Vote{b});
  CHECK(view.prefer("key", b, true) == Vote{b});
  // A key decided before the validator was ever asked about it.
  view.decided("fresh", c);
  CHECK(view.size() == 2);
  CHECK(view.prefer("fresh", a, true) == Vote{c});
  CHECK(view.prefer("fresh", a, false) == Vote{c});
}

TEST_CASE("ValidatorViewFollowsItsNodesVoterUntilTheKeyIsDecided") {
  consensus::ValidatorView view;
  const Hash32 a = tx(1), b = tx(2), c = tx(3);
  CHECK(view.prefer("key", a, true) == Vote{a});
  view.follow("key", b);  // The node's voter moved to b after a successful poll.
  CHECK(view.prefer("key", a, true) == Vote{b});
  view.follow("fresh", c);  // A key the validator was never asked about.
  CHECK(view.prefer("fresh", a, true) == Vote{c});
  view.decided("key", a);
  view.follow("key", c);  // Too late: decided keys stay pinned.
  CHECK(view.prefer("key", b, true) == Vote{a});
}

TEST_CASE("StrongestRivalIsTheMostVotedOtherTxOrNone") {
  const Hash32 mine = tx(1), b = tx(2), c = tx(3);
  const std::vector<Vote> split{mine, b, c, c, std::nullopt};
  CHECK(consensus::strongest_rival(mine, split) == std::optional<Hash32>{c});
  const std::vector<Vote> tie{c, b, mine};
  CHECK(consensus::strongest_rival(mine, tie) == std::optional<Hash32>{std::min(b, c)});
  const std::vector<Vote> none{mine, std::nullopt, mine};
  CHECK_FALSE(consensus::strongest_rival(mine, none).has_value());
}

TEST_CASE("ClusterParametersMoveAPreferenceOnAStrictMajority") {
  for (std::size_t n = 1; n <= 40; ++n) {
    auto p = consensus::cluster_parameters_for(n, 7);
    CAPTURE(n);
    CHECK_FALSE(snowball::validate(p).has_value());
    CHECK(p.k == static_cast<int>(std::min<std::size_t>(n, 20)));
    CHECK(p.alpha_preference == p.k / 2 + 1);
    CHECK(p.terminations.front().beta == 7);
    CHECK(p.terminations.front().alpha_confidence == consensus::parameters_for(n).alpha_preference);
  }
  // Five nodes split 3 to 2: the majority's side is a successful poll.
  auto p = consensus::cluster_parameters_for(5, 20);
  const Hash32 a = tx(1), b = tx(2);
  const std::vector<Vote> votes{a, a, a, b, b};
  CHECK(consensus::tally(b, votes, p.alpha_preference) == consensus::PollResult{true, consensus::kReject, 3});
}

TEST_CASE("AValidatorViewHoldsAtMostItsCapacityAndForgetsTheOldestKeysFirst") {
  consensus::ValidatorView view(3);
  Hash32 a{1}, b{2}, c{3}, d{4};
  CHECK(view.prefer("k1", a, true) == a);
  view.decided("k2", b);
  view.follow("k3", c);
  CHECK(view.size() == 3);
  CHECK(view.prefer("k4", d, true) == d);  // k1, the oldest, goes.
  CHECK(view.size() == 3);
  CHECK_FALSE(view.holds("k1"));
  CHECK(view.holds("k2"));
  CHECK(view.prefer("k2", a, true) == b);  // Still pinned.
  view.decided("k2", b);                   // An old key again is not a new one: nothing goes.
  CHECK(view.holds("k3"));
  CHECK(view.prefer("k1", c, true) == c);  // A new key now: k2 goes.
  CHECK_FALSE(view.holds("k2"));
}
