// Admission: decide_admission gives every outcome it promises (Admit, Duplicate, Conflict and
// each refusal code) for deposits, bets and settlements, in the documented order of checks;
// an Admit always applies, and once applied the same tx is a Duplicate.
// Method: a small node state built by applying real events (real Ed25519 keys from fixed
// seeds: the signature check is part of what is tested), then hand-made transactions, one
// per row or case. A seeded run of random bets checks that, for correctly signed bets,
// decide_admission says Admit exactly when apply(TxAdmitted) succeeds.
#include <doctest/doctest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "decision_support.hpp"
#include "domain/admission.hpp"

using namespace croupier;
using admission::Admit;
using admission::Conflict;
using admission::Duplicate;
using admission::Refuse;

namespace {

KeyPair key(std::uint8_t fill) {
  Seed s{};
  s.fill(fill);
  return keypair_from_seed(s);
}

Id128 id(std::uint8_t kind, std::uint8_t n) {
  Id128 i{};
  i[0] = kind;
  i[15] = n;
  return i;
}

// "Admit", "Duplicate", "Conflict" or "Refuse(<code>)": what the tests compare.
std::string summary(const AdmissionDecision& d) {
  if (std::holds_alternative<Admit>(d)) return "Admit";
  if (std::holds_alternative<Duplicate>(d)) return "Duplicate";
  if (std::holds_alternative<Conflict>(d)) return "Conflict";
  return "Refuse(" + std::string(refusal_code_name(std::get<Refuse>(d).code)) + ")";
}

// A started node with funded players, and makers of signed transactions.
struct Node {
  KeyPair operator_key = key(0x01), house = key(0x02), sequencer = key(0x03);
  std::vector<KeyPair> players{key(0x10), key(0x11), key(0x12)};
  Projections p;

  explicit Node(bool start = true) {
    if (start)
      event(NodeStarted{id(0x0d, 1), "test", operator_key.public_key, house.public_key, sequencer.public_key});
  }

  void event(const Event& e) { REQUIRE_NOTHROW(apply(p, p.last_seq + 1, e)); }

  const PublicKey& player(std::size_t who) const { return players.at(who).public_key; }

  Deposit deposit(std::uint8_t n, std::size_t who, Amount amount) const {
    Deposit d;
    d.deposit_id = id(0xde, n);
    d.account = player(who);
    d.amount = amount;
    d.operator_key = operator_key.public_key;
    sign_tx(d, operator_key);
    return d;
  }

  // A dice bet under 50 by `who`, with the account's next nonce unless one is given.
  Bet bet(std::uint8_t n, std::size_t who, Amount wager, std::optional<std::uint64_t> nonce = std::nullopt) const {
    Bet b;
    b.bet_id = id(0xbe, n);
    b.account = player(who);
    const Account* a = p.accounts.find(b.account);
    b.nonce = nonce ? *nonce : (a ? a->pending_nonce : 0) + 1;
    b.game = static_cast<std::uint8_t>(Game::dice);
    b.choice = 50;
    b.wager = wager;
    b.client_seed[0] = n;
    sign_tx(b, players.at(who));
    return b;
  }

  // A valid settlement of one deposit item, proved against the node's settled state.
  Settlement settlement(const Id128& batch_id, Amount amount, const KeyPair& signer) const {
    settlement::Item item{settlement::ItemKind::deposit, id(0xde, 0xff), Hash32{0x77}, player(0), amount, 0};
    auto proved = settlement::prove(batch_id, {item}, p.settled, signer);
    return Settlement{proved.inputs, signer.public_key, proved.proof, proved.witness};
  }
  Settlement settlement(const Id128& batch_id, Amount amount = 10) const {
    return settlement(batch_id, amount, sequencer);
  }

