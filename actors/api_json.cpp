#include "actors/api_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <set>
#include <vector>

#include "domain/games.hpp"

namespace croupier::actors::api {

namespace {

using InJson = nlohmann::json;

// A field name as quoted in a message: user input, so kept short.
std::string quote_name(std::string_view name) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  out.append(name.substr(0, kMax));
  if (name.size() > kMax) out += "...";
  return out + "\"";
}

// A parser's message for people, cut short: it quotes the input it stopped at.
std::string clipped(std::string_view text) {
  constexpr std::size_t kMax = 200;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

// Watches the parse for what nlohmann's parser lets through (it keeps the last of duplicate
// keys) and remembers the top-level field being read, to name it when the parser throws.
struct ParseWatch {
  std::vector<std::set<std::string>> keys;  // One set per open object, innermost last.
  std::string field;                        // The last top-level key seen.

  bool on_event(int depth, InJson::parse_event_t event, const InJson& parsed) {
    using Event = InJson::parse_event_t;
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end && !keys.empty()) keys.pop_back();
    if (event != Event::key) return true;
    const auto& key = parsed.get_ref<const std::string&>();
    if (depth == 1) field = key;
    if (!keys.empty() && !keys.back().insert(key).second) {
      std::string inside = keys.size() > 1 && !field.empty() ? " inside field " + quote_name(field) : "";
      throw ApiError(400, "bad_json", "request body: duplicate key " + quote_name(key) + inside);
    }
    return true;
  }
};

InJson parse_object(std::string_view body) {
  // nlohmann's lexer takes a NUL for the end of the input and ignores what follows it; JSON
  // text never holds a raw NUL (in a string it must be escaped), so one is refused here.
  if (auto nul = body.find('\0'); nul != std::string_view::npos)
    throw ApiError(400, "bad_json", "request body is not valid JSON: a NUL byte at offset " + std::to_string(nul));
  ParseWatch watch;
  InJson j;
  try {
    j = InJson::parse(body.begin(), body.end(), [&watch](int depth, InJson::parse_event_t event, InJson& parsed) {
      return watch.on_event(depth, event, parsed);
    });
  } catch (const InJson::parse_error& e) {  // Syntax, invalid UTF-8, data after the value.
    throw ApiError(400, "bad_json", "request body is not valid JSON: " + clipped(e.what()));
  } catch (const InJson::out_of_range& e) {  // A number beyond a double's range (1e400).
    std::string in = watch.field.empty() ? "" : " in field " + quote_name(watch.field);
    throw bad_request("request body: a number out of range" + in + " (" + clipped(e.what()) + ")");
  }
  if (!j.is_object()) throw ApiError(400, "bad_json", "request body must be a JSON object");
  return j;
}

// Refuses any field not in `allowed`.
template <std::size_t N>
void check_fields(const InJson& j, const std::array<std::string_view, N>& allowed) {
  for (const auto& item : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(item.key())) == allowed.end())
      throw bad_request("unknown field " + quote_name(item.key()));
  }
}

const InJson& required(const InJson& j, std::string_view field) {
  auto it = j.find(field);
  if (it == j.end()) throw bad_request("missing field " + quote_name(field));
  return *it;
}

template <std::size_t N>
FixedBytes<N> hex_field(const InJson& j, std::string_view field) {
  const InJson& v = required(j, field);
  if (!v.is_string())
    throw bad_request(std::string(field) + ": expected a string of " + std::to_string(2 * N) + " hex characters");
  return parse_hex_param<N>(v.get_ref<const std::string&>(), field);
}

// A JSON unsigned integer no greater than `max`.
std::uint64_t integer_value(const InJson& v, std::string_view field, std::uint64_t max) {
  std::string range = " in 0.." + std::to_string(max);
  if (v.is_number_unsigned()) {
    auto n = v.get<std::uint64_t>();
    if (n > max) throw bad_request(std::string(field) + ": " + std::to_string(n) + " is not" + range);
    return n;
  }
  if (v.is_number_integer()) throw bad_request(std::string(field) + ": must not be negative");
  throw bad_request(std::string(field) + ": expected an integer" + range);
}

