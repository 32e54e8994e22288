// Settlement batches: prove then verify passes for honest batches, and the stateless
// verifier rejects every kind of tampering, both by an outsider (who cannot re-sign) and by
// a dishonest sequencer (who re-signs public inputs that fit the tampered items).
// Method: one settled pre-state of a dozen accounts (so Merkle proofs have siblings), an
// honest batch mixing deposits and bets on new and existing accounts, and a table of named
// tampering rows, each with the reason verify must give.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "domain/settlement.hpp"

using namespace croupier;
using namespace croupier::settlement;

namespace {

PublicKey account(std::uint8_t n) {
  // Spread keys over the tree: the first byte decides the path from the root.
  PublicKey k{};
  k[0] = static_cast<std::uint8_t>(n * 37);
  k[31] = n;
  return k;
}

Id128 id(std::uint8_t kind, std::uint8_t n) {
  Id128 i{};
  i[0] = kind;
  i[15] = n;
  return i;
}

Item deposit(std::uint8_t n, std::uint8_t acct, Amount amount) {
  return {ItemKind::deposit, id(1, n), Hash32{n, 1}, account(acct), amount, 0};
}

Item bet(std::uint8_t n, std::uint8_t acct, Amount wager, Amount payout) {
  return {ItemKind::bet, id(2, n), Hash32{n, 2}, account(acct), wager, payout};
}

const KeyPair& sequencer() {
  static const KeyPair k = [] {
    Seed s{};
    s.fill(0x5e);
    return keypair_from_seed(s);
  }();
  return k;
}

const KeyPair& intruder() {
  static const KeyPair k = [] {
    Seed s{};
    s.fill(0x66);
    return keypair_from_seed(s);
  }();
  return k;
}

// Accounts 1..12, each with 1000 * n.
SettledState pre_state() {
  std::vector<Item> items;
  for (std::uint8_t n = 1; n <= 12; ++n) items.push_back(deposit(static_cast<std::uint8_t>(100 + n), n, 1000u * n));
  SettledState s;
  s.apply(items);
  return s;
}

// Deposits and bets, on existing accounts (1, 2, 3) and on a new one (20), several items
// on account 1 and on account 20.
std::vector<Item> honest_items() {
  return {
      deposit(1, 20, 500),    // New account.
      bet(2, 1, 300, 594),    // Coinflip win on an existing account.
      bet(3, 2, 700, 0),      // A loss.
      bet(4, 20, 500, 0),     // The new account bets all it has.
      deposit(5, 1, 50),
      bet(6, 1, 944, 1000),   // Account 1 now holds exactly 1000 - 300 + 594 + 50 = 1344.
      deposit(7, 3, 1),
  };
}

struct Batch {
  PublicInputs inputs;
  Witness witness;
  Signature proof{};
  PublicKey key{};
};

Batch proved(const std::vector<Item>& items, const SettledState& pre) {
  auto b = prove(id(9, 1), items, pre, sequencer());
  return {b.inputs, b.witness, b.proof, sequencer().public_key};
}

std::optional<std::string> check(const Batch& b) { return verify(b.inputs, b.witness, b.proof, b.key); }

void resign(Batch& b) { b.proof = sign(sequencer(), public_inputs_signing_bytes(b.inputs, b.key)); }

// A dishonest sequencer: public inputs that fit the (tampered) items, signed.
void refit(Batch& b) {
  b.inputs.items_digest = items_digest(b.witness.items);
  b.inputs.totals = compute_totals(b.witness.items);
  resign(b);
}

AccountWitness& witness_of(Batch& b, std::uint8_t acct) {
  auto it = std::find_if(b.witness.accounts.begin(), b.witness.accounts.end(),
                         [&](const AccountWitness& w) { return w.account == account(acct); });
  REQUIRE(it != b.witness.accounts.end());
  return *it;
}

}  // namespace

