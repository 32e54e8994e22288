// The consensus actors: the validator answers bundles of queries from its view and refuses
// to prefer a settlement whose batch proof does not verify; the router sends the queries
// queued before its flush to each sampled validator as ONE message, samples k distinct
// validators, and answers without a validator that stays silent past its timeout; the
// voter decides in one poll with one validator, after beta = 20 polls with five, decides
// rejected when the validators prefer another tx, and tells the committer.
// Method: each actor alone under CAF's deterministic test coordinator (virtual time),
// surrounded by fake actors written here (validators that record the bundles they get and
// answer as told, a committer that records decisions); no whole node.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/router.hpp"
#include "actors/validator.hpp"
#include "actors/voter.hpp"
#include "caf_fixture.hpp"
#include "domain/consensus.hpp"
#include "domain/settlement.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using actors::query_atom;
using actors::VoteQueries;
using actors::VoteQuery;
using actors::Votes;

namespace {

Seed seed_of(std::uint8_t b) {
  Seed s{};
  s.fill(b);
  return s;
}

Hash32 tx(std::uint8_t n) {
  Hash32 h{};
  h[0] = n;
  h[1] = 0x5a;
  return h;
}

// --- fake actors -----------------------------------------------------------------------

enum class Mode {
  echo,          // Votes for each query's own tx.
  prefer_other,  // Votes for `other` whatever it is asked.
  silent,        // Never answers (keeps the promises, delivers none).
  silent_first,  // The first bundle is lost (never answered); echoes the later ones.
};

// What a fake validator saw.
struct ValidatorLog {
  std::vector<std::vector<Hash32>> bundles;  // One entry per (query_atom, VoteQueries) message.
  std::size_t forgets = 0;
  std::vector<caf::response_promise> held;   // A silent validator's unanswered promises.
  std::size_t queries() const {
    std::size_t n = 0;
    for (const auto& b : bundles) n += b.size();
    return n;
  }
};

caf::behavior fake_validator(caf::event_based_actor* self, std::shared_ptr<ValidatorLog> log, Mode mode,
                             Hash32 other) {
  return {
      [=](query_atom, const VoteQueries& queries) -> caf::result<Votes> {
        std::vector<Hash32> ids;
        for (const auto& q : queries) ids.push_back(q.tx_id);
        log->bundles.push_back(ids);
        if (mode == Mode::silent || (mode == Mode::silent_first && log->bundles.size() == 1)) {
          auto promise = self->make_response_promise();
          log->held.push_back(promise);
          return promise;
        }
        Votes votes;
        for (const auto& q : queries) votes.emplace_back(mode == Mode::prefer_other ? other : q.tx_id);
        return votes;
      },
      [=](actors::forget_atom, const actors::Decided&) { ++log->forgets; },
  };
}

struct Decision {
  Hash32 tx_id{};
  bool accepted = false;
};

caf::behavior fake_committer(caf::event_based_actor*, std::shared_ptr<std::vector<Decision>> decisions) {
  return {
      [=](actors::decided_atom, const Hash32& id, bool accepted) { decisions->push_back({id, accepted}); },
  };
}

// An actor system on the test coordinator that stops every actor it spawned at the end.
struct Fixture : test::CafFixture {
  std::vector<caf::actor> spawned;
  std::shared_ptr<actors::NodeState> state = std::make_shared<actors::NodeState>();
  KeyPair sequencer = keypair_from_seed(seed_of(3));

  Fixture() { state->projections.keys.sequencer_key = sequencer.public_key; }

  ~Fixture() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  caf::actor keep(caf::actor a) {
    spawned.push_back(a);
    return a;
  }

  caf::actor fake(std::shared_ptr<ValidatorLog> log, Mode mode = Mode::echo, Hash32 other = {}) {
    return keep(system->spawn(fake_validator, std::move(log), mode, other));
  }

  caf::actor validator(std::size_t capacity = 1'000'000, std::shared_ptr<const eventlog::EventLog> log = nullptr) {
    return keep(actors::spawn_validator(*system, {state, "validator", false, std::move(log), capacity}));
  }

