// Finality receipts (domain/receipt.hpp): the tx tree against RFC 9162's recursive
// definition (written again here, independently) and against roots computed with Python's
// hashlib; every path of trees of 1..40 leaves verifies and no altered one does; the header's
// bytes are pinned field by field; a real bet's receipt passes check_bet_receipt, and every
// single-field change to it fails with a sentence saying which check.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "domain/blocks.hpp"
#include "domain/receipt.hpp"

using namespace croupier;
using namespace croupier::receipt;

namespace {

Hash32 filled(std::uint8_t b) {
  Hash32 h{};
  h.fill(b);
  return h;
}

std::vector<Hash32> ids(std::size_t n) {
  std::vector<Hash32> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(filled(static_cast<std::uint8_t>(i + 1)));
  return out;
}

// RFC 9162 section 2.1.1, as written there: MTH of a list by splitting at the largest power
// of two below its length.
Hash32 reference_root(std::span<const Hash32> d) {
  if (d.size() == 1) return tx_leaf_hash(d[0]);
  std::size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  return tx_interior_hash(reference_root(d.first(k)), reference_root(d.subspan(k)));
}

Seed seed_of(std::uint8_t b) {
  Seed s{};
  s.fill(b);
  return s;
}

// A receipt for a real signed bet in a block of five txs.
struct World {
  KeyPair player = keypair_from_seed(seed_of(7));
  KeyPair house = keypair_from_seed(seed_of(8));
  KeyPair node = keypair_from_seed(seed_of(9));
  BetReceipt r;

  World() {
    Bet bet{Id128{0xbe, 0x01}, player.public_key, 1, static_cast<std::uint8_t>(Game::dice), 5000, 50, filled(0x5e), {}};
    sign_tx(bet, player);
    const Hash32 id = tx_id(bet);
    std::vector<Hash32> block_ids = ids(5);
    block_ids[3] = id;
    BlockCommitted block{12, filled(0xaa), {}, block_ids, 1'700'000'000'000};
    block.hash = block_hash(block.height, block.prev_hash, block.time_ms, block.tx_ids);
    SignedBlock signed_block = sign_block(block, house.public_key, node);
    vrf::Output beta{};
    BetResolved resolved = resolve_bet(id, bet, house, &beta);
    r.bet = bet;
    r.tx_id = id;
    r.answer_height = 12;
    r.outcome = Outcome{resolved.roll, resolved.win, resolved.payout};
    r.vrf_proof = resolved.vrf_proof;
    r.vrf_output = beta;
    r.house_key = house.public_key;
    r.header = signed_block.header;
    r.tx_index = 3;
    r.tx_path = signed_block.tree.path(3);
    r.signatures = signed_block.signatures;
  }
};

}  // namespace

TEST_CASE("the tx tree's root is RFC 9162's, and hashlib's") {
  for (std::size_t n = 1; n <= 40; ++n) {
    CAPTURE(n);
    auto d = ids(n);
    CHECK(TxTree(d).root() == reference_root(d));
    CHECK(TxTree(d).size() == n);
  }
  // python3: blake2b(digest_size=32), leaves 0x00||id, interiors 0x01||l||r, ids bytes([i+1])*32.
  const std::vector<std::pair<std::size_t, std::string>> pinned = {
      {1, "6bf22d230bc6f17e2dc9bdce220e8696630a067ab5029fb66d91e6ecd74c7c54"},
      {2, "e7ee5228698f31758aa7e13445bc54d4c4b37303a90d5ca4677fad9976d1187b"},
      {3, "a7346514f635523b73d3adb12bf49a26cf1a8063afc422025e203cde74e5ecbe"},
      {5, "daf740e7aa956cb636ee5d465a8d6fe03480fcfe405ebe98a17dd888bab43bb5"},
      {7, "bada23fd9d2937d5920c9e0c9f94cb973d49c63208df85e8f7f669df87875a75"}};
  for (const auto& [n, root] : pinned) {
    CAPTURE(n);
    CHECK(to_hex(TxTree(ids(n)).root()) == root);
  }
}

