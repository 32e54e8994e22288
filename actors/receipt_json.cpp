#include "actors/receipt_json.hpp"

#include <cassert>
#include <charconv>
#include <limits>
#include <string>

namespace croupier::actors::api {

namespace {

Json header_json(const receipt::BlockHeader& h) {
  Json j;
  j["version"] = h.version;
  j["height"] = h.height;
  j["prev_hash"] = to_hex(h.prev_hash);
  j["time_ms"] = h.time_ms;
  j["tx_count"] = h.tx_count;
  j["tx_root"] = to_hex(h.tx_root);
  j["block_hash"] = to_hex(h.block_hash);
  j["house_key"] = to_hex(h.house_key);
  return j;
}

// --- reading back: every field required, named in every error ---

const Json& member(const Json& j, std::string_view name, std::string_view where) {
  if (!j.is_object()) throw InputError(std::string(where) + ": expected a JSON object");
  auto it = j.find(name);
  if (it == j.end()) throw InputError(std::string(where) + "." + std::string(name) + " is missing");
  return *it;
}

std::string path_of(std::string_view where, std::string_view name) { return std::string(where) + "." + std::string(name); }

// A u64 as a JSON unsigned integer or a decimal string (Croupier-Numbers: string).
std::uint64_t u64_of(const Json& j, std::string_view where, std::string_view name,
                     std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  const Json& v = member(j, name, where);
  std::uint64_t out = 0;
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      throw InputError(path_of(where, name) + ": expected a decimal unsigned integer, got \"" + s + "\"");
  } else {
    throw InputError(path_of(where, name) + ": expected an unsigned integer");
  }
  if (out > max) throw InputError(path_of(where, name) + ": " + std::to_string(out) + " is out of range");
  return out;
}

const std::string& string_of(const Json& j, std::string_view where, std::string_view name) {
  const Json& v = member(j, name, where);
  if (!v.is_string()) throw InputError(path_of(where, name) + ": expected a string");
  return v.get_ref<const std::string&>();
}

template <std::size_t N>
FixedBytes<N> hex_of(const Json& j, std::string_view where, std::string_view name) {
  return fixed_from_hex<N>(string_of(j, where, name), path_of(where, name));
}

bool bool_of(const Json& j, std::string_view where, std::string_view name) {
  const Json& v = member(j, name, where);
  if (!v.is_boolean()) throw InputError(path_of(where, name) + ": expected true or false");
  return v.get<bool>();
}

Bet bet_of(const Json& answer, const Json& r) {
  Bet b;
  b.bet_id = hex_of<16>(answer, "answer", "bet_id");
  b.account = hex_of<32>(answer, "answer", "account");
  b.nonce = u64_of(answer, "answer", "nonce");
  const std::string& game = string_of(answer, "answer", "game");
  auto g = game_from_name(game);
  if (!g) throw InputError("answer.game: unknown game \"" + game + "\"");
  b.game = static_cast<std::uint8_t>(*g);
  b.wager = u64_of(answer, "answer", "wager");
  b.choice = static_cast<std::uint8_t>(u64_of(answer, "answer", "choice", 255));
  b.client_seed = hex_of<32>(r, "receipt", "client_seed");
  b.signature = hex_of<64>(r, "receipt", "signature");
  return b;
}

receipt::BlockHeader header_of(const Json& r) {
  const Json& h = member(r, "header", "receipt");
  const std::string_view at = "receipt.header";
  receipt::BlockHeader out;
  out.version = static_cast<std::uint8_t>(u64_of(h, at, "version", 255));
  out.height = u64_of(h, at, "height");
  out.prev_hash = hex_of<32>(h, at, "prev_hash");
  out.time_ms = u64_of(h, at, "time_ms");
  out.tx_count = static_cast<std::uint32_t>(u64_of(h, at, "tx_count", std::numeric_limits<std::uint32_t>::max()));
  out.tx_root = hex_of<32>(h, at, "tx_root");
  out.block_hash = hex_of<32>(h, at, "block_hash");
  out.house_key = hex_of<32>(h, at, "house_key");
  return out;
}

std::vector<Hash32> tx_path_of(const Json& r) {
  const Json& p = member(r, "tx_path", "receipt");
  if (!p.is_array()) throw InputError("receipt.tx_path: expected an array of hex hashes");
  std::vector<Hash32> out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!p[i].is_string()) throw InputError("receipt.tx_path[" + std::to_string(i) + "]: expected a hex string");
    out.push_back(fixed_from_hex<32>(p[i].get_ref<const std::string&>(), "receipt.tx_path[" + std::to_string(i) + "]"));
  }
  return out;
}

