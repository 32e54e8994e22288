// The node as a process survives kill -9 under concurrent HTTP load: every bet and deposit
// the API acknowledged (200 final or 202 pending) is final exactly once after the restarts,
// no bet is in two batches, every final bet ends in a confirmed batch, balances are
// conserved (deposits = balances + house result, per account and in total), and
// `croupier replay --verify` on the log is clean with the API's balances.
//
// Method: `croupier node` on a fresh durable data dir with fast batches, started through
// /bin/sh so that its output goes to one log file per start (nothing has to drain pipes
// while the load runs; the pid is the node's own, `exec` replaces the shell). Every restart
// listens on the port of the previous start, like an operator's restart.
// Client threads own two funded player accounts each and send signed bets (and now and
// then an operator-signed deposit) with sequential nonces, wait_ms 0..1000 so that some
// are answered pending and several bets of an account are undecided at once. A request
// that fails on the transport (the node died under it) is resent unchanged (same bet_id,
// same signature) once the node is back: the node must answer it idempotently, or admit it
// when the crash lost it before it was acknowledged; the thread moves on only after an
// acknowledgement. The main thread SIGKILLs the node at seeded random moments (the seed is
// printed; CROUPIER_CRASH_SEED=N reruns one), restarts it on the same data dir and lets the
// load continue. After the last restart the load stops, every acknowledged bet is polled
// until final in a confirmed batch, the API's answers are checked, the node is stopped with
// SIGTERM, the log is scanned directly (one admission, one outcome, one batch per bet;
// every batch confirmed; no bet the API did not acknowledge) and `croupier replay --verify
// --json` is compared with the API.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "domain/crypto.hpp"
#include "domain/events.hpp"
#include "domain/games.hpp"
#include "domain/ids.hpp"
#include "domain/transactions.hpp"
#include "eventlog/event_log.hpp"
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

constexpr int kThreads = 4;
constexpr int kAccountsPerThread = 2;
constexpr Amount kInitialFunds = 1'000'000'000;
constexpr std::chrono::seconds kRequestTimeout{10};

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, std::size_t n = 3000) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

using test::describe;
using test::free_port;

// The node process, restarted on the same data dir; each start logs to its own file.
class NodeProcess {
 public:
  NodeProcess(fs::path work, fs::path data, fs::path config)
      : work_(std::move(work)), data_(std::move(data)), config_(std::move(config)) {}

