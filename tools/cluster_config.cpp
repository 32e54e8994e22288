#include "tools/cluster_config.hpp"

#include <set>
#include <stdexcept>

#include "domain/bytes.hpp"

namespace croupier::tools {

PeerAddress parse_peer(const std::string& text) {
  const auto at = text.find('@');
  if (at == std::string::npos)
    throw std::invalid_argument("'" + text + "' is not NODEKEY@HOST:PORT (no '@')");
  PeerAddress p;
  try {
    p.node_key = fixed_from_hex<32>(std::string_view(text).substr(0, at), "node key");
  } catch (const std::exception& e) {
    throw std::invalid_argument("'" + text + "': the node key before '@' must be 64 hex digits (" + e.what() + ")");
  }
  try {
    p.door = parse_endpoint(std::string_view(text).substr(at + 1));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + text + "': the peer door after '@': " + e.what());
  }
  return p;
}

std::string format_peer(const PeerAddress& peer) { return to_hex(peer.node_key) + "@" + peer.door.to_string(); }

std::optional<ClusterConfig> parse_cluster_config(const std::string& id, const std::string& listen,
                                                  const std::vector<std::string>& peers) {
  if (id.empty() && listen.empty() && peers.empty()) return std::nullopt;
  auto missing = [](const char* key) {
    return std::runtime_error(std::string("configuration: cluster.") + key +
                              " is not set (a cluster node needs cluster.id, cluster.listen and cluster.peers; "
                              "`croupier cluster init` writes all three)");
  };
  if (id.empty()) throw missing("id");
  if (listen.empty()) throw missing("listen");
  if (peers.empty()) throw missing("peers");
  ClusterConfig c;
  try {
    c.id = fixed_from_hex<16>(id, "cluster id");
  } catch (const std::exception& e) {
    throw std::runtime_error("configuration: cluster.id must be 32 hex digits: " + std::string(e.what()));
  }
  try {
    c.listen = parse_endpoint(listen, true);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("configuration: cluster.listen: " + std::string(e.what()));
  }
  std::set<PublicKey> keys;
  std::set<std::string> doors;
  for (const auto& text : peers) {
    PeerAddress p;
    try {
      p = parse_peer(text);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("configuration: cluster.peers: " + std::string(e.what()));
    }
    if (!keys.insert(p.node_key).second)
      throw std::runtime_error("configuration: cluster.peers names the node key " + to_hex(p.node_key) + " twice");
    if (!doors.insert(p.door.to_string()).second)
      throw std::runtime_error("configuration: cluster.peers names the door " + p.door.to_string() + " twice");
    c.peers.push_back(std::move(p));
  }
  return c;
}

void check_not_own_peer(const ClusterConfig& cluster, const PublicKey& own) {
  for (const auto& p : cluster.peers)
    if (p.node_key == own)
      throw std::runtime_error("configuration: cluster.peers names this node's own key " + to_hex(own) +
                               " (DATA/keys/node.seed): the list holds the other nodes only");
}

}  // namespace croupier::tools
