// The API's JSON (actors/api_json.hpp): request bodies become exactly the signed domain
// transactions (same signing bytes, same tx id, signature still valid); every kind of bad
// input is refused with the spec's code and a message naming the field; and bets, deposits,
// accounts, batches, blocks, health and submit outcomes render with the spec's fields,
// statuses and codes.
// Method: a small real-crypto state (api_world.hpp) built with the domain's apply(); request
// bodies made from signed structs and then broken one field at a time.
#include <doctest/doctest.h>

#include <cctype>
#include <string>
#include <vector>

#include "actors/api_json.hpp"
#include "api_world.hpp"

using namespace croupier;
using namespace croupier::actors;
using namespace std::chrono_literals;
using nlohmann::json;
using test::ApiWorld;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The keys of a rendered object, in order.
std::vector<std::string> keys(const api::Json& j) {
  std::vector<std::string> out;
  for (const auto& item : j.items()) out.push_back(item.key());
  return out;
}

// Parses `body` as a bet (or a deposit) and expects ApiError with `code` whose message
// contains `needle`.
void expect_bet_error(const std::string& body, const std::string& code, const std::string& needle) {
  CAPTURE(body);
  try {
    (void)api::parse_bet_request(body);
    FAIL_CHECK("accepted: " << body);  // Not fatal: every row of a table is tried.
  } catch (const api::ApiError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
  }
}

