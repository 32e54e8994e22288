#include "actors/event_json.hpp"

#include <charconv>

#include "domain/games.hpp"

namespace croupier::actors::api {

namespace {

Json hex_list(const std::vector<Id128>& ids) {
  Json a = Json::array();
  for (const auto& id : ids) a.push_back(to_hex(id));
  return a;
}

Json game_of(std::uint8_t game) {
  if (auto g = game_from_number(game)) return std::string(game_name(*g));
  return game;
}

Json totals_json(const settlement::Totals& t) {
  return Json{{"item_count", t.item_count}, {"deposits", t.deposits}, {"wagers", t.wagers}, {"payouts", t.payouts}};
}

Json inputs_json(const settlement::PublicInputs& in) {
  return Json{{"batch_id", to_hex(in.batch_id)},
              {"pre_root", to_hex(in.pre_root)},
              {"post_root", to_hex(in.post_root)},
              {"items_digest", to_hex(in.items_digest)},
              {"totals", totals_json(in.totals)}};
}

void add_tx(Json& j, const Tx& tx) {
  j["tx_id"] = to_hex(tx_id(tx));
  j["kind"] = tx_kind_name(tx_kind(tx));
  if (const auto* b = std::get_if<Bet>(&tx)) {
    j["bet_id"] = to_hex(b->bet_id);
    j["account"] = to_hex(b->account);
    j["nonce"] = b->nonce;
    j["game"] = game_of(b->game);
    j["wager"] = b->wager;
    j["choice"] = b->choice;
    j["client_seed"] = to_hex(b->client_seed);
    j["signature"] = to_hex(b->signature);
  } else if (const auto* d = std::get_if<Deposit>(&tx)) {
    j["deposit_id"] = to_hex(d->deposit_id);
    j["account"] = to_hex(d->account);
    j["amount"] = d->amount;
    j["operator_key"] = to_hex(d->operator_key);
    j["signature"] = to_hex(d->signature);
  } else {
    const auto& s = std::get<Settlement>(tx);
    j["batch_id"] = to_hex(s.inputs.batch_id);
    j["inputs"] = inputs_json(s.inputs);
    j["sequencer_key"] = to_hex(s.sequencer_key);
    j["proof"] = to_hex(s.proof);
  }
}

Json item_json(const settlement::Item& i) {
  return Json{{"kind", i.kind == settlement::ItemKind::bet ? "bet" : "deposit"},
              {"id", to_hex(i.id)},
              {"tx_id", to_hex(i.tx_id)},
              {"account", to_hex(i.account)},
              {"amount", i.amount},
              {"payout", i.payout}};
}

// The event's own fields, after the envelope.
struct Fields {
  Json& j;
  void operator()(const NodeStarted& e) {
    j["node_id"] = to_hex(e.node_id);
    j["version"] = e.version;
    j["operator_key"] = to_hex(e.operator_key);
    j["house_key"] = to_hex(e.house_key);
    j["sequencer_key"] = to_hex(e.sequencer_key);
    j["settles"] = e.settles;
  }
  void operator()(const TxAdmitted& e) { add_tx(j, e.tx); }
  void operator()(const TxFinalized& e) {
    j["tx_id"] = to_hex(e.tx_id);
    j["kind"] = tx_kind_name(e.key.kind);
    j["id"] = to_hex(e.key.id);
    j["accepted"] = e.accepted;
    j["block_height"] = e.accepted ? Json(e.block_height) : Json(nullptr);
  }
  void operator()(const BlockCommitted& e) {
    Json ids = Json::array();
    for (const auto& id : e.tx_ids) ids.push_back(to_hex(id));
    j["height"] = e.height;
    j["hash"] = to_hex(e.hash);
    j["prev_hash"] = to_hex(e.prev_hash);
    j["time_ms"] = e.time_ms;
    j["tx_ids"] = std::move(ids);
  }
  void operator()(const BetResolved& e) {
    j["tx_id"] = to_hex(e.tx_id);
    j["bet_id"] = to_hex(e.bet_id);
    j["roll"] = e.roll;
    j["win"] = e.win;
    j["payout"] = e.payout;
    j["vrf_proof"] = to_hex(e.vrf_proof);
  }
  void operator()(const BatchCreated& e) {
    Json items = Json::array();
    for (const auto& i : e.items) items.push_back(item_json(i));
    j["batch_id"] = to_hex(e.batch_id);
    j["max_attempts"] = e.max_attempts;
    j["items"] = std::move(items);
  }
  void operator()(const BatchProved& e) {
    j["batch_id"] = to_hex(e.batch_id);
    j["inputs"] = inputs_json(e.inputs);
    j["sequencer_key"] = to_hex(e.sequencer_key);
    j["proof"] = to_hex(e.proof);
    j["witness_accounts"] = e.witness.accounts.size();
  }
  void operator()(const BatchSubmitted& e) {
    j["batch_id"] = to_hex(e.batch_id);
    j["attempt"] = e.attempt;
    j["settlement_tx_id"] = to_hex(e.settlement_tx_id);
  }
  void operator()(const BatchConfirmed& e) {
    j["batch_id"] = to_hex(e.batch_id);
    j["height"] = e.height;
  }
  void operator()(const BatchFailed& e) {
    j["batch_id"] = to_hex(e.batch_id);
    j["reason"] = e.reason;
  }
  void operator()(const ReconciliationReport& e) {
    j["confirmed"] = hex_list(e.confirmed);
    j["missing"] = hex_list(e.missing);
    j["orphaned"] = hex_list(e.orphaned);
    j["mismatched"] = hex_list(e.mismatched);
  }
  void operator()(const SnapshotTaken& e) {
    j["snapshot_seq"] = e.snapshot_seq;
    j["digest"] = to_hex(e.digest);
  }
};

std::uint64_t parse_seq(std::string_view text, std::string_view what) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw bad_request(std::string(what) + " must be a sequence number (a decimal u64), not '" +
                      std::string(text.substr(0, 40)) + "'");
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query value with %XX and '+' decoded (a comma is often sent as %2C).
std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else if (text[i] == '%') {
      throw bad_request("the query has a malformed %-escape");
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

Json render_event(const LoggedEvent& e) {
  Json j;
  j["seq"] = e.seq;
  j["type"] = event_type_name(event_type(e.event));
  j["log_time_ms"] = e.time_ms;
  std::visit(Fields{j}, e.event);
  return j;
}

EventTypeMask parse_event_types(std::string_view list) {
  EventTypeMask mask = 0;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    std::string_view name = list.substr(start, end - start);
    bool known = false;
    for (std::uint16_t n = 1; n <= kEventTypeCount && !name.empty(); ++n)
      if (event_type_name(static_cast<EventType>(n)) == name) {
        mask |= EventTypeMask{1} << (n - 1);
        known = true;
      }
    if (!known)
      throw bad_request(name.empty() ? std::string("types has an empty name (a stray comma?)")
                                     : "types names no event type '" + std::string(name.substr(0, 40)) +
                                           "' (the names are NodeStarted, TxAdmitted, TxFinalized, BlockCommitted, "
                                           "BetResolved, BatchCreated, BatchProved, BatchSubmitted, BatchConfirmed, "
                                           "BatchFailed, ReconciliationReport, SnapshotTaken)");
    start = end + 1;
  }
  return mask;
}

FeedRequest parse_feed_request(std::string_view query, std::string_view last_event_id) {
  FeedRequest r;
  bool seen_after = false, seen_types = false;
  std::size_t start = 0;
  while (!query.empty() && start <= query.size()) {
    std::size_t end = std::min(query.find('&', start), query.size());
    std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (name != "after" && name != "types")
      throw bad_request("GET /v1/events takes `after` and `types`, not '" + std::string(name.substr(0, 40)) + "'");
    bool& seen = name == "after" ? seen_after : seen_types;
    if (seen) throw bad_request("`" + std::string(name) + "` is given twice");
    seen = true;
    if (name == "after") r.after = parse_seq(value, "after");
    else r.types = parse_event_types(value);
  }
  if (!last_event_id.empty()) r.after = parse_seq(last_event_id, "Last-Event-ID");
  return r;
}

void append_sse_event(std::string& out, const LoggedEvent& e, bool numbers_as_strings) {
  Json j = render_event(e);
  if (numbers_as_strings) integers_to_strings(j);
  out += "id: ";
  out += std::to_string(e.seq);
  out += "\nevent: ";
  out += event_type_name(event_type(e.event));
  out += "\ndata: ";
  out += dump(j);  // One line: dump() writes no newline, and JSON strings escape theirs.
  out += "\n\n";
}

}  // namespace croupier::actors::api
