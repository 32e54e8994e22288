// The event feed's JSON and its request (actors/event_json.hpp): every event type renders with
// the envelope and its documented fields, in order; the SSE framing is one event per
// "id/event/data" block; `after`, `types` and Last-Event-ID are read as the README says, and
// every malformed query is a 400 naming what is wrong.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/event_json.hpp"

using namespace croupier;
using namespace croupier::actors;

namespace {

std::vector<std::string> keys(const api::Json& j) {
  std::vector<std::string> out;
  for (const auto& item : j.items()) out.push_back(item.key());
  return out;
}

api::Json render(const LoggedEvent& e) { return api::Json::parse(api::event_json(e)); }

Id128 id_of(std::uint8_t b) {
  Id128 id{};
  id.fill(b);
  return id;
}

Hash32 hash_of(std::uint8_t b) {
  Hash32 h{};
  h.fill(b);
  return h;
}

void expect_bad_query(std::string_view query, std::string_view last_id, const std::string& needle) {
  CAPTURE(query);
  try {
    api::parse_feed_request(query, last_id);
    FAIL("accepted");
  } catch (const api::ApiError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == "bad_request");
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("EveryEventTypeRendersTheEnvelopeThenItsDocumentedFields") {
  Bet bet;
  bet.bet_id = id_of(1);
  bet.nonce = 7;
  bet.game = 2;
  bet.wager = 25;
  bet.choice = 50;
  Deposit deposit;
  deposit.deposit_id = id_of(2);
  deposit.amount = 1000;
  Settlement settlement;
  settlement.inputs.batch_id = id_of(3);
  settlement.inputs.totals.item_count = 2;
  settlement::Item item{settlement::ItemKind::bet, id_of(1), hash_of(4), {}, 25, 49};
  BetResolved resolved{hash_of(5), id_of(1), 42, true, 49, {}};
  struct Case {
    Event event;
    std::vector<std::string> fields;  // After seq, type, log_time_ms.
  };
  const std::vector<Case> cases{
      {NodeStarted{id_of(9), "0.1.0", {}, {}, {}, true},
       {"node_id", "version", "operator_key", "house_key", "sequencer_key", "settles"}},
      {TxAdmitted{bet},
       {"tx_id", "kind", "bet_id", "account", "nonce", "game", "wager", "choice", "client_seed", "signature"}},
      {TxAdmitted{deposit}, {"tx_id", "kind", "deposit_id", "account", "amount", "operator_key", "signature"}},
      {TxAdmitted{settlement}, {"tx_id", "kind", "batch_id", "inputs", "sequencer_key", "proof"}},
      {finalized(hash_of(5), bet, true, 3), {"tx_id", "kind", "id", "accepted", "block_height"}},
      {BlockCommitted{3, hash_of(6), hash_of(7), {hash_of(5)}, 1234}, {"height", "hash", "prev_hash", "time_ms", "tx_ids"}},
      {resolved, {"tx_id", "bet_id", "roll", "win", "payout", "vrf_proof"}},
      {BatchCreated{id_of(3), {item}, 5}, {"batch_id", "max_attempts", "items"}},
      {BatchProved{id_of(3), settlement.inputs, {}, {}, {}}, {"batch_id", "inputs", "sequencer_key", "proof", "witness_accounts"}},
      {BatchSubmitted{id_of(3), 1, hash_of(8)}, {"batch_id", "attempt", "settlement_tx_id"}},
      {BatchConfirmed{id_of(3), 4}, {"batch_id", "height"}},
      {BatchFailed{id_of(3), "out of attempts"}, {"batch_id", "reason"}},
      {ReconciliationReport{{id_of(3)}, {}, {}, {}}, {"confirmed", "missing", "orphaned", "mismatched"}},
      {SnapshotTaken{10, hash_of(1)}, {"snapshot_seq", "digest"}},
  };
  std::size_t types_seen = 0;
  std::uint16_t last_type = 0;
  for (const auto& c : cases) {
    const api::Json j = render(LoggedEvent{11, 5000, c.event});
    CAPTURE(j.dump());
    std::vector<std::string> want{"seq", "type", "log_time_ms"};
    want.insert(want.end(), c.fields.begin(), c.fields.end());
    CHECK(keys(j) == want);
    CHECK(j["seq"] == 11);
    CHECK(j["log_time_ms"] == 5000);
    CHECK(j["type"] == std::string(event_type_name(event_type(c.event))));
    // Croupier-Numbers: string is the same object with every integer a string.
    api::Json as_strings = j;
    api::integers_to_strings(as_strings);
    CHECK(api::Json::parse(api::event_json(LoggedEvent{11, 5000, c.event}, true)) == as_strings);
    const auto type = static_cast<std::uint16_t>(event_type(c.event));
    types_seen += type != last_type;
    last_type = type;
  }
  CHECK(types_seen == kEventTypeCount);  // A new event type needs its row here (and in the README).

  const api::Json b = render(LoggedEvent{1, 0, TxAdmitted{bet}});
  CHECK(b["kind"] == "bet");
  CHECK(b["game"] == "dice");
  CHECK(b["tx_id"] == to_hex(tx_id(Tx{bet})));
  const api::Json f = render(LoggedEvent{1, 0, finalized(hash_of(5), bet, false, 0)});
  CHECK(f["accepted"] == false);
  CHECK(f["block_height"].is_null());  // A rejected tx is in no block.
  CHECK(f["id"] == to_hex(bet.bet_id));
  const api::Json r = render(LoggedEvent{1, 0, resolved});
  CHECK(r["roll"] == 42);
  CHECK(r["win"] == true);
  CHECK(r["payout"] == 49);
  CHECK(r["vrf_proof"].get<std::string>().size() == 160);
  const api::Json items = render(LoggedEvent{1, 0, BatchCreated{id_of(3), {item}, 5}})["items"];
  CHECK(keys(items[0]) == std::vector<std::string>{"kind", "id", "tx_id", "account", "amount", "payout"});
}

TEST_CASE("AnSseEventIsIdEventAndOneDataLineAndNumbersCanBeStrings") {
  std::string out;
  api::append_sse_event(out, LoggedEvent{42, 7, BatchConfirmed{id_of(3), 4}}, false);
  const std::string data = R"({"seq":42,"type":"BatchConfirmed","log_time_ms":7,"batch_id":")" + to_hex(id_of(3)) +
                           R"(","height":4})";
  CHECK(out == "id: 42\nevent: BatchConfirmed\ndata: " + data + "\n\n");
  std::string as_strings;
  api::append_sse_event(as_strings, LoggedEvent{42, 7, BatchConfirmed{id_of(3), 4}}, true);
  CHECK(as_strings.find(R"("seq":"42")") != std::string::npos);
  CHECK(as_strings.find(R"("height":"4")") != std::string::npos);
  CHECK(as_strings.rfind("id: 42\n", 0) == 0);
  // Strings that need escaping are escaped (and bytes that are not UTF-8 replaced): valid JSON.
  const std::string nasty = "say \"no\"\\ \t\x01 caf\xc3\xa9 \xff";
  const api::Json parsed = api::Json::parse(api::event_json(LoggedEvent{1, 0, BatchFailed{id_of(3), nasty}}));
  CHECK(parsed["reason"].get<std::string>().substr(0, 18) == nasty.substr(0, 18));
  // A reason with a newline stays on the one data line (JSON escapes it).
  std::string failed;
  api::append_sse_event(failed, LoggedEvent{1, 0, BatchFailed{id_of(3), "line one\nline two"}}, false);
  CHECK(std::count(failed.begin(), failed.end(), '\n') == 4);
}