void expect_deposit_error(const std::string& body, const std::string& code, const std::string& needle) {
  CAPTURE(body);
  try {
    (void)api::parse_deposit_request(body);
    FAIL_CHECK("accepted: " << body);  // Not fatal: every row of a table is tried.
  } catch (const api::ApiError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("a bet body parses to the exact signed Bet") {
  ApiWorld w;
  const Bet& bet = w.bet_final;
  json body = test::bet_json(bet);

  api::BetRequest r = api::parse_bet_request(body.dump());
  CHECK(r.bet == bet);
  CHECK(signing_bytes(r.bet) == signing_bytes(bet));
  CHECK(signing_bytes(r.bet).size() == 100);
  CHECK(tx_id(r.bet) == tx_id(bet));
  CHECK(verify_tx_signature(Tx{r.bet}));
  CHECK(r.wait == 2000ms);

  SUBCASE("hex in upper case, u64 fields as decimal strings, wait_ms given") {
    json b = body;
    b["bet_id"] = upper(b["bet_id"].get<std::string>());
    b["signature"] = upper(b["signature"].get<std::string>());
    b["nonce"] = std::to_string(bet.nonce);
    b["wager"] = std::to_string(bet.wager);
    b["wait_ms"] = 30000;
    api::BetRequest r2 = api::parse_bet_request(b.dump());
    CHECK(r2.bet == bet);
    CHECK(r2.wait == 30000ms);
  }
  SUBCASE("wait_ms 0") {
    json b = body;
    b["wait_ms"] = 0;
    CHECK(api::parse_bet_request(b.dump()).wait == 0ms);
  }
  SUBCASE("whitespace around the object") {
    CHECK(api::parse_bet_request(" \n" + body.dump() + "\r\n\t ").bet == bet);
  }
  SUBCASE("the limits come from the caller") {
    json b = body;
    b["wait_ms"] = 600;
    CHECK_THROWS_AS(api::parse_bet_request(b.dump(), {100ms, 500ms}), api::ApiError);
    b.erase("wait_ms");
    CHECK(api::parse_bet_request(b.dump(), {100ms, 500ms}).wait == 100ms);
  }
  SUBCASE("the largest u64") {
    json b = body;
    b["wager"] = "18446744073709551615";
    b["nonce"] = 18446744073709551615ull;
    api::BetRequest r2 = api::parse_bet_request(b.dump());
    CHECK(r2.bet.wager == 18446744073709551615ull);
    CHECK(r2.bet.nonce == 18446744073709551615ull);
  }
  SUBCASE("coinflip") {
    const Bet& cf = w.bet_pending;
    api::BetRequest r2 = api::parse_bet_request(test::bet_json(cf).dump());
    CHECK(r2.bet == cf);
    CHECK(r2.bet.game == 1);
  }
}

TEST_CASE("a deposit body parses to the exact signed Deposit") {
  ApiWorld w;
  const Deposit& d = w.deposit_final;
  json body = test::deposit_json(d);
  api::DepositRequest r = api::parse_deposit_request(body.dump());
  CHECK(r.deposit == d);
  CHECK(signing_bytes(r.deposit) == signing_bytes(d));
  CHECK(signing_bytes(r.deposit).size() == 90);
  CHECK(tx_id(r.deposit) == tx_id(d));
  CHECK(verify_tx_signature(Tx{r.deposit}));
  CHECK(r.wait == 2000ms);

  body["amount"] = "1000";
  body["wait_ms"] = 5;
  r = api::parse_deposit_request(body.dump());
  CHECK(r.deposit == d);
  CHECK(r.wait == 5ms);
}

TEST_CASE("bad bet bodies are refused with the right code and name the field") {
  ApiWorld w;
  json good = test::bet_json(w.bet_final);
  auto with = [&](const char* field, json value) {
    json b = good;
    b[field] = std::move(value);
    return b.dump();
  };

  SUBCASE("not JSON, or not an object") {
    expect_bet_error("", "bad_json", "JSON");
    expect_bet_error("{", "bad_json", "JSON");
    expect_bet_error("{\"bet_id\": \"00\",}", "bad_json", "JSON");
    expect_bet_error("[1,2]", "bad_json", "object");
    expect_bet_error("\"bet\"", "bad_json", "object");
    expect_bet_error("null", "bad_json", "object");
    expect_bet_error("{\"account\": \"\xff\xfe\"}", "bad_json", "JSON");  // Invalid UTF-8.
    expect_bet_error(std::string(30000, '[') + std::string(30000, ']'), "bad_json", "object");  // Deep, within 64 KiB.
    expect_bet_error("{\"a\":" + std::string(30000, '['), "bad_json", "JSON");
  }
  SUBCASE("an unknown field") {
    expect_bet_error(with("wagre", 5), "bad_request", "unknown field \"wagre\"");
    expect_bet_error(with("operator_key", to_hex(w.op.public_key)), "bad_request", "operator_key");
  }
  SUBCASE("each missing field") {
    for (const char* f : {"bet_id", "account", "nonce", "game", "wager", "choice", "client_seed", "signature"}) {
      json b = good;
      b.erase(f);
      expect_bet_error(b.dump(), "bad_request", std::string("missing field \"") + f + "\"");
    }
  }
  SUBCASE("bad hex and wrong lengths") {
    std::string id = good["bet_id"];
    expect_bet_error(with("bet_id", "zz" + id.substr(2)), "bad_request", "bet_id");
    expect_bet_error(with("bet_id", id.substr(2)), "bad_request", "bet_id");
    expect_bet_error(with("bet_id", id + "00"), "bad_request", "bet_id");
    expect_bet_error(with("bet_id", id.substr(1)), "bad_request", "bet_id");
    expect_bet_error(with("account", ""), "bad_request", "account");
    expect_bet_error(with("client_seed", std::string(64, 'g')), "bad_request", "client_seed");
    expect_bet_error(with("signature", std::string(126, 'a')), "bad_request", "signature");
    expect_bet_error(with("signature", 12), "bad_request", "signature");
    expect_bet_error(with("account", nullptr), "bad_request", "account");
  }
  SUBCASE("ill-typed or out-of-range numbers") {
    expect_bet_error(with("nonce", -1), "bad_request", "nonce");
    expect_bet_error(with("nonce", 1.5), "bad_request", "nonce");
    expect_bet_error(with("nonce", "12a"), "bad_request", "nonce");
    expect_bet_error(with("nonce", ""), "bad_request", "nonce");
    expect_bet_error(with("nonce", "-1"), "bad_request", "nonce");
    expect_bet_error(with("nonce", "18446744073709551616"), "bad_request", "nonce");
    expect_bet_error(with("nonce", true), "bad_request", "nonce");
    expect_bet_error(with("wager", 1e30), "bad_request", "wager");
    std::string huge = with("wager", "HUGE");
    huge.replace(huge.find("\"HUGE\""), 6, "18446744073709551616");  // 2^64: parses as a double.
    expect_bet_error(huge, "bad_request", "wager");
    expect_bet_error(with("wager", json::array()), "bad_request", "wager");
    expect_bet_error(with("choice", 256), "bad_request", "choice");
    expect_bet_error(with("choice", "1"), "bad_request", "choice");
    expect_bet_error(with("choice", -2), "bad_request", "choice");
    expect_bet_error(with("wait_ms", 30001), "bad_request", "wait_ms");
    expect_bet_error(with("wait_ms", -1), "bad_request", "wait_ms");
    expect_bet_error(with("wait_ms", "100"), "bad_request", "wait_ms");
  }
  SUBCASE("an unknown game is bad_terms, a game that is not a string bad_request") {
    expect_bet_error(with("game", "roulette"), "bad_terms", "game");
    expect_bet_error(with("game", "Dice"), "bad_terms", "game");
    expect_bet_error(with("game", 2), "bad_request", "game");
  }
}

// Regressions: each of these bodies was accepted (the first three, the last key or the bytes
// before the NUL winning) or escaped as a 500 (1e400) before the parser was made strict.
TEST_CASE("a body is one JSON object: a duplicate key, a NUL byte or trailing data is bad_json") {
  ApiWorld w;
  const std::string good = test::bet_json(w.bet_final).dump();  // Signed for wager 100.
  REQUIRE(good.find("\"wager\":100") != std::string::npos);
  // `{"wager":1,` + the rest: the signed wager comes last and would win.
  const std::string dup = "{\"wager\":1," + good.substr(1);
  expect_bet_error(dup, "bad_json", "duplicate key \"wager\"");
  expect_bet_error("{\"bet_id\":\"00\"," + good.substr(1), "bad_json", "duplicate key \"bet_id\"");
  std::string nested = good;
  nested.insert(1, "\"x\":{\"a\":1,\"b\":[{\"c\":1,\"c\":2}]},");
  expect_bet_error(nested, "bad_json", "duplicate key \"c\" inside field \"x\"");
  // The same key in two objects is no duplicate: this one fails later, as an unknown field.
  std::string siblings = good;
  siblings.insert(1, "\"x\":[{\"a\":1},{\"a\":2}],");
  expect_bet_error(siblings, "bad_request", "unknown field \"x\"");

  const std::string after_nul = good + std::string("\0garbage{[", 10);
  expect_bet_error(after_nul, "bad_json", "NUL byte at offset " + std::to_string(good.size()));
  std::string nul_in_string = good;
  nul_in_string[nul_in_string.find("\"bet_id\":\"") + 10] = '\0';
  expect_bet_error(nul_in_string, "bad_json", "NUL");
  expect_bet_error(good + " x", "bad_json", "end of input");
  expect_bet_error(good + "{}", "bad_json", "end of input");
  expect_bet_error(good + good, "bad_json", "end of input");
  expect_deposit_error(test::deposit_json(w.deposit_final).dump() + "[", "bad_json", "end of input");
  expect_deposit_error("{\"amount\":5," + test::deposit_json(w.deposit_final).dump().substr(1), "bad_json",
                       "duplicate key \"amount\"");
}

TEST_CASE("every malformed number is a bad_request naming its field, never another exception") {
  ApiWorld w;
  const std::string good = test::bet_json(w.bet_final).dump();
  // The body with `field`'s value replaced by the raw text `number`.
  auto with_raw = [&](const std::string& field, const std::string& number) {
    json b = json::parse(good);
    b[field] = "RAW";
    std::string text = b.dump();
    text.replace(text.find("\"RAW\""), 5, number);
    return text;
  };
  struct Row {
    const char* field;
    const char* number;
  };
  const Row rows[] = {
      {"wager", "1e400"},  {"wager", "-1e400"}, {"nonce", "1e400"},       {"choice", "1e400"},
      {"wait_ms", "1e400"}, {"wager", "1E309"},  {"wager", "1e99999999999999999999"},
      {"wager", "100.0"},  {"wager", "1e2"},    {"nonce", "0.5"},         {"choice", "50.0"},
      {"wait_ms", "10.0"}, {"wager", "-100"},   {"nonce", "-0"},          {"choice", "-1"},
      {"wait_ms", "-0.0"}, {"wager", "18446744073709551616"},             {"nonce", "99999999999999999999999"},
      {"wager", "-18446744073709551617"},       {"choice", "256"},        {"wait_ms", "30001"},
      {"wager", "1e-400"}, {"wager", "\"1e3\""}, {"wager", "\"+1\""},    {"nonce", "\" 1\""},
      {"nonce", "\"0x10\""}, {"wager", "\"1.0\""}, {"wager", "\"-0\""}, {"wager", "\"\""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.field);
    CAPTURE(row.number);
    expect_bet_error(with_raw(row.field, row.number), "bad_request", row.field);
  }
  // Out of range deep inside an unknown field: named by that field.
  std::string deep = good;
  deep.insert(1, "\"extra\":[{\"a\":[1e400]}],");
  expect_bet_error(deep, "bad_request", "in field \"extra\"");
  json d = test::deposit_json(w.deposit_final);
  d["amount"] = "RAW";
  std::string text = d.dump();
  expect_deposit_error(text.replace(text.find("\"RAW\""), 5, "1e400"), "bad_request", "amount");
}

TEST_CASE("null for an optional field is refused, naming it") {
  ApiWorld w;
  json bet = test::bet_json(w.bet_final);
  bet["wait_ms"] = nullptr;
  expect_bet_error(bet.dump(), "bad_request", "wait_ms");
  json deposit = test::deposit_json(w.deposit_final);
  deposit["wait_ms"] = nullptr;
  expect_deposit_error(deposit.dump(), "bad_request", "wait_ms");
  // And for a required field, as before.
  bet.erase("wait_ms");
  bet["nonce"] = nullptr;
  expect_bet_error(bet.dump(), "bad_request", "nonce");
}

TEST_CASE("bad deposit bodies are refused with the right code and name the field") {
  ApiWorld w;
  json good = test::deposit_json(w.deposit_final);
  auto with = [&](const char* field, json value) {
    json b = good;
    b[field] = std::move(value);
    return b.dump();
  };
  expect_deposit_error("nope", "bad_json", "JSON");
  expect_deposit_error(with("nonce", 1), "bad_request", "unknown field \"nonce\"");
  for (const char* f : {"deposit_id", "account", "amount", "operator_key", "signature"}) {
    json b = good;
    b.erase(f);
    expect_deposit_error(b.dump(), "bad_request", std::string("missing field \"") + f + "\"");
  }
  expect_deposit_error(with("operator_key", "00"), "bad_request", "operator_key");
  expect_deposit_error(with("deposit_id", std::string(32, 'x')), "bad_request", "deposit_id");
  expect_deposit_error(with("amount", -5), "bad_request", "amount");
  expect_deposit_error(with("amount", "1e3"), "bad_request", "amount");
  expect_deposit_error(with("wait_ms", 40000), "bad_request", "wait_ms");
}

TEST_CASE("path parameters") {
  CHECK(api::parse_u64_param("0", "height") == 0);
  CHECK(api::parse_u64_param("18446744073709551615", "height") == 18446744073709551615ull);
  for (const char* bad : {"", "-1", "1.0", "18446744073709551616", "99999999999999999999", "0x10", " 1", "1 "}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(api::parse_u64_param(bad, "height"), doctest::Contains("height"), api::ApiError);
  }
  CHECK(api::parse_hex_param<16>("000102030405060708090A0B0C0D0E0F", "bet_id")[15] == 15);
  CHECK_THROWS_WITH_AS(api::parse_hex_param<16>("00", "bet_id"), doctest::Contains("bet_id"), api::ApiError);
  try {
    api::parse_hex_param<32>("zz", "account");
  } catch (const api::ApiError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == "bad_request");
  }
}

TEST_CASE("a final bet renders with its outcome, VRF proof and batch") {
  ApiWorld w;
  auto view = api::bet_view(w.p, w.bet_final.bet_id);
  REQUIRE(view);
  Hash32 id = tx_id(w.bet_final);
  CHECK(view->tx_id == id);
  CHECK(api::tx_phase(*view) == api::TxPhase::final);
  CHECK(api::needs_bet_proof(*view));

  const BetProof proof{w.proofs.at(id), *vrf::proof_to_hash(w.proofs.at(id))};
  api::Json j = api::render_tx(*view, proof);
  CHECK(keys(j) == std::vector<std::string>{"status", "bet_id", "tx_id", "account", "nonce", "game", "wager",
                                            "choice", "outcome", "payout", "block_height", "vrf_proof",
                                            "vrf_output", "house_key", "batch_id", "batch_status"});
  CHECK(j["status"] == "final");
  CHECK(j["bet_id"] == to_hex(w.bet_final.bet_id));
  CHECK(j["tx_id"] == to_hex(id));
  CHECK(j["account"] == to_hex(w.player.public_key));
  CHECK(j["nonce"] == 1);
  CHECK(j["game"] == "dice");
  CHECK(j["wager"] == 100);
  CHECK(j["choice"] == 50);
  CHECK(j["outcome"] == api::Json{{"roll", w.outcome_final.roll}, {"win", w.outcome_final.win}});
  CHECK(j["payout"] == w.outcome_final.payout);
  CHECK(j["block_height"] == 2);
  CHECK(j["house_key"] == to_hex(w.house.public_key));
  CHECK(j["batch_id"] == to_hex(w.batch_id));
  CHECK(j["batch_status"] == "created");
  // A player's check: the proof verifies under the house key for alpha = tx_id, and beta is vrf_output.
  std::string proof_hex = j["vrf_proof"];
  CHECK(proof_hex.size() == 160);
  auto beta = vrf::verify(w.house.public_key, ByteView{id.data(), id.size()}, fixed_from_hex<80>(proof_hex));
  REQUIRE(beta);
  CHECK(j["vrf_output"] == to_hex(*beta));
  CHECK(resolve_game(Game::dice, 50, 100, *beta) == w.outcome_final);

  SUBCASE("without a proof, vrf fields are null") {
    api::Json k = api::render_tx(*view, std::nullopt);
    CHECK(k["vrf_proof"].is_null());
    CHECK(k["vrf_output"].is_null());
    CHECK(k["status"] == "final");
  }
  SUBCASE("not yet in a batch") {
    api::TxView v = *view;
    v.record.batch_id.reset();
    v.batch_status.reset();
    api::Json k = api::render_tx(v, proof);
    CHECK(k["batch_id"].is_null());
    CHECK(k["batch_status"].is_null());
  }
  SUBCASE("a coinflip bet shows its game by name") {
    api::TxView v = *view;
    Bet& b = std::get<Bet>(v.record.tx);
    b.game = 1;
    CHECK(api::render_tx(v, proof)["game"] == "coinflip");
  }
  SUBCASE("the reply is 200 for a POST and a GET") {
    CHECK(api::tx_reply(*view, proof, true).status == 200);
    CHECK(api::tx_reply(*view, proof, false).status == 200);
  }
}

TEST_CASE("pending and rejected bets render with the spec's fields") {
  ApiWorld w;
  auto pending = api::bet_view(w.p, w.bet_pending.bet_id);
  REQUIRE(pending);
  CHECK(api::tx_phase(*pending) == api::TxPhase::pending);
  CHECK_FALSE(api::needs_bet_proof(*pending));
  api::Json j = api::render_tx(*pending, std::nullopt);
  std::string bet_id = to_hex(w.bet_pending.bet_id);
  CHECK(j == api::Json{{"status", "pending"},
                       {"bet_id", bet_id},
                       {"tx_id", to_hex(tx_id(w.bet_pending))},
                       {"poll", "/v1/bets/" + bet_id}});
  CHECK(api::tx_reply(*pending, std::nullopt, true).status == 202);
  CHECK(api::tx_reply(*pending, std::nullopt, false).status == 200);

  SUBCASE("accepted and committed but not yet resolved is still pending") {
    api::TxView v = *api::bet_view(w.p, w.bet_final.bet_id);
    v.record.outcome.reset();
    CHECK(api::tx_phase(v) == api::TxPhase::pending);
    CHECK(api::render_tx(v, std::nullopt)["status"] == "pending");
  }

  auto rejected = api::bet_view(w.p, w.bet_rejected.bet_id);
  REQUIRE(rejected);
  CHECK(api::tx_phase(*rejected) == api::TxPhase::rejected);
  api::Json r = api::render_tx(*rejected, std::nullopt);
  CHECK(keys(r) == std::vector<std::string>{"status", "bet_id", "tx_id", "account", "nonce", "game", "wager", "choice"});
  CHECK(r["status"] == "rejected");
  CHECK(r["game"] == "coinflip");
  CHECK(r["nonce"] == 2);
  CHECK(api::tx_reply(*rejected, std::nullopt, true).status == 200);

  CHECK_FALSE(api::bet_view(w.p, test::small_id(0x99)));
  CHECK_FALSE(api::tx_view(w.p, Hash32{}));
  // A deposit's tx id is not a bet, but tx_view finds it.
  CHECK(api::tx_view(w.p, tx_id(w.deposit_final)));
  CHECK_FALSE(api::bet_view(w.p, w.deposit_final.deposit_id));
}

TEST_CASE("deposits render final, pending and rejected") {
  ApiWorld w;
  auto fin = api::deposit_view(w.p, w.deposit_final.deposit_id);
  REQUIRE(fin);
  CHECK(api::render_tx(*fin, std::nullopt) == api::Json{{"status", "final"},
                                                         {"deposit_id", to_hex(w.deposit_final.deposit_id)},
                                                         {"tx_id", to_hex(tx_id(w.deposit_final))},
                                                         {"account", to_hex(w.player.public_key)},
                                                         {"amount", 1000},
                                                         {"block_height", 1}});
  CHECK_FALSE(api::needs_bet_proof(*fin));

  auto pending = api::deposit_view(w.p, w.deposit_pending.deposit_id);
  REQUIRE(pending);
  std::string id = to_hex(w.deposit_pending.deposit_id);
  CHECK(api::render_tx(*pending, std::nullopt) ==
        api::Json{{"status", "pending"}, {"deposit_id", id}, {"tx_id", to_hex(tx_id(w.deposit_pending))},
                  {"poll", "/v1/deposits/" + id}});
  CHECK(api::tx_reply(*pending, std::nullopt, true).status == 202);

  auto rejected = api::deposit_view(w.p, w.deposit_rejected.deposit_id);
  REQUIRE(rejected);
  api::Json r = api::render_tx(*rejected, std::nullopt);
  CHECK(r["status"] == "rejected");
  CHECK(r["amount"] == 70);
  CHECK_FALSE(r.contains("block_height"));
  CHECK_FALSE(api::deposit_view(w.p, test::small_id(0x77)));
}

TEST_CASE("accounts, batches, blocks and health render with the spec's fields") {
  ApiWorld w;
  const Account* a = w.p.accounts.find(w.player.public_key);
  REQUIRE(a);
  api::Json acc = api::render_account(w.player.public_key, *a);
  CHECK(keys(acc) == std::vector<std::string>{"account", "balance", "reserved", "available", "nonce", "pending_nonce"});
  CHECK(acc["balance"] == 1000 - 100 + w.outcome_final.payout);
  CHECK(acc["reserved"] == 10);
  CHECK(acc["available"] == a->balance - 10);
  CHECK(acc["nonce"] == 1);
  CHECK(acc["pending_nonce"] == 2);

  api::Json batch = api::render_batch(w.batch_id, w.p.batches.at(w.batch_id));
  CHECK(batch == api::Json{{"batch_id", to_hex(w.batch_id)},
                           {"status", "created"},
                           {"attempts", 0},
                           {"max_attempts", 5},
                           {"items", 2},
                           {"confirmed_height", nullptr},
                           {"settlement_tx_id", nullptr},
                           {"pre_root", nullptr},
                           {"post_root", nullptr},
                           {"totals", nullptr}});
  SUBCASE("a proved, submitted and confirmed batch") {
    BatchRecord b = w.p.batches.at(w.batch_id);
    settlement::PublicInputs in;
    in.batch_id = w.batch_id;
    in.pre_root[0] = 1;
    in.post_root[0] = 2;
    in.totals = {2, 1000, 100, 7};
    b.inputs = in;
    b.lifecycle.prove();
    b.lifecycle.submit(1);
    b.settlement_tx_id[0] = 0xab;
    b.lifecycle.confirm(9);
    api::Json j = api::render_batch(w.batch_id, b);
    CHECK(j["status"] == "confirmed");
    CHECK(j["attempts"] == 1);
    CHECK(j["confirmed_height"] == 9);
    CHECK(j["settlement_tx_id"] == to_hex(b.settlement_tx_id));
    CHECK(j["pre_root"] == to_hex(in.pre_root));
    CHECK(j["post_root"] == to_hex(in.post_root));
    CHECK(j["totals"] == api::Json{{"item_count", 2}, {"deposits", 1000}, {"wagers", 100}, {"payouts", 7}});
  }

  const BlockCommitted& b2 = w.blocks.at(1);
  api::Json block = api::render_block(b2);
  CHECK(block == api::Json{{"height", 2},
                           {"hash", to_hex(b2.hash)},
                           {"prev_hash", to_hex(w.blocks.at(0).hash)},
                           {"time_ms", b2.time_ms},
                           {"tx_ids", {to_hex(tx_id(w.bet_final))}}});

  NodeHealth h{true, "ok", 12, 2, 3, {}};
  h.node_key.fill(0xab);
  CHECK(api::render_health(h) == api::Json{{"status", "ok"},
                                           {"ready", true},
                                           {"log_head", 12},
                                           {"block_height", 2},
                                           {"mempool_size", 3},
                                           {"node_key", to_hex(h.node_key)}});
}

TEST_CASE("submit outcomes map to the spec's statuses and codes") {
  using Kind = SubmitOutcome::Kind;
  SubmitOutcome o;
  o.kind = Kind::conflict;
  o.tx_id[0] = 0x42;
  api::Reply r = api::submit_error_reply(o);
  CHECK(r.status == 409);
  CHECK(r.body["error"] == "conflict");
  CHECK(r.body["existing_tx_id"] == to_hex(o.tx_id));
  CHECK(r.body["message"].is_string());
  CHECK(r.retry_after_s == 0);

  o = {};
  o.kind = Kind::refused;
  o.code = "wrong_nonce";
  o.message = "nonce 5 is not 2";
  r = api::submit_error_reply(o);
  CHECK(r.status == 400);
  CHECK(r.body == api::Json{{"error", "wrong_nonce"}, {"message", "nonce 5 is not 2"}});
  for (const char* code : {"bad_signature", "bad_terms", "zero_amount", "not_operator", "no_keys", "bad_proof",
                           "not_sequencer", "batch_mismatch"}) {
    o.code = code;
    CHECK(api::submit_error_reply(o).status == 400);
  }
  o.code = "insufficient_funds";
  CHECK(api::submit_error_reply(o).status == 402);
  CHECK(api::submit_error_reply(o).body["error"] == "insufficient_funds");

  o = {};
  o.kind = Kind::busy;
  o.retry_after_ms = 1500;
  r = api::submit_error_reply(o);
  CHECK(r.status == 503);
  CHECK(r.body["error"] == "busy");
  CHECK(r.retry_after_s == 2);
  CHECK(api::retry_after_seconds(0) == 1);
  CHECK(api::retry_after_seconds(1) == 1);
  CHECK(api::retry_after_seconds(1000) == 1);
  CHECK(api::retry_after_seconds(1001) == 2);
  CHECK(api::retry_after_seconds(30000) == 30);

  o = {};
  o.kind = Kind::unavailable;
  o.code = "unavailable";
  o.message = "journal failed: disk full";
  r = api::submit_error_reply(o);
  CHECK(r.status == 503);
  CHECK(r.body == api::Json{{"error", "unavailable"}, {"message", "journal failed: disk full"}});
  CHECK(r.retry_after_s == 0);

  api::Reply internal = api::internal_error_reply("00ff00ff00ff00ff");
  CHECK(internal.status == 500);
  CHECK(keys(internal.body) == std::vector<std::string>{"error", "message", "error_id"});
  CHECK(internal.body["error"] == "internal");
  CHECK(internal.body["error_id"] == "00ff00ff00ff00ff");
  CHECK(internal.body["message"].get<std::string>().find("00ff00ff00ff00ff") != std::string::npos);

  api::Reply e = api::error_reply(api::ApiError(404, "not_found", "no bet 00"));
  CHECK(e.status == 404);
  CHECK(api::dump(e.body) == R"({"error":"not_found","message":"no bet 00"})");
}