std::vector<receipt::HeaderSignature> signatures_of(const Json& r) {
  const Json& s = member(r, "signatures", "receipt");
  if (!s.is_array()) throw InputError("receipt.signatures: expected an array");
  std::vector<receipt::HeaderSignature> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::string at = "receipt.signatures[" + std::to_string(i) + "]";
    out.push_back({string_of(s[i], at, "signer"), hex_of<32>(s[i], at, "key"), hex_of<64>(s[i], at, "signature")});
  }
  return out;
}

}  // namespace

Json render_receipt(const Bet& bet, const Hash32& tx_id, const receipt::SignedBlock& block) {
  const auto index = block.index_of(tx_id);
  assert(index);
  Json path = Json::array();
  for (const auto& h : block.tree.path(*index)) path.push_back(to_hex(h));
  Json signatures = Json::array();
  for (const auto& s : block.signatures)
    signatures.push_back(Json{{"signer", s.signer}, {"key", to_hex(s.key)}, {"signature", to_hex(s.signature)}});
  Json j;
  j["client_seed"] = to_hex(bet.client_seed);
  j["signature"] = to_hex(bet.signature);
  j["header"] = header_json(block.header);
  j["tx_index"] = *index;
  j["tx_path"] = std::move(path);
  j["signatures"] = std::move(signatures);
  return j;
}

receipt::BetReceipt parse_bet_receipt(std::string_view text) {
  Json answer = Json::parse(text, nullptr, false);
  if (answer.is_discarded()) throw InputError("the answer is not JSON");
  if (answer.is_object() && answer.contains("body") && answer.contains("status") && answer["body"].is_object())
    answer = Json(answer["body"]);  // An element of POST /v1/bets/batch's results.
  const std::string& status = string_of(answer, "answer", "status");
  if (status != "final") throw InputError("answer.status is \"" + status + "\": only a final bet has a receipt");
  if (!answer.contains("bet_id")) throw InputError("the answer is not a bet's (it has no bet_id)");
  const Json& r = member(answer, "receipt", "answer");
  if (r.is_null()) throw InputError("answer.receipt is null: the node could not read the bet's block");
  receipt::BetReceipt out;
  out.bet = bet_of(answer, r);
  out.tx_id = hex_of<32>(answer, "answer", "tx_id");
  out.answer_height = u64_of(answer, "answer", "block_height");
  const Json& outcome = member(answer, "outcome", "answer");
  out.outcome.roll = static_cast<std::uint8_t>(u64_of(outcome, "answer.outcome", "roll", 255));
  out.outcome.win = bool_of(outcome, "answer.outcome", "win");
  out.outcome.payout = u64_of(answer, "answer", "payout");
  out.vrf_proof = hex_of<80>(answer, "answer", "vrf_proof");
  out.vrf_output = hex_of<64>(answer, "answer", "vrf_output");
  out.house_key = hex_of<32>(answer, "answer", "house_key");
  out.header = header_of(r);
  out.tx_index = u64_of(r, "receipt", "tx_index");
  out.tx_path = tx_path_of(r);
  out.signatures = signatures_of(r);
  return out;
}

}  // namespace croupier::actors::api
