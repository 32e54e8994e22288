#include "tools/event_stream.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace croupier::tools {

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxLineBytes = 64 * 1024 * 1024;  // A BatchCreated of a huge batch is one line.

using Kind = HttpError::Kind;

int wait_for(int fd, short events, std::chrono::milliseconds limit) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, limit.count())));
    if (rc < 0 && errno == EINTR) continue;
    return rc;
  }
}

int connect_to(const Endpoint& node, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(node.port);
  if (int rc = ::getaddrinfo(node.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    throw HttpError(Kind::resolve, "cannot resolve " + node.host + ": " + ::gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS && wait_for(fd, POLLOUT, timeout) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err ? err : ETIMEDOUT;
    } else if (rc != 0 && errno == EINPROGRESS) {
      errno = ETIMEDOUT;
    }
    if (rc == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  throw HttpError(Kind::connect, "cannot connect to " + node.to_string() + ": " + last);
}

void send_all(int fd, const std::string& bytes, std::chrono::milliseconds timeout) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_for(fd, POLLOUT, timeout) != 1) throw HttpError(Kind::timeout, "the node did not take the request");
    } else {
      throw HttpError(Kind::io, std::string("sending the request: ") + std::strerror(errno));
    }
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

EventStream::EventStream(const Endpoint& node, const FeedQuery& query, std::chrono::milliseconds timeout) {
  fd_ = connect_to(node, timeout);
  try {
    std::string target = "/v1/events";
    if (!query.types.empty()) target += "?types=" + query.types;
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + node.to_string() +
                          "\r\nAccept: text/event-stream\r\nLast-Event-ID: " + std::to_string(query.after) + "\r\n";
    if (query.numbers_as_strings) request += "Croupier-Numbers: string\r\n";
    request += "\r\n";
    send_all(fd_, request, timeout);
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHeaderBytes) throw HttpError(Kind::protocol, "the answer's headers are too long");
      if (!fill(timeout)) throw HttpError(Kind::io, "the node closed the connection before answering");
    }
    const std::string head = buffer_.substr(0, end);
    pos_ = end + 4;
    unsigned status = 0;
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0 ||
        std::from_chars(head.data() + 9, head.data() + 12, status).ec != std::errc{})
      throw HttpError(Kind::protocol, "the answer is not HTTP: " + head.substr(0, 80));
    if (status != 200) {
      // An error answer has a Content-Length (the gateway's JSON bodies do).
      std::size_t length = 0;
      const std::string h = lower(head);
      if (auto at = h.find("\r\ncontent-length:"); at != std::string::npos) {
        std::size_t digits = h.find_first_of("0123456789", at);
        std::from_chars(h.data() + digits, h.data() + h.size(), length);
      }
      while (buffer_.size() - pos_ < length && fill(timeout)) {
      }
      throw FeedRefused(status, buffer_.substr(pos_, length));
    }
    if (lower(head).find("content-type: text/event-stream") == std::string::npos)
      throw HttpError(Kind::protocol, "the answer is not an event stream");
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

EventStream::~EventStream() {
  if (fd_ >= 0) ::close(fd_);
}

bool EventStream::fill(std::chrono::milliseconds idle) {
  if (pos_ > 0 && pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) throw HttpError(Kind::io, std::string("reading the feed: ") + std::strerror(errno));
    if (wait_for(fd_, POLLIN, idle) != 1)
      throw HttpError(Kind::timeout, "nothing arrived from the node for " + std::to_string(idle.count()) + " ms");
  }
}

std::optional<std::string_view> EventStream::line(std::chrono::milliseconds idle) {
  std::size_t end;
  while ((end = buffer_.find('\n', pos_)) == std::string::npos) {
    if (buffer_.size() - pos_ > kMaxLineBytes) throw HttpError(Kind::protocol, "a feed line is too long");
    if (!fill(idle)) return std::nullopt;
  }
  std::string_view l(buffer_.data() + pos_, end - pos_);
  pos_ = end + 1;
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

std::optional<StreamEvent> EventStream::next(std::chrono::milliseconds idle) {
  StreamEvent e;
  bool any = false;
  for (;;) {
    auto l = line(idle);
    if (!l) return std::nullopt;  // A cut-off event is not an event.
    if (l->empty()) {
      if (any) return e;
      continue;
    }
    if ((*l)[0] == ':') {
      ++comments_;
      continue;
    }
    const std::size_t colon = l->find(':');
    const std::string_view field = l->substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : l->substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    any = true;
    if (field == "id") {
      if (std::from_chars(value.data(), value.data() + value.size(), e.id).ec != std::errc{})
        throw HttpError(Kind::protocol, "a feed event's id is not a number: " + std::string(value.substr(0, 40)));
    } else if (field == "event") {
      e.type = value;
    } else if (field == "data") {
      if (!e.data.empty()) e.data += '\n';
      e.data += value;
    }
  }
}

}  // namespace croupier::tools