  // Starts the node and waits until it prints its ready line and /v1/health answers ready.
  // It listens on the port of the previous start (as an operator restarts a node), or on a
  // free one for the first start or when that port is taken. Returns an empty string on
  // success, else what went wrong (with the log).
  std::string start() {
    std::string failed;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (port_ == 0 || attempt > 0) port_ = free_port();
      failed = start_on(port_);
      if (failed.empty() || failed.find("Address already in use") == std::string::npos) return failed;
      ++port_changes_;
    }
    return failed;
  }

  // Starts the node and SIGKILLs it `delay` later, while it replays its log, resumes its
  // work or (when it is that fast) already serves. True when it had printed its ready line.
  bool kill_during_start(std::chrono::milliseconds delay) {
    if (port_ == 0) port_ = free_port();
    spawn(port_);
    std::this_thread::sleep_for(delay);
    proc_->send(SIGKILL);
    proc_->wait(std::chrono::seconds(30));
    bool ready = read_file(log_).find(kReadyLine) != std::string::npos;
    ready_starts_ += ready;
    return ready;
  }

  // Starts that printed the ready line (each has recorded its NodeStarted).
  int ready_starts() const { return ready_starts_; }

  // Times a start could not listen on the port it wanted.
  int port_changes() const { return port_changes_; }

  // SIGKILL; returns the result (signal should be SIGKILL).
  test::ProcessResult kill9() {
    proc_->send(SIGKILL);
    auto r = proc_->wait(std::chrono::seconds(30));
    r.out = read_file(log_);
    return r;
  }

  test::ProcessResult terminate() {
    proc_->send(SIGTERM);
    auto r = proc_->wait(std::chrono::seconds(30));
    r.out = read_file(log_);
    return r;
  }

  std::uint16_t port() const { return port_; }
  int starts() const { return starts_; }

  // The last lines of every start's log, for a failure report.
  // Whether any start's whole log says `needle`.
  bool logs_contain(std::string_view needle) const {
    for (int i = 1; i <= starts_; ++i)
      if (read_file(work_ / ("node-" + std::to_string(i) + ".log")).find(needle) != std::string::npos) return true;
    return false;
  }
  std::string logs() const {
    std::string s;
    for (int i = 1; i <= starts_; ++i) {
      fs::path p = work_ / ("node-" + std::to_string(i) + ".log");
      s += "--- node start " + std::to_string(i) + " ---\n" + tail(read_file(p), 1500) + "\n";
    }
    return s;
  }

 private:
  void spawn(std::uint16_t port) {
    ++starts_;
    log_ = work_ / ("node-" + std::to_string(starts_) + ".log");
    // (`--http 127.0.0.1:0` would be simpler, but parse_endpoint refuses port 0.)
    std::string cmd = "exec '" + kBinary + "' node --config '" + config_.string() + "' --data '" + data_.string() +
                      "' --http 127.0.0.1:" + std::to_string(port) + " >'" + log_.string() + "' 2>&1";
    proc_ = std::make_unique<test::Process>(std::vector<std::string>{"/bin/sh", "-c", cmd});
  }

  std::string start_on(std::uint16_t port) {
    spawn(port);
    auto deadline = Clock::now() + std::chrono::seconds(30);
    std::string out;
    while ((out = read_file(log_)).find(kReadyLine) == std::string::npos) {
      if (Clock::now() > deadline) return "start " + std::to_string(starts_) + ": no ready line in 30 s:\n" + tail(out);
      if (exited()) {
        auto r = proc_->wait(std::chrono::seconds(5));
        return "start " + std::to_string(starts_) + ": the node exited (" + std::to_string(r.exit_code) + "):\n" +
               tail(read_file(log_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ++ready_starts_;
    if (out.find("http://127.0.0.1:" + std::to_string(port) + "\n") == std::string::npos)
      return "the node does not say it listens on port " + std::to_string(port) + ":\n" + tail(out);
    tools::HttpClient client("127.0.0.1", port);
    while (true) {
      try {
        auto r = client.request("GET", "/v1/health", {}, std::chrono::seconds(5));
        if (r.status == 200 && json::parse(r.body).at("ready").get<bool>()) return {};
      } catch (const std::exception&) {
      }
      if (Clock::now() > deadline) return "the node's /v1/health is not ready after 30 s:\n" + tail(read_file(log_));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }


  // True when the child has exited (it is then reaped through Process::wait).
  bool exited() {
    siginfo_t info{};
    info.si_pid = 0;
    if (::waitid(P_PID, static_cast<id_t>(proc_->pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    return info.si_pid != 0;
  }

  fs::path work_, data_, config_, log_;
  std::unique_ptr<test::Process> proc_;
  std::uint16_t port_ = 0;
  int starts_ = 0;
  int port_changes_ = 0;
  int ready_starts_ = 0;
};

// Where the node currently listens, shared by the client threads: down while the main
// thread kills and restarts it. `generation` counts starts.
class NodeLink {
 public:
  void up(std::uint16_t port) {
    std::lock_guard lock(mutex_);
    port_ = port;
    ++generation_;
    up_ = true;
    cv_.notify_all();
  }
  void down() {
    std::lock_guard lock(mutex_);
    up_ = false;
  }
  // Waits until the node is up; nullopt at the deadline.
  std::optional<std::pair<std::uint16_t, std::uint64_t>> current(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_until(lock, deadline, [&] { return up_; })) return std::nullopt;
    return std::pair{port_, generation_};
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool up_ = false;
  std::uint16_t port_ = 0;
  std::uint64_t generation_ = 0;
};

// Problems found anywhere, reported together at the end.
class Problems {
 public:
  void add(const std::string& p) {
    std::lock_guard lock(mutex_);
    list_.push_back(p);
  }
  std::vector<std::string> list() {
    std::lock_guard lock(mutex_);
    return list_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
};

struct AckedBet {
  Bet bet;
  Hash32 tx_id{};
  std::optional<Amount> payout;  // When the acknowledgement was final.
  bool resent = false;           // Acknowledged only after a transport failure and a resend.
};

struct AckedDeposit {
  Deposit deposit;
  Hash32 tx_id{};
  bool resent = false;
};

json bet_body(const Bet& b, std::uint64_t wait_ms) {
  return json{{"bet_id", to_hex(b.bet_id)},   {"account", to_hex(b.account)},
              {"nonce", b.nonce},             {"game", std::string(game_name(static_cast<Game>(b.game)))},
              {"wager", b.wager},             {"choice", b.choice},
              {"client_seed", to_hex(b.client_seed)}, {"signature", to_hex(b.signature)},
              {"wait_ms", wait_ms}};
}

json deposit_body(const Deposit& d, std::uint64_t wait_ms) {
  return json{{"deposit_id", to_hex(d.deposit_id)}, {"account", to_hex(d.account)},
              {"amount", d.amount},                 {"operator_key", to_hex(d.operator_key)},
              {"signature", to_hex(d.signature)},   {"wait_ms", wait_ms}};
}

template <class Rng>
Id128 new_id(Rng& rng) {
  std::array<std::uint8_t, 10> r{};
  for (auto& b : r) b = static_cast<std::uint8_t>(rng());
  return make_time_ordered_id(wall_ms(), r);
}

Deposit make_deposit(const KeyPair& op, const PublicKey& account, Amount amount, std::mt19937_64& rng) {
  Deposit d;
  d.deposit_id = new_id(rng);
  d.account = account;
  d.amount = amount;
  d.operator_key = op.public_key;
  sign_tx(d, op);
  return d;
}

// One client: sends requests to the current node, resending the same body after a
// transport failure or a 503, until an answer comes or the deadline passes.
class Client {
 public:
  Client(NodeLink& link, Clock::time_point deadline) : link_(link), deadline_(deadline) {}

  struct Answer {
    tools::HttpResponse response;
    bool resent = false;  // At least one transport failure before this answer.
  };

  std::optional<Answer> post(const std::string& target, const std::string& body, std::string& error) {
    Answer a;
    while (Clock::now() < deadline_) {
      auto where = link_.current(deadline_);
      if (!where) break;
      if (!http_ || where->second != generation_) {
        http_ = std::make_unique<tools::HttpClient>("127.0.0.1", where->first);
        generation_ = where->second;
      }
      try {
        a.response = http_->request("POST", target, body, kRequestTimeout);
      } catch (const tools::HttpError& e) {
        a.resent = true;
        ++transport_failures;
        http_.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      if (a.response.status == 503) {  // busy, or unavailable while stopping: same request again.
        ++busy;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      return a;
    }
    error = "no answer to POST " + target + " before the deadline (the node hangs?) body " + body;
    return std::nullopt;
  }

  std::uint64_t transport_failures = 0, busy = 0;

 private:
  NodeLink& link_;
  Clock::time_point deadline_;
  std::unique_ptr<tools::HttpClient> http_;
  std::uint64_t generation_ = 0;
};

struct Player {
  KeyPair key;
  std::uint64_t next_nonce = 1;
  bool dead = false;  // A refusal: stop betting on it (the problem is recorded).
};

struct ThreadResult {
  std::vector<AckedBet> bets;
  std::vector<AckedDeposit> deposits;
  std::uint64_t transport_failures = 0, busy = 0, finals = 0, pendings = 0;
};

// The load of one thread: bets on its players, round robin, and a deposit now and then.
void run_client(int index, std::uint64_t seed, const std::vector<std::uint64_t>& wait_choices,
                std::vector<Player>& players, const KeyPair& op, NodeLink& link, std::atomic<bool>& stop, std::atomic<std::uint64_t>& acks, Clock::time_point deadline,
                Problems& problems, ThreadResult& out) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<std::uint64_t>(index));
  Client client(link, deadline);
  std::string tag = "thread " + std::to_string(index) + ": ";
  std::size_t turn = 0;
  while (!stop.load() && Clock::now() < deadline) {
    Player& p = players[turn++ % players.size()];
    if (std::all_of(players.begin(), players.end(), [](const Player& q) { return q.dead; })) break;
    if (p.dead) continue;
    std::uint64_t wait_ms = wait_choices[rng() % wait_choices.size()];
    std::string error;

    if (rng() % 25 == 0) {  // A deposit, signed by the operator.
      Deposit d = make_deposit(op, p.key.public_key, 1 + rng() % 1'000'000, rng);
      auto a = client.post("/v1/deposits", deposit_body(d, wait_ms).dump(), error);
      if (!a) {
        problems.add(tag + error);
        break;
      }
      json j = json::parse(a->response.body, nullptr, false);
      std::string status = j.is_object() && j.contains("status") ? j["status"].get<std::string>() : "";
      if ((a->response.status == 200 && status == "final") || (a->response.status == 202 && status == "pending")) {
        if (j.value("tx_id", "") != to_hex(tx_id(d)))
          problems.add(tag + "deposit " + to_hex(d.deposit_id) + " answered with tx_id " + j.value("tx_id", "?"));
        out.deposits.push_back({d, tx_id(d), a->resent});
        ++acks;
      } else {
        problems.add(tag + "deposit " + to_hex(d.deposit_id) + (a->resent ? " (resent after a crash)" : "") +
                     " answered " + std::to_string(a->response.status) + " " + a->response.body);
      }
      continue;
    }

    Bet b;
    b.bet_id = new_id(rng);
    b.account = p.key.public_key;
    b.nonce = p.next_nonce;
    bool dice = rng() % 2 == 0;
    b.game = static_cast<std::uint8_t>(dice ? Game::dice : Game::coinflip);
    b.choice = static_cast<std::uint8_t>(dice ? 2 + rng() % 98 : rng() % 2);
    b.wager = 1 + rng() % 1000;
    for (auto& c : b.client_seed) c = static_cast<std::uint8_t>(rng());
    sign_tx(b, p.key);
    auto a = client.post("/v1/bets", bet_body(b, wait_ms).dump(), error);
    if (!a) {
      problems.add(tag + error);
      break;
    }
    json j = json::parse(a->response.body, nullptr, false);
    std::string status = j.is_object() && j.contains("status") ? j["status"].get<std::string>() : "";
    std::string what = tag + "bet " + to_hex(b.bet_id) + " (account " + to_hex(b.account).substr(0, 16) + ", nonce " +
                       std::to_string(b.nonce) + (a->resent ? ", resent after a transport failure" : "") + ")";
    if ((a->response.status == 200 && status == "final") || (a->response.status == 202 && status == "pending")) {
      AckedBet ack{b, tx_id(b), std::nullopt, a->resent};
      if (j.value("tx_id", "") != to_hex(ack.tx_id))
        problems.add(what + " answered with tx_id " + j.value("tx_id", "?") + ", expected " + to_hex(ack.tx_id));
      if (status == "final") {
        if (!j.contains("payout") || !j["payout"].is_number_unsigned())
          problems.add(what + " final without a payout: " + a->response.body);
        else
          ack.payout = j["payout"].get<Amount>();
        ++out.finals;
      } else {
        ++out.pendings;
      }
      out.bets.push_back(ack);
      ++p.next_nonce;
      ++acks;
    } else {
      // A refusal (wrong_nonce would mean an acknowledged earlier bet was lost), a rejection
      // (nothing competes with these bets) or an internal error: all wrong here.
      problems.add(what + " answered " + std::to_string(a->response.status) + " " + a->response.body);
      p.dead = true;
    }
  }
  out.transport_failures = client.transport_failures;
  out.busy = client.busy;
}

// GET target from the node; nullopt (and a problem) on a transport failure or non-JSON.
std::optional<std::pair<unsigned, json>> get_json(tools::HttpClient& http, const std::string& target, Problems& problems) {
  try {
    auto r = http.request("GET", target, {}, kRequestTimeout);
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) {
      problems.add("GET " + target + ": not JSON: " + r.body);
      return std::nullopt;
    }
    return std::pair{r.status, j};
  } catch (const std::exception& e) {
    problems.add("GET " + target + ": " + e.what());
    return std::nullopt;
  }
}

std::string report(const std::vector<std::string>& problems, std::size_t max = 30) {
  std::string s = std::to_string(problems.size()) + " problems:\n";
  for (std::size_t i = 0; i < problems.size() && i < max; ++i) s += "  " + problems[i] + "\n";
  if (problems.size() > max) s += "  ... " + std::to_string(problems.size() - max) + " more\n";
  return s;
}

std::uint64_t test_seed() {
  if (const char* s = std::getenv("CROUPIER_CRASH_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32);
}

// How the node is stopped under load, how often, and how long clients ask it to wait.
struct Scenario {
  int stop_signal = SIGKILL;       // SIGKILL, or SIGTERM (then it must exit 0, promptly).
  int stops_under_load = 6;        // Stops while the clients send.
  int kills_during_start = 0;      // Extra SIGKILLs while a restart is under way.
  std::vector<std::uint64_t> wait_choices;  // wait_ms of each request, drawn from these.
  std::uint64_t recent_txs = 100'000;  // croupier.recent-txs: small, most answers come from the log.
  std::uint64_t snapshot_every = 100'000;  // croupier.snapshot-every: small, kills land around snapshots.
};

void run_scenario(const Scenario& sc) {
  const std::uint64_t seed = test_seed();
  MESSAGE("node_crash_test seed " << seed << " (rerun with CROUPIER_CRASH_SEED=" << seed << ")");
  CAPTURE(seed);
  // Problems that also need the node's logs to be understood.
  Problems problems;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) problems.add(what);
  };
  std::mt19937_64 rng(seed);
  const auto started = Clock::now();
  const auto hard_deadline = started + std::chrono::seconds(150);  // Only a guard against a hang.

  test::TempDir dir("croupier-node-crash");
  const fs::path data = dir / "data";
  const fs::path config = dir / "node.ini";
  {
    std::ofstream c(config);
    c << "[croupier]\n"
         "admin = \"127.0.0.1:0\"\n"
         "batch-interval = 20ms\n"
         "submit-timeout = 2s\n"
         "retry-base = 50ms\n"
         "retry-cap = 500ms\n"
         "reconcile-interval = 1s\n"
      << "recent-txs = " << sc.recent_txs << "\n"
      << "snapshot-every = " << sc.snapshot_every << "\n";
  }
  NodeProcess node(dir.path(), data, config);
  NodeLink link;

  std::string failed = node.start();
  REQUIRE_MESSAGE(failed.empty(), failed);
  link.up(node.port());
  auto keys = tools::read_node_keys(data);
  REQUIRE(keys.has_value());
  const KeyPair op = keys->operator_key;

  // --- fund the players --------------------------------------------------------------------
  std::vector<std::vector<Player>> players(kThreads);
  std::vector<AckedDeposit> funding;
  {
    tools::HttpClient http("127.0.0.1", node.port());
    for (int t = 0; t < kThreads; ++t)
      for (int i = 0; i < kAccountsPerThread; ++i) {
        Seed s{};
        for (auto& b : s) b = static_cast<std::uint8_t>(rng());
        players[t].push_back(Player{keypair_from_seed(s)});
        Deposit d = make_deposit(op, players[t].back().key.public_key, kInitialFunds, rng);
        auto r = http.request("POST", "/v1/deposits", deposit_body(d, 5000).dump(), kRequestTimeout);
        CAPTURE(r.body);
        REQUIRE(r.status == 200);
        REQUIRE(json::parse(r.body).at("status") == "final");
        funding.push_back({d, tx_id(d), false});
      }
  }

  // --- load, and kills at random moments ------------------------------------------------------
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> acks{0};
  std::vector<ThreadResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      run_client(t, seed, sc.wait_choices, players[t], op, link, stop, acks, hard_deadline, problems, results[t]);
    });

  // The restarts after which the node is also killed while it starts again.
  std::set<int> kill_at_start;
  while (static_cast<int>(kill_at_start.size()) < std::min(sc.kills_during_start, sc.stops_under_load))
    kill_at_start.insert(static_cast<int>(rng() % static_cast<std::uint64_t>(sc.stops_under_load)));
  int stops = 0, start_kills = 0;
  const std::string stop_name = sc.stop_signal == SIGKILL ? "SIGKILL" : "SIGTERM";
  for (int k = 0; k < sc.stops_under_load; ++k) {
    // Some progress on this start first, then a random moment.
    std::uint64_t from = acks.load();
    auto progress_deadline = Clock::now() + std::chrono::seconds(15);
    while (acks.load() < from + 10 && Clock::now() < progress_deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (acks.load() < from + 10) {
      problems.add("no progress in 15 s after start " + std::to_string(node.starts()) + " (" +
                   std::to_string(acks.load() - from) + " acknowledgements)");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 1400));
    link.down();
    ++stops;
    std::string which = stop_name + " " + std::to_string(stops);
    if (sc.stop_signal == SIGKILL) {
      auto r = node.kill9();
      expect(r.signal == SIGKILL, which + ": the node did not die of SIGKILL: " + describe(r));
    } else {
      auto t0 = Clock::now();
      auto r = node.terminate();
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      expect(r.exit_code == 0 && r.signal == 0 && r.out.find("stopped by SIGTERM") != std::string::npos,
             which + ": the node did not stop cleanly: " + describe(r));
      expect(secs < 10, which + ": the node took " + std::to_string(secs) + " s to stop");
    }
    if (kill_at_start.count(k)) {
      ++start_kills;
      node.kill_during_start(std::chrono::milliseconds(rng() % 300));
    }
    failed = node.start();
    if (!failed.empty()) {
      problems.add("restart after " + which + ": " + failed);
      break;
    }
    link.up(node.port());
  }
  // A little more load on the last start, then stop: every thread finishes its request.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (auto& t : threads) t.join();
  const double load_seconds = std::chrono::duration<double>(Clock::now() - started).count();

  std::vector<AckedBet> bets;
  std::vector<AckedDeposit> deposits = funding;
  std::uint64_t transport_failures = 0, busy = 0, finals = 0, pendings = 0, resent_bets = 0;
  for (auto& r : results) {
    bets.insert(bets.end(), r.bets.begin(), r.bets.end());
    deposits.insert(deposits.end(), r.deposits.begin(), r.deposits.end());
    transport_failures += r.transport_failures;
    busy += r.busy;
    finals += r.finals;
    pendings += r.pendings;
  }
  for (auto& b : bets) resent_bets += b.resent;
  MESSAGE(stops << " " << stop_name << " under load, " << start_kills << " SIGKILL during a start; " << bets.size() << " bets acknowledged (" << finals << " final, " << pendings
                << " pending, " << resent_bets << " after a resend), " << deposits.size() << " deposits, "
                << transport_failures << " transport failures, " << busy << " busy answers, load "
                << load_seconds << " s, " << node.port_changes() << " restarts had to change port");
  expect(stops == sc.stops_under_load, "only " + std::to_string(stops) + " stops under load");
  expect(bets.size() > 100, "only " + std::to_string(bets.size()) + " bets acknowledged");

  // --- everything acknowledged becomes final, in a confirmed batch ----------------------------
  tools::HttpClient http("127.0.0.1", node.port());
  std::map<std::string, json> final_bets;  // bet_id hex -> final GET body
  {
    std::vector<const AckedBet*> waiting;
    for (auto& b : bets) waiting.push_back(&b);
    auto deadline = std::min(Clock::now() + std::chrono::seconds(30), hard_deadline);
    while (!waiting.empty() && Clock::now() < deadline) {
      std::vector<const AckedBet*> still;
      for (const AckedBet* b : waiting) {
        std::string id = to_hex(b->bet.bet_id);
        auto r = get_json(http, "/v1/bets/" + id, problems);
        if (!r) break;
        if (r->first == 200 && r->second.value("status", "") == "final" &&
            r->second.value("batch_status", json()).is_string() && r->second["batch_status"] == "confirmed")
          final_bets[id] = r->second;
        else
          still.push_back(b);
      }
      waiting = std::move(still);
      if (!waiting.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (const AckedBet* b : waiting) {
      auto r = get_json(http, "/v1/bets/" + to_hex(b->bet.bet_id), problems);
      problems.add("acknowledged bet " + to_hex(b->bet.bet_id) + " (nonce " + std::to_string(b->bet.nonce) +
                   ") not final in a confirmed batch 30 s after the load: " +
                   (r ? std::to_string(r->first) + " " + r->second.dump() : std::string("no answer")));
    }
  }

  // --- the API's view: exactly once, same outcome, one batch each, conservation ---------------
  std::map<PublicKey, Int128> expected_balance;  // deposits - wagers + payouts, per account
  std::map<PublicKey, std::uint64_t> bets_per_account, max_nonce;
  Int128 deposits_total = 0, wagers = 0, payouts = 0;
  std::set<std::string> tx_ids, batch_ids;
  std::map<std::string, std::string> batch_of_bet;  // bet_id -> batch_id, from the API
  for (auto& d : deposits) {
    deposits_total += d.deposit.amount;
    expected_balance[d.deposit.account] += d.deposit.amount;
    std::optional<std::pair<unsigned, json>> r;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while ((r = get_json(http, "/v1/deposits/" + to_hex(d.deposit.deposit_id), problems)) &&
           r->second.value("status", "") == "pending" && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!r) continue;
    if (r->first != 200 || r->second.value("status", "") != "final" || r->second.value("tx_id", "") != to_hex(d.tx_id) ||
        r->second.value("amount", Amount{0}) != d.deposit.amount)
      problems.add("acknowledged deposit " + to_hex(d.deposit.deposit_id) + (d.resent ? " (resent)" : "") +
                   " is not final as sent: " + std::to_string(r->first) + " " + r->second.dump());
    tx_ids.insert(to_hex(d.tx_id));
  }
  for (auto& b : bets) {
    std::string id = to_hex(b.bet.bet_id);
    ++bets_per_account[b.bet.account];
    max_nonce[b.bet.account] = std::max(max_nonce[b.bet.account], b.bet.nonce);
    if (!tx_ids.insert(to_hex(b.tx_id)).second) problems.add("bet " + id + ": tx_id " + to_hex(b.tx_id) + " seen twice");
    auto it = final_bets.find(id);
    if (it == final_bets.end()) continue;  // Reported above.
    const json& j = it->second;
    std::string what = "bet " + id + (b.resent ? " (resent after a transport failure)" : "");
    if (j.value("tx_id", "") != to_hex(b.tx_id) || j.value("account", "") != to_hex(b.bet.account) ||
        j.value("nonce", std::uint64_t{0}) != b.bet.nonce || j.value("wager", Amount{0}) != b.bet.wager ||
        j.value("choice", 0) != b.bet.choice)
      problems.add(what + ": final body does not match the bet sent: " + j.dump());
    Amount payout = j.value("payout", Amount{0});
    if (b.payout && *b.payout != payout)
      problems.add(what + ": payout " + std::to_string(payout) + " now, " + std::to_string(*b.payout) +
                   " in the final answer to its POST");
    wagers += b.bet.wager;
    payouts += payout;
    expected_balance[b.bet.account] += static_cast<Int128>(payout) - static_cast<Int128>(b.bet.wager);
    if (!j["batch_id"].is_string()) {
      problems.add(what + ": no batch_id: " + j.dump());
      continue;
    }
    batch_of_bet[id] = j["batch_id"].get<std::string>();
    batch_ids.insert(j["batch_id"].get<std::string>());
  }
  if (final_bets.size() != bets.size())
    problems.add(std::to_string(bets.size() - final_bets.size()) + " of " + std::to_string(bets.size()) +
                 " acknowledged bets are not final");
  const Int128 house_result = wagers - payouts;

  // Every batch a bet names is confirmed; their bet totals add up to the bets' (each bet
  // counted once: a bet in two batches would inflate the sums).
  std::uint64_t batch_items = 0;
  Int128 batch_wagers = 0, batch_payouts = 0, batch_deposits = 0;
  for (const auto& id : batch_ids) {
    auto r = get_json(http, "/v1/batches/" + id, problems);
    if (!r) continue;
    const json& j = r->second;
    if (r->first != 200 || j.value("status", "") != "confirmed" || !j["totals"].is_object()) {
      problems.add("batch " + id + " is not confirmed: " + std::to_string(r->first) + " " + j.dump());
      continue;
    }
    batch_items += j.value("items", std::uint64_t{0});
    batch_wagers += j["totals"].value("wagers", Amount{0});
    batch_payouts += j["totals"].value("payouts", Amount{0});
    batch_deposits += j["totals"].value("deposits", Amount{0});
  }

  Int128 balances = 0;
  std::map<std::string, Amount> api_balances;
  for (auto& [account, expected] : expected_balance) {
    std::string hex = to_hex(account);
    auto r = get_json(http, "/v1/accounts/" + hex, problems);
    if (!r) continue;
    const json& j = r->second;
    if (r->first != 200) {
      problems.add("account " + hex + ": " + std::to_string(r->first) + " " + j.dump());
      continue;
    }
    Amount balance = j.value("balance", Amount{0});
    api_balances[hex] = balance;
    balances += balance;
    if (static_cast<Int128>(balance) != expected)
      problems.add("account " + hex + ": balance " + std::to_string(balance) + ", but its deposits - wagers + payouts = " +
                   std::to_string(static_cast<long long>(expected)));
    std::uint64_t n = bets_per_account[account];
    if (j.value("nonce", std::uint64_t{0}) != n || j.value("pending_nonce", std::uint64_t{0}) != n ||
        max_nonce[account] != n || j.value("reserved", Amount{1}) != 0)
      problems.add("account " + hex + ": " + std::to_string(n) + " bets acknowledged (highest nonce " +
                   std::to_string(max_nonce[account]) + ") but the account says " + j.dump());
  }
  if (deposits_total != balances + house_result)
    problems.add("not conserved: deposits " + std::to_string(static_cast<long long>(deposits_total)) + " != balances " +
                 std::to_string(static_cast<long long>(balances)) + " + house result " +
                 std::to_string(static_cast<long long>(house_result)));

  // --- stop the node, then read the log itself ------------------------------------------------
  auto stopped = node.terminate();
  expect(stopped.exit_code == 0 && stopped.signal == 0 && stopped.out.find("stopped by SIGTERM") != std::string::npos,
         "the final SIGTERM: " + describe(stopped));

  std::map<std::string, int> admitted_bets, resolved_bets, admitted_deposits, batched;  // id hex -> count
  std::map<std::string, Amount> resolved_payout;
  std::map<std::string, std::string> log_batch_of_bet;
  std::map<std::string, int> finalized;  // tx_id hex -> TxFinalized count
  std::set<std::string> created, confirmed, failed_batches;
  std::map<std::string, int> batch_created_count;
  int node_started = 0;
  {
    eventlog::Options o;
    o.dir = data;
    o.create_if_missing = false;
    auto log = eventlog::EventLog::open(o);
    log->scan(1, [&](const eventlog::RecordView& r) {
      Event e = decode_event(r.type, r.payload);
      std::visit(
          [&](const auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, NodeStarted>) {
              ++node_started;
            } else if constexpr (std::is_same_v<T, TxAdmitted>) {
              if (auto* b = std::get_if<Bet>(&ev.tx)) ++admitted_bets[to_hex(b->bet_id)];
              if (auto* d = std::get_if<Deposit>(&ev.tx)) ++admitted_deposits[to_hex(d->deposit_id)];
            } else if constexpr (std::is_same_v<T, TxFinalized>) {
              if (!ev.accepted) problems.add("the log has a rejection of tx " + to_hex(ev.tx_id));
              ++finalized[to_hex(ev.tx_id)];
            } else if constexpr (std::is_same_v<T, BetResolved>) {
              ++resolved_bets[to_hex(ev.bet_id)];
              resolved_payout[to_hex(ev.bet_id)] = ev.payout;
            } else if constexpr (std::is_same_v<T, BatchCreated>) {
              std::string id = to_hex(ev.batch_id);
              ++batch_created_count[id];
              created.insert(id);
              for (const auto& item : ev.items) {
                ++batched[to_hex(item.id)];
                if (item.kind == settlement::ItemKind::bet) log_batch_of_bet[to_hex(item.id)] = id;
              }
            } else if constexpr (std::is_same_v<T, BatchConfirmed>) {
              confirmed.insert(to_hex(ev.batch_id));
            } else if constexpr (std::is_same_v<T, BatchFailed>) {
              failed_batches.insert(to_hex(ev.batch_id));
            }
          },
          e);
      return true;
    });
  }
  expect(node_started >= node.ready_starts() && node_started <= node.starts(),
         "log: " + std::to_string(node_started) + " NodeStarted for " + std::to_string(node.starts()) + " starts, " +
             std::to_string(node.ready_starts()) + " of them ready");
  std::set<std::string> acked_bet_ids, acked_deposit_ids;
  for (auto& b : bets) acked_bet_ids.insert(to_hex(b.bet.bet_id));
  for (auto& d : deposits) acked_deposit_ids.insert(to_hex(d.deposit.deposit_id));
  for (auto& b : bets) {
    std::string id = to_hex(b.bet.bet_id);
    if (admitted_bets[id] != 1 || resolved_bets[id] != 1 || batched[id] != 1 || finalized[to_hex(b.tx_id)] != 1)
      problems.add("log: bet " + id + " admitted " + std::to_string(admitted_bets[id]) + "x, finalized " +
                   std::to_string(finalized[to_hex(b.tx_id)]) + "x, resolved " + std::to_string(resolved_bets[id]) +
                   "x, in " + std::to_string(batched[id]) + " batches (each must be 1)");
    else if (batch_of_bet.count(id) && log_batch_of_bet[id] != batch_of_bet[id])
      problems.add("log: bet " + id + " is in batch " + log_batch_of_bet[id] + ", the API says " + batch_of_bet[id]);
    if (b.payout && resolved_payout.count(id) && resolved_payout[id] != *b.payout)
      problems.add("log: bet " + id + " resolved with payout " + std::to_string(resolved_payout[id]) +
                   ", the API answered " + std::to_string(*b.payout));
  }
  for (auto& d : deposits) {
    std::string id = to_hex(d.deposit.deposit_id);
    if (admitted_deposits[id] != 1 || batched[id] != 1 || finalized[to_hex(d.tx_id)] != 1)
      problems.add("log: deposit " + id + " admitted " + std::to_string(admitted_deposits[id]) + "x, finalized " +
                   std::to_string(finalized[to_hex(d.tx_id)]) + "x, in " + std::to_string(batched[id]) +
                   " batches (each must be 1)");
  }
  for (auto& [id, n] : admitted_bets)
    if (!acked_bet_ids.count(id)) problems.add("log: bet " + id + " was admitted but never acknowledged to its client");
  for (auto& [id, n] : admitted_deposits)
    if (!acked_deposit_ids.count(id)) problems.add("log: deposit " + id + " was admitted but never acknowledged");
  for (auto& [id, n] : batch_created_count)
    if (n != 1) problems.add("log: batch " + id + " created " + std::to_string(n) + " times");
  for (auto& id : created)
    if (!confirmed.count(id)) problems.add("log: batch " + id + " is not confirmed");
  for (auto& id : failed_batches) problems.add("log: batch " + id + " failed");
  std::uint64_t logged_items = 0;
  for (auto& [id, n] : batched) logged_items += static_cast<std::uint64_t>(n);
  if (logged_items != bets.size() + deposits.size())
    problems.add("log: " + std::to_string(logged_items) + " batch items for " + std::to_string(bets.size()) + " bets and " +
                 std::to_string(deposits.size()) + " deposits");
  // The batches the bets name hold only those bets and some deposits.
  if (batch_wagers != wagers || batch_payouts != payouts || batch_deposits > deposits_total)
    problems.add("the batches the bets name total wagers " + std::to_string(static_cast<long long>(batch_wagers)) +
                 ", payouts " + std::to_string(static_cast<long long>(batch_payouts)) + ", the bets " +
                 std::to_string(static_cast<long long>(wagers)) + " and " +
                 std::to_string(static_cast<long long>(payouts)));
  if (batch_items > bets.size() + deposits.size())
    problems.add("the batches the bets name hold " + std::to_string(batch_items) + " items, more than the " +
                 std::to_string(bets.size() + deposits.size()) + " txs");

  // --- the audit agrees -----------------------------------------------------------------------
  auto audit = test::run_process({kBinary, "replay", "--data", data.string(), "--verify", "--json"},
                                  std::chrono::seconds(120));
  json report_json = json::parse(audit.out, nullptr, false);
  expect(audit.exit_code == 0 && report_json.is_object(), "replay --verify --json: " + describe(audit));
  if (!report_json.is_object()) report_json = json::object();
  const json& totals = report_json.value("totals", json::object());
  auto audit_says = [&](const std::string& what, bool ok) {
    expect(ok, "replay --verify --json: " + what + " (report: " + tail(report_json.dump(), 2000) + ")");
  };
  audit_says("clean", report_json.value("clean", false) && report_json.value("problems", json::array()).empty());
  audit_says("log.verified", report_json.value("log", json::object()).value("verified", false));
  audit_says("NodeStarted count as the log scan",
             report_json.value("event_counts", json::object()).value("NodeStarted", -1) == node_started);
  if (sc.snapshot_every < 1000)  // Snapshots were taken (and each recomputed by the audit).
    audit_says("snapshots taken", report_json.value("event_counts", json::object()).value("SnapshotTaken", 0) >= 3);
  audit_says("no failed batch", report_json.value("batches", json::object()).value("failed", 1) == 0);
  audit_says("every batch created is confirmed",
             report_json.value("batches", json::object()).value("confirmed", std::uint64_t{0}) == created.size());
  audit_says("totals.deposits", static_cast<Int128>(totals.value("deposits", Amount{0})) == deposits_total);
  audit_says("totals.house_result", static_cast<Int128>(totals.value("house_result", std::int64_t{-1})) == house_result);
  audit_says("totals.settled_deposits", static_cast<Int128>(totals.value("settled_deposits", Amount{0})) == deposits_total);
  audit_says("totals.settled_house_result",
             static_cast<Int128>(totals.value("settled_house_result", std::int64_t{-1})) == house_result);
  audit_says("totals.balances", totals.value("balances", "") == std::to_string(static_cast<long long>(balances)));
  std::map<std::string, Amount> audit_balances;
  for (const auto& a : report_json.value("accounts", json::array())) {
    audit_balances[a.at("account").get<std::string>()] = a.at("balance").get<Amount>();
    if (a.at("reserved").get<Amount>() != 0) problems.add("audit: account reserves funds: " + a.dump());
    if (a.at("settled_balance").get<Amount>() != a.at("balance").get<Amount>())
      problems.add("audit: settled balance differs from the balance: " + a.dump());
  }
  audit_says("account balances equal the API's", audit_balances == api_balances);

  // The books and the ledger never disagree, whatever memory has forgotten.
  expect(!node.logs_contain("reconciliation ALARM"), "the reconciler raised an alarm");
  auto list = problems.list();
  if (!list.empty()) MESSAGE("node logs:\n" << node.logs());
  CHECK_MESSAGE(list.empty(), report(list));
  MESSAGE("node_crash_test total " << std::chrono::duration<double>(Clock::now() - started).count() << " s");
}

}  // namespace

// The test: kill -9 at random moments under concurrent load (and now and then again
// while the node restarts), then every acknowledged bet final exactly once, in one confirmed
// batch, balances conserved, the audit clean and equal to the API.
TEST_CASE("AcknowledgedBetsSurviveRepeatedSigkillUnderConcurrentHttpLoad") {
  Scenario sc;
  sc.stop_signal = SIGKILL;
  sc.stops_under_load = 6;
  sc.kills_during_start = 2;
  sc.wait_choices = {0, 0, 50, 1000};
  run_scenario(sc);
}

// The same with a node that keeps only 20 finished txs in memory and snapshots every 300
// events: the resends after each crash, the dedup of keys admitted before it, the answers
// checked at the end and the reconciliation are all served from the log; the kills land
// around snapshots (each rides with a group's commit) and the restarts start from them; and
// nothing is lost, doubled or alarmed (`replay --verify` recomputes every snapshot).
TEST_CASE("AcknowledgedBetsSurviveRepeatedSigkillWhenMemoryKeepsTwentyFinishedTxs") {
  Scenario sc;
  sc.stop_signal = SIGKILL;
  sc.stops_under_load = 4;
  sc.kills_during_start = 1;
  sc.wait_choices = {0, 50, 1000};
  sc.recent_txs = 20;
  sc.snapshot_every = 300;
  run_scenario(sc);
}

// SIGTERM under the same load, clients asking to wait up to 30 s: the node answers, exits 0
// promptly each time, and nothing acknowledged is lost or doubled across the restarts.
TEST_CASE("AcknowledgedBetsSurviveRepeatedSigtermUnderConcurrentHttpLoad") {
  Scenario sc;
  sc.stop_signal = SIGTERM;
  sc.stops_under_load = 3;
  sc.wait_choices = {0, 1000, 30000};
  run_scenario(sc);
}
