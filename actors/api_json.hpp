#pragma once
// The JSON of the HTTP API v1: request bodies to domain transactions, and the node's state to
// response bodies and status codes. The contract is the API spec (README, "HTTP API"); the
// gateway (actors/gateway.hpp) does the HTTP and calls these. Pure functions: no Boost, no
// CAF, no I/O, no clock; thread-safe.
//
// Input rules: a body must be one JSON object and nothing else: no duplicate key at any
// depth, no NUL byte, nothing but whitespace after the value (each a bad_json); every field
// of the spec is required unless marked optional and no other field is allowed (a typo
// never passes silently); an optional field is given a value or left out (null is refused,
// never read as "absent"); hex is accepted in either case; u64 fields (amount, wager, nonce)
// are JSON unsigned integers or decimal strings (for clients whose numbers are doubles);
// choice and wait_ms are JSON integers; a number out of any range, a double's included
// (1e400), is a bad_request. Every message names the field at fault.
// Output: hex is lower case, amounts are integers, fields appear in the spec's order.
//
// A transaction is shown in one of three phases:
//   final     a bet accepted and resolved (its outcome is known), or a deposit accepted and
//             committed in a block;
//   rejected  consensus rejected it;
//   pending   everything else (admitted, or accepted but not yet resolved/committed).

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/node_api.hpp"
#include "domain/projections.hpp"
#include "domain/vrf.hpp"