  caf::actor router(std::vector<caf::actor> validators, int k, std::chrono::milliseconds timeout = 500ms,
                    actors::Metrics* metrics = nullptr, std::size_t local = SIZE_MAX, int asks = 3) {
    return keep(actors::spawn_router(
        *system, actors::RouterOptions{std::move(validators), k, 42, timeout, metrics, local, asks}));
  }

  // The Votes `client` received, if any.
  static std::optional<Votes> votes_of(caf::scoped_actor& client) {
    std::optional<Votes> got;
    client->receive([&](Votes& v) { got = std::move(v); }, caf::after(0s) >> [] {});
    return got;
  }

  // Asks `who` one bundle of queries and returns its answer.
  Votes ask(const caf::actor& who, VoteQueries queries) {
    caf::scoped_actor client{*system};
    client->send(who, query_atom::value, std::move(queries));
    run();
    auto v = votes_of(client);
    REQUIRE_MESSAGE(v, "no answer");
    return *v;
  }
};

// A proved settlement for a one-deposit batch, signed by `key`.
Settlement settlement_of(const Id128& batch, const KeyPair& key) {
  KeyPair alice = keypair_from_seed(seed_of(10));
  std::vector<settlement::Item> items{{settlement::ItemKind::deposit, Id128{0xde, 1}, tx(77), alice.public_key, 500, 0}};
  auto proved = settlement::prove(batch, items, settlement::SettledState{}, key);
  return Settlement{proved.inputs, key.public_key, proved.proof, proved.witness};
}

VoteQuery settlement_query(const Settlement& s) {
  return VoteQuery{tx_id(s), conflict_key_string(Tx{s}), std::make_shared<const Tx>(s)};
}

Deposit deposit(std::uint8_t n) {
  KeyPair op = keypair_from_seed(seed_of(1));
  Deposit d{Id128{0xde, n}, keypair_from_seed(seed_of(10)).public_key, 100u + n, op.public_key, {}};
  sign_tx(d, op);
  return d;
}

}  // namespace

// --- validator ---------------------------------------------------------------------------

TEST_CASE("ValidatorAnswersABundleWithOneVotePerQueryInOrder") {
  Fixture f;
  auto v = f.validator();
  auto votes = f.ask(v, {{tx(1), "k1", nullptr}, {tx(2), "k1", nullptr}, {tx(3), "k2", nullptr}, {tx(1), "k1", nullptr}});
  REQUIRE(votes.size() == 4);
  CHECK(votes[0] == tx(1));
  CHECK(votes[1] == tx(1));  // First seen wins k1.
  CHECK(votes[2] == tx(3));
  CHECK(votes[3] == tx(1));
  // The view persists between bundles.
  auto later = f.ask(v, {{tx(2), "k1", nullptr}});
  CHECK(later == Votes{tx(1)});
  CHECK(f.ask(v, {}).empty());
}

TEST_CASE("ValidatorForgetPinsTheDecidedWinner") {
  Fixture f;
  auto v = f.validator();
  CHECK(f.ask(v, {{tx(1), "k1", nullptr}}) == Votes{tx(1)});
  caf::anon_send(v, actors::forget_atom::value, actors::Decided{{"k1", tx(2)}, {"k9", tx(9)}});
  f.run();
  CHECK(f.ask(v, {{tx(1), "k1", nullptr}, {tx(3), "k9", nullptr}}) == Votes{tx(2), tx(9)});
}

TEST_CASE("AValidatorStartedAfterARestartVotesForWhatItsNodeAccepted") {
  // The node accepted `kept` before the validator started (a restart): asked about a rival
  // with the same conflict key (the same deposit id), it must vote for `kept`, never for the
  // rival it happens to be asked about first.
  Fixture f;
  Deposit kept = deposit(1), rival = deposit(1);
  rival.amount += 1;
  REQUIRE(conflict_key_string(Tx{kept}) == conflict_key_string(Tx{rival}));
  f.state->projections.txs[tx_id(kept)] = TxRecord{kept, TxStatus::accepted, 3, std::nullopt, std::nullopt};
  Deposit undecided = deposit(2);
  f.state->projections.txs[tx_id(undecided)] = TxRecord{undecided, TxStatus::admitted, 0, std::nullopt, std::nullopt};
  auto v = f.validator();
  auto query = [](const Deposit& d) { return VoteQuery{tx_id(d), conflict_key_string(Tx{d}), nullptr}; };
  Deposit other = deposit(2);
  other.amount += 5;
  CHECK(f.ask(v, {query(rival), query(kept), query(other)}) == Votes{tx_id(kept), tx_id(kept), tx_id(other)});
}