TEST_CASE("HonestBatchProvesAndVerifies") {
  SettledState pre = pre_state();
  auto items = honest_items();
  Batch b = proved(items, pre);
  CHECK(check(b) == std::nullopt);

  CHECK(b.inputs.batch_id == id(9, 1));
  CHECK(b.inputs.pre_root == pre.root());
  CHECK(b.inputs.items_digest == items_digest(items));
  CHECK(b.inputs.totals == Totals{7, 551, 2444, 1594});
  CHECK(b.witness.items == items);
  // Each touched account once, in first-touch order; the new one proven absent.
  REQUIRE(b.witness.accounts.size() == 4);
  CHECK(b.witness.accounts[0].account == account(20));
  CHECK_FALSE(b.witness.accounts[0].balance.has_value());
  CHECK(b.witness.accounts[1].account == account(1));
  CHECK(b.witness.accounts[1].balance == 1000u);
  CHECK(b.witness.accounts[2].account == account(2));
  CHECK(b.witness.accounts[3].account == account(3));
  for (const auto& w : b.witness.accounts) CHECK_FALSE(w.proof.siblings.empty());

  // The post root is the root of the pre-state with the items applied, and prove did not
  // touch the pre-state.
  CHECK(pre.root() == pre_state().root());
  SettledState post = pre;
  post.apply(items);
  CHECK(b.inputs.post_root == post.root());
  CHECK(post.balance(account(1)) == 1000u - 300 + 594 + 50 - 944 + 1000);
  CHECK(post.balance(account(2)) == 2000u - 700);
  CHECK(post.balance(account(3)) == 3001u);
  CHECK(post.balance(account(20)) == 0u);
  CHECK(post.size() == 13);
}

TEST_CASE("BatchesOnAnEmptyStateAndBackToBackBatchesVerify") {
  SettledState s;
  std::vector<Item> first{deposit(1, 1, 100), deposit(2, 2, 100), bet(3, 1, 100, 198)};
  Batch a = proved(first, s);
  CHECK(check(a) == std::nullopt);
  CHECK(a.inputs.pre_root == Hash32{});
  s.apply(first);
  CHECK(s.root() == a.inputs.post_root);

  std::vector<Item> second{bet(4, 1, 198, 0), bet(5, 2, 1, 1), deposit(6, 3, 7)};
  Batch b = proved(second, s);
  CHECK(check(b) == std::nullopt);
  CHECK(b.inputs.pre_root == a.inputs.post_root);
  s.apply(second);
  CHECK(s.root() == b.inputs.post_root);
}

