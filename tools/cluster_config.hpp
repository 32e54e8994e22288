#pragma once
// A node's place in a cluster, as its config file gives it (the [cluster] keys of
// config/croupier.ini, written by `croupier cluster init`):
//   cluster.id      32 hex digits, the same on every node of one cluster
//   cluster.listen  HOST:PORT of this node's peer door
//   cluster.peers   ["NODEKEY@HOST:PORT", ...]: every other node, by its node key (64 hex
//                   digits, the node's DATA/keys/node.seed) and its peer door
// None set: no cluster (a single node, today's embedded default). Some but not all: an error.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "domain/crypto.hpp"
#include "domain/ids.hpp"
#include "tools/http_client.hpp"

namespace croupier::tools {

struct PeerAddress {
  PublicKey node_key{};
  Endpoint door;
};

struct ClusterConfig {
  Id128 id{};
  Endpoint listen;
  std::vector<PeerAddress> peers;
  std::chrono::milliseconds heartbeat{500};  // cluster.heartbeat (not parsed here: NodeConfig's)
};

// "NODEKEY@HOST:PORT". Throws std::invalid_argument naming what is wrong.
PeerAddress parse_peer(const std::string& text);
std::string format_peer(const PeerAddress& peer);

// The cluster the three keys describe, or nullopt when none is set; throws
// std::runtime_error naming the key for a partial, malformed or inconsistent set (an id that
// is not 32 hex digits, a peer twice, a door twice, no peers).
std::optional<ClusterConfig> parse_cluster_config(const std::string& id, const std::string& listen,
                                                  const std::vector<std::string>& peers);

// Throws std::runtime_error when `own` (this node's key) is in the peer list.
void check_not_own_peer(const ClusterConfig& cluster, const PublicKey& own);

}  // namespace croupier::tools