TEST_CASE("AValidatorThatForgotAKeyAnswersFromWhatItsNodeDecided") {
  // A view of two keys: the decided key of `kept` is forgotten once two others come. Asked
  // about a rival of `kept` then, the validator must not take it for a new key (first seen
  // wins would vote for the rival): it answers from its node's decision.
  Fixture f;
  Deposit kept = deposit(1), rival = deposit(1);
  rival.amount += 1;
  f.state->projections.txs[tx_id(kept)] = TxRecord{kept, TxStatus::accepted, 3, std::nullopt, std::nullopt, 3};
  f.state->projections.deposits[kept.deposit_id] = tx_id(kept);
  Deposit lost = deposit(4);
  f.state->projections.txs[tx_id(lost)] = TxRecord{lost, TxStatus::rejected, 0, std::nullopt, std::nullopt, 0};
  auto v = f.validator(2);
  auto query = [](const Deposit& d) { return VoteQuery{tx_id(d), conflict_key_string(Tx{d}), std::make_shared<const Tx>(d)}; };
  caf::anon_send(v, actors::forget_atom::value, actors::Decided{{conflict_key_string(Tx{kept}), tx_id(kept)}});
  f.run();
  CHECK(f.ask(v, {query(deposit(2)), query(deposit(3))}) == Votes{tx_id(deposit(2)), tx_id(deposit(3))});  // Forgets kept's key.
  CHECK(f.ask(v, {query(rival)}) == Votes{tx_id(kept)});
  CHECK(f.ask(v, {query(kept)}) == Votes{tx_id(kept)});
  CHECK(f.ask(v, {query(lost)}) == Votes{std::nullopt});  // Its node rejected it.
}

TEST_CASE("ValidatorPrefersOnlySettlementsWhoseProofVerifiesUnderTheSequencerKey") {
  Fixture f;
  auto v = f.validator();
  const Id128 batch{0xba, 1};
  Settlement good = settlement_of(batch, f.sequencer);
  REQUIRE_FALSE(settlement::verify(good.inputs, good.witness, good.proof, good.sequencer_key));

  Settlement forged = good;
  forged.proof[5] ^= 0x01;  // One flipped bit of the batch proof.
  REQUIRE(settlement::verify(forged.inputs, forged.witness, forged.proof, forged.sequencer_key));
  REQUIRE(tx_id(forged) != tx_id(good));

  Settlement altered = good;  // A witness balance changed after proving.
  altered.witness.items[0].amount += 1;

  Settlement stranger = settlement_of(batch, keypair_from_seed(seed_of(66)));  // Valid, wrong key.
  REQUIRE_FALSE(settlement::verify(stranger.inputs, stranger.witness, stranger.proof, stranger.sequencer_key));

  // Asked first about the bad ones: no vote for any (and the key stays free) ...
  auto votes = f.ask(v, {settlement_query(forged), settlement_query(altered), settlement_query(stranger)});
  CHECK(votes == Votes{std::nullopt, std::nullopt, std::nullopt});
  // ... so the valid settlement still wins the batch, and the bad ones get its vote after.
  votes = f.ask(v, {settlement_query(good), settlement_query(forged)});
  CHECK(votes == Votes{tx_id(good), tx_id(good)});
}

// --- router ------------------------------------------------------------------------------