TEST_CASE("VerifyRejectsTamperingByAnOutsider") {
  SettledState pre = pre_state();
  const Batch good = proved(honest_items(), pre);
  REQUIRE(check(good) == std::nullopt);
  struct Row {
    std::string name;
    std::function<void(Batch&)> tamper;
    const char* reason;
  };
  const char* kDigest = "items do not match items_digest";
  const char* kSignature = "sequencer signature over the public inputs is invalid";
  const char* kProof = "does not verify against pre_root";
  const std::vector<Row> rows{
      {"item kind", [](Batch& b) { b.witness.items[2].kind = ItemKind::deposit; b.witness.items[2].payout = 0; }, kDigest},
      {"item id", [](Batch& b) { b.witness.items[1].id[3] ^= 1; }, kDigest},
      {"item tx_id", [](Batch& b) { b.witness.items[1].tx_id[3] ^= 1; }, kDigest},
      {"item account", [](Batch& b) { b.witness.items[1].account = account(2); }, kDigest},
      {"item amount", [](Batch& b) { b.witness.items[1].amount -= 1; }, kDigest},
      {"item payout", [](Batch& b) { b.witness.items[1].payout += 1; }, kDigest},
      {"items reordered", [](Batch& b) { std::swap(b.witness.items[1], b.witness.items[2]); }, kDigest},
      {"item dropped", [](Batch& b) { b.witness.items.pop_back(); }, kDigest},
      {"item added", [](Batch& b) { b.witness.items.push_back(deposit(50, 4, 1)); }, kDigest},
      {"witness balance", [](Batch& b) { *witness_of(b, 1).balance += 1; }, kProof},
      {"witness claims a new account holds 0", [](Batch& b) { witness_of(b, 20).balance = 0; }, kProof},
      {"witness claims an existing account is absent", [](Batch& b) { witness_of(b, 2).balance.reset(); }, kProof},
      {"merkle sibling", [](Batch& b) { witness_of(b, 2).proof.siblings.back()[0] ^= 1; }, kProof},
      {"merkle sibling dropped", [](Batch& b) { witness_of(b, 3).proof.siblings.pop_back(); }, kProof},
      {"merkle terminal leaf", [](Batch& b) { witness_of(b, 1).proof.terminal_leaf.reset(); }, kProof},
      {"account missing from the witness",
       [](Batch& b) {
         auto& a = b.witness.accounts;
         a.erase(std::remove_if(a.begin(), a.end(), [](auto& w) { return w.account == account(2); }), a.end());
       },
       "item 2: account"},
      {"account listed twice", [](Batch& b) { b.witness.accounts.push_back(b.witness.accounts[1]); }, "twice"},
      {"pre_root", [](Batch& b) { b.inputs.pre_root[0] ^= 1; }, kSignature},
      {"post_root", [](Batch& b) { b.inputs.post_root[0] ^= 1; }, kSignature},
      {"items_digest", [](Batch& b) { b.inputs.items_digest[0] ^= 1; }, kSignature},
      {"batch_id", [](Batch& b) { b.inputs.batch_id[0] ^= 1; }, kSignature},
      {"total item_count", [](Batch& b) { b.inputs.totals.item_count += 1; }, kSignature},
      {"total deposits", [](Batch& b) { b.inputs.totals.deposits += 1; }, kSignature},
      {"total wagers", [](Batch& b) { b.inputs.totals.wagers -= 1; }, kSignature},
      {"total payouts", [](Batch& b) { b.inputs.totals.payouts += 1; }, kSignature},
      {"forged signature", [](Batch& b) { b.proof[10] ^= 1; }, kSignature},
      {"zero signature", [](Batch& b) { b.proof = Signature{}; }, kSignature},
      {"signed by another key",
       [](Batch& b) { b.proof = sign(intruder(), public_inputs_signing_bytes(b.inputs, b.key)); }, kSignature},
      {"checked against another key", [](Batch& b) { b.key = intruder().public_key; }, kSignature},
      {"another key that signed it itself",
       [](Batch& b) {
         b.key = intruder().public_key;
         b.proof = sign(intruder(), public_inputs_signing_bytes(b.inputs, b.key));
         b.inputs.batch_id[0] ^= 1;  // ... but then the inputs change under it.
       },
       kSignature},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Batch b = good;
    row.tamper(b);
    auto why = check(b);
    REQUIRE(why.has_value());
    CHECK(why->find(row.reason) != std::string::npos);
  }
}