TEST_CASE("every path verifies, and no altered path, index, tx or root does") {
  for (std::size_t n = 1; n <= 40; ++n) {
    auto d = ids(n);
    TxTree tree(d);
    for (std::size_t i = 0; i < n; ++i) {
      CAPTURE(n);
      CAPTURE(i);
      auto path = tree.path(i);
      REQUIRE(verify_tx_path(tree.root(), d[i], i, n, path));
      CHECK_FALSE(verify_tx_path(tree.root(), filled(0xee), i, n, path));
      CHECK_FALSE(verify_tx_path(filled(0xee), d[i], i, n, path));
      CHECK_FALSE(verify_tx_path(tree.root(), d[i], n, n, path));  // Index out of range.
      if (n > 1) CHECK_FALSE(verify_tx_path(tree.root(), d[i], (i + 1) % n, n, path));
      // (The count is not bound by a path: a leaf of the left part has the same path in a
      // tree of n + 1 leaves. The header's signature binds tx_count.)
      auto longer = path;
      longer.push_back(filled(0x01));
      CHECK_FALSE(verify_tx_path(tree.root(), d[i], i, n, longer));
      if (!path.empty()) {
        auto shorter = path;
        shorter.pop_back();
        CHECK_FALSE(verify_tx_path(tree.root(), d[i], i, n, shorter));
        auto changed = path;
        changed.front()[0] ^= 1;
        CHECK_FALSE(verify_tx_path(tree.root(), d[i], i, n, changed));
      }
    }
  }
}

TEST_CASE("header bytes: tag, version, then every field little-endian, 170 bytes") {
  BlockHeader h{1,           0x0102030405060708ull, filled(0xaa), 0x1112131415161718ull, 0x21222324u,
                filled(0xbb), filled(0xcc),         filled(0xdd)};
  Bytes b = header_bytes(h);
  REQUIRE(b.size() == 170);
  CHECK(std::string(b.begin(), b.begin() + 21) == "croupier/block-header");
  CHECK(b[21] == 1);
  CHECK(b[22] == 0x08);
  CHECK(b[29] == 0x01);
  CHECK(b[30] == 0xaa);
  CHECK(b[61] == 0xaa);
  CHECK(b[62] == 0x18);
  CHECK(b[70] == 0x24);
  CHECK(b[73] == 0x21);
  CHECK(b[74] == 0xbb);
  CHECK(b[106] == 0xcc);
  CHECK(b[137] == 0xcc);
  CHECK(b[138] == 0xdd);
  CHECK(b[169] == 0xdd);
}

TEST_CASE("a block's signed header: its tree's root, its hash, the node's signature over header_bytes") {
  World w;
  CHECK(w.r.header.tx_count == 5);
  CHECK(w.r.header.height == 12);
  REQUIRE(w.r.signatures.size() == 1);
  CHECK(w.r.signatures[0].signer == "node");
  CHECK(w.r.signatures[0].key == w.node.public_key);
  CHECK(verify(w.node.public_key, header_bytes(w.r.header), w.r.signatures[0].signature));
  std::vector<Hash32> block_ids = ids(5);
  block_ids[3] = w.r.tx_id;
  CHECK(w.r.header.tx_root == TxTree(block_ids).root());
  CHECK(w.r.header.block_hash == block_hash(12, filled(0xaa), 1'700'000'000'000, block_ids));
  CHECK(w.r.header.house_key == w.house.public_key);
}

