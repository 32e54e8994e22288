#pragma once
// Whether a TCP port answers within a deadline, without blocking anyone else: CAF's
// middleman connects with a blocking connect() inside its one actor, so a peer whose host
// drops SYNs would stall every other connect behind it for as long as tcp_syn_retries allows
// (../shared/CLUSTER-NOTES.md). A peer link probes first, on its own thread, and asks the
// middleman to connect only to a port that just accepted.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace croupier::actors {

// nullopt when HOST:PORT accepted a connection within `timeout` (it is closed at once);
// otherwise why not ("connection refused", "no answer within 1000 ms", a resolver error).
std::optional<std::string> tcp_probe(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace croupier::actors