TEST_CASE("VerifyRejectsADishonestSequencer") {
  // The sequencer signs public inputs that match the tampered items' digest and totals;
  // only re-applying the items to the proven pre-state can catch it.
  SettledState pre = pre_state();
  const Batch good = proved(honest_items(), pre);
  struct Row {
    std::string name;
    std::function<void(Batch&)> tamper;
    const char* reason;
  };
  const char* kPostRoot = "re-applying the items gives a different post_root";
  const std::vector<Row> rows{
      {"payout raised", [](Batch& b) { b.witness.items[1].payout += 1000; refit(b); }, kPostRoot},
      {"wager lowered", [](Batch& b) { b.witness.items[2].amount -= 1; refit(b); }, kPostRoot},
      {"deposit raised", [](Batch& b) { b.witness.items[6].amount += 1; refit(b); }, kPostRoot},
      {"item moved to another witnessed account", [](Batch& b) { b.witness.items[2].account = account(3); refit(b); },
       kPostRoot},
      {"item dropped", [](Batch& b) { b.witness.items.erase(b.witness.items.begin() + 2); refit(b); }, kPostRoot},
      {"item added", [](Batch& b) { b.witness.items.push_back(deposit(50, 3, 1)); refit(b); }, kPostRoot},
      {"item on an unwitnessed account", [](Batch& b) { b.witness.items.push_back(deposit(50, 4, 1)); refit(b); },
       "item 7: account"},
      {"bet moved before the deposit that funds it",
       [](Batch& b) { std::swap(b.witness.items[0], b.witness.items[3]); refit(b); },
       "item 0: settled wager: amount would go negative"},
      {"bet debiting more than the balance", [](Batch& b) { b.witness.items[2].amount = 2001; refit(b); },
       "item 2: settled wager: amount would go negative"},
      {"deposit overflowing the balance", [](Batch& b) { b.witness.items[6].amount = UINT64_MAX - 1000; refit(b); },
       "item 6: settled deposit: amount overflow"},
      {"deposit with a payout", [](Batch& b) { b.witness.items[0].payout = 1; refit(b); }, "item 0: a deposit with a payout"},
      {"unknown item kind", [](Batch& b) { b.witness.items[0].kind = static_cast<ItemKind>(7); refit(b); },
       "item 0: unknown kind"},
      {"item id twice", [](Batch& b) { b.witness.items[4].id = b.witness.items[0].id; refit(b); }, "appears twice"},
      {"post_root re-signed", [](Batch& b) { b.inputs.post_root[31] ^= 1; resign(b); }, kPostRoot},
      {"pre_root re-signed", [](Batch& b) { b.inputs.pre_root[31] ^= 1; resign(b); }, "does not verify against pre_root"},
      {"items_digest re-signed", [](Batch& b) { b.inputs.items_digest[31] ^= 1; resign(b); },
       "items do not match items_digest"},
      {"item_count re-signed", [](Batch& b) { b.inputs.totals.item_count -= 1; resign(b); }, "totals do not match"},
      {"deposits total re-signed", [](Batch& b) { b.inputs.totals.deposits += 1; resign(b); }, "totals do not match"},
      {"wagers total re-signed", [](Batch& b) { b.inputs.totals.wagers += 1; resign(b); }, "totals do not match"},
      {"payouts total re-signed", [](Batch& b) { b.inputs.totals.payouts -= 1; resign(b); }, "totals do not match"},
      {"witness balance and proof of another account",
       [](Batch& b) {
         // A true proof, but for account 4: it does not prove anything about account 2.
         auto& w = witness_of(b, 2);
         SettledState s = pre_state();
         w.proof = s.prove(account(4));
         w.balance = 4000;
       },
       "does not verify against pre_root"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Batch b = good;
    row.tamper(b);
    auto why = check(b);
    REQUIRE(why.has_value());
    CHECK(why->find(row.reason) != std::string::npos);
  }
}

TEST_CASE("ProveRefusesABetDebitingMoreThanTheBalance") {
  SettledState pre = pre_state();
  std::vector<Item> items{bet(1, 1, 1001, 0)};
  CHECK_THROWS_WITH_AS(prove(id(9, 1), items, pre, sequencer()), doctest::Contains("would go negative"), MoneyError);
  // Build by hand what a sequencer would have to sign, with a made-up post_root: rejected.
  PublicInputs in;
  in.batch_id = id(9, 1);
  in.pre_root = pre.root();
  in.post_root = Hash32{7};
  in.items_digest = items_digest(items);
  in.totals = compute_totals(items);
  Witness w;
  w.items = items;
  w.accounts.push_back({account(1), pre.balance(account(1)), pre.prove(account(1))});
  Signature sig = sign(sequencer(), public_inputs_signing_bytes(in, sequencer().public_key));
  auto why = verify(in, w, sig, sequencer().public_key);
  REQUIRE(why.has_value());
  CHECK(*why == "item 0: settled wager: amount would go negative");
  // A bet on an account the pre-state does not hold is a debit beyond a zero balance.
  std::vector<Item> on_new{bet(2, 30, 1, 0)};
  CHECK_THROWS_AS(prove(id(9, 2), on_new, pre, sequencer()), MoneyError);
}

TEST_CASE("SettledStateApplyIsAllOrNothing") {
  SettledState s = pre_state();
  const Hash32 root = s.root();
  const auto balances = s.balances();
  std::vector<Item> items{deposit(1, 1, 10), deposit(2, 40, 5), bet(3, 2, 2000, 0), bet(4, 2, 1, 0)};
  CHECK_THROWS_WITH_AS(s.apply(items), doctest::Contains("settled wager: amount would go negative"), MoneyError);
  CHECK(s.root() == root);
  CHECK(s.balances() == balances);
  CHECK_FALSE(s.balance(account(40)).has_value());
  CHECK(s.size() == 12);

  std::vector<Item> overflow{deposit(1, 1, 10), deposit(2, 3, UINT64_MAX)};
  CHECK_THROWS_WITH_AS(s.apply(overflow), doctest::Contains("settled deposit: amount overflow"), MoneyError);
  CHECK(s.root() == root);
  CHECK(s.balances() == balances);

  // The same items minus the bad one apply.
  items.pop_back();
  items.pop_back();
  s.apply(items);
  CHECK(s.balance(account(1)) == 1010u);
  CHECK(s.balance(account(40)) == 5u);
}

TEST_CASE("FromBalancesGivesTheRootOfIncrementalApplies") {
  SettledState incremental;
  incremental.apply({deposit(1, 1, 100), deposit(2, 2, 200), deposit(3, 3, 300)});
  incremental.apply({bet(4, 1, 50, 99), bet(5, 2, 200, 0), deposit(6, 4, 1)});
  incremental.apply({bet(7, 3, 1, 0)});
  for (std::uint8_t n = 10; n < 60; ++n) incremental.apply({deposit(n, n, n)});

  std::vector<std::pair<PublicKey, Amount>> balances(incremental.balances().begin(), incremental.balances().end());
  // Any order in, the same root out.
  std::reverse(balances.begin(), balances.end());
  SettledState rebuilt = SettledState::from_balances(balances);
  CHECK(rebuilt.root() == incremental.root());
  CHECK(rebuilt.balances() == incremental.balances());
  CHECK(rebuilt.balance(account(1)) == 149u);
  CHECK(rebuilt.balance(account(2)) == 0u);  // A zero balance is still a leaf.
  CHECK(SettledState::from_balances({}).root() == SettledState().root());

  // A batch proved against the rebuilt state verifies and lands on the same post root.
  std::vector<Item> items{deposit(90, 2, 5), bet(91, 1, 149, 0)};
  Batch a = proved(items, rebuilt);
  Batch b = proved(items, incremental);
  CHECK(check(a) == std::nullopt);
  CHECK(a.inputs == b.inputs);
}

TEST_CASE("AccountLeafValueAndItemsDigestArePinned") {
  // leaf value = BLAKE2b-256(0x01 || balance u64 LE)
  Bytes raw{0x01, 0x39, 0x30, 0, 0, 0, 0, 0, 0};  // 12345
  CHECK(account_leaf_value(12345) == blake2b256(raw));
  std::vector<Item> items{deposit(1, 1, 5)};
  CHECK(items_digest(items) == blake2b256(encode(items)));
  CHECK(items_digest({}) != items_digest(items));
  CHECK_THROWS_AS(compute_totals({deposit(1, 1, UINT64_MAX), deposit(2, 2, 1)}), MoneyError);
}

// The witness's encoding stores each proof's siblings once per shared path prefix and a
// member's own leaf as one byte; it decodes to the same witness, and a decoded witness is
// only trusted once verify() has checked it.
TEST_CASE("WitnessEncodingIsCompactAndRoundTrips") {
  // 200 accounts, a batch touching 60 of them and 3 new ones: the paths share prefixes.
  std::vector<Item> genesis;
  for (std::uint8_t n = 1; n <= 200; ++n) genesis.push_back(deposit(n, n, 1000u + n));
  SettledState pre;
  pre.apply(genesis);
  std::vector<Item> items;
  for (std::uint8_t n = 1; n <= 60; ++n) items.push_back(bet(n, static_cast<std::uint8_t>(n * 3), 10, n % 2 ? 20 : 0));
  for (std::uint8_t n = 201; n <= 203; ++n) items.push_back(deposit(n, n, 5));
  Batch b = proved(items, pre);
  REQUIRE(check(b) == std::nullopt);

  const Bytes bytes = encode(b.witness);
  const auto back = decode<Witness>(bytes, "witness");
  CHECK(back == b.witness);
  CHECK(verify(b.inputs, back, b.proof, b.key) == std::nullopt);

  // Against every proof stored whole (32 bytes a sibling, the terminal leaf's 64 bytes).
  const std::size_t items_bytes = encode(b.witness.items).size();
  std::size_t whole = 8;
  for (const auto& a : b.witness.accounts)
    whole += 32 + 9 + 8 + 32 * a.proof.siblings.size() + 1 + (a.proof.terminal_leaf ? 64 : 0);
  CAPTURE(whole);
  CHECK((bytes.size() - items_bytes) * 2 < whole);

  const auto compact = compact_proofs(b.witness.accounts);
  std::size_t shared = 0;
  for (std::size_t i = 0; i < compact.size(); ++i) {
    CHECK(compact[i].ref <= i);
    shared += compact[i].shared;
    if (b.witness.accounts[i].balance) CHECK(compact[i].terminal == CompactProof::own_leaf);
  }
  CHECK(shared > 0);
}

TEST_CASE("ExpandProofsRefusesACompactProofThatCannotBeRebuilt") {
  std::vector<Item> genesis;
  for (std::uint8_t n = 1; n <= 40; ++n) genesis.push_back(deposit(n, n, 100));
  SettledState pre;
  pre.apply(genesis);
  std::vector<Item> items{bet(1, 1, 10, 0), bet(2, 2, 10, 0), deposit(3, 77, 4)};
  Batch b = proved(items, pre);
  const auto good = compact_proofs(b.witness.accounts);
  auto stripped = [&] {
    auto accounts = b.witness.accounts;
    for (auto& a : accounts) a.proof = {};
    return accounts;
  };
  {
    auto accounts = stripped();
    expand_proofs(accounts, good);
    CHECK(accounts == b.witness.accounts);
  }
  struct Row {
    const char* name;
    std::function<void(std::vector<CompactProof>&, std::vector<AccountWitness>&)> tamper;
    const char* error;
  };
  const std::vector<Row> rows{
      {"refers to itself", [](auto& c, auto&) { c[1].ref = 2; }, "not an earlier one"},
      {"refers to a later account", [](auto& c, auto&) { c[0].ref = 3; }, "not an earlier one"},
      {"copies from no account", [](auto& c, auto&) { c[0].ref = 0, c[0].shared = 1; }, "from no account"},
      {"copies more than its reference holds",
       [](auto& c, auto& a) { c[1].ref = 1, c[1].shared = static_cast<std::uint16_t>(a[0].proof.siblings.size() + 1); },
       "copies"},
      {"claims its own leaf without a balance",
       [](auto& c, auto&) { c[2].terminal = CompactProof::own_leaf; }, "holds no balance"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto compact = good;
    auto accounts = stripped();
    auto whole = b.witness.accounts;
    row.tamper(compact, whole);
    try {
      expand_proofs(accounts, compact);
      FAIL("expand_proofs accepted it");
    } catch (const DecodeError& e) {
      CHECK(std::string(e.what()).find(row.error) != std::string::npos);
    }
  }
  // A reference that decodes but is wrong (another account's siblings) is caught by verify.
  auto compact = good;
  auto accounts = stripped();
  compact[2].ref = 1;
  compact[2].shared = static_cast<std::uint16_t>(std::min(b.witness.accounts[0].proof.siblings.size(),
                                                          b.witness.accounts[2].proof.siblings.size()));
  compact[2].rest.clear();
  expand_proofs(accounts, compact);
  if (accounts[2].proof != b.witness.accounts[2].proof) {
    Witness w{b.witness.items, accounts};
    CHECK(verify(b.inputs, w, b.proof, b.key) != std::nullopt);
  }
}
