#include "actors/tcp_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace croupier::actors {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// One address: nullopt when it accepted in time.
std::optional<std::string> probe_address(const addrinfo& a, std::chrono::milliseconds timeout) {
  Fd s{::socket(a.ai_family, a.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a.ai_protocol)};
  if (s.fd < 0) return std::string("socket: ") + std::strerror(errno);
  if (::connect(s.fd, a.ai_addr, a.ai_addrlen) == 0) return std::nullopt;
  if (errno != EINPROGRESS) return std::strerror(errno);
  pollfd p{s.fd, POLLOUT, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n == 0) return "no answer within " + std::to_string(timeout.count()) + " ms";
  if (n < 0) return std::string("poll: ") + std::strerror(errno);
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return std::string("getsockopt: ") + std::strerror(errno);
  if (err != 0) return std::strerror(err);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> tcp_probe(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
  std::optional<std::string> why = "no address";
  for (const addrinfo* a = found; a; a = a->ai_next)
    if (!(why = probe_address(*a, timeout))) return std::nullopt;
  return why;
}

}  // namespace croupier::actors