  // Creates and proves batch `batch_id` of one new deposit `n` of player 0 (admitted,
  // accepted, committed in a block), and returns the settlement that can then be admitted.
  Settlement proved_batch(const Id128& batch_id, std::uint8_t n, Amount amount = 10) {
    Hash32 tx = admit(deposit(n, 0, amount));
    event(test::decision(p, tx, true));
    std::uint64_t height = p.block_height + 1;
    event(BlockCommitted{height, p.block_hash, block_hash(height, p.block_hash, 1, {tx}), {tx}, 1});
    settlement::Item item{settlement::ItemKind::deposit, id(0xde, n), tx, player(0), amount, 0};
    event(BatchCreated{batch_id, {item}, 5});
    auto proved = settlement::prove(batch_id, {item}, p.settled, sequencer);
    event(BatchProved{batch_id, proved.inputs, proved.witness, sequencer.public_key, proved.proof});
    return Settlement{proved.inputs, sequencer.public_key, proved.proof, proved.witness};
  }

  // Requires an Admit, appends TxAdmitted, returns the tx id.
  Hash32 admit(const Tx& tx) {
    AdmissionDecision d = decide_admission(p, tx);
    REQUIRE(summary(d) == "Admit");
    event(TxAdmitted{tx});
    return std::get<Admit>(d).tx_id;
  }

  // Admits and accepts a deposit of `amount` for `who`.
  void fund(std::uint8_t n, std::size_t who, Amount amount) {
    Hash32 tx = admit(deposit(n, who, amount));
    event(test::decision(p, tx, true));
  }
};

Node funded() {
  Node node;
  node.fund(1, 0, 1000);
  node.fund(2, 1, 1000);
  return node;
}

}  // namespace

TEST_CASE("EveryTransactionIsRefusedWithNoKeysBeforeNodeStarted") {
  Node started;  // Only to sign with the same keys.
  Node fresh(false);
  Tx txs[] = {started.deposit(1, 0, 5), started.bet(1, 0, 5), started.settlement(id(0xba, 1))};
  for (const Tx& tx : txs) {
    CAPTURE(tx_kind_name(tx_kind(tx)));
    AdmissionDecision d = decide_admission(fresh.p, tx);
    CHECK(summary(d) == "Refuse(no_keys)");
    // apply() agrees: the tx cannot be appended before NodeStarted.
    CHECK_THROWS_AS(apply(fresh.p, 1, TxAdmitted{tx}), ApplyError);
  }
}

TEST_CASE("AValidDepositIsAdmittedWithItsTxId") {
  Node node;
  Deposit d = node.deposit(1, 0, 500);
  CHECK(decide_admission(node.p, d) == AdmissionDecision{Admit{tx_id(d)}});
}

