#pragma once
// The HTTP gateway: the node's front end. It serves the HTTP API v1 (README "HTTP API"; the
// JSON is actors/api_json.hpp) with Boost.Beast on Boost.Asio's own threads, and reaches the
// actors only through NodeApi (actors/node_api.hpp), so it needs no CAF. It lives in actors/
// because the architecture counts it among the node's actors.
//
// Threads and waiting: one io_context run by `threads` threads; every connection has its own
// strand. A request that waits (POST /v1/bets and /v1/deposits until final or wait_ms, GET
// /metrics) holds no thread: the gateway calls NodeApi::submit (or metrics) and returns; the
// node's callback, on a node thread, posts the answer back to the connection's strand. So
// thousands of clients can wait at once on two threads.
//
// Connections are keep-alive (HTTP/1.1 rules; one request at a time per connection), at
// most `max_connections` at once: beyond it a new connection is answered 503 busy
// (Retry-After: 1, Connection: close) without its request being served, and closed. Reads have
// deadlines: a connection with no byte of a next request within `idle_timeout` is closed
// (no answer: there is no request); a request whose headers are not complete within
// `header_timeout` of its first byte, or whose body is not complete within `body_timeout` of
// its headers, is answered 408 request_timeout and the connection closed. A response that
// cannot be written within `write_timeout` closes the connection. A body over
// `max_body_bytes` gets 413 too_large and the connection is closed; so does a malformed
// request (400 bad_request). "Expect: 100-continue" is honoured. A bug (an exception other
// than the API's refusals) is answered 500 internal with an `error_id` and no detail; the
// detail goes to `log` under that id.
//
// The event feed, GET /v1/events (actors/event_json.hpp), is the one answer that does not
// end: after its headers (no Content-Length; the body ends when the connection does) the
// session reads the log page by page through NodeApi::events_after and writes each page as
// Server-Sent Events, one chunk at a time, at the consumer's pace. So a consumer holds one
// chunk of memory however slow it is, and the node never waits for it: the log is read in
// read transactions of its own. Caught up, the session looks for new events every
// kFeedPoll and writes a heartbeat comment after `feed_heartbeat` of silence. A consumer that
// does not take a chunk within `feed_stall_timeout` is disconnected (the node's log says
// why and where); it resumes with Last-Event-ID. stop_accepting() closes every feed.
//
// Lifetime: the constructor binds and listens (so port() is known before start()); start()
// runs the threads. Stopping has two phases, so that no request handed to the node loses its
// answer. stop_accepting() (phase one, returns at once) closes the listening socket and every
// connection between requests, answers requests still arriving 503 unavailable, and lets each
// request already handed to the node be answered and written as usual, after which its
// connection closes. The node, stopping, answers its waiting clients (202 pending), so the
// node stops between the two phases. stop() runs phase one if it has not run, waits until
// every connection has closed or `drain_timeout` has passed (a client that never reads, a
// node that never answers), then closes what is left and joins the threads. stop() is
// idempotent and is run by the destructor. Node callbacks that arrive after stop(), even
// after the Gateway is destroyed, are dropped safely: they hold no reference to Asio objects.
// stop() and the destructor must not be called from a gateway thread (i.e. from a NodeApi
// call it makes); stop_accepting() may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/node_api.hpp"

namespace croupier::actors {

struct GatewayOptions {
  std::string host = "127.0.0.1";  // An address or a host name to listen on.
  std::uint16_t port = 8080;       // 0 = any free port (see Gateway::port()).
  unsigned threads = 2;            // io threads (0 counts as 1).
  std::size_t max_body_bytes = 65536;
  std::size_t batch_max_bets = 1000;  // Bets in one POST /v1/bets/batch (croupier.batch-max-bets).
  std::chrono::milliseconds default_wait{2000};  // wait_ms when a POST gives none.
  std::chrono::milliseconds max_wait{30000};     // wait_ms above this is a 400 bad_request.
  std::size_t max_connections = 10000;              // Open at once (0 counts as 1).
  std::chrono::milliseconds idle_timeout{60000};    // For the first byte of a request.
  std::chrono::milliseconds header_timeout{10000};  // From a request's first byte to its last header.
  std::chrono::milliseconds body_timeout{10000};    // From a request's headers to the end of its body.
  std::chrono::milliseconds write_timeout{30000};   // To send a whole response.
  std::chrono::milliseconds drain_timeout{5000};    // stop()'s wait for the last answers to be written.
  // The event feed (GET /v1/events): a comment line after this long without an event, and
  // the time a consumer has to take one chunk (at most feed_chunk_bytes, its whole buffer)
  // before it is disconnected.
  std::chrono::milliseconds feed_heartbeat{15000};    // croupier.feed-heartbeat
  std::chrono::milliseconds feed_stall_timeout{10000};  // croupier.feed-stall-timeout
  std::size_t feed_chunk_bytes = 256 * 1024;
  // Feeds open at once; beyond, GET /v1/events is 503 busy (Retry-After: 1). Each holds up to a
  // chunk and a 256 KiB kernel send buffer.
  std::size_t feed_max_consumers = 100;  // croupier.feed-max-consumers
  // Problems worth a line in the node's log (accept failures, internal errors). May be
  // empty; called from gateway threads, so it must be thread-safe.
  std::function<void(const std::string&)> log;
};

namespace detail {
struct GatewayImpl;
}

class Gateway {
 public:
  // Binds host:port and listens. Throws std::runtime_error naming the address on failure,
  // e.g. "cannot listen on 127.0.0.1:8080: Address already in use".
  Gateway(NodeApi& node, GatewayOptions options);
  ~Gateway();  // stop()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  std::uint16_t port() const;  // The port actually bound.

  void start();  // Runs the io threads and accepts connections. Once; later calls do nothing.
  // Phase one of stopping (see the header comment). Idempotent; returns at once.
  void stop_accepting();
  // Both phases (see the header comment). Idempotent; start() after stop() does nothing.
  void stop();

 private:
  std::unique_ptr<detail::GatewayImpl> impl_;
};

}  // namespace croupier::actors
