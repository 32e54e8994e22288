#pragma once
// A cluster node's network side, as `croupier node` starts it when its config has the
// [cluster] keys: the peer door published on cluster.listen and one peer link per entry of
// cluster.peers (actors/peer_door.hpp, actors/peer_link.hpp), sharing one PeerTable with the
// inspector. Stopped before the node, so that no peer talks to a stopping node.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/peer_table.hpp"
#include "domain/crypto.hpp"
#include "tools/cluster_config.hpp"

namespace croupier::tools {

// The rows a PeerTable starts with: one per peer, in the config's order.
std::shared_ptr<actors::PeerTable> make_peer_table(const ClusterConfig& cluster);

class ClusterNode {
 public:
  // Publishes the door (throws std::runtime_error naming the address when it cannot) and
  // starts the links. `block_height` is read by the door for every Pong.
  ClusterNode(caf::actor_system& system, const ClusterConfig& cluster, const KeyPair& node_key,
              std::shared_ptr<actors::PeerTable> table, std::function<std::uint64_t()> block_height,
              std::function<void(const std::string&)> log_line);
  ~ClusterNode() { stop(); }
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  std::uint16_t door_port() const { return port_; }
  void stop();

 private:
  caf::actor_system& system_;
  caf::actor door_;
  std::vector<caf::actor> links_;
  std::uint16_t port_ = 0;
};

}  // namespace croupier::tools
