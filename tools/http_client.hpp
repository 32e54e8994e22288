#pragma once
// A small synchronous HTTP/1.1 client for the node's API (/tmp/api_spec.md), used by
// `croupier client` and by tests: one keep-alive connection per HttpClient, opened on the
// first request, reopened transparently once when the server closed it while idle.
//
// Not thread-safe: one HttpClient per thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace croupier::tools {

// Where a node listens. `host` is a name or an IP address (IPv6 without brackets).
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  // "HOST:PORT", with brackets around an IPv6 address.
  std::string to_string() const;
};

// Parses "HOST:PORT", "http://HOST:PORT" (an optional trailing "/" is allowed) and
// "[IPv6]:PORT". Throws std::invalid_argument with a message naming what was wrong:
// an empty string, a scheme other than http, a missing or malformed port (1..65535), an
// empty host, a path. `allow_port_zero` is for listen addresses (0: any free port).
Endpoint parse_endpoint(std::string_view text, bool allow_port_zero = false);

// A transport failure: the server could not be reached, did not answer in time, or sent
// something that is not HTTP. An answer with a 4xx/5xx status is not an HttpError: it is
// returned as an HttpResponse.
class HttpError : public std::runtime_error {
 public:
  enum class Kind {
    resolve,   // the host name does not resolve
    connect,   // TCP connect failed (refused, unreachable)
    timeout,   // no complete answer before the deadline
    io,        // the connection broke, or the peer closed it without answering
    protocol,  // the answer is not valid HTTP/1.1 (or too large)
  };
  HttpError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct HttpResponse {
  unsigned status = 0;
  std::string body;
  std::string content_type;                // Empty when the header is absent.
  std::optional<std::string> retry_after;  // The Retry-After header, when present.
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);
  explicit HttpClient(const Endpoint& endpoint) : HttpClient(endpoint.host, endpoint.port) {}
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its answer; `timeout` bounds the whole exchange (connect,
  // send, answer). A non-empty body is sent as application/json. When a reused connection
  // turns out to have been closed by the server before it answered, the request is sent
  // once more on a new connection (the API's POSTs are idempotent by bet_id/deposit_id).
  // Throws HttpError.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(35));

  // "HOST:PORT" of the server.
  std::string endpoint() const;
  // Connections opened so far (for tests of the keep-alive behaviour).
  std::size_t connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace croupier::tools
