// A cluster of real `croupier node` processes, set up by `croupier cluster init`: their peer
// links authenticate with each other's doors, watch each other (shell `peers`), come back
// after a kill -9, and let in no process without a listed key or with another cluster id.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using croupier::test::Process;
using croupier::test::run_process;
using croupier::test::TempDir;
using nlohmann::json;

namespace {

bool port_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The first of `n` consecutive loopback ports that are free now.
std::uint16_t free_port_run(unsigned n) {
  for (int tries = 0; tries < 100; ++tries) {
    const std::uint16_t base = croupier::test::free_port();
    if (base + n >= 65535) continue;
    bool all = true;
    for (unsigned i = 0; i < n && all; ++i) all = port_free(static_cast<std::uint16_t>(base + i));
    if (all) return base;
  }
  FAIL("no run of free ports");
  return 0;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

struct Cluster {
  TempDir dir{"croupier-cluster"};
  std::uint16_t base = free_port_run(9);
  json plan;
  std::vector<std::unique_ptr<Process>> nodes;

  Cluster() {
    auto r = run_process({CROUPIER_BINARY, "cluster", "init", "--nodes", "3", "--dir", (dir / "c").string(),
                          "--base-port", std::to_string(base), "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, croupier::test::describe(r));
    plan = json::parse(r.out);
    REQUIRE(plan["nodes"].size() == 3);
    for (int i = 0; i < 3; ++i) nodes.push_back(nullptr);
  }
  std::string key(int i) const { return plan["nodes"][i]["node_key"]; }
  std::string config(int i) const { return plan["nodes"][i]["config"]; }
  void start(int i) {
    nodes[i] = std::make_unique<Process>(std::vector<std::string>{CROUPIER_BINARY, "node", "--config", config(i)});
    REQUIRE_MESSAGE(nodes[i]->read_until("ready; SIGINT/SIGTERM stops", std::chrono::seconds(60)), nodes[i]->err());
  }
  // Waits until node i has logged `times` links to the peer with key `peer`.
  bool linked(int i, const std::string& peer, std::size_t times = 1) {
    const std::string line = "cluster: linked to peer " + peer.substr(0, 16);
    for (int waited = 0; waited < 200; ++waited) {
      if (count(nodes[i]->err(), line) >= times) return true;
      nodes[i]->read_err_until(line + "\x01", std::chrono::milliseconds(100));  // Pumps stderr.
    }
    return false;
  }
  json shell(int i, const std::string& command) {
    const std::string admin = "127.0.0.1:" + std::to_string(base + 3 * i + 1);
    auto r = run_process({CROUPIER_BINARY, "shell", "--connect", admin, "--data",
                          plan["nodes"][i]["data"].get<std::string>(), "-c", command, "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, croupier::test::describe(r));
    return json::parse(r.out);
  }
};

}  // namespace

TEST_CASE("cluster init: three nodes link with authenticated sessions, watch each other, and link again after a kill -9") {
  Cluster c;
  for (int i = 0; i < 3; ++i) c.start(i);
  // The start-up line the README documents for a cluster node, before `ready`.
  const std::regex cluster_line("\n  cluster:   " + c.plan["cluster_id"].get<std::string>() + ", peer door 127\\.0\\.0\\.1:" +
                                std::to_string(c.base + 2) + ", 2 peers \\([^\n]*\\)\nready; SIGINT/SIGTERM stops\n");
  CHECK_MESSAGE(std::regex_search(c.nodes[0]->out(), cluster_line), c.nodes[0]->out());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      if (i != j) CHECK_MESSAGE(c.linked(i, c.key(j)), "node ", i, " to node ", j, ":\n", c.nodes[i]->err());

  // Heartbeats flow: every peer is linked, heard of lately, and answered pings.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto peers = c.shell(0, "peers");
  REQUIRE(peers["peers"].size() == 2);
  for (const auto& p : peers["peers"]) {
    CHECK(p["linked"] == true);
    CHECK(p["benched"] == false);
    CHECK(p["last_heard_ms_ago"].get<std::int64_t>() < 2000);
    CHECK(p["counters"]["pongs"].get<std::uint64_t>() >= 2);
    CHECK(p["counters"]["inbound_sessions"].get<std::uint64_t>() == 1);
  }
  CHECK(peers["refused_at_door"] == 0);
  CHECK(c.shell(1, "status")["peers"].size() == 2);

  // kill -9 of node 2: its peers notice, bench it, and link again once it is back.
  c.nodes[2]->send(SIGKILL);
  (void)c.nodes[2]->wait();
  {  // Seen by the middleman (its node went down) or by a Ping that bounced first.
    const std::string at = "at 127.0.0.1:" + std::to_string(c.base + 8) + ": ";
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
      c.nodes[0]->read_err_until("\x01", std::chrono::milliseconds(100));  // Pumps stderr.
      seen = count(c.nodes[0]->err(), at + "its node went down") + count(c.nodes[0]->err(), at + "heartbeat unanswered") > 0;
    }
    CHECK_MESSAGE(seen, c.nodes[0]->err());
  }
  bool benched = false;
  for (int i = 0; i < 50 && !benched; ++i) {
    const json now = c.shell(0, "peers");  // Kept: a range-for over a temporary's member dangles.
    for (const auto& p : now["peers"])
      if (p["node_key"] == c.key(2)) benched = p["benched"] == true && p["linked"] == false;
    if (!benched) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK_MESSAGE(benched, c.shell(0, "peers").dump(), "\n", c.nodes[0]->err());
  c.start(2);
  CHECK_MESSAGE(c.linked(0, c.key(2), 2), c.nodes[0]->err());
  CHECK_MESSAGE(c.linked(1, c.key(2), 2), c.nodes[1]->err());
  CHECK(c.linked(2, c.key(0)));
  const json after = c.shell(0, "peers");
  for (const auto& p : after["peers"]) CHECK(p["benched"] == false);

  // An interactive shell idle for longer than the middleman's connection timeout (10 s) keeps
  // its connection: it sends heartbeats.
  {
    const std::string admin = "127.0.0.1:" + std::to_string(c.base + 1);
    auto idle = run_process({"/bin/sh", "-c",
                             "(echo status; sleep 11; echo peers) | " + std::string(CROUPIER_BINARY) + " shell --connect " +
                                 admin + " --data " + c.plan["nodes"][0]["data"].get<std::string>()},
                            std::chrono::seconds(40));
    CHECK_MESSAGE(idle.exit_code == 0, croupier::test::describe(idle));
    CHECK_MESSAGE(idle.err.find("lost the connection") == std::string::npos, idle.err);
    CHECK(idle.out.find("refused_at_door") != std::string::npos);
  }

  // SIGSTOP of node 1: no socket closes, so only the heartbeat notices; SIGCONT links it again.
  c.nodes[1]->send(SIGSTOP);
  CHECK_MESSAGE(c.nodes[0]->read_err_until("at 127.0.0.1:" + std::to_string(c.base + 5) + ": heartbeat unanswered",
                                           std::chrono::seconds(10)),
                c.nodes[0]->err());
  c.nodes[1]->send(SIGCONT);
  CHECK_MESSAGE(c.linked(0, c.key(1), 2), c.nodes[0]->err());
}

TEST_CASE("cluster: a process without a listed node key, or of another cluster, is refused at the hello and never linked") {
  Cluster c;
  c.start(0);
  c.start(1);
  REQUIRE(c.linked(0, c.key(1)));

  // A rogue with the cluster's id and peer list but its own key (not listed).
  const fs::path rogue_ini = c.dir / "rogue.ini";
  std::string text;
  {
    std::ifstream in(c.config(2));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto node2_data = c.plan["nodes"][2]["data"].get<std::string>();
  auto rogue_text = std::regex_replace(text, std::regex(node2_data), (c.dir / "rogue").string());
  std::ofstream(rogue_ini) << rogue_text;
  Process rogue({CROUPIER_BINARY, "node", "--config", rogue_ini.string()});
  REQUIRE_MESSAGE(rogue.read_until("ready; SIGINT/SIGTERM stops", std::chrono::seconds(60)), rogue.err());
  // The door's line (node 0's link may also refuse the rogue's Welcome when it dials that slot).
  const std::string door_refusal = "cluster: refused a hello from a process on node";
  CHECK(c.nodes[0]->read_err_until(door_refusal, std::chrono::seconds(10)));
  CHECK(c.nodes[0]->err().find("which is not in the peer list") != std::string::npos);
  CHECK(rogue.read_err_until("it refused our hello", std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // The rogue retries: still one line at the door.
  c.nodes[0]->read_err_until("\x01", std::chrono::milliseconds(100));  // Pumps stderr.
  CHECK(count(c.nodes[0]->err(), door_refusal) == 1);
  CHECK(count(rogue.err(), "cluster: linked to peer") == 0);
  CHECK(c.shell(0, "peers")["refused_at_door"].get<std::uint64_t>() >= 1);
  rogue.send(SIGKILL);
  (void)rogue.wait();

  // Node 2's own key, but another cluster id.
  const auto other = std::regex_replace(text, std::regex("id=\"[0-9a-f]{32}\""), "id=\"00112233445566778899aabbccddeeff\"");
  const fs::path other_ini = c.dir / "other.ini";
  std::ofstream(other_ini) << other;
  Process wrong({CROUPIER_BINARY, "node", "--config", other_ini.string()});
  REQUIRE_MESSAGE(wrong.read_until("ready; SIGINT/SIGTERM stops", std::chrono::seconds(60)), wrong.err());
  CHECK(c.nodes[0]->read_err_until("from cluster 00112233445566778899aabbccddeeff", std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(count(wrong.err(), "cluster: linked to peer") == 0);
  const json seen = c.shell(0, "peers");
  for (const auto& p : seen["peers"])
    if (p["node_key"] == c.key(2)) CHECK(p["linked"] == false);
}

TEST_CASE("cluster config: a partial, malformed or self-naming [cluster] section is refused naming the key") {
  TempDir dir("croupier-cluster-config");
  const auto key = std::string(64, 'a');
  struct Case {
    const char* name;
    std::string section;
    const char* message;
  };
  const std::vector<Case> cases{
      {"no peers", "id=\"00112233445566778899aabbccddeeff\"\nlisten=\"127.0.0.1:0\"\n", "cluster.peers is not set"},
      {"no id", "listen=\"127.0.0.1:0\"\npeers=[\"" + key + "@127.0.0.1:9\"]\n", "cluster.id is not set"},
      {"short id", "id=\"0011\"\nlisten=\"127.0.0.1:0\"\npeers=[\"" + key + "@127.0.0.1:9\"]\n", "cluster.id must be 32 hex digits"},
      {"a peer without @", "id=\"00112233445566778899aabbccddeeff\"\nlisten=\"127.0.0.1:0\"\npeers=[\"127.0.0.1:9\"]\n",
       "no '@'"},
      {"a peer twice",
       "id=\"00112233445566778899aabbccddeeff\"\nlisten=\"127.0.0.1:0\"\npeers=[\"" + key + "@127.0.0.1:9\",\"" + key +
           "@127.0.0.1:10\"]\n",
       "twice"},
      {"peers not a list", "id=\"00112233445566778899aabbccddeeff\"\nlisten=\"127.0.0.1:0\"\npeers=\"x\"\n",
       "cluster.peers must be a list"},
      {"a heartbeat too short",
       "id=\"00112233445566778899aabbccddeeff\"\nlisten=\"127.0.0.1:0\"\npeers=[\"" + key + "@127.0.0.1:9\"]\nheartbeat=1ms\n",
       "cluster.heartbeat must be 50ms..10s"},
  };
  for (const auto& k : cases) {
    CAPTURE(k.name);
    const auto ini = dir / (std::string(k.name) + ".ini");
    std::ofstream(ini) << "[croupier]\ndata=\"" << (dir / "data").string() << "\"\n[cluster]\n" << k.section;
    auto r = run_process({CROUPIER_BINARY, "node", "--config", ini.string(), "--http", "127.0.0.1:0", "--admin", "off"});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find(k.message) != std::string::npos, r.err);
  }

  // Its own key in the peer list: known only once the data directory's node key is read.
  Cluster c;
  const auto own = c.key(0);
  std::string text;
  {
    std::ifstream in(c.config(0));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto ini = dir / "self.ini";
  std::ofstream(ini) << std::regex_replace(text, std::regex(c.key(1)), own);
  auto r = run_process({CROUPIER_BINARY, "node", "--config", ini.string(), "--admin", "off"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("names this node's own key") != std::string::npos, r.err);

  // cluster init refuses to overwrite.
  auto again = run_process({CROUPIER_BINARY, "cluster", "init", "--nodes", "3", "--dir", (c.dir / "c").string()});
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("never overwrites") != std::string::npos);
}