TEST_CASE("RouterBundlesEveryQueryQueuedBeforeItsFlushIntoOneMessagePerValidator") {
  Fixture f;
  std::vector<std::shared_ptr<ValidatorLog>> logs;
  std::vector<caf::actor> validators;
  for (int i = 0; i < 3; ++i) {
    logs.push_back(std::make_shared<ValidatorLog>());
    validators.push_back(f.fake(logs.back()));
  }
  actors::Metrics metrics;
  auto router = f.router(validators, 3, 500ms, &metrics);
  f.run();

  // Five voters ask before the router runs.
  std::vector<std::unique_ptr<caf::scoped_actor>> voters;
  for (std::uint8_t i = 1; i <= 5; ++i) {
    voters.push_back(std::make_unique<caf::scoped_actor>(*f.system));
    (*voters.back())->send(router, query_atom::value, VoteQuery{tx(i), "key" + std::to_string(i), nullptr});
  }
  f.run();
  for (std::size_t v = 0; v < logs.size(); ++v) {
    CAPTURE(v);
    REQUIRE(logs[v]->bundles.size() == 1);  // ONE message ...
    CHECK(logs[v]->bundles[0] == std::vector<Hash32>{tx(1), tx(2), tx(3), tx(4), tx(5)});  // ... with all five.
  }
  CHECK(metrics.router_bundles.load() == 3);
  // Each voter got the k = 3 votes for its own query.
  for (std::uint8_t i = 1; i <= 5; ++i) {
    auto votes = Fixture::votes_of(*voters[i - 1]);
    REQUIRE(votes);
    CHECK(*votes == Votes{tx(i), tx(i), tx(i)});
  }

  // A query after the flush goes out alone, in a new message.
  caf::scoped_actor late{*f.system};
  late->send(router, query_atom::value, VoteQuery{tx(6), "key6", nullptr});
  f.run();
  for (auto& log : logs) {
    REQUIRE(log->bundles.size() == 2);
    CHECK(log->bundles[1] == std::vector<Hash32>{tx(6)});
  }
  CHECK(Fixture::votes_of(late) == Votes{tx(6), tx(6), tx(6)});
  CHECK(metrics.router_bundles.load() == 6);
}

TEST_CASE("RouterSamplesKDistinctValidatorsWhenKIsBelowN") {
  Fixture f;
  const int n = 5, k = 2;
  std::vector<std::shared_ptr<ValidatorLog>> logs;
  std::vector<caf::actor> validators;
  for (int i = 0; i < n; ++i) {
    logs.push_back(std::make_shared<ValidatorLog>());
    validators.push_back(f.fake(logs.back()));
  }
  auto router = f.router(validators, k);
  f.run();
  const int queries = 12;
  std::vector<std::unique_ptr<caf::scoped_actor>> voters;
  for (int i = 0; i < queries; ++i) {
    voters.push_back(std::make_unique<caf::scoped_actor>(*f.system));
    (*voters.back())->send(router, query_atom::value,
                           VoteQuery{tx(static_cast<std::uint8_t>(i + 1)), "key" + std::to_string(i), nullptr});
  }
  f.run();
  std::map<Hash32, std::set<std::size_t>> asked;  // tx -> validators that got it
  std::size_t used = 0;
  for (std::size_t v = 0; v < logs.size(); ++v) {
    CAPTURE(v);
    CHECK(logs[v]->bundles.size() <= 1);  // Still one message per validator at most.
    if (logs[v]->bundles.empty()) continue;
    ++used;
    const auto& b = logs[v]->bundles[0];
    CHECK(std::set<Hash32>(b.begin(), b.end()).size() == b.size());  // No query twice to one validator.
    for (const auto& id : b) asked[id].insert(v);
  }
  CHECK(asked.size() == static_cast<std::size_t>(queries));
  for (const auto& [id, vs] : asked) CHECK(vs.size() == static_cast<std::size_t>(k));  // k distinct validators.
  CHECK(used > static_cast<std::size_t>(k));  // The samples differ between queries.
  for (int i = 0; i < queries; ++i) {
    auto votes = Fixture::votes_of(*voters[static_cast<std::size_t>(i)]);
    REQUIRE(votes);
    CHECK(votes->size() == static_cast<std::size_t>(k));
  }
}