TEST_CASE("a real bet's receipt passes and every single-field change fails, naming the check") {
  World w;
  {
    auto c = check_bet_receipt(w.r, w.node.public_key, w.house.public_key);
    CHECK(c.ok());
    CHECK(check_bet_receipt(w.r, w.node.public_key, std::nullopt).ok());
  }
  const KeyPair other = keypair_from_seed(seed_of(0x33));
  struct Tamper {
    std::string field;
    std::function<void(BetReceipt&)> change;
    const char* expect;  // A word of the failure sentence.
  };
  const std::vector<Tamper> table = {
      {"bet_id", [](BetReceipt& r) { r.bet.bet_id[0] ^= 1; }, "player's signature"},
      {"account", [&](BetReceipt& r) { r.bet.account = other.public_key; }, "player's signature"},
      {"nonce", [](BetReceipt& r) { r.bet.nonce += 1; }, "player's signature"},
      {"game", [](BetReceipt& r) { r.bet.game = static_cast<std::uint8_t>(Game::coinflip); }, "player's signature"},
      {"wager", [](BetReceipt& r) { r.bet.wager += 1; }, "player's signature"},
      {"choice", [](BetReceipt& r) { r.bet.choice += 1; }, "player's signature"},
      {"client_seed", [](BetReceipt& r) { r.bet.client_seed[5] ^= 1; }, "player's signature"},
      {"signature", [](BetReceipt& r) { r.bet.signature[9] ^= 1; }, "player's signature"},
      {"tx_id", [](BetReceipt& r) { r.tx_id[0] ^= 1; }, "tx_id"},
      {"block_height", [](BetReceipt& r) { r.answer_height += 1; }, "block_height"},
      {"outcome.roll", [](BetReceipt& r) { r.outcome.roll = static_cast<std::uint8_t>(r.outcome.roll % 100 + 1); },
       "outcome"},
      {"outcome.win", [](BetReceipt& r) { r.outcome.win = !r.outcome.win; }, "outcome"},
      {"payout", [](BetReceipt& r) { r.outcome.payout += 1; }, "outcome"},
      {"vrf_proof", [](BetReceipt& r) { r.vrf_proof[40] ^= 1; }, "vrf_proof"},
      {"vrf_output", [](BetReceipt& r) { r.vrf_output[0] ^= 1; }, "vrf_output"},
      {"house_key", [&](BetReceipt& r) { r.house_key = other.public_key; }, "house"},
      {"header.version", [](BetReceipt& r) { r.header.version = 2; }, "version"},
      {"header.height", [](BetReceipt& r) { r.header.height += 1; }, "signature"},
      {"header.prev_hash", [](BetReceipt& r) { r.header.prev_hash[1] ^= 1; }, "signature"},
      {"header.time_ms", [](BetReceipt& r) { r.header.time_ms += 1; }, "signature"},
      {"header.tx_count", [](BetReceipt& r) { r.header.tx_count += 1; }, "signature"},
      {"header.tx_root", [](BetReceipt& r) { r.header.tx_root[2] ^= 1; }, "tx path"},
      {"header.block_hash", [](BetReceipt& r) { r.header.block_hash[3] ^= 1; }, "signature"},
      {"header.house_key", [&](BetReceipt& r) { r.header.house_key = other.public_key; }, "signature"},
      {"tx_index", [](BetReceipt& r) { r.tx_index = 2; }, "tx path"},
      {"tx_path", [](BetReceipt& r) { r.tx_path[1][0] ^= 1; }, "tx path"},
      {"tx_path shortened", [](BetReceipt& r) { r.tx_path.pop_back(); }, "tx path"},
      {"signature bytes", [](BetReceipt& r) { r.signatures[0].signature[7] ^= 1; }, "signature"},
      {"signature key", [&](BetReceipt& r) { r.signatures[0].key = other.public_key; }, "signature"},
      {"signer", [](BetReceipt& r) { r.signatures[0].signer = "validator"; }, "no valid node signature"},
      {"no signatures", [](BetReceipt& r) { r.signatures.clear(); }, "no valid node signature"},
  };
  for (const auto& t : table) {
    CAPTURE(t.field);
    BetReceipt r = w.r;
    t.change(r);
    auto c = check_bet_receipt(r, w.node.public_key, std::nullopt);
    REQUIRE_FALSE(c.ok());
    std::string all;
    for (const auto& f : c.failures) all += f + "\n";
    CAPTURE(all);
    CHECK(all.find(t.expect) != std::string::npos);
  }
  // A forger's own house key with a proof and an outcome made under it, all consistent: the
  // signed header names the real house key, so it fails, pinned or not.
  {
    BetReceipt forged = w.r;
    vrf::Output beta{};
    BetResolved fake = resolve_bet(w.r.tx_id, w.r.bet, other, &beta);
    forged.house_key = other.public_key;
    forged.vrf_proof = fake.vrf_proof;
    forged.vrf_output = beta;
    forged.outcome = Outcome{fake.roll, fake.win, fake.payout};
    auto c = check_bet_receipt(forged, w.node.public_key, std::nullopt);
    REQUIRE_FALSE(c.ok());
    CHECK(c.failures.front().find("not the signed header's") != std::string::npos);
  }
  // Pinned keys: another node key or house key refuses a receipt that is otherwise whole.
  CHECK_FALSE(check_bet_receipt(w.r, other.public_key, std::nullopt).ok());
  CHECK_FALSE(check_bet_receipt(w.r, w.node.public_key, other.public_key).ok());
}

TEST_CASE("a validator's signature beside the node's is checked too: the format takes more signers") {
  World w;
  const KeyPair validator = keypair_from_seed(seed_of(0x44));
  w.r.signatures.push_back({"validator", validator.public_key, sign(validator, header_bytes(w.r.header))});
  CHECK(check_bet_receipt(w.r, w.node.public_key, std::nullopt).ok());
  w.r.signatures.back().signature[0] ^= 1;
  CHECK_FALSE(check_bet_receipt(w.r, w.node.public_key, std::nullopt).ok());
}
