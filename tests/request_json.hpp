#pragma once
// The JSON bodies a client POSTs for a bet or a deposit (README "HTTP API"), for the tests that
// talk to the gateway or to a real node.

#include <string>

#include <nlohmann/json.hpp>

#include "domain/games.hpp"
#include "domain/transactions.hpp"

namespace croupier::test {

// The body of POST /v1/bets for `b`.
inline nlohmann::json bet_json(const Bet& b) {
  return {{"bet_id", to_hex(b.bet_id)},
          {"account", to_hex(b.account)},
          {"nonce", b.nonce},
          {"game", std::string(game_name(static_cast<Game>(b.game)))},
          {"wager", b.wager},
          {"choice", b.choice},
          {"client_seed", to_hex(b.client_seed)},
          {"signature", to_hex(b.signature)}};
}

// The body of POST /v1/deposits for `d`.
inline nlohmann::json deposit_json(const Deposit& d) {
  return {{"deposit_id", to_hex(d.deposit_id)},
          {"account", to_hex(d.account)},
          {"amount", d.amount},
          {"operator_key", to_hex(d.operator_key)},
          {"signature", to_hex(d.signature)}};
}

}  // namespace croupier::test
