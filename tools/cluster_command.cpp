// `croupier cluster init`: the data directories and config files of a new cluster, one per
// node, each with its own node key, all with the same cluster id and each with the list of
// the others (their node keys and peer doors).
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tools/cluster_config.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kSpec{
    "croupier cluster init --nodes N --dir DIR [--host H[,H...]] [--base-port P]",
    "Writes a new cluster of N nodes under DIR: for node I (0..N-1) a data directory\n"
    "DIR/node-I holding its node key (keys/node.seed, mode 0600) and a config file\n"
    "DIR/node-I.ini that `croupier node --config DIR/node-I.ini` starts. Every config names\n"
    "the same new random cluster id and lists the other nodes by node key and peer door.\n"
    "Node I listens on port P+3I (HTTP), P+3I+1 (admin door, loopback) and P+3I+2 (peer\n"
    "door). Nothing that exists is overwritten: DIR/node-I must not exist yet.\n"
    "\n"
    "What a cluster does today: each node's peer links authenticate with the others' doors\n"
    "and watch them (shell `status`, `peers`); votes, catch-up and the house-only roles\n"
    "do not cross processes yet, so each node still finalizes with its own validators.",
    {{"nodes", "N", "how many nodes (2..64)"},
     {"dir", "DIR", "where to write the data directories and config files"},
     {"host", "H[,H...]", "the address each node listens on and is reached at: one for all, or one per node "
                          "(default 127.0.0.1)"},
     {"base-port", "P", "the first port (default 7100); node I uses P+3I..P+3I+2"},
     {"json", "", "print {\"cluster_id\",\"nodes\":[{\"config\",\"data\",\"node_key\",\"http\",\"peer_door\"}]}"}}};

std::vector<std::string> split_hosts(const std::string& text, std::uint64_t nodes) {
  std::vector<std::string> hosts;
  std::stringstream in(text);
  for (std::string h; std::getline(in, h, ',');) {
    if (h.empty()) throw cli::UsageError("--host: an empty host in '" + text + "'");
    hosts.push_back(h);
  }
  if (hosts.size() == 1) hosts.resize(nodes, hosts[0]);
  if (hosts.size() != nodes)
    throw cli::UsageError("--host: " + std::to_string(hosts.size()) + " hosts for " + std::to_string(nodes) +
                          " nodes (give one for all, or one per node)");
  return hosts;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

struct PlannedNode {
  std::filesystem::path data, config;
  KeyPair node_key;
  Endpoint http, admin, door;
};

void write_config(const PlannedNode& n, const Id128& cluster_id, const std::vector<PlannedNode>& all, std::size_t index) {
  std::ofstream out(n.config);
  out << "; Written by `croupier cluster init`: node " << index << " of " << all.size() << " of cluster "
      << to_hex(cluster_id) << ".\n"
      << "; Every key is documented in config/croupier.ini.\n"
      << "[croupier]\n"
      << "data=" << quoted(n.data.string()) << "\n"
      << "http=" << quoted(n.http.to_string()) << "\n"
      << "admin=" << quoted(n.admin.to_string()) << "\n"
      << "\n[cluster]\n"
      << "id=" << quoted(to_hex(cluster_id)) << "\n"
      << "listen=" << quoted(n.door.to_string()) << "\n"
      << "peers=[";
  bool first = true;
  for (std::size_t j = 0; j < all.size(); ++j) {
    if (j == index) continue;
    out << (first ? "" : ",\n       ") << quoted(format_peer({all[j].node_key.public_key, all[j].door}));
    first = false;
  }
  out << "]\n";
  if (!out) throw std::runtime_error("cannot write " + n.config.string());
}

}  // namespace

int run_cluster(const std::vector<std::string>& argv) {
  if (argv.empty() || (argv[0] != "init" && argv[0] != "--help" && argv[0] != "-h")) {
    std::cerr << "croupier cluster: which command? available: init (see croupier cluster init --help)\n";
    return 2;
  }
  const std::vector<std::string> rest(argv[0] == "init" ? argv.begin() + 1 : argv.begin(), argv.end());
  return run_command("cluster init", kSpec, rest, [](const cli::Args& args) {
    const auto nodes = args.unsigned_value("nodes");
    if (!nodes || *nodes < 2 || *nodes > 64) throw cli::UsageError("--nodes must be 2..64");
    const std::filesystem::path dir = std::filesystem::absolute(args.required("dir"));
    const auto hosts = split_hosts(args.value("host").value_or("127.0.0.1"), *nodes);
    const std::uint64_t base = args.unsigned_value("base-port").value_or(7100);
    if (base < 1 || base > 65536 - 3 * *nodes)  // nodes <= 64: no overflow
      throw cli::UsageError("--base-port: ports " + std::to_string(base) + ".." + std::to_string(base + 3 * *nodes - 1) +
                            " do not fit in 1..65535");
    std::vector<PlannedNode> planned;
    for (std::uint64_t i = 0; i < *nodes; ++i) {
      PlannedNode n;
      n.data = dir / ("node-" + std::to_string(i));
      n.config = dir / ("node-" + std::to_string(i) + ".ini");
      if (std::filesystem::exists(n.data) || std::filesystem::exists(n.config))
        throw std::runtime_error(n.data.string() + " or its config already exists: cluster init never overwrites a node");
      const auto port = [&](std::uint64_t k) { return static_cast<std::uint16_t>(base + 3 * i + k); };
      n.node_key = random_keypair();
      n.http = {hosts[i], port(0)};
      n.admin = {"127.0.0.1", port(1)};
      n.door = {hosts[i], port(2)};
      planned.push_back(std::move(n));
    }
    Id128 cluster_id{};
    randombytes_buf(cluster_id.data(), cluster_id.size());
    std::filesystem::create_directories(dir);
    for (std::size_t i = 0; i < planned.size(); ++i) {
      std::filesystem::create_directories(planned[i].data / "keys");
      std::filesystem::permissions(planned[i].data / "keys", std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace);
      write_seed_file(planned[i].data / "keys" / "node.seed", planned[i].node_key);
      write_config(planned[i], cluster_id, planned, i);
    }
    if (args.flag("json")) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& n : planned)
        list.push_back({{"config", n.config.string()}, {"data", n.data.string()}, {"node_key", to_hex(n.node_key.public_key)},
                        {"http", n.http.to_string()}, {"peer_door", n.door.to_string()}});
      std::cout << nlohmann::json{{"cluster_id", to_hex(cluster_id)}, {"nodes", list}}.dump() << "\n";
    } else {
      std::cout << "cluster " << to_hex(cluster_id) << ": " << planned.size() << " nodes under " << dir.string() << "\n";
      for (std::size_t i = 0; i < planned.size(); ++i)
        std::cout << "  node " << i << ": croupier node --config " << planned[i].config.string() << "  (http "
                  << planned[i].http.to_string() << ", peer door " << planned[i].door.to_string() << ", node key "
                  << to_hex(planned[i].node_key.public_key) << ")\n";
    }
    return 0;
  });
}

}  // namespace croupier::tools
