// Transactions: the signed bytes match the documented layout byte for byte, ids and
// signatures bind every field, the codec round-trips each kind and refuses malformed input,
// and conflict keys group the txs that compete.
// Method: hand-built expected byte vectors (no call into the encoder to build them), one
// tampered copy per field, and hand-cut encodings for the decoder's error paths.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "domain/codec.hpp"
#include "domain/ids.hpp"
#include "domain/transactions.hpp"

using namespace croupier;

namespace {

KeyPair key_from(std::uint8_t fill) {
  Seed s{};
  s.fill(fill);
  return keypair_from_seed(s);
}

template <std::size_t N>
FixedBytes<N> counting(std::uint8_t first) {
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}

template <std::size_t N>
void append(Bytes& out, const FixedBytes<N>& b) {
  out.insert(out.end(), b.begin(), b.end());
}

void append_u64_le(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Bet sample_bet(const KeyPair& player) {
  Bet b;
  b.bet_id = counting<16>(0x10);
  b.account = player.public_key;
  b.nonce = 0x0102030405060708ull;
  b.game = 2;
  b.wager = 0x1112131415161718ull;
  b.choice = 50;
  b.client_seed = counting<32>(0xa0);
  sign_tx(b, player);
  return b;
}

Deposit sample_deposit(const KeyPair& op) {
  Deposit d;
  d.deposit_id = counting<16>(0x20);
  d.account = key_from(9).public_key;
  d.amount = 0x2122232425262728ull;
  d.operator_key = op.public_key;
  sign_tx(d, op);
  return d;
}

Settlement sample_settlement(const KeyPair& sequencer) {
  Settlement s;
  s.inputs.batch_id = counting<16>(0x30);
  s.inputs.pre_root = counting<32>(0x40);
  s.inputs.post_root = counting<32>(0x60);
  s.inputs.items_digest = counting<32>(0x80);
  s.inputs.totals = {3, 100, 200, 150};
  s.sequencer_key = sequencer.public_key;
  s.witness.items.push_back({settlement::ItemKind::bet, counting<16>(1), counting<32>(2), counting<32>(3), 7, 0});
  sign_tx(s, sequencer);
  return s;
}

}  // namespace

TEST_CASE("BetSigningBytesFollowTheDocumentedLayout") {
  auto player = key_from(1);
  Bet b = sample_bet(player);
  Bytes expected{0x01, 0x02};
  append(expected, b.bet_id);
  append(expected, b.account);
  append_u64_le(expected, b.nonce);
  expected.push_back(b.game);
  append_u64_le(expected, b.wager);
  expected.push_back(b.choice);
  append(expected, b.client_seed);
  REQUIRE(expected.size() == 100);

  Bytes got = signing_bytes(b);
  REQUIRE(got.size() == 100);
  CHECK(got == expected);
  // Offsets pinned one by one, so a failure names the field that moved.
  CHECK(got[0] == 0x01);
  CHECK(got[1] == 0x02);
  CHECK(std::equal(b.bet_id.begin(), b.bet_id.end(), got.begin() + 2));
  CHECK(std::equal(b.account.begin(), b.account.end(), got.begin() + 18));
  CHECK(got[50] == 0x08);  // nonce, least significant byte first
  CHECK(got[57] == 0x01);
  CHECK(get_u64_le(got.data() + 50) == b.nonce);
  CHECK(got[58] == 2);     // game
  CHECK(got[59] == 0x18);  // wager LSB
  CHECK(get_u64_le(got.data() + 59) == b.wager);
  CHECK(got[67] == 50);    // choice
  CHECK(std::equal(b.client_seed.begin(), b.client_seed.end(), got.begin() + 68));
}

TEST_CASE("DepositSigningBytesFollowTheDocumentedLayout") {
  auto op = key_from(2);
  Deposit d = sample_deposit(op);
  Bytes expected{0x01, 0x01};
  append(expected, d.deposit_id);
  append(expected, d.account);
  append_u64_le(expected, d.amount);
  append(expected, d.operator_key);
  REQUIRE(expected.size() == 90);

  Bytes got = signing_bytes(d);
  REQUIRE(got.size() == 90);
  CHECK(got == expected);
  CHECK(got[0] == 0x01);
  CHECK(got[1] == 0x01);
  CHECK(std::equal(d.deposit_id.begin(), d.deposit_id.end(), got.begin() + 2));
  CHECK(std::equal(d.account.begin(), d.account.end(), got.begin() + 18));
  CHECK(got[50] == 0x28);
  CHECK(get_u64_le(got.data() + 50) == d.amount);
  CHECK(std::equal(d.operator_key.begin(), d.operator_key.end(), got.begin() + 58));
}

TEST_CASE("SettlementSigningBytesAreVersionKindInputsAndKey") {
  auto sequencer = key_from(3);
  Settlement s = sample_settlement(sequencer);
  Bytes expected{0x01, 0x03};
  append(expected, s.inputs.batch_id);
  append(expected, s.inputs.pre_root);
  append(expected, s.inputs.post_root);
  append(expected, s.inputs.items_digest);
  append_u64_le(expected, s.inputs.totals.item_count);
  append_u64_le(expected, s.inputs.totals.deposits);
  append_u64_le(expected, s.inputs.totals.wagers);
  append_u64_le(expected, s.inputs.totals.payouts);
  append(expected, s.sequencer_key);
  CHECK(signing_bytes(s) == expected);
  // The witness is evidence, not part of what is signed.
  Settlement other = s;
  other.witness.items.clear();
  CHECK(signing_bytes(other) == signing_bytes(s));
  CHECK(tx_id(other) == tx_id(s));
}

TEST_CASE("TxIdIsBlake2bOfSignedBytesThenSignature") {
  auto player = key_from(1);
  auto op = key_from(2);
  auto sequencer = key_from(3);
  Bet b = sample_bet(player);
  Deposit d = sample_deposit(op);
  Settlement s = sample_settlement(sequencer);

  auto concat = [](Bytes bytes, const Signature& sig) {
    bytes.insert(bytes.end(), sig.begin(), sig.end());
    return blake2b256(bytes);
  };
  CHECK(tx_id(b) == concat(signing_bytes(b), b.signature));
  CHECK(tx_id(d) == concat(signing_bytes(d), d.signature));
  CHECK(tx_id(s) == concat(signing_bytes(s), s.proof));
  CHECK(tx_id(Tx{b}) == tx_id(b));
  CHECK(tx_id(Tx{d}) == tx_id(d));
  CHECK(tx_id(Tx{s}) == tx_id(s));

  // The signature is part of the id: the same signed bytes with another signature is another tx.
  Bet resigned = b;
  resigned.signature[0] ^= 1;
  CHECK(tx_id(resigned) != tx_id(b));
}

TEST_CASE("SignedTxsVerifyAndNameTheirKind") {
  auto player = key_from(1);
  auto op = key_from(2);
  auto sequencer = key_from(3);
  Tx b = sample_bet(player), d = sample_deposit(op), s = sample_settlement(sequencer);
  CHECK(verify_tx_signature(b));
  CHECK(verify_tx_signature(d));
  CHECK(verify_tx_signature(s));
  CHECK(tx_kind(d) == TxKind::deposit);
  CHECK(tx_kind(b) == TxKind::bet);
  CHECK(tx_kind(s) == TxKind::settlement);
  CHECK(tx_kind_name(TxKind::deposit) == "deposit");
  CHECK(tx_kind_name(TxKind::bet) == "bet");
  CHECK(tx_kind_name(TxKind::settlement) == "settlement");
  // Ed25519 is deterministic: signing twice gives the same signature and id.
  Bet again = std::get<Bet>(b);
  sign_tx(again, player);
  CHECK(again.signature == std::get<Bet>(b).signature);
}

TEST_CASE("TamperingAnyBetFieldBreaksItsSignature") {
  auto player = key_from(1);
  const Bet good = sample_bet(player);
  struct Row {
    std::string name;
    std::function<void(Bet&)> tamper;
  };
  const std::vector<Row> rows{
      {"bet_id", [](Bet& b) { b.bet_id[15] ^= 1; }},
      {"account", [](Bet& b) { b.account = key_from(7).public_key; }},
      {"nonce", [](Bet& b) { b.nonce += 1; }},
      {"game", [](Bet& b) { b.game = 1; }},
      {"wager", [](Bet& b) { b.wager -= 1; }},
      {"choice", [](Bet& b) { b.choice = 51; }},
      {"client_seed", [](Bet& b) { b.client_seed[31] ^= 0x80; }},
      {"signature R", [](Bet& b) { b.signature[0] ^= 1; }},
      {"signature S", [](Bet& b) { b.signature[40] ^= 1; }},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Bet b = good;
    row.tamper(b);
    CHECK_FALSE(verify_tx_signature(Tx{b}));
    CHECK(tx_id(b) != tx_id(good));
  }
}

TEST_CASE("TamperingAnyDepositOrSettlementFieldBreaksItsSignature") {
  auto op = key_from(2);
  const Deposit good = sample_deposit(op);
  struct DepositRow {
    std::string name;
    std::function<void(Deposit&)> tamper;
  };
  const std::vector<DepositRow> rows{
      {"deposit_id", [](Deposit& d) { d.deposit_id[0] ^= 1; }},
      {"account", [](Deposit& d) { d.account[5] ^= 1; }},
      {"amount", [](Deposit& d) { d.amount += 1; }},
      {"operator_key", [](Deposit& d) { d.operator_key = key_from(8).public_key; }},
      {"signature", [](Deposit& d) { d.signature[63] ^= 1; }},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Deposit d = good;
    row.tamper(d);
    CHECK_FALSE(verify_tx_signature(Tx{d}));
  }

  auto sequencer = key_from(3);
  const Settlement s = sample_settlement(sequencer);
  struct SettlementRow {
    std::string name;
    std::function<void(Settlement&)> tamper;
  };
  const std::vector<SettlementRow> srows{
      {"batch_id", [](Settlement& x) { x.inputs.batch_id[0] ^= 1; }},
      {"pre_root", [](Settlement& x) { x.inputs.pre_root[0] ^= 1; }},
      {"post_root", [](Settlement& x) { x.inputs.post_root[0] ^= 1; }},
      {"items_digest", [](Settlement& x) { x.inputs.items_digest[0] ^= 1; }},
      {"item_count", [](Settlement& x) { x.inputs.totals.item_count += 1; }},
      {"deposits", [](Settlement& x) { x.inputs.totals.deposits += 1; }},
      {"wagers", [](Settlement& x) { x.inputs.totals.wagers += 1; }},
      {"payouts", [](Settlement& x) { x.inputs.totals.payouts += 1; }},
      {"sequencer_key", [](Settlement& x) { x.sequencer_key = key_from(8).public_key; }},
      {"proof", [](Settlement& x) { x.proof[1] ^= 1; }},
  };
  for (const auto& row : srows) {
    CAPTURE(row.name);
    Settlement x = s;
    row.tamper(x);
    CHECK_FALSE(verify_tx_signature(Tx{x}));
  }
}

TEST_CASE("SignatureByAnotherKeyDoesNotVerify") {
  auto player = key_from(1);
  auto intruder = key_from(4);
  Bet b = sample_bet(player);
  b.signature = sign(intruder, signing_bytes(b));
  CHECK_FALSE(verify_tx_signature(Tx{b}));
}

TEST_CASE("EachTxKindRoundTripsThroughTheCodec") {
  auto player = key_from(1);
  auto op = key_from(2);
  auto sequencer = key_from(3);
  const std::vector<Tx> txs{sample_deposit(op), sample_bet(player), sample_settlement(sequencer)};
  for (const auto& tx : txs) {
    const std::string kind(tx_kind_name(tx_kind(tx)));
    CAPTURE(kind);
    Bytes bytes = encode<Tx>(tx);
    Tx back = decode<Tx>(bytes, "tx");
    CHECK(back == tx);
    CHECK(encode<Tx>(back) == bytes);
    CHECK(tx_id(back) == tx_id(tx));
  }
  // Each kind on its own encodes as its signed bytes followed by its signature.
  Bet b = sample_bet(player);
  Bytes expected = signing_bytes(b);
  expected.insert(expected.end(), b.signature.begin(), b.signature.end());
  CHECK(encode(b) == expected);
  CHECK(decode<Bet>(expected, "bet") == b);
  Deposit d = sample_deposit(op);
  Bytes dexpected = signing_bytes(d);
  dexpected.insert(dexpected.end(), d.signature.begin(), d.signature.end());
  CHECK(encode(d) == dexpected);
  CHECK(decode<Deposit>(dexpected, "deposit") == d);
}

TEST_CASE("DecodeRejectsMalformedTxs") {
  auto player = key_from(1);
  const Bytes bet = encode(sample_bet(player));
  REQUIRE(bet.size() == 164);

  SUBCASE("truncated at every length") {
    for (std::size_t n = 0; n < bet.size(); ++n) {
      CAPTURE(n);
      Bytes cut(bet.begin(), bet.begin() + static_cast<std::ptrdiff_t>(n));
      CHECK_THROWS_WITH_AS(decode<Bet>(cut, "bet"), doctest::Contains("bet: truncated"), DecodeError);
    }
  }
  SUBCASE("trailing bytes") {
    Bytes longer = bet;
    longer.push_back(0);
    longer.push_back(0);
    CHECK_THROWS_WITH_AS(decode<Bet>(longer, "bet"), doctest::Contains("2 trailing bytes"), DecodeError);
  }
  SUBCASE("wrong version byte") {
    Bytes bad = bet;
    bad[0] = 2;
    CHECK_THROWS_WITH_AS(decode<Bet>(bad, "bet"), doctest::Contains("unknown format version 2"), DecodeError);
  }
  SUBCASE("wrong kind byte") {
    Bytes bad = bet;
    bad[1] = 1;
    CHECK_THROWS_WITH_AS(decode<Bet>(bad, "bet"), doctest::Contains("bet: kind byte"), DecodeError);
    Bytes dep = encode(sample_deposit(key_from(2)));
    dep[1] = 3;
    CHECK_THROWS_WITH_AS(decode<Deposit>(dep, "deposit"), doctest::Contains("deposit: kind byte"),
                         DecodeError);
  }
  SUBCASE("inside the Tx variant") {
    // A Tx is cereal's variant: an i32 alternative index, then the alternative.
    const Bytes tx = encode<Tx>(Tx{sample_bet(player)});
    REQUIRE(tx.size() == 4 + bet.size());
    CHECK(tx[0] == 1);
    Bytes bad_version = tx;
    bad_version[4] = 0;
    CHECK_THROWS_WITH_AS(decode<Tx>(bad_version, "tx"), doctest::Contains("tx: bet: unknown format version 0"),
                         DecodeError);
    Bytes bad_kind = tx;
    bad_kind[5] = 3;
    CHECK_THROWS_WITH_AS(decode<Tx>(bad_kind, "tx"), doctest::Contains("tx: bet: kind byte"), DecodeError);
    Bytes bad_index = tx;
    bad_index[0] = 3;
    CHECK_THROWS_WITH_AS(decode<Tx>(bad_index, "tx"), doctest::Contains("tx: "), DecodeError);
    // A bet's bytes under the deposit index fail on the kind byte, not silently.
    Bytes as_deposit = tx;
    as_deposit[0] = 0;
    CHECK_THROWS_WITH_AS(decode<Tx>(as_deposit, "tx"), doctest::Contains("tx: deposit: kind byte"),
                         DecodeError);
    Bytes cut(tx.begin(), tx.end() - 1);
    CHECK_THROWS_WITH_AS(decode<Tx>(cut, "tx"), doctest::Contains("truncated"), DecodeError);
  }
}

TEST_CASE("ConflictKeysGroupCompetingTxs") {
  auto player = key_from(1);
  Bet b = sample_bet(player);
  Bytes expected(b.account.begin(), b.account.end());
  append_u64_le(expected, b.nonce);
  CHECK(conflict_key(Tx{b}) == expected);

  // Two different bets on the same account and nonce conflict; another nonce does not.
  Bet rival = b;
  rival.bet_id[0] ^= 1;
  rival.wager = 5;
  sign_tx(rival, player);
  CHECK(conflict_key(Tx{rival}) == conflict_key(Tx{b}));
  Bet next = b;
  next.nonce += 1;
  CHECK(conflict_key(Tx{next}) != conflict_key(Tx{b}));

  Deposit d = sample_deposit(key_from(2));
  CHECK(conflict_key(Tx{d}) == Bytes(d.deposit_id.begin(), d.deposit_id.end()));
  Settlement s = sample_settlement(key_from(3));
  CHECK(conflict_key(Tx{s}) == Bytes(s.inputs.batch_id.begin(), s.inputs.batch_id.end()));
  const Bytes bet_key = conflict_key(Tx{b});
  CHECK(conflict_key_string(Tx{b}) == std::string(bet_key.begin(), bet_key.end()));
}

TEST_CASE("TimeOrderedIdsSortByTime") {
  std::array<std::uint8_t, 10> high{}, low{};
  high.fill(0xff);
  const std::uint64_t t = 1'763'683'200'000;  // 2025-11-21
  Id128 early = make_time_ordered_id(t, high);
  Id128 later = make_time_ordered_id(t + 1, low);
  CHECK(early < later);  // The random part never outranks the time.
  CHECK(id_time_ms(early) == t);
  CHECK(id_time_ms(later) == t + 1);
  // Layout: 48-bit big-endian milliseconds, then the 10 random bytes as given.
  Id128 id = make_time_ordered_id(0x0000'0102'0304'0506ull, counting<10>(0xa0));
  CHECK(to_hex(id) == "010203040506a0a1a2a3a4a5a6a7a8a9");

  // Many ids made across a span of times sort exactly like their times.
  std::vector<std::pair<Id128, std::uint64_t>> ids;
  for (std::uint64_t i = 0; i < 300; ++i) {
    std::uint64_t ms = t + (i * 7919) % 1000 * 257;  // Shuffled times, some far apart.
    std::array<std::uint8_t, 10> r{};
    r.fill(static_cast<std::uint8_t>(255 - i % 256));
    ids.emplace_back(make_time_ordered_id(ms, r), ms);
  }
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 1; i < ids.size(); ++i) CHECK(ids[i - 1].second <= ids[i].second);
}