namespace croupier::actors::api {

using Json = nlohmann::ordered_json;  // Keeps fields in the order the spec lists them.

// A request the API refuses: HTTP status, stable error code ("bad_json", "bad_request",
// "bad_terms", "not_found", ...) and a message for people (what()).
class ApiError : public std::runtime_error {
 public:
  ApiError(unsigned status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  unsigned status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  unsigned status_;
  std::string code_;
};

// 400 bad_request with `message`.
ApiError bad_request(const std::string& message);

// --- requests ---------------------------------------------------------------------------

struct WaitLimits {
  std::chrono::milliseconds default_wait{2000};  // When the body has no wait_ms.
  std::chrono::milliseconds max_wait{30000};     // wait_ms above this is a bad_request.
};

struct BetRequest {
  Bet bet;
  std::chrono::milliseconds wait{0};
  friend bool operator==(const BetRequest&, const BetRequest&) = default;
};

// The body of POST /v1/bets/batch: {"bets": [bet, ...], "wait_ms": N}, each bet a POST /v1/bets
// body without wait_ms (the batch has one wait). Each element is its bet, or the ApiError that
// POST /v1/bets would answer for that body: one malformed element refuses only itself.
struct BetBatchRequest {
  std::vector<std::variant<Bet, ApiError>> bets;
  std::chrono::milliseconds wait{0};
};

struct DepositRequest {
  Deposit deposit;
  std::chrono::milliseconds wait{0};
  friend bool operator==(const DepositRequest&, const DepositRequest&) = default;
};

// The body of POST /v1/bets. Throws ApiError: 400 bad_json (not JSON, not an
// object, a duplicate key, a NUL byte, data after the object), 400 bad_request (missing,
// unknown, null or ill-typed field, a number out of range, bad hex, wrong length, wait_ms out
// of range), 400 bad_terms (unknown game name). Other terms (choice, wager limits), the
// signature and the nonce are the node's to check.
BetRequest parse_bet_request(std::string_view body, const WaitLimits& limits = {});

// Throws ApiError 400 for a body that is not {"bets": [...], "wait_ms"?} with 1..max_bets
// elements (413 too_large beyond max_bets); elements are parsed one by one, as above.
BetBatchRequest parse_bet_batch_request(std::string_view body, std::size_t max_bets, const WaitLimits& limits = {});

// The body of POST /v1/deposits. Throws ApiError as parse_bet_request.
DepositRequest parse_deposit_request(std::string_view body, const WaitLimits& limits = {});

// A hex path parameter of exactly N bytes (bet_id, deposit_id, account, batch_id); throws
// ApiError 400 bad_request naming `field`.
template <std::size_t N>
FixedBytes<N> parse_hex_param(std::string_view text, std::string_view field) {
  try {
    return fixed_from_hex<N>(text, field);
  } catch (const InputError& e) {
    throw bad_request(e.what());
  }
}

// A decimal u64 path parameter (a block height); throws ApiError 400 bad_request naming `field`.
std::uint64_t parse_u64_param(std::string_view text, std::string_view field);

// --- transactions -----------------------------------------------------------------------

enum class TxPhase { pending, final, rejected };
std::string_view tx_phase_name(TxPhase p);  // "pending", "final", "rejected"

// What rendering a bet or deposit needs, copied out of the projections (so that the read
// lock is held only for the copy).
struct TxView {
  Hash32 tx_id{};
  TxRecord record;                          // Its tx is a Bet or a Deposit.
  PublicKey house_key{};                    // The house key in force (for bets).
  std::optional<BatchStatus> batch_status;  // Of record.batch_id, when it has one.
};

// nullopt when unknown, or when the tx is neither a bet nor a deposit.
std::optional<TxView> tx_view(const Projections& p, const Hash32& tx_id);
std::optional<TxView> bet_view(const Projections& p, const Id128& bet_id);
std::optional<TxView> deposit_view(const Projections& p, const Id128& deposit_id);

TxPhase tx_phase(const TxView& v);

// True when rendering `v` shows a VRF proof: a final bet. The caller then fetches the proof
// (NodeApi::bet_proof) outside the read lock and passes it to render_tx.
bool needs_bet_proof(const TxView& v);

// The body for a bet or deposit (the spec's final / rejected / pending forms). For a final
// bet, `proof` gives vrf_proof and vrf_output (both null when it is missing: a node whose
// log lacks the bet's BetResolved); it is ignored otherwise.
Json render_tx(const TxView& v, const std::optional<BetProof>& proof);
Json render_bet(const TxView& v, const std::optional<BetProof>& proof);  // Precondition: a bet.
Json render_deposit(const TxView& v);                                      // Precondition: a deposit.

// --- other resources --------------------------------------------------------------------

Json render_account(const PublicKey& account, const Account& a);
Json render_batch(const Id128& batch_id, const BatchRecord& b);
Json render_block(const BlockCommitted& b);
Json render_health(const NodeHealth& h);

// --- errors and replies -----------------------------------------------------------------

// {"error": code, "message": message}
Json error_json(std::string_view code, std::string_view message);

// The HTTP status of a refusal code: 402 for insufficient_funds, 400 for every other.
unsigned refusal_status(std::string_view code);

// Retry-After seconds for a busy answer: ceil(ms / 1000), at least 1.
std::uint64_t retry_after_seconds(std::uint64_t retry_after_ms);

// A response: status, JSON body and, for 503 busy, the Retry-After seconds (0: no header).
struct Reply {
  unsigned status = 200;
  Json body;
  std::uint64_t retry_after_s = 0;
};

Reply error_reply(const ApiError& e);

// The reply to a bug, 500 internal: {"error": "internal", "message", "error_id": id}. It
// carries no detail (an exception's text is for the operator, not the client); the caller
// logs the detail under the same id.
Reply internal_error_reply(std::string_view error_id);

// The reply for a bet or deposit: 200, except 202 for a pending tx answered to a POST.
Reply tx_reply(const TxView& v, const std::optional<BetProof>& proof, bool answering_post);

// The reply for a SubmitOutcome that is not admitted/duplicate (those are rendered from the
// projections with tx_reply): conflict 409 (with existing_tx_id), refused 400/402 with its
// code, busy 503 with Retry-After, unavailable 503. Precondition: o.kind is one of those.
Reply submit_error_reply(const SubmitOutcome& o);

// The request header Croupier-Numbers: "string" (every integer of the answer as a decimal
// string, for clients whose numbers are doubles: JavaScript reads 2^53 + 1 as 2^53), "number"
// or absent (JSON integers). Case-insensitive; anything else throws ApiError 400 bad_request.
bool numbers_as_strings(std::string_view header);
// Replaces every integer in `j`, at any depth, by its decimal string.
void integers_to_strings(Json& j);

// Compact JSON text; invalid UTF-8 (which a parsed request never has) is replaced, never thrown.
std::string dump(const Json& j);

}  // namespace croupier::actors::api