TEST_CASE("RouterAnswersWithoutASilentValidatorAfterItsTimeout") {
  Fixture f;
  auto a = std::make_shared<ValidatorLog>(), b = std::make_shared<ValidatorLog>(), mute = std::make_shared<ValidatorLog>();
  auto router = f.router({f.fake(a), f.fake(b), f.fake(mute, Mode::silent)}, 3, 500ms);
  f.run();
  caf::scoped_actor voter{*f.system};
  voter->send(router, query_atom::value, VoteQuery{tx(1), "k", nullptr});
  voter->send(router, query_atom::value, VoteQuery{tx(2), "k2", nullptr});
  f.run();
  REQUIRE(mute->bundles.size() == 1);  // The silent one was asked ...
  CHECK_FALSE(Fixture::votes_of(voter));  // ... and the router waits for it.
  f.advance(499ms);
  CHECK_FALSE(Fixture::votes_of(voter));
  f.advance(1ms);  // The bundle's timeout: answer with the votes that arrived.
  auto first = Fixture::votes_of(voter);
  auto second = Fixture::votes_of(voter);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(*first == Votes{tx(1), tx(1)});
  CHECK(*second == Votes{tx(2), tx(2)});
}

TEST_CASE("RouterAsksAnotherNodesValidatorAgainWhenItsAnswerIsLost") {
  // Over a network a bundle or its answer can be lost: the router asks again after a third
  // of its timeout (asks = 3), so the poll still gets that validator's vote. The node's own
  // validators (the first `local`) are asked once: nothing is lost inside a process.
  Fixture f;
  auto own = std::make_shared<ValidatorLog>(), peer = std::make_shared<ValidatorLog>();
  auto router = f.router({f.fake(own, Mode::silent_first), f.fake(peer, Mode::silent_first)}, 2, 600ms, nullptr, 1);
  f.run();
  caf::scoped_actor voter{*f.system};
  voter->send(router, query_atom::value, VoteQuery{tx(1), "k", nullptr});
  f.run();
  CHECK(peer->bundles.size() == 1);
  f.advance(199ms);
  CHECK(peer->bundles.size() == 1);
  f.advance(1ms);  // 600 ms / 3: the peer is asked again and answers at once.
  CHECK(peer->bundles.size() == 2);
  CHECK_FALSE(Fixture::votes_of(voter));  // The own validator's answer is still awaited.
  f.advance(400ms);  // The whole timeout: the own validator was asked once and stays out.
  auto votes = Fixture::votes_of(voter);
  REQUIRE(votes);
  CHECK(*votes == Votes{tx(1)});  // The peer's vote, which a single ask would have lost.
  CHECK(own->bundles.size() == 1);
}

TEST_CASE("RouterForwardsForgetToEveryValidator") {
  Fixture f;
  std::vector<std::shared_ptr<ValidatorLog>> logs;
  std::vector<caf::actor> validators;
  for (int i = 0; i < 4; ++i) {
    logs.push_back(std::make_shared<ValidatorLog>());
    validators.push_back(f.fake(logs.back()));
  }
  auto router = f.router(validators, 1);
  caf::anon_send(router, actors::forget_atom::value, actors::Decided{{"k", tx(1)}});
  f.run();
  for (auto& log : logs) CHECK(log->forgets == 1);
}

// --- voter -------------------------------------------------------------------------------

namespace {

struct VoterFixture : Fixture {
  actors::Metrics metrics;
  std::shared_ptr<std::vector<Decision>> decisions = std::make_shared<std::vector<Decision>>();
  caf::actor committer = keep(system->spawn(fake_committer, decisions));

  caf::actor voter(const caf::actor& router, std::size_t validators, const Tx& t,
                   std::chrono::milliseconds round_timeout = 1000ms) {
    actors::VoterOptions o{router, committer, consensus::parameters_for(validators), round_timeout, 10ms, &metrics, 0ms, {}};
    return keep(actors::spawn_voter(*system, o, tx_id(t), std::make_shared<const Tx>(t)));
  }
};

}  // namespace

TEST_CASE("VoterWithOneValidatorDecidesInOnePollAndTellsTheCommitter") {
  VoterFixture f;
  auto router = f.router({f.validator()}, 1);
  Tx t = deposit(1);
  f.voter(router, 1, t);
  f.run();
  REQUIRE(f.decisions->size() == 1);
  CHECK((*f.decisions)[0].tx_id == tx_id(t));
  CHECK((*f.decisions)[0].accepted);
  CHECK(f.metrics.consensus_polls.load() == 1);
  CHECK(f.metrics.consensus_decided.load() == 1);
}

