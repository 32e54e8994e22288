#include "tools/http_client.hpp"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

namespace croupier::tools {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::uint64_t kMaxAnswerBytes = 64ull << 20;

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::uint16_t parse_port(std::string_view port, std::string_view whole, bool allow_zero) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || (value == 0 && !allow_zero) ||
      value > 65535)
    throw std::invalid_argument("bad port " + quoted(port) + " in node address " + quoted(whole) +
                                (allow_zero ? ": expected a number in 0..65535" : ": expected a number in 1..65535"));
  return static_cast<std::uint16_t>(value);
}

// Does this error mean "the server had closed the connection" (so a request on a reused
// connection may be sent again on a new one)?
bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

}  // namespace

std::string Endpoint::to_string() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Endpoint parse_endpoint(std::string_view text, bool allow_port_zero) {
  const std::string_view whole = text;
  const std::string example = " (expected HOST:PORT or http://HOST:PORT, e.g. 127.0.0.1:8080)";
  if (text.empty()) throw std::invalid_argument("empty node address" + example);
  if (text.rfind("http://", 0) == 0) {
    text.remove_prefix(7);
  } else if (auto scheme = text.find("://"); scheme != std::string_view::npos) {
    throw std::invalid_argument("unsupported scheme " + quoted(text.substr(0, scheme)) + " in node address " +
                                quoted(whole) + ": only http:// is supported");
  }
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  if (text.find('/') != std::string_view::npos)
    throw std::invalid_argument("node address " + quoted(whole) + " has a path; give only the host and port" + example);
  Endpoint ep;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("unclosed '[' in node address " + quoted(whole) + example);
    ep.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      throw std::invalid_argument("missing port in node address " + quoted(whole) + example);
    port = rest.substr(1);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("missing port in node address " + quoted(whole) + example);
    ep.host = std::string(text.substr(0, colon));
    if (ep.host.find(':') != std::string::npos)
      throw std::invalid_argument("node address " + quoted(whole) +
                                  ": an IPv6 address needs brackets, e.g. [::1]:8080");
    port = text.substr(colon + 1);
  }
  if (ep.host.empty()) throw std::invalid_argument("missing host in node address " + quoted(whole) + example);
  ep.port = parse_port(port, whole, allow_port_zero);
  return ep;
}

struct HttpClient::Impl {
  Endpoint where;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;  // Set while a connection is open.
  beast::flat_buffer buffer;
  std::size_t opened = 0;

  // Runs one asynchronous operation to completion on this thread. The tcp_stream's expiry
  // bounds it: past the deadline the operation fails with beast::error::timeout.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
      stream.reset();
    }
    buffer.clear();
  }

  // True when the idle connection has something to read: the server closed it (EOF), reset
  // it, or sent bytes nobody asked for. Either way it cannot carry the next request.
  bool idle_connection_is_stale() {
    pollfd p{stream->socket().native_handle(), POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  void connect(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout) {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(where.host, std::to_string(where.port), ec);
    if (ec) throw HttpError(HttpError::Kind::resolve, "cannot resolve node host '" + where.host + "': " + ec.message());
    stream.emplace(ioc);
    stream->expires_at(deadline);
    ec = run([&](auto handler) { stream->async_connect(endpoints, handler); });
    if (ec) {
      stream.reset();
      if (ec == beast::error::timeout)
        throw HttpError(HttpError::Kind::timeout, "cannot connect to " + where.to_string() + ": no answer within " +
                                                      std::to_string(timeout.count()) + " ms");
      throw HttpError(HttpError::Kind::connect, "cannot connect to " + where.to_string() + ": " + ec.message() +
                                                    " (is `croupier node` running?)");
    }
    ++opened;
    buffer.clear();
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->where = Endpoint{std::move(host), port};
}

HttpClient::~HttpClient() { impl_->close(); }

std::string HttpClient::endpoint() const { return impl_->where.to_string(); }
std::size_t HttpClient::connections_opened() const { return impl_->opened; }

HttpResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                 std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) throw std::invalid_argument("unknown HTTP method '" + std::string(method) + "'");
  http::request<http::string_body> req{verb, std::string(target), 11};
  req.set(http::field::host, m.where.to_string());
  req.set(http::field::user_agent, "croupier-client");
  req.set(http::field::accept, "application/json");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();

  const std::string what = std::string(method) + " " + std::string(target);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (m.stream && m.idle_connection_is_stale()) m.close();

  for (int attempt = 0;; ++attempt) {
    const bool reused = m.stream.has_value();
    if (!reused) m.connect(deadline, timeout);
    m.stream->expires_at(deadline);
    beast::error_code ec = m.run([&](auto handler) { http::async_write(*m.stream, req, handler); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    if (!ec) {
      m.stream->expires_at(deadline);
      ec = m.run([&](auto handler) { http::async_read(*m.stream, m.buffer, parser, handler); });
    }
    if (ec) {
      m.close();
      if (ec == beast::error::timeout)
        throw HttpError(HttpError::Kind::timeout, "no answer from " + m.where.to_string() + " to " + what + " within " +
                                                      std::to_string(timeout.count()) + " ms");
      if (closed_by_peer(ec) && !parser.is_header_done()) {
        // A reused connection the server had closed: send the request once more on a new one.
        if (reused && attempt == 0) continue;
        throw HttpError(HttpError::Kind::io, "the node at " + m.where.to_string() +
                                                 " closed the connection without answering " + what + " (" +
                                                 ec.message() + ")");
      }
      if (ec.category() == http::make_error_code(http::error::bad_version).category())
        throw HttpError(HttpError::Kind::protocol, "the answer of " + m.where.to_string() + " to " + what +
                                                       " is not valid HTTP/1.1: " + ec.message());
      throw HttpError(HttpError::Kind::io,
                      "connection to " + m.where.to_string() + " failed during " + what + ": " + ec.message());
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    if (auto it = res.find(http::field::content_type); it != res.end()) out.content_type = std::string(it->value());
    if (auto it = res.find(http::field::retry_after); it != res.end()) out.retry_after = std::string(it->value());
    if (!res.keep_alive()) m.close();
    return out;
  }
}

}  // namespace croupier::tools
