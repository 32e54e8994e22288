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
// Connections are keep-alive (HTTP/1.1 rules; one request at a time per connection). A
// connection with no complete request within `idle_timeout` is closed, and so is one whose
// response cannot be written within `write_timeout`. A body over `max_body_bytes` gets 413
// too_large and the connection is closed; so does a malformed request (400 bad_request).
// "Expect: 100-continue" is honoured.
//
// Lifetime: the constructor binds and listens (so port() is known before start()); start()
// runs the threads; stop() (idempotent, also run by the destructor) stops accepting, closes
// every connection and joins the threads. Clients still waiting get no answer (their
// connection closes). Node callbacks that arrive after stop(), even after the Gateway is
// destroyed, are dropped safely: they hold no reference to Asio objects. stop() and the
// destructor must not be called from a gateway thread (i.e. from a NodeApi call it makes).

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
  std::chrono::milliseconds default_wait{2000};  // wait_ms when a POST gives none.
  std::chrono::milliseconds max_wait{30000};     // wait_ms above this is a 400 bad_request.
  std::chrono::milliseconds idle_timeout{60000};   // To receive a whole request (or the next one).
  std::chrono::milliseconds write_timeout{30000};  // To send a whole response.
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
  void stop();   // See the header comment. Idempotent; start() after stop() does nothing.

 private:
  std::unique_ptr<detail::GatewayImpl> impl_;
};

}  // namespace croupier::actors