// A u64: a JSON unsigned integer or a string of decimal digits.
std::uint64_t u64_field(const InJson& j, std::string_view field) {
  const InJson& v = required(j, field);
  if (v.is_string()) return parse_u64_param(v.get_ref<const std::string&>(), field);
  if (v.is_number_float())
    throw bad_request(std::string(field) + ": expected an unsigned integer (up to 2^64-1), not a fraction or a "
                                           "number that large; send large amounts as decimal strings");
  return integer_value(v, field, std::numeric_limits<std::uint64_t>::max());
}

std::chrono::milliseconds wait_field(const InJson& j, const WaitLimits& limits) {
  auto it = j.find("wait_ms");
  if (it == j.end()) return limits.default_wait;
  // null is not "absent": a client that sends it may believe it asked for something.
  if (it->is_null()) throw bad_request("wait_ms: null is not a wait; leave the field out for the default");
  auto max = static_cast<std::uint64_t>(std::max<std::chrono::milliseconds::rep>(limits.max_wait.count(), 0));
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(integer_value(*it, "wait_ms", max)));
}

template <std::size_t N>
Json hex_or_null(const std::optional<FixedBytes<N>>& b) {
  return b ? Json(to_hex(*b)) : Json(nullptr);
}

Json game_json(std::uint8_t game) {
  if (auto g = game_from_number(game)) return std::string(game_name(*g));
  return game;  // Never admitted; shown as its number rather than hidden.
}

std::optional<TxView> view_of(const Projections& p, const Hash32& tx_id) {
  auto it = p.txs.find(tx_id);
  if (it == p.txs.end()) return std::nullopt;
  const TxRecord& r = it->second;
  if (!std::holds_alternative<Bet>(r.tx) && !std::holds_alternative<Deposit>(r.tx)) return std::nullopt;
  TxView v;
  v.tx_id = tx_id;
  v.record = r;
  v.house_key = p.keys.house_key;
  if (r.batch_id) {
    auto b = p.batches.find(*r.batch_id);
    if (b != p.batches.end()) v.batch_status = b->second.lifecycle.status();
  }
  return v;
}

}  // namespace

ApiError bad_request(const std::string& message) { return ApiError(400, "bad_request", message); }

// --- requests ---------------------------------------------------------------------------

std::uint64_t parse_u64_param(std::string_view text, std::string_view field) {
  auto bad = [&] {
    return bad_request(std::string(field) + ": expected a decimal unsigned integer (up to 2^64-1), got " +
                       quote_name(text));
  };
  if (text.empty() || text.size() > 20) throw bad();
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') throw bad();
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) throw bad();
    n = n * 10 + digit;
  }
  return n;
}

namespace {

// A bet's fields from `j`, whose field names were checked.
Bet bet_from_object(const InJson& j) {
  Bet b;
  b.bet_id = hex_field<16>(j, "bet_id");
  b.account = hex_field<32>(j, "account");
  b.nonce = u64_field(j, "nonce");
  const InJson& game = required(j, "game");
  if (!game.is_string()) throw bad_request("game: expected a string, \"coinflip\" or \"dice\"");
  auto g = game_from_name(game.get_ref<const std::string&>());
  if (!g)
    throw ApiError(400, "bad_terms",
                   "game: unknown game " + quote_name(game.get_ref<const std::string&>()) + " (coinflip or dice)");
  b.game = static_cast<std::uint8_t>(*g);
  b.wager = u64_field(j, "wager");
  b.choice = static_cast<std::uint8_t>(integer_value(required(j, "choice"), "choice", 255));
  b.client_seed = hex_field<32>(j, "client_seed");
  b.signature = hex_field<64>(j, "signature");
  return b;
}

constexpr std::array<std::string_view, 8> kBetFields = {"bet_id", "account", "nonce",       "game",
                                                        "wager",  "choice",  "client_seed", "signature"};

}  // namespace

