#include "tools/cluster_node.hpp"

#include <sodium.h>

#include <stdexcept>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/peer_door.hpp"
#include "actors/peer_link.hpp"

namespace croupier::tools {

namespace {

void os_random(std::span<std::uint8_t> out) { randombytes_buf(out.data(), out.size()); }

peer::Identity identity_of(const ClusterConfig& cluster, const KeyPair& node_key) {
  peer::Identity id{cluster.id, node_key, {}};
  for (const auto& p : cluster.peers) id.peers.push_back(p.node_key);
  return id;
}

}  // namespace

std::shared_ptr<actors::PeerTable> make_peer_table(const ClusterConfig& cluster) {
  std::vector<actors::PeerRow> rows;
  for (const auto& p : cluster.peers) {
    actors::PeerRow r;
    r.node_key = p.node_key;
    r.door = p.door.to_string();
    rows.push_back(std::move(r));
  }
  return std::make_shared<actors::PeerTable>(std::move(rows));
}

ClusterNode::ClusterNode(caf::actor_system& system, const ClusterConfig& cluster, const KeyPair& node_key,
                         std::shared_ptr<actors::PeerTable> table, std::function<std::uint64_t()> block_height,
                         std::function<void(const std::string&)> log_line)
    : system_(system) {
  const auto identity = identity_of(cluster, node_key);
  door_ = actors::spawn_peer_door(system, {identity, os_random, std::move(block_height), table, log_line});
  auto published = system.middleman().publish(door_, cluster.listen.port, cluster.listen.host.c_str(), true);
  if (!published) {
    caf::anon_send_exit(door_, caf::exit_reason::user_shutdown);
    throw std::runtime_error("cannot open the peer door " + cluster.listen.to_string() +
                             " (cluster.listen): " + system.render(published.error()) + " (another node running?)");
  }
  port_ = *published;
  for (std::size_t i = 0; i < cluster.peers.size(); ++i) {
    actors::PeerLinkOptions o;
    o.identity = identity;
    o.peer_key = cluster.peers[i].node_key;
    o.host = cluster.peers[i].door.host;
    o.port = cluster.peers[i].door.port;
    o.row = i;
    o.table = table;
    o.random = os_random;
    o.seed = randombytes_random() | (std::uint64_t{randombytes_random()} << 32);  // Backoff jitter only.
    o.heartbeat = cluster.heartbeat;
    o.log_line = log_line;
    links_.push_back(actors::spawn_peer_link(system, std::move(o)));
  }
}

void ClusterNode::stop() {
  if (!door_) return;
  system_.middleman().unpublish(door_, port_);
  for (auto& l : links_) caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  // Waited for: the door reads the node's height for every Pong, and the node is stopped next.
  caf::scoped_actor self{system_};
  self->monitor(door_);
  caf::anon_send_exit(door_, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [] {});
  links_.clear();
  door_ = nullptr;
}

}  // namespace croupier::tools
