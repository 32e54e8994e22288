#pragma once
// The JSON bodies of POST /v1/bets and POST /v1/deposits for a signed transaction, as the
// README's "HTTP API" documents them; for the client, the benchmarks and the tests.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/games.hpp"
#include "domain/transactions.hpp"

namespace croupier::tools {

inline nlohmann::json bet_request_body(const Bet& b, std::optional<std::uint64_t> wait_ms = std::nullopt) {
  auto game = static_cast<Game>(b.game);
  nlohmann::json body{{"bet_id", to_hex(b.bet_id)},
                      {"account", to_hex(b.account)},
                      {"nonce", b.nonce},
                      {"game", std::string(game_name(game))},
                      {"wager", b.wager},
                      {"choice", b.choice},
                      {"client_seed", to_hex(b.client_seed)},
                      {"signature", to_hex(b.signature)}};
  if (wait_ms) body["wait_ms"] = *wait_ms;
  return body;
}

inline nlohmann::json deposit_request_body(const Deposit& d, std::optional<std::uint64_t> wait_ms = std::nullopt) {
  nlohmann::json body{{"deposit_id", to_hex(d.deposit_id)},
                      {"account", to_hex(d.account)},
                      {"amount", d.amount},
                      {"operator_key", to_hex(d.operator_key)},
                      {"signature", to_hex(d.signature)}};
  if (wait_ms) body["wait_ms"] = *wait_ms;
  return body;
}

}  // namespace croupier::tools