BetRequest parse_bet_request(std::string_view body, const WaitLimits& limits) {
  static constexpr std::array<std::string_view, 9> kFields = {"bet_id", "account",     "nonce",     "game",   "wager",
                                                              "choice", "client_seed", "signature", "wait_ms"};
  InJson j = parse_object(body);
  check_fields(j, kFields);
  BetRequest r;
  r.bet = bet_from_object(j);
  r.wait = wait_field(j, limits);
  return r;
}

BetBatchRequest parse_bet_batch_request(std::string_view body, std::size_t max_bets, const WaitLimits& limits) {
  static constexpr std::array<std::string_view, 2> kFields = {"bets", "wait_ms"};
  InJson j = parse_object(body);
  check_fields(j, kFields);
  const InJson& bets = required(j, "bets");
  if (!bets.is_array()) throw bad_request("bets: expected an array of bets");
  if (bets.empty()) throw bad_request("bets: the array is empty");
  if (bets.size() > max_bets)
    throw ApiError(413, "too_large", "bets: " + std::to_string(bets.size()) + " bets, more than the " +
                                         std::to_string(max_bets) + " a batch may hold (croupier.batch-max-bets)");
  BetBatchRequest r;
  r.wait = wait_field(j, limits);
  r.bets.reserve(bets.size());
  for (const InJson& element : bets) {
    try {
      if (!element.is_object()) throw bad_request("a bet must be a JSON object");
      check_fields(element, kBetFields);
      r.bets.emplace_back(bet_from_object(element));
    } catch (const ApiError& e) {
      r.bets.emplace_back(e);
    }
  }
  return r;
}

DepositRequest parse_deposit_request(std::string_view body, const WaitLimits& limits) {
  static constexpr std::array<std::string_view, 6> kFields = {"deposit_id",   "account",   "amount",
                                                              "operator_key", "signature", "wait_ms"};
  InJson j = parse_object(body);
  check_fields(j, kFields);
  DepositRequest r;
  Deposit& d = r.deposit;
  d.deposit_id = hex_field<16>(j, "deposit_id");
  d.account = hex_field<32>(j, "account");
  d.amount = u64_field(j, "amount");
  d.operator_key = hex_field<32>(j, "operator_key");
  d.signature = hex_field<64>(j, "signature");
  r.wait = wait_field(j, limits);
  return r;
}

// --- transactions -----------------------------------------------------------------------

