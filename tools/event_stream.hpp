#pragma once
// A reader of the node's event feed (GET /v1/events, README "Event feed"): one connection,
// read as Server-Sent Events. Used by `croupier client follow` and by tests; the reconnecting
// is the caller's (it knows the last id it has handled).
//
// Not thread-safe: one EventStream per thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tools/http_client.hpp"

namespace croupier::tools {

// One event of the feed: its id (the log seq), its type and its data line (one JSON object).
struct StreamEvent {
  std::uint64_t id = 0;
  std::string type;
  std::string data;
};

// The node answered the feed's request with something other than 200 (a bad `types`, a node
// that is stopping): its status and body.
class FeedRefused : public std::runtime_error {
 public:
  FeedRefused(unsigned status, std::string body)
      : std::runtime_error("the node answered the feed request with HTTP " + std::to_string(status) + ": " + body),
        status_(status),
        body_(std::move(body)) {}
  unsigned status() const { return status_; }
  const std::string& body() const { return body_; }

 private:
  unsigned status_;
  std::string body_;
};

struct FeedQuery {
  std::uint64_t after = 0;       // Sent as Last-Event-ID, so a resume is what a browser's would be.
  std::string types;             // Comma-separated type names; empty: every type.
  bool numbers_as_strings = false;  // Croupier-Numbers: string.
};

class EventStream {
 public:
  // Connects and reads the answer's headers within `timeout`. Throws HttpError (resolve,
  // connect, timeout, io, protocol) or FeedRefused.
  EventStream(const Endpoint& node, const FeedQuery& query, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The next event; heartbeats and other comments are skipped, but each resets the wait.
  // nullopt when the node closed the stream. Throws HttpError(timeout) when nothing at all
  // arrives for `idle`, HttpError(io | protocol) for a broken stream.
  std::optional<StreamEvent> next(std::chrono::milliseconds idle = std::chrono::seconds(60));

  // Comment lines seen so far (heartbeats and the opening line).
  std::uint64_t comments() const { return comments_; }

 private:
  bool fill(std::chrono::milliseconds idle);  // Reads more; false at the end of the stream.
  // The next line, without its end; valid until the next call.
  std::optional<std::string_view> line(std::chrono::milliseconds idle);

  int fd_ = -1;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t comments_ = 0;
};

}  // namespace croupier::tools
