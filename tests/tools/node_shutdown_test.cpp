// SIGTERM answers every waiting client: 200 clients wait on bets (wait_ms 30000) that cannot
// become final in that time, the node is SIGTERMed, and each of them must get a complete HTTP
// answer (202 pending, or 200 final) before its connection closes; the node exits 0 and the
// bets are in its log. A regression test: when the gateway stopped its io threads while the
// waiters' answers were still queued, 60-164 of 200 such clients got a closed connection and
// no answer in 4 of 6 runs.
//
// Method: the real `croupier node` on a fresh data dir (admin door off), started twice. The
// first start runs on the defaults and funds 200 players with operator-signed deposits, each
// waited on until final. The second runs three local validators with round-interval = 60s:
// a vote needs 20 successful polls a minute apart, so every bet stays pending. 200 client
// threads then each send one signed bet on a connection of its own (a fresh HttpClient, which
// never resends on a fresh connection) and wait; once the node's metrics show 200 clients
// waiting, SIGTERM. A third start checks that every bet was admitted.
#include <doctest/doctest.h>

#include <signal.h>

#include <array>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "domain/crypto.hpp"
#include "domain/games.hpp"
#include "domain/ids.hpp"
#include "domain/transactions.hpp"
#include "test_support.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace {

using namespace croupier;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const std::string kBinary = CROUPIER_BINARY;
const std::string kReadyLine = "ready; SIGINT/SIGTERM stops";
constexpr std::size_t kClients = 200;

// One start of the node on `data`, listening on `port`, with the config file `config`.
class NodeRun {
 public:
  NodeRun(const fs::path& data, const fs::path& config, std::uint16_t port)
      : port_(port),
        proc_({kBinary, "node", "--config", config.string(), "--data", data.string(), "--http",
               "127.0.0.1:" + std::to_string(port), "--admin", "off"}) {}

  // Waits for the ready line; false (with the output in `why`) when it does not come.
  bool ready(std::string& why) {
    if (proc_.read_until(kReadyLine, std::chrono::seconds(60))) return true;
    why = test::describe(proc_.wait(std::chrono::seconds(5)));
    return false;
  }
  std::uint16_t port() const { return port_; }
  test::ProcessResult terminate() {
    proc_.send(SIGTERM);
    return proc_.wait(std::chrono::seconds(60));
  }

 private:
  std::uint16_t port_;
  test::Process proc_;
};

fs::path write_config(const test::TempDir& dir, const std::string& name, const std::string& text) {
  fs::path p = dir / name;
  std::ofstream(p) << "[croupier]\n" << text;
  return p;
}

Id128 random_id(std::mt19937_64& rng) {
  Id128 id{};
  for (auto& b : id) b = static_cast<std::uint8_t>(rng());
  return id;
}

KeyPair random_key(std::mt19937_64& rng) {
  Seed s{};
  for (auto& b : s) b = static_cast<std::uint8_t>(rng());
  return keypair_from_seed(s);
}

json deposit_body(const Deposit& d) {
  return json{{"deposit_id", to_hex(d.deposit_id)}, {"account", to_hex(d.account)},
              {"amount", d.amount},                 {"operator_key", to_hex(d.operator_key)},
              {"signature", to_hex(d.signature)},   {"wait_ms", 10000}};
}

json bet_body(const Bet& b) {
  return json{{"bet_id", to_hex(b.bet_id)},    {"account", to_hex(b.account)},
              {"nonce", b.nonce},              {"game", "dice"},
              {"wager", b.wager},              {"choice", b.choice},
              {"client_seed", to_hex(b.client_seed)}, {"signature", to_hex(b.signature)},
              {"wait_ms", 30000}};
}

// Funds every player with a deposit from the operator, each waited on until final.
void fund(std::uint16_t port, const KeyPair& op, const std::vector<KeyPair>& players, std::mt19937_64& rng) {
  tools::HttpClient http("127.0.0.1", port);
  for (const KeyPair& p : players) {
    Deposit d;
    d.deposit_id = random_id(rng);
    d.account = p.public_key;
    d.amount = 1000;
    d.operator_key = op.public_key;
    sign_tx(d, op);
    auto r = http.request("POST", "/v1/deposits", deposit_body(d).dump(), std::chrono::seconds(15));
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
  }
}