bool numbers_as_strings(std::string_view header) {
  auto lower = [](std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string value = lower(header);
  if (value.empty() || value == "number") return false;
  if (value == "string") return true;
  throw bad_request("Croupier-Numbers: " + quote_name(header) + " is neither \"string\" nor \"number\"");
}

void integers_to_strings(Json& j) {
  if (j.is_number_unsigned()) {
    j = std::to_string(j.get<std::uint64_t>());
  } else if (j.is_number_integer()) {
    j = std::to_string(j.get<std::int64_t>());
  } else if (j.is_structured()) {
    for (auto& child : j) integers_to_strings(child);
  }
}

std::string_view tx_phase_name(TxPhase p) {
  switch (p) {
    case TxPhase::pending: return "pending";
    case TxPhase::final: return "final";
    case TxPhase::rejected: return "rejected";
  }
  return "unknown";
}

std::optional<TxView> tx_view(const Projections& p, const Hash32& tx_id) { return view_of(p, tx_id); }

std::optional<TxView> bet_view(const Projections& p, const Id128& bet_id) {
  auto it = p.bets.find(bet_id);
  if (it == p.bets.end()) return std::nullopt;
  return view_of(p, it->second);
}

std::optional<TxView> deposit_view(const Projections& p, const Id128& deposit_id) {
  auto it = p.deposits.find(deposit_id);
  if (it == p.deposits.end()) return std::nullopt;
  return view_of(p, it->second);
}

TxPhase tx_phase(const TxView& v) {
  const TxRecord& r = v.record;
  if (r.status == TxStatus::rejected) return TxPhase::rejected;
  if (r.status != TxStatus::accepted) return TxPhase::pending;
  if (std::holds_alternative<Bet>(r.tx)) return r.outcome ? TxPhase::final : TxPhase::pending;
  return r.block_height != 0 ? TxPhase::final : TxPhase::pending;
}

bool needs_bet_proof(const TxView& v) {
  return std::holds_alternative<Bet>(v.record.tx) && tx_phase(v) == TxPhase::final;
}

Json render_bet(const TxView& v, const std::optional<BetProof>& proof) {
  const Bet& b = std::get<Bet>(v.record.tx);
  TxPhase phase = tx_phase(v);
  std::string bet_id = to_hex(b.bet_id);
  Json j;
  j["status"] = tx_phase_name(phase);
  j["bet_id"] = bet_id;
  j["tx_id"] = to_hex(v.tx_id);
  if (phase == TxPhase::pending) {
    j["poll"] = "/v1/bets/" + bet_id;
    return j;
  }
  j["account"] = to_hex(b.account);
  j["nonce"] = b.nonce;
  j["game"] = game_json(b.game);
  j["wager"] = b.wager;
  j["choice"] = b.choice;
  if (phase == TxPhase::rejected) return j;
  const Outcome& o = *v.record.outcome;
  j["outcome"] = Json{{"roll", o.roll}, {"win", o.win}};
  j["payout"] = o.payout;
  j["block_height"] = v.record.block_height;
  j["vrf_proof"] = proof ? Json(to_hex(proof->proof)) : Json(nullptr);
  j["vrf_output"] = proof ? Json(to_hex(proof->output)) : Json(nullptr);
  j["house_key"] = to_hex(v.house_key);
  j["batch_id"] = hex_or_null(v.record.batch_id);
  j["batch_status"] = v.batch_status ? Json(std::string(batch_status_name(*v.batch_status))) : Json(nullptr);
  return j;
}

Json render_deposit(const TxView& v) {
  const Deposit& d = std::get<Deposit>(v.record.tx);
  TxPhase phase = tx_phase(v);
  std::string deposit_id = to_hex(d.deposit_id);
  Json j;
  j["status"] = tx_phase_name(phase);
  j["deposit_id"] = deposit_id;
  j["tx_id"] = to_hex(v.tx_id);
  if (phase == TxPhase::pending) {
    j["poll"] = "/v1/deposits/" + deposit_id;
    return j;
  }
  j["account"] = to_hex(d.account);
  j["amount"] = d.amount;
  if (phase == TxPhase::final) j["block_height"] = v.record.block_height;
  return j;
}

Json render_tx(const TxView& v, const std::optional<BetProof>& proof) {
  if (std::holds_alternative<Bet>(v.record.tx)) return render_bet(v, proof);
  return render_deposit(v);
}

// --- other resources --------------------------------------------------------------------

Json render_account(const PublicKey& account, const Account& a) {
  Json j;
  j["account"] = to_hex(account);
  j["balance"] = a.balance;
  j["reserved"] = a.reserved;
  j["available"] = a.available();
  j["nonce"] = a.nonce;
  j["pending_nonce"] = a.pending_nonce;
  return j;
}

Json render_batch(const Id128& batch_id, const BatchRecord& b) {
  const BatchLifecycle& l = b.lifecycle;
  std::optional<Hash32> settlement_tx;
  if (l.attempts() > 0) settlement_tx = b.settlement_tx_id;
  Json j;
  j["batch_id"] = to_hex(batch_id);
  j["status"] = batch_status_name(l.status());
  j["attempts"] = l.attempts();
  j["max_attempts"] = l.max_attempts();
  j["items"] = b.items.size();
  j["confirmed_height"] = l.status() == BatchStatus::confirmed ? Json(l.confirmed_height()) : Json(nullptr);
  j["settlement_tx_id"] = hex_or_null(settlement_tx);
  if (b.inputs) {
    const settlement::Totals& t = b.inputs->totals;
    j["pre_root"] = to_hex(b.inputs->pre_root);
    j["post_root"] = to_hex(b.inputs->post_root);
    j["totals"] = Json{{"item_count", t.item_count}, {"deposits", t.deposits}, {"wagers", t.wagers},
                       {"payouts", t.payouts}};
  } else {
    j["pre_root"] = nullptr;
    j["post_root"] = nullptr;
    j["totals"] = nullptr;
  }
  return j;
}

Json render_block(const BlockCommitted& b) {
  Json ids = Json::array();
  for (const auto& id : b.tx_ids) ids.push_back(to_hex(id));
  Json j;
  j["height"] = b.height;
  j["hash"] = to_hex(b.hash);
  j["prev_hash"] = to_hex(b.prev_hash);
  j["time_ms"] = b.time_ms;
  j["tx_ids"] = std::move(ids);
  return j;
}

Json render_health(const NodeHealth& h) {
  Json j;
  j["status"] = h.status;
  j["ready"] = h.ready;
  j["log_head"] = h.log_head;
  j["block_height"] = h.block_height;
  j["mempool_size"] = h.mempool_size;
  j["node_key"] = to_hex(h.node_key);
  return j;
}

// --- errors and replies -----------------------------------------------------------------

Json error_json(std::string_view code, std::string_view message) {
  Json j;
  j["error"] = code;
  j["message"] = message;
  return j;
}

unsigned refusal_status(std::string_view code) { return code == "insufficient_funds" ? 402 : 400; }

std::uint64_t retry_after_seconds(std::uint64_t retry_after_ms) {
  return std::max<std::uint64_t>(1, retry_after_ms / 1000 + (retry_after_ms % 1000 != 0 ? 1 : 0));
}

Reply error_reply(const ApiError& e) { return Reply{e.status(), error_json(e.code(), e.what()), 0}; }

Reply internal_error_reply(std::string_view error_id) {
  Json j = error_json("internal", "internal error " + std::string(error_id) +
                                      "; the node's log has its details under this error_id");
  j["error_id"] = error_id;
  return Reply{500, std::move(j), 0};
}

Reply tx_reply(const TxView& v, const std::optional<BetProof>& proof, bool answering_post) {
  unsigned status = answering_post && tx_phase(v) == TxPhase::pending ? 202 : 200;
  return Reply{status, render_tx(v, proof), 0};
}

Reply submit_error_reply(const SubmitOutcome& o) {
  using Kind = SubmitOutcome::Kind;
  switch (o.kind) {
    case Kind::conflict: {
      Json j = error_json("conflict", o.message.empty() ? "the idempotency key is held by another transaction"
                                                        : o.message);
      j["existing_tx_id"] = to_hex(o.tx_id);
      return Reply{409, std::move(j), 0};
    }
    case Kind::refused: {
      std::string code = o.code.empty() ? "bad_request" : o.code;
      return Reply{refusal_status(code), error_json(code, o.message.empty() ? "refused: " + code : o.message), 0};
    }
    case Kind::busy:
      return Reply{503, error_json("busy", o.message.empty() ? "the mempool is full; retry later" : o.message),
                   retry_after_seconds(o.retry_after_ms)};
    case Kind::unavailable:
      return Reply{503, error_json("unavailable", o.message.empty() ? "the node is unavailable" : o.message), 0};
    case Kind::admitted:
    case Kind::duplicate:
      break;
  }
  return Reply{500, error_json("internal", "submit_error_reply called for an admitted or duplicate transaction"), 0};
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace croupier::actors::api