TEST_CASE("VoterWithFiveHonestValidatorsDecidesAfterBetaPolls") {
  VoterFixture f;
  std::vector<caf::actor> validators;
  for (int i = 0; i < 5; ++i) validators.push_back(f.validator());
  auto params = consensus::parameters_for(5);
  REQUIRE(params.k == 5);
  REQUIRE(params.terminations[0].beta == 20);
  auto router = f.router(validators, params.k, 500ms, &f.metrics);
  Tx t = deposit(1);
  f.voter(router, 5, t);
  f.run();
  REQUIRE(f.decisions->size() == 1);
  CHECK((*f.decisions)[0].tx_id == tx_id(t));
  CHECK((*f.decisions)[0].accepted);
  CHECK(f.metrics.consensus_polls.load() == 20);  // beta consecutive successful polls, no more.
  CHECK(f.metrics.consensus_rounds_successful.load() == 19);  // The 20th decides instead.
  CHECK(f.metrics.router_bundles.load() == 20 * 5);
}

TEST_CASE("VoterDecidesRejectedWhenTheValidatorPrefersAnotherTx") {
  SUBCASE("one fake validator that prefers another tx") {
    VoterFixture f;
    auto log = std::make_shared<ValidatorLog>();
    auto router = f.router({f.fake(log, Mode::prefer_other, tx(99))}, 1);
    Tx t = deposit(1);
    f.voter(router, 1, t);
    f.run();
    REQUIRE(f.decisions->size() == 1);
    CHECK((*f.decisions)[0].tx_id == tx_id(t));
    CHECK_FALSE((*f.decisions)[0].accepted);
    CHECK(log->queries() == 1);
  }
  SUBCASE("five real validators that saw a competing tx first") {
    VoterFixture f;
    std::vector<caf::actor> validators;
    for (int i = 0; i < 5; ++i) validators.push_back(f.validator());
    Deposit first = deposit(1);
    Deposit rival = first;  // Same deposit id (same conflict key), other content.
    rival.amount += 1;
    sign_tx(rival, keypair_from_seed(seed_of(1)));
    REQUIRE(conflict_key_string(Tx{first}) == conflict_key_string(Tx{rival}));
    for (auto& v : validators) REQUIRE(f.ask(v, {{tx_id(first), conflict_key_string(Tx{first}), nullptr}}) == Votes{tx_id(first)});
    auto router = f.router(validators, 5);
    f.voter(router, 5, Tx{rival});
    f.voter(router, 5, Tx{first});
    f.run();
    REQUIRE(f.decisions->size() == 2);
    std::map<Hash32, bool> decided;
    for (auto& d : *f.decisions) decided[d.tx_id] = d.accepted;
    CHECK(decided.at(tx_id(first)) == true);
    CHECK(decided.at(tx_id(rival)) == false);
    CHECK(f.metrics.consensus_polls.load() == 40);
  }
}

TEST_CASE("VoterWhoseValidatorIsSilentPollsAgainAfterItsBackoffAndDecidesNothing") {
  VoterFixture f;
  auto mute = std::make_shared<ValidatorLog>();
  auto router = f.router({f.fake(mute, Mode::silent)}, 1, 500ms);
  f.voter(router, 1, deposit(1));
  f.run();
  CHECK(mute->bundles.size() == 1);
  f.advance(500ms);  // The router answers with no votes: an unsuccessful poll.
  CHECK(f.metrics.consensus_polls.load() == 1);
  CHECK(mute->bundles.size() == 1);
  f.advance(9ms);
  CHECK(mute->bundles.size() == 1);
  f.advance(1ms);  // The backoff passed: the next round.
  CHECK(mute->bundles.size() == 2);
  f.advance(500ms);  // Its bundle times out too ...
  CHECK(f.metrics.consensus_polls.load() == 2);
  CHECK(mute->bundles.size() == 2);
  f.advance(10ms);  // ... and the third round follows the backoff.
  CHECK(mute->bundles.size() == 3);
  CHECK(f.decisions->empty());
}
