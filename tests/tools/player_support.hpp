#pragma once
// Players for tests that drive a real `croupier node` over HTTP: seeded keys and ids, signed
// bets (their JSON: request_json.hpp), and deposits that fund them, signed with the node's
// operator key.
#include <chrono>
#include <filesystem>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/crypto.hpp"
#include "domain/games.hpp"
#include "domain/transactions.hpp"
#include "request_json.hpp"
#include "tools/http_client.hpp"

namespace croupier::test {

inline KeyPair random_key(std::mt19937_64& rng) {
  Seed s{};
  for (auto& b : s) b = static_cast<std::uint8_t>(rng());
  return keypair_from_seed(s);
}

inline Id128 random_id(std::mt19937_64& rng) {
  Id128 id{};
  for (auto& b : id) b = static_cast<std::uint8_t>(rng());
  return id;
}

// A dice bet of 10 on a roll below 50.
inline Bet signed_bet(const KeyPair& player, std::uint64_t nonce, std::mt19937_64& rng) {
  Bet b;
  b.bet_id = random_id(rng);
  b.account = player.public_key;
  b.nonce = nonce;
  b.game = static_cast<std::uint8_t>(Game::dice);
  b.wager = 10;
  b.choice = 50;
  for (auto& x : b.client_seed) x = static_cast<std::uint8_t>(rng());
  sign_tx(b, player);
  return b;
}

// Credits `amount` to `account` and waits for it to be final; the HTTP status.
inline unsigned fund(tools::HttpClient& http, const KeyPair& op, const PublicKey& account, Amount amount,
                     std::mt19937_64& rng) {
  Deposit d;
  d.deposit_id = random_id(rng);
  d.account = account;
  d.amount = amount;
  d.operator_key = op.public_key;
  sign_tx(d, op);
  nlohmann::json body = deposit_json(d);
  body["wait_ms"] = 10000;
  return http.request("POST", "/v1/deposits", body.dump(), std::chrono::seconds(15)).status;
}

}  // namespace croupier::test
