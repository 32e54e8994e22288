#pragma once
// What the node knows of its peers, for `status`, `peers` and the start-up lines: each peer
// link writes its own row as its state changes; readers copy the rows under the mutex. A
// plain table, not an actor, so that the inspector's synchronous `status` can read it.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/crypto.hpp"

namespace croupier::actors {

struct PeerRow {
  PublicKey node_key{};
  std::string door;              // HOST:PORT dialed.
  bool linked = false;           // Handshake done and heartbeats answered.
  bool benched = false;          // Heartbeats unanswered: dropped, retried after a backoff.
  std::string last_error;        // Why the last attempt or link failed ("" before any).
  std::optional<std::chrono::steady_clock::time_point> last_heard;  // CAF's clock (steady).
  std::uint64_t height = 0;      // The peer's block height, from its last Pong.
  std::uint64_t connects = 0, handshakes = 0, handshake_failures = 0;
  std::uint64_t pings = 0, pongs = 0, ping_failures = 0;
  std::uint64_t inbound_sessions = 0;  // Sessions this peer opened to our door.
};

class PeerTable {
 public:
  explicit PeerTable(std::vector<PeerRow> rows) : rows_(std::move(rows)) {}
  std::vector<PeerRow> rows() const {
    std::lock_guard lock(mutex_);
    return rows_;
  }
  template <class F>
  void update(std::size_t index, F&& change) {
    std::lock_guard lock(mutex_);
    change(rows_.at(index));
  }
  // A peer of the list that opened a session to our door.
  void inbound(const PublicKey& key) {
    std::lock_guard lock(mutex_);
    for (auto& r : rows_)
      if (r.node_key == key) ++r.inbound_sessions;
  }
  // Hellos refused at our door (wrong cluster, version, unknown key, bad signature...).
  void refused() {
    std::lock_guard lock(mutex_);
    ++refused_;
  }
  std::uint64_t refused_count() const {
    std::lock_guard lock(mutex_);
    return refused_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<PeerRow> rows_;
  std::uint64_t refused_ = 0;
};

}  // namespace croupier::actors
