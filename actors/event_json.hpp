#pragma once
// The JSON of the event feed (GET /v1/events, README "Event feed"): one object per durable
// event of the log, and the Server-Sent Events framing around it. The fields of every type
// are part of the API contract: added to, never renamed or removed. Pure functions: no Boost,
// no CAF, no I/O; thread-safe.
//
// Every object starts with the envelope {"seq", "type", "log_time_ms"} (the record's
// sequence number, the event type's name, when the journal appended it), then the event's own
// fields. Hex is lower case; amounts and other u64 values are JSON integers (strings under
// Croupier-Numbers: string, as in every answer).

#include <optional>
#include <string>
#include <string_view>

#include "actors/api_json.hpp"
#include "actors/node_api.hpp"

namespace croupier::actors::api {

// The data object of one event, as text on one line; `numbers_as_strings` writes every integer
// as a decimal string (Croupier-Numbers: string), as integers_to_strings does to an answer.
std::string event_json(const LoggedEvent& e, bool numbers_as_strings = false);
void append_event_json(std::string& out, const LoggedEvent& e, bool numbers_as_strings);

// The type names of a feed's `types` parameter ("TxFinalized,BetResolved"): their mask.
// Throws ApiError 400 bad_request naming an unknown or empty name.
EventTypeMask parse_event_types(std::string_view list);

// What GET /v1/events asks for: its `after` (or the Last-Event-ID header, which wins, as a
// reconnecting EventSource sends it) and `types`. Throws ApiError 400 for a malformed or
// unknown query parameter.
struct FeedRequest {
  std::uint64_t after = 0;
  EventTypeMask types = kEveryEventType;
};
FeedRequest parse_feed_request(std::string_view query, std::string_view last_event_id);

// One event as SSE: "id: <seq>\nevent: <type>\ndata: <json>\n\n", appended to `out`.
void append_sse_event(std::string& out, const LoggedEvent& e, bool numbers_as_strings);

}  // namespace croupier::actors::api
