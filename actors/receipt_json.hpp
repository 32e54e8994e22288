#pragma once
// The JSON of a finality receipt (README "Finality receipts"): the `receipt` object of a
// final bet's answer, and reading a saved answer back for checking
// (domain/receipt.hpp check_bet_receipt). Pure functions: no CAF, no I/O; thread-safe.
//
//   "receipt": {
//     "client_seed": hex32, "signature": hex64,      the bet's, so that tx_id can be recomputed
//     "header": {"version", "height", "prev_hash", "time_ms", "tx_count", "tx_root", "block_hash",
//                "house_key"},
//     "tx_index": n, "tx_path": [hex32, ...],         leaf upwards
//     "signatures": [{"signer": "node", "key": hex32, "signature": hex64}, ...]
//   }
#include <string_view>

#include "actors/api_json.hpp"
#include "domain/receipt.hpp"

namespace croupier::actors::api {

// The receipt of bet `bet` (tx `tx_id`) in `block`. Precondition: the block holds tx_id.
Json render_receipt(const Bet& bet, const Hash32& tx_id, const receipt::SignedBlock& block);

// A final bet's answer (as POST /v1/bets, its batch element's body or GET /v1/bets/{id}
// returned it, integers as numbers or as decimal strings) read back for checking. Throws
// InputError naming the field for anything missing, ill-typed or out of range, and for an
// answer that is not a final bet with a receipt.
receipt::BetReceipt parse_bet_receipt(std::string_view answer);

}  // namespace croupier::actors::api
