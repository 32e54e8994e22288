// POST /v1/bets/batch against the real `croupier node`: 40 players' signed bets in one request
// become final together, each answered in order exactly as POST /v1/bets answers it (the same
// body as a later GET, and as a resend of the whole batch: dedup), while a malformed element
// and a bet with a wrong nonce are refused alone, each with the status and code a single POST
// gives it.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/crypto.hpp"
#include "domain/games.hpp"
#include "domain/transactions.hpp"
#include "node_process.hpp"
#include "player_support.hpp"
#include "test_support.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace {

using namespace croupier;
using nlohmann::json;
namespace fs = std::filesystem;


using test::bet_json;
using test::random_key;
using test::signed_bet;

// A bet's answer without its settlement batch's fields, which change as the batch is cut.
json without_batch(json body) {
  body.erase("batch_id");
  body.erase("batch_status");
  return body;
}

}  // namespace

TEST_CASE("ABatchOfFortyBetsBecomesFinalTogetherAndEachAnswerIsASinglePostsAnswer") {
  test::TempDir dir("croupier-bet-batch");
  test::NodeProcess node(dir.path(), "");
  const fs::path data = node.data;
  const std::uint16_t port = node.port;
  const KeyPair op = tools::read_node_keys(data)->operator_key;
  tools::HttpClient http("127.0.0.1", port);
  std::mt19937_64 rng(20261202);

  std::vector<KeyPair> players;
  for (int i = 0; i < 40; ++i) {
    players.push_back(random_key(rng));
    REQUIRE(test::fund(http, op, players.back().public_key, 1000, rng) == 200);
  }

  json bets = json::array();
  std::vector<Bet> placed;
  for (const auto& p : players) {
    placed.push_back(signed_bet(p, 1, rng));
    bets.push_back(bet_json(placed.back()));
  }
  json malformed = bet_json(signed_bet(players[0], 2, rng));
  malformed["wager"] = "ten";
  bets.push_back(malformed);
  const Bet wrong_nonce = signed_bet(players[1], 7, rng);
  bets.push_back(bet_json(wrong_nonce));

  auto r = http.request("POST", "/v1/bets/batch", json{{"bets", bets}, {"wait_ms", 20000}}.dump(), std::chrono::seconds(40));
  CAPTURE(r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  const json results = json::parse(r.body).at("results");
  REQUIRE(results.size() == 42);
  for (std::size_t i = 0; i < placed.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i]["status"] == 200);
    CHECK(results[i]["body"]["status"] == "final");
    CHECK(results[i]["body"]["bet_id"] == to_hex(placed[i].bet_id));
    // The same body as a GET of it (but for its settlement batch, which may have been cut since).
    auto g = http.request("GET", "/v1/bets/" + to_hex(placed[i].bet_id), "", std::chrono::seconds(10));
    CHECK(without_batch(json::parse(g.body)) == without_batch(results[i]["body"]));
  }
  CHECK(results[40]["status"] == 400);
  CHECK(results[40]["body"]["error"] == "bad_request");
  // The wrong nonce: what a single POST of that bet answers.
  json alone_body = bet_json(wrong_nonce);
  auto alone = http.request("POST", "/v1/bets", alone_body.dump(), std::chrono::seconds(10));
  CHECK(results[41]["status"] == alone.status);
  CHECK(results[41]["body"]["error"] == json::parse(alone.body)["error"]);
  CHECK(results[41]["status"] != 200);

  // A resend of the whole batch: every bet is the same duplicate, answered alike.
  bets.erase(bets.end() - 2, bets.end());
  auto again = http.request("POST", "/v1/bets/batch", json{{"bets", bets}, {"wait_ms", 5000}}.dump(), std::chrono::seconds(20));
  REQUIRE(again.status == 200);
  const json again_results = json::parse(again.body).at("results");
  REQUIRE(again_results.size() == 40);
  for (std::size_t i = 0; i < placed.size(); ++i) {
    CHECK(again_results[i]["status"] == 200);
    CHECK(without_batch(again_results[i]["body"]) == without_batch(results[i]["body"]));
  }

  node.process->send(SIGTERM);
  CHECK(node.process->wait(std::chrono::seconds(30)).exit_code == 0);
}

TEST_CASE("OneAccountsBetsInOneBatchAreAdmittedInNonceOrderInAnyOrderGivenAndAllBecomeFinal") {
  test::TempDir dir("croupier-bet-batch-chain");
  test::NodeProcess node(dir.path(), "");
  const fs::path data = node.data;
  const std::uint16_t port = node.port;
  const KeyPair op = tools::read_node_keys(data)->operator_key;
  tools::HttpClient http("127.0.0.1", port);
  std::mt19937_64 rng(20261204);

  // Three players, five bets each (nonces 1..5), interleaved and each player's out of order;
  // then one more of player 0 with a gap (nonce 7): refused as a POST of it would be.
  std::vector<KeyPair> players;
  for (int i = 0; i < 3; ++i) {
    players.push_back(random_key(rng));
    REQUIRE(test::fund(http, op, players.back().public_key, 1000, rng) == 200);
  }
  std::vector<Bet> placed;
  for (std::uint64_t nonce : {3, 1, 5, 2, 4})
    for (const auto& p : players) placed.push_back(signed_bet(p, nonce, rng));
  json bets = json::array();
  for (const auto& b : placed) bets.push_back(bet_json(b));
  bets.push_back(bet_json(signed_bet(players[0], 7, rng)));

  auto r = http.request("POST", "/v1/bets/batch", json{{"bets", bets}, {"wait_ms", 20000}}.dump(), std::chrono::seconds(40));
  CAPTURE(r.body.substr(0, 800));
  REQUIRE(r.status == 200);
  const json results = json::parse(r.body).at("results");
  REQUIRE(results.size() == placed.size() + 1);
  for (std::size_t i = 0; i < placed.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i]["status"] == 200);
    CHECK(results[i]["body"]["status"] == "final");
    CHECK(results[i]["body"]["bet_id"] == to_hex(placed[i].bet_id));
    CHECK(results[i]["body"]["nonce"] == placed[i].nonce);
  }
  CHECK(results.back()["status"] == 400);
  CHECK(results.back()["body"]["error"] == "wrong_nonce");
  for (const auto& p : players) {
    auto a = http.request("GET", "/v1/accounts/" + to_hex(p.public_key));
    CHECK(json::parse(a.body).at("nonce") == 5);
  }
  node.process->send(SIGTERM);
  CHECK(node.process->wait(std::chrono::seconds(30)).exit_code == 0);
}