TEST_CASE("DepositRefusalsEachHaveTheirCode") {
  Node node;
  KeyPair stranger = key(0x66);
  struct Row {
    const char* name;
    Deposit tx;
    const char* expected;
  };
  Deposit tampered = node.deposit(1, 0, 500);
  tampered.amount = 501;  // After signing.
  Deposit foreign = node.deposit(2, 0, 500);
  foreign.operator_key = stranger.public_key;  // Validly signed, by a key with no authority.
  sign_tx(foreign, stranger);
  Deposit zero = node.deposit(3, 0, 0);
  Deposit foreign_zero = node.deposit(4, 0, 0);
  foreign_zero.operator_key = stranger.public_key;
  sign_tx(foreign_zero, stranger);
  Deposit tampered_foreign = foreign;
  tampered_foreign.amount = 1;
  std::vector<Row> rows{
      {"tampered after signing", tampered, "Refuse(bad_signature)"},
      {"signed by another key", foreign, "Refuse(not_operator)"},
      {"zero amount", zero, "Refuse(zero_amount)"},
      {"not_operator is checked before zero_amount", foreign_zero, "Refuse(not_operator)"},
      {"bad_signature is checked before not_operator", tampered_foreign, "Refuse(bad_signature)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    AdmissionDecision d = decide_admission(node.p, row.tx);
    CHECK(summary(d) == row.expected);
    CHECK_FALSE(std::get<Refuse>(d).message.empty());
    // apply() would refuse or (for a bad signature, which it does not check) must never see it.
    if (std::string(row.expected) != "Refuse(bad_signature)")
      CHECK_THROWS_AS(apply(node.p, node.p.last_seq + 1, TxAdmitted{row.tx}), ApplyError);
  }
}

TEST_CASE("AValidBetIsAdmittedAndItsRefusalsReuseTheAccountRuleCodes") {
  Node node = funded();
  Bet ok = node.bet(1, 0, 100);
  CHECK(decide_admission(node.p, ok) == AdmissionDecision{Admit{tx_id(ok)}});

  Bet unknown_game = node.bet(2, 0, 100);
  unknown_game.game = 9;
  sign_tx(unknown_game, node.players[0]);
  Bet bad_choice = node.bet(3, 0, 100);
  bad_choice.choice = 100;
  sign_tx(bad_choice, node.players[0]);
  Bet tampered = node.bet(4, 0, 100);
  tampered.wager = 99;
  Bet foreign = node.bet(5, 0, 100);
  foreign.signature = Signature{};  // An all-zero signature never verifies.
  Bet stale_and_tampered = node.bet(6, 0, 100, 7);
  stale_and_tampered.wager = 5;
  struct Row {
    const char* name;
    Bet tx;
    const char* expected;
  };
  std::vector<Row> rows{
      {"unknown game", unknown_game, "Refuse(bad_terms)"},
      {"dice target out of range", bad_choice, "Refuse(bad_terms)"},
      {"zero wager", node.bet(7, 0, 0), "Refuse(bad_terms)"},
      {"wager above the limit", node.bet(8, 0, kWagerMax + 1), "Refuse(bad_terms)"},
      {"nonce skips ahead", node.bet(9, 0, 100, 2), "Refuse(wrong_nonce)"},
      {"nonce zero", node.bet(10, 0, 100, 0), "Refuse(wrong_nonce)"},
      {"wager above the balance", node.bet(11, 0, 1001), "Refuse(insufficient_funds)"},
      {"account that never received a deposit", node.bet(12, 2, 1), "Refuse(insufficient_funds)"},
      {"tampered after signing", tampered, "Refuse(bad_signature)"},
      {"zero signature", foreign, "Refuse(bad_signature)"},
      {"bad_signature is checked before the rules", stale_and_tampered, "Refuse(bad_signature)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    AdmissionDecision d = decide_admission(node.p, row.tx);
    CHECK(summary(d) == row.expected);
    // The message is the rule's own (no duplicated wording).
    if (auto rule = node.p.accounts.check_bet(row.tx); rule && std::string(row.expected) != "Refuse(bad_signature)")
      CHECK(std::get<Refuse>(d).message == rule->message);
  }
}

TEST_CASE("ReservedFundsAreNotAvailableToTheNextBet") {
  Node node = funded();
  node.admit(node.bet(1, 0, 600));
  CHECK(summary(decide_admission(node.p, node.bet(2, 0, 401))) == "Refuse(insufficient_funds)");
  CHECK(summary(decide_admission(node.p, node.bet(3, 0, 400))) == "Admit");
}

TEST_CASE("AnAdmittedTxOnceAppliedIsADuplicateOfItself") {
  Node node = funded();
  Deposit d = node.deposit(9, 2, 50);
  Settlement s = node.proved_batch(id(0xba, 1), 0x31);
  Bet b = node.bet(1, 0, 100);
  for (const Tx& tx : std::vector<Tx>{d, b, s}) {
    CAPTURE(tx_kind_name(tx_kind(tx)));
    AdmissionDecision first = decide_admission(node.p, tx);
    REQUIRE(first == AdmissionDecision{Admit{tx_id(tx)}});
    node.event(TxAdmitted{tx});
    CHECK(decide_admission(node.p, tx) == AdmissionDecision{Duplicate{tx_id(tx)}});
  }
}

TEST_CASE("AResentBetIsADuplicateEvenWhenItsNonceIsStaleAndItsFundsAreGone") {
  Node node = funded();
  Bet b = node.bet(1, 0, 1000);  // All of player 0's money.
  Hash32 tx = node.admit(b);
  node.admit(node.bet(2, 1, 10));
  // A fresh bet like it would now fail both nonce and funds; the resend must not.
  CHECK(node.p.accounts.check_bet(b).has_value());
  CHECK(decide_admission(node.p, b) == AdmissionDecision{Duplicate{tx}});
  // Still the same answer once the bet is decided, either way.
  node.event(test::decision(node.p, tx, false));
  CHECK(decide_admission(node.p, b) == AdmissionDecision{Duplicate{tx}});
}

TEST_CASE("TheSameIdWithDifferentContentIsAConflictNamingTheExistingTx") {
  Node node = funded();
  Bet b = node.bet(1, 0, 100);
  Hash32 bet_tx = node.admit(b);
  Deposit d = node.deposit(7, 2, 40);
  Hash32 deposit_tx = node.admit(d);

  Bet other_wager = node.bet(1, 0, 200, b.nonce);  // Same bet_id, signed, different wager.
  Bet next_nonce = node.bet(1, 0, 100);            // Same bet_id, the nonce that would now be valid.
  Bet unsigned_copy = b;
  unsigned_copy.client_seed[5] ^= 1;               // Same bet_id, bad signature: still a conflict.
  Deposit other_amount = node.deposit(7, 2, 41);
  Deposit other_account = node.deposit(7, 1, 40);
  for (const Tx& tx : std::vector<Tx>{other_wager, next_nonce, unsigned_copy}) {
    CHECK(decide_admission(node.p, tx) == AdmissionDecision{Conflict{bet_tx}});
  }
  for (const Tx& tx : std::vector<Tx>{other_amount, other_account}) {
    CHECK(decide_admission(node.p, tx) == AdmissionDecision{Conflict{deposit_tx}});
  }
  // A rejected bet keeps its bet_id.
  node.event(test::decision(node.p, bet_tx, false));
  CHECK(decide_admission(node.p, other_wager) == AdmissionDecision{Conflict{bet_tx}});
  // And apply() agrees that none of them may be appended.
  CHECK_THROWS_AS(apply(node.p, node.p.last_seq + 1, TxAdmitted{other_amount}), ApplyError);
}

TEST_CASE("BetIdsAndDepositIdsAreSeparateKeys") {
  Node node = funded();
  Deposit d = node.deposit(1, 2, 40);  // deposit_id = id(0xde, 1)
  Bet b = node.bet(1, 0, 10);
  b.bet_id = d.deposit_id;
  sign_tx(b, node.players[0]);
  CHECK(summary(decide_admission(node.p, b)) == "Admit");
}

TEST_CASE("SettlementsAreAdmittedOnlyForAProvedBatchWithAValidProof") {
  Node node = funded();
  KeyPair stranger = key(0x66);
  Settlement ok = node.proved_batch(id(0xba, 1), 0x31);
  CHECK(decide_admission(node.p, ok) == AdmissionDecision{Admit{tx_id(ok)}});

  Settlement tampered_inputs = ok;  // Changed after signing: the signature no longer covers it.
  tampered_inputs.inputs.totals.deposits += 1;
  Settlement resigned = ok;         // Changed and re-signed: signature fine, proof inconsistent.
  resigned.inputs.post_root[0] ^= 1;
  sign_tx(resigned, node.sequencer);
  Settlement bad_witness = ok;      // Witness that does not match items_digest.
  bad_witness.witness.items[0].amount += 1;
  Settlement no_witness = ok;
  no_witness.witness = {};
  Settlement bad_items_resigned = ok;  // A dishonest sequencer inventing money.
  bad_items_resigned.witness.items[0].amount += 1;
  bad_items_resigned.inputs.items_digest = settlement::items_digest(bad_items_resigned.witness.items);
  sign_tx(bad_items_resigned, node.sequencer);
  struct Row {
    const char* name;
    Settlement tx;
    const char* expected;
  };
  std::vector<Row> rows{
      {"inputs changed after signing", tampered_inputs, "Refuse(bad_signature)"},
      // Re-signed inputs that differ from what the batch was proved with.
      {"post_root changed and re-signed", resigned, "Refuse(batch_mismatch)"},
      {"witness items altered", bad_witness, "Refuse(bad_proof)"},
      {"witness dropped", no_witness, "Refuse(bad_proof)"},
      {"items and digest altered and re-signed", bad_items_resigned, "Refuse(batch_mismatch)"},
      // A valid proof by another key has no authority here.
      {"signed by another sequencer key", node.settlement(id(0xba, 2), 10, stranger), "Refuse(not_sequencer)"},
      {"a batch never created or proved", node.settlement(id(0xba, 3), 10), "Refuse(batch_mismatch)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    AdmissionDecision d = decide_admission(node.p, row.tx);
    CHECK(summary(d) == row.expected);
    if (auto* r = std::get_if<Refuse>(&d)) CHECK_FALSE(r->message.empty());
  }
}

TEST_CASE("SettlementsOfOneBatchAreDuplicatesOrConflictsByBatchId") {
  Node node = funded();
  Settlement first = node.proved_batch(id(0xba, 1), 0x31, 10);
  Hash32 first_tx = node.admit(first);

  // The same settlement resent, even with a different (still valid-looking) witness: the id
  // leaves the witness out, so it is the same settlement.
  CHECK(decide_admission(node.p, first) == AdmissionDecision{Duplicate{first_tx}});
  Settlement other_witness = first;
  other_witness.witness.accounts.clear();
  CHECK(decide_admission(node.p, other_witness) == AdmissionDecision{Duplicate{first_tx}});

  // Another settlement of the same batch: a conflict, whoever signed it and whether or not it
  // would verify; a settlement of another batch is independent.
  Settlement rival = node.settlement(id(0xba, 1), 11);
  Settlement rival_foreign = node.settlement(id(0xba, 1), 10, key(0x66));
  Settlement rival_broken = rival;
  rival_broken.proof = Signature{};
  for (const Tx& tx : std::vector<Tx>{rival, rival_foreign, rival_broken}) {
    CHECK(decide_admission(node.p, tx) == AdmissionDecision{Conflict{first_tx}});
  }
  Settlement other_batch = node.proved_batch(id(0xba, 2), 0x32, 11);
  CHECK(summary(decide_admission(node.p, other_batch)) == "Admit");

  // The key stays taken after consensus rejects the first settlement.
  node.event(test::decision(node.p, first_tx, false));
  CHECK(decide_admission(node.p, rival) == AdmissionDecision{Conflict{first_tx}});
}

TEST_CASE("DecisionsPrintCompactly") {
  std::ostringstream os;
  os << AdmissionDecision{Refuse{RefusalCode::wrong_nonce, "nonce 3 is not 2"}} << " "
     << AdmissionDecision{Admit{Hash32{0xab, 0xcd}}};
  CHECK(os.str() == "Refuse(wrong_nonce: nonce 3 is not 2) Admit(abcd0000)");
  for (auto c : {RefusalCode::no_keys, RefusalCode::bad_signature, RefusalCode::bad_terms, RefusalCode::wrong_nonce,
                 RefusalCode::insufficient_funds, RefusalCode::not_operator, RefusalCode::zero_amount,
                 RefusalCode::bad_proof})
    CHECK(refusal_code_name(c) != "unknown");
  CHECK(refusal_code_from_rule(RuleViolation::Code::insufficient_funds) == RefusalCode::insufficient_funds);
}

TEST_CASE("ForSignedBetsAdmitHoldsExactlyWhenApplyAccepts") {
  // Random bets (reused bet ids, random nonces and wagers, sometimes bad terms) against a
  // state that moves: admitted bets are finalized either way at random. apply() checks the
  // same structural rules, so for correctly signed bets the two must agree every time.
  Node node;
  node.fund(1, 0, 300);
  node.fund(2, 1, 300);
  node.fund(3, 2, 300);
  std::mt19937_64 rng(20240611);
  std::vector<Hash32> pending;
  std::vector<Bet> sent;
  std::size_t admitted = 0, duplicates = 0, conflicts = 0, refused = 0;
  for (int i = 0; i < 400; ++i) {
    CAPTURE(i);
    std::size_t who = rng() % 3;
    const Account* a = node.p.accounts.find(node.player(who));
    std::uint64_t nonce = a->pending_nonce + 1;
    if (rng() % 4 == 0) nonce = rng() % (a->pending_nonce + 3);
    Amount wager = 1 + rng() % 120;
    if (rng() % 20 == 0) wager = 0;
    auto bet_n = static_cast<std::uint8_t>(rng() % 200);  // Reused often: duplicates and conflicts.
    Bet b = node.bet(bet_n, who, wager, nonce);
    if (!sent.empty() && rng() % 8 == 0) b = sent[rng() % sent.size()];  // A resend.
    AdmissionDecision d = decide_admission(node.p, b);
    Projections copy = node.p;
    bool applied = true;
    try {
      apply(copy, copy.last_seq + 1, TxAdmitted{b});
    } catch (const ApplyError&) {
      applied = false;
    }
    CHECK(applied == std::holds_alternative<Admit>(d));
    if (std::holds_alternative<Admit>(d)) {
      node.p = std::move(copy);
      pending.push_back(tx_id(b));
      sent.push_back(b);
      CHECK(decide_admission(node.p, b) == AdmissionDecision{Duplicate{tx_id(b)}});
      ++admitted;
    }
    duplicates += std::holds_alternative<Duplicate>(d);
    conflicts += std::holds_alternative<Conflict>(d);
    refused += std::holds_alternative<Refuse>(d);
    if (!pending.empty() && rng() % 3 == 0) {
      std::size_t k = rng() % pending.size();
      node.event(test::decision(node.p, pending[k], rng() % 2 == 0));
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  // The run exercised every outcome.
  CHECK(admitted > 20);
  CHECK(duplicates > 0);
  CHECK(conflicts > 20);
  CHECK(refused > 20);
  CHECK(check_invariants(node.p).empty());
}

TEST_CASE("APrecheckMadeElsewhereGivesTheSameDecision") {
  // The node checks signatures before it takes the state lock (precheck) and the mempool
  // decides with it: every outcome must be what the one-step decision gives.
  Node node = funded();
  Bet ok = node.bet(1, 0, 100);
  Bet tampered = node.bet(1, 0, 100);
  tampered.wager = 101;  // After signing.
  Deposit deposit = node.deposit(7, 1, 50);
  Deposit tampered_deposit = node.deposit(8, 1, 50);
  tampered_deposit.amount = 51;
  Bet stale = node.bet(5, 0, 100, 7);  // Wrong nonce.
  Bet taken = node.bet(6, 1, 10);
  Hash32 held = node.admit(taken);  // Sending it again is a duplicate.
  Bet conflicting = taken;  // Same bet id, other content, valid signature.
  conflicting.wager = 11;
  sign_tx(conflicting, node.players[1]);
  Bet conflicting_unsigned = conflicting;
  conflicting_unsigned.wager = 12;  // Same bet id, signature broken.
  std::vector<std::pair<const char*, Tx>> txs{
      {"valid bet", ok},
      {"tampered bet", tampered},
      {"valid deposit", deposit},
      {"tampered deposit", tampered_deposit},
      {"wrong nonce", stale},
      {"duplicate", taken},
      {"conflict", conflicting},
      {"conflict with a broken signature", conflicting_unsigned},
      {"settlement", node.proved_batch(id(0xba, 9), 9)},
  };
  for (const auto& [name, tx] : txs) {
    CAPTURE(name);
    Prechecked pre = precheck(tx);
    CHECK(pre.tx_id == tx_id(tx));
    CHECK(pre.signature_valid == verify_tx_signature(tx));
    CHECK(decide_admission(node.p, tx, pre) == decide_admission(node.p, tx));
  }
  CHECK_FALSE(precheck(tampered).signature_valid);
  CHECK(precheck(ok).signature_valid);
  CHECK(summary(decide_admission(node.p, conflicting_unsigned, precheck(conflicting_unsigned))) == "Conflict");
  CHECK(held == tx_id(taken));
}

TEST_CASE("InAClusterABetWaitsUntilTheAccountsEarlierBetsAreDecidedHere") {
  Node node = funded();
  Bet first = node.bet(1, 0, 100);
  CHECK_FALSE(refuse_while_in_flight(node.p, first).has_value());  // Nothing in flight.
  Hash32 tx = node.admit(first);
  Bet next = node.bet(2, 0, 100);  // Nonce 2: admissible by decide_admission alone...
  CHECK(summary(decide_admission(node.p, next)) == "Admit");
  auto refusal = refuse_while_in_flight(node.p, next);  // ... but nonce 1 is undecided here.
  REQUIRE(refusal.has_value());
  CHECK(refusal->code == RefusalCode::wrong_nonce);
  CHECK(refusal->message.find("undecided") != std::string::npos);
  // Another player's bet is not held up, nor is a deposit.
  CHECK_FALSE(refuse_while_in_flight(node.p, node.bet(3, 1, 100)).has_value());
  CHECK_FALSE(refuse_while_in_flight(node.p, node.deposit(7, 0, 5)).has_value());
  // Once nonce 1 is decided (either way) the next bet may come.
  node.event(test::decision(node.p, tx, true));
  CHECK_FALSE(refuse_while_in_flight(node.p, next).has_value());
}

// --- an admitted tx can always be decided (exposure.hpp) ---------------------------------

namespace {

// Decides an admitted tx in a block of its own; an accepted bet is resolved with `roll`.
void decide(Node& node, const Tx& tx, bool accepted, std::uint8_t roll) {
  const Hash32 id = tx_id(tx);
  node.event(test::decision(node.p, id, accepted));
  if (!accepted) return;
  const std::uint64_t height = node.p.block_height + 1;
  node.event(BlockCommitted{height, node.p.block_hash, block_hash(height, node.p.block_hash, 1, {id}), {id}, 1});
  if (const auto* b = std::get_if<Bet>(&tx)) {
    Outcome o = outcome_for_roll(static_cast<Game>(b->game), b->choice, b->wager, roll);
    node.event(BetResolved{id, b->bet_id, o.roll, o.win, o.payout, {}});
  }
}

}  // namespace

TEST_CASE("AmountsThatCouldOverflowOnceDecidedAreRefusedAtAdmission") {
  constexpr Amount kMax = UINT64_MAX;
  struct Row {
    const char* name;
    std::vector<Amount> pending;  // Deposits to player 0 admitted first, left undecided.
    std::vector<Amount> accepted; // Deposits to player 1 admitted and accepted first.
    Amount amount;                // The deposit to player 2 that is decided on.
    const char* expected;
  };
  const std::vector<Row> rows{
      {"the largest deposit to a fresh node", {}, {}, kMax, "Admit"},
      {"one more after the largest was accepted", {}, {kMax}, 1, "Refuse(amount_overflow)"},
      {"one more while the largest is pending", {kMax}, {}, 1, "Refuse(amount_overflow)"},
      {"two pending halves fill it exactly", {kMax / 2, kMax / 2}, {}, 1, "Admit"},
      {"two pending halves and two more", {kMax / 2, kMax / 2}, {}, 2, "Refuse(amount_overflow)"},
      {"ordinary amounts", {1000}, {5000}, 700, "Admit"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Node node;
    std::uint8_t n = 1;
    for (Amount a : row.accepted) node.fund(n++, 1, a);
    for (Amount a : row.pending) node.admit(node.deposit(n++, 0, a));
    CHECK(summary(decide_admission(node.p, node.deposit(n, 2, row.amount))) == row.expected);
  }
}

TEST_CASE("APendingDepositCountsAgainstItsAccountUntilDecided") {
  Node node;
  node.fund(1, 0, 1000);
  node.fund(2, 1, UINT64_MAX - 1000 - 10);  // The deposits total has room for 10 more.
  Deposit first = node.deposit(3, 2, 6);
  node.admit(first);
  CHECK(summary(decide_admission(node.p, node.deposit(4, 2, 5))) == "Refuse(amount_overflow)");
  auto refusal = std::get<Refuse>(decide_admission(node.p, node.deposit(4, 2, 5)));
  CHECK(refusal.message.find("deposits total") != std::string::npos);
  node.event(test::decision(node.p, tx_id(first), false));  // Rejected: its exposure is released.
  CHECK(summary(decide_admission(node.p, node.deposit(4, 2, 5))) == "Admit");
  CHECK(node.p.exposure == Exposure{});
}

TEST_CASE("ABetWhoseLargestWinCouldOverflowTheBalanceIsRefused") {
  Node node;
  node.fund(1, 0, UINT64_MAX - 50);  // Dice under 50 pays 99/49 of the wager: a net win > wager.
  Bet small = node.bet(1, 0, 49);    // Largest net win floor(49 * 99 / 49) - 49 = 50: just fits.
  CHECK(largest_net_win(small) == 50);
  CHECK(summary(decide_admission(node.p, small)) == "Admit");
  Bet larger = node.bet(2, 0, 50);   // 101 - 50 = 51 does not.
  auto d = decide_admission(node.p, larger);
  CHECK(summary(d) == "Refuse(amount_overflow)");
  CHECK(std::get<Refuse>(d).message.find("the account's balance") != std::string::npos);
}

TEST_CASE("PendingBetsCannotTakeTheHouseResultBeyondItsRange") {
  // Dice target 2 pays 99x: each pending 10^15 wager may cost the house 98 * 10^15, and
  // INT64_MIN is about -9.22 * 10^18, so the 95th such pending bet is refused.
  Node node;
  for (std::uint8_t who = 0; who < 3; ++who) node.fund(static_cast<std::uint8_t>(who + 1), who, 40 * kWagerMax);
  int admitted = 0;
  std::optional<Refuse> refused;
  for (int i = 0; i < 120 && !refused; ++i) {
    Bet b = node.bet(static_cast<std::uint8_t>(i), static_cast<std::size_t>(i % 3), kWagerMax);
    b.choice = 2;
    sign_tx(b, node.players.at(static_cast<std::size_t>(i % 3)));
    auto d = decide_admission(node.p, b);
    if (auto* r = std::get_if<Refuse>(&d)) refused = *r;
    else node.admit(b), ++admitted;
  }
  REQUIRE(refused.has_value());
  CHECK(refused->code == RefusalCode::amount_overflow);
  CHECK(refused->message.find("house result") != std::string::npos);
  CHECK(admitted == 94);
}

TEST_CASE("WhateverIsAdmittedCanBeDecidedEitherWayAndResolvedWithAnyRoll") {
  // Random deposits (often near the top of the range) and bets, each decided at a random
  // later step, either way, a bet resolved with a random roll: apply() must accept every
  // decision of every tx admitted, whatever else was pending (the bug this guards against:
  // an accepted deposit overflowing the total after consensus, which stopped every block).
  std::mt19937_64 rng(20261201);
  const Amount big[] = {1, 1000, kWagerMax, UINT64_MAX / 3, UINT64_MAX / 2, UINT64_MAX - 5, UINT64_MAX};
  Node node;
  std::vector<Tx> pending;
  std::size_t admitted = 0, overflow = 0, decided = 0;
  for (int i = 0; i < 600; ++i) {
    CAPTURE(i);
    const std::size_t who = rng() % 3;
    Tx tx = node.deposit(0, who, big[rng() % std::size(big)]);
    if (rng() % 2) {
      tx = node.bet(0, who, rng() % 2 ? kWagerMax : 1 + rng() % 1000);
      auto& b = std::get<Bet>(tx);
      b.choice = static_cast<std::uint8_t>(2 + rng() % 98);
      put_u64_le(b.bet_id.data() + 1, static_cast<std::uint64_t>(i));  // Every id new.
      sign_tx(b, node.players.at(who));
    } else {
      auto& dep = std::get<Deposit>(tx);
      put_u64_le(dep.deposit_id.data() + 1, static_cast<std::uint64_t>(i));
      sign_tx(dep, node.operator_key);
    }
    auto d = decide_admission(node.p, tx);
    if (std::holds_alternative<Admit>(d)) {
      node.event(TxAdmitted{tx});
      pending.push_back(tx);
      ++admitted;
    }
    overflow += std::holds_alternative<Refuse>(d) && std::get<Refuse>(d).code == RefusalCode::amount_overflow;
    while (!pending.empty() && rng() % 3 == 0) {
      const std::size_t k = rng() % pending.size();
      decide(node, pending[k], rng() % 4 != 0, static_cast<std::uint8_t>(1 + rng() % 100));
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
      ++decided;
    }
  }
  for (const auto& tx : pending) decide(node, tx, true, 1), ++decided;  // The worst roll for the house.
  CHECK(admitted > 100);
  CHECK(overflow > 20);
  CHECK(decided == admitted);
  CHECK(node.p.exposure == Exposure{});
  CHECK(check_invariants(node.p).empty());
}