// The value of an untyped Prometheus sample line `name N`, nullopt when absent.
std::optional<std::uint64_t> metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(text.substr(at + name.size() + 2));
}

// What one waiting client got: the status and body, or the transport error.
struct ClientResult {
  unsigned status = 0;
  std::string body, error;
};

}  // namespace

TEST_CASE("SIGTERM answers each of 200 clients waiting on bets, and the node exits 0") {
  test::TempDir dir("croupier-shutdown");
  const fs::path data = dir / "data";
  std::mt19937_64 rng(std::random_device{}());
  std::vector<KeyPair> players;
  for (std::size_t i = 0; i < kClients; ++i) players.push_back(random_key(rng));

  std::string why;
  {
    NodeRun first(data, write_config(dir, "fast.ini", "batch-interval = 100ms\n"), test::free_port());
    REQUIRE_MESSAGE(first.ready(why), why);
    fund(first.port(), tools::read_seed_file(data / "keys" / "operator.seed"), players, rng);
    auto r = first.terminate();
    REQUIRE_MESSAGE(r.exit_code == 0, test::describe(r));
  }

  const fs::path slow = write_config(dir, "slow.ini", "local-validators = 3\nround-interval = 60s\n");
  NodeRun node(data, slow, test::free_port());
  REQUIRE_MESSAGE(node.ready(why), why);
  std::vector<Bet> bets(kClients);
  for (std::size_t i = 0; i < kClients; ++i) {
    Bet& b = bets[i];
    b.bet_id = random_id(rng);
    b.account = players[i].public_key;
    b.nonce = 1;
    b.game = static_cast<std::uint8_t>(Game::dice);
    b.wager = 10;
    b.choice = 50;
    for (auto& c : b.client_seed) c = static_cast<std::uint8_t>(rng());
    sign_tx(b, players[i]);
  }
  std::vector<ClientResult> outcomes(kClients);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      try {
        tools::HttpClient http("127.0.0.1", node.port());  // A connection of its own.
        auto r = http.request("POST", "/v1/bets", bet_body(bets[i]).dump(), std::chrono::seconds(60));
        outcomes[i].status = r.status;
        outcomes[i].body = r.body;
      } catch (const std::exception& e) {
        outcomes[i].error = e.what();
      }
    });
  }
  // Every client waits on the node before the signal.
  tools::HttpClient monitor("127.0.0.1", node.port());
  std::uint64_t waiting = 0;
  for (auto until = Clock::now() + std::chrono::seconds(30); waiting < kClients && Clock::now() < until;) {
    waiting = metric(monitor.request("GET", "/metrics").body, "pending_finalization_waiters").value_or(0);
    if (waiting < kClients) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(waiting == kClients);

  auto sent = Clock::now();
  auto stopped = node.terminate();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent);
  for (auto& t : clients) t.join();
  MESSAGE("the node stopped " << took.count() << " ms after SIGTERM");
  CHECK_MESSAGE(stopped.exit_code == 0, test::describe(stopped));
  CHECK(took < std::chrono::seconds(20));

  std::size_t answered = 0, shown = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    const ClientResult& o = outcomes[i];
    json j = json::parse(o.body, nullptr, false);
    const std::string status = j.is_object() && j.contains("status") && j["status"].is_string() ? j["status"] : "";
    bool ok = (o.status == 202 && status == "pending") || (o.status == 200 && status == "final");
    if (ok && j.value("tx_id", "") == to_hex(tx_id(bets[i]))) {
      ++answered;
    } else if (shown++ < 10) {
      MESSAGE("client " << i << ": status " << o.status << " " << o.body << o.error);
    }
  }
  CHECK(answered == kClients);

  // Every bet was admitted before the stop: a restart knows each of them.
  NodeRun after(data, slow, test::free_port());
  REQUIRE_MESSAGE(after.ready(why), why);
  tools::HttpClient http("127.0.0.1", after.port());
  std::size_t known = 0;
  for (const Bet& b : bets) known += http.request("GET", "/v1/bets/" + to_hex(b.bet_id)).status == 200;
  CHECK(known == kClients);
  auto r = after.terminate();
  CHECK_MESSAGE(r.exit_code == 0, test::describe(r));
}