TEST_CASE("TheFeedRequestReadsAfterTypesAndLastEventId") {
  const auto bit = [](EventType t) { return EventTypeMask{1} << (static_cast<unsigned>(t) - 1); };
  struct Case {
    std::string query, last_id;
    std::uint64_t after;
    EventTypeMask types;
  };
  const std::vector<Case> cases{
      {"", "", 0, kEveryEventType},
      {"after=17", "", 17, kEveryEventType},
      {"after=0", "", 0, kEveryEventType},
      {"after=17", "30", 30, kEveryEventType},  // A reconnecting EventSource's id wins.
      {"", "30", 30, kEveryEventType},
      {"types=BetResolved", "", 0, bit(EventType::bet_resolved)},
      {"types=TxFinalized,BetResolved&after=5", "", 5, bit(EventType::tx_finalized) | bit(EventType::bet_resolved)},
      {"types=TxFinalized%2CBetResolved", "", 0, bit(EventType::tx_finalized) | bit(EventType::bet_resolved)},
      {"after=18446744073709551615", "", 18446744073709551615ull, kEveryEventType},
      {"&after=3&", "", 3, kEveryEventType},
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    CAPTURE(c.last_id);
    const auto r = api::parse_feed_request(c.query, c.last_id);
    CHECK(r.after == c.after);
    CHECK(r.types == c.types);
  }
}

TEST_CASE("AMalformedFeedRequestIsA400NamingWhatIsWrong") {
  expect_bad_query("after=-1", "", "after must be a sequence number");
  expect_bad_query("after=", "", "after must be a sequence number");
  expect_bad_query("after=1e3", "", "after must be a sequence number");
  expect_bad_query("after=18446744073709551616", "", "after must be a sequence number");
  expect_bad_query("after=1&after=2", "", "given twice");
  expect_bad_query("types=BetResolved&types=TxFinalized", "", "given twice");
  expect_bad_query("from=3", "", "takes `after` and `types`");
  expect_bad_query("types=BetResolve", "", "no event type 'BetResolve'");
  expect_bad_query("types=betresolved", "", "no event type");
  expect_bad_query("types=BetResolved,", "", "empty name");
  expect_bad_query("types=", "", "empty name");
  expect_bad_query("types=Bet%2", "", "malformed %-escape");
  expect_bad_query("", "abc", "Last-Event-ID must be a sequence number");
}
