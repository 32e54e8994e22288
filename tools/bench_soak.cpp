// `croupier bench soak`: does the node's memory stay bounded by its configuration as bets
// accumulate? The node runs as its own process (`croupier node`, this very executable) on a
// fresh durable log, so that its RSS is its own; clients in this process sign bets as they
// go (no pre-signed backlog in memory) and send them over HTTP, closed loop, which is the
// node's sustainable rate. Figures:
//   rss at every 10 % of the bets, and the slope of RSS per finalized bet after the first
//   10 % (a least-squares fit over the 10 %..100 % points);
//   log bytes per bet (the log file's allocated size);
//   the journal's longest snapshot encoding (its own stall), the longest from an encoding to
//   its durable commit, and the mean time the API's readers waited for one, from /metrics;
//   restart time (SIGTERM, start again, until it says ready) and RSS after the restart.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <sstream>
#include <thread>

#include "domain/blocks.hpp"
#include "tools/api_requests.hpp"
#include "tools/bench_report.hpp"
#include "tools/bench_support.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kSpec{
    "croupier bench soak [--bets N] [--recent-txs N] [--clients N] [--dir DIR] [--keep] [--json]",
    "Starts `croupier node` as a child process on a fresh durable log and drives it over HTTP\n"
    "with closed-loop clients (each signs its next bet, sends it, waits for the final answer)\n"
    "for N bets. Prints the node's RSS (VmRSS, and RssAnon: its heap, the state it holds; the\n"
    "rest is mostly the log's mapped pages) at every 10 %, the slope of each in bytes per\n"
    "finalized bet after the first 10 % (least squares over the 10 %..100 % points), log bytes\n"
    "per bet, the journal's longest snapshot and the mean the API's reads waited for one, then stops\n"
    "the node (SIGTERM), starts it again on the same log and prints the restart time (until it\n"
    "says ready) and its RSS then. Progress goes to stderr; the node's own output to DIR/node.err.",
    {{"bets", "N", "bets to finalize (default 1000000)"},
     {"recent-txs", "N", "the node's croupier.recent-txs (default 10000)"},
     {"clients", "N", "closed-loop HTTP clients (default 64)"},
     {"dir", "DIR", "where the node's data goes (default ./.croupier-bench-soak-PID; must not exist; removed after)"},
     {"keep", "", "leave DIR (the node's log and keys in DIR/node) for an audit afterwards"},
     {"json", "", "one JSON line per figure: {\"metric\":...,\"value\":...,\"unit\":...}"}}};

void progress(const std::string& what) { std::fprintf(stderr, "bench soak: %s\n", what.c_str()); }

// `croupier node` in a child process: its stdout read until it says ready, its stderr to a file.
class ChildNode {
 public:
  ChildNode(const std::filesystem::path& config, const std::filesystem::path& data, const std::filesystem::path& err) {
    std::vector<std::string> argv{"/proc/self/exe", "node",   "--config", config.string(), "--data",
                                  data.string(),    "--http", "127.0.0.1:0", "--admin",     "off"};
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0) throw std::runtime_error("cannot open " + err.string() + ": " + std::strerror(errno));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    started_ = BenchClock::now();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {  // Only async-signal-safe calls from here.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // A benchmark killed midway leaves no node behind.
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(126);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err_fd);
    out_fd_ = out[0];
    port_ = read_until_ready(err);
    ready_seconds_ = seconds_since(started_);
  }
  ~ChildNode() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ChildNode(const ChildNode&) = delete;
  ChildNode& operator=(const ChildNode&) = delete;

  std::uint16_t port() const { return port_; }
  double ready_seconds() const { return ready_seconds_; }

  // The node process's resident memory, in bytes: all of it (VmRSS), and its anonymous part
  // (RssAnon: the heap and stacks, i.e. the state it holds; the rest is mostly the log's
  // memory-mapped pages, page cache the kernel takes back under pressure).
  struct Rss {
    double total = 0, anon = 0;
  };
  Rss rss() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    Rss r;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) r.total = std::stod(line.substr(6)) * 1024;
      if (line.rfind("RssAnon:", 0) == 0) r.anon = std::stod(line.substr(8)) * 1024;
    }
    if (r.total == 0) throw std::runtime_error("no VmRSS for the node process " + std::to_string(pid_));
    return r;
  }

  // SIGTERM, and its exit status (it must be 0 within a minute).
  void stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
          throw std::runtime_error("the node did not exit 0 on SIGTERM (status " + std::to_string(status) + ")");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the node did not exit within 60 s of SIGTERM");
  }

 private:
  // Reads the node's stdout until "ready"; returns the port of its "http:" line.
  std::uint16_t read_until_ready(const std::filesystem::path& err) {
    std::string text;
    const auto deadline = BenchClock::now() + std::chrono::minutes(10);  // A long replay says so on stderr.
    while (text.find("ready;") == std::string::npos) {
      pollfd p{out_fd_, POLLIN, 0};
      if (BenchClock::now() > deadline || ::poll(&p, 1, 1000) < 0)
        throw std::runtime_error("the node did not become ready (see " + err.string() + ")");
      if (!(p.revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const auto n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("the node exited before it was ready (see " + err.string() + ")");
      text.append(buf, static_cast<std::size_t>(n));
    }
    const auto at = text.find("http://");
    const auto colon = at == std::string::npos ? at : text.find(':', at + 7);
    if (colon == std::string::npos) throw std::runtime_error("the node did not say where it listens: " + text);
    return static_cast<std::uint16_t>(std::stoul(text.substr(colon + 1)));
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  BenchClock::time_point started_;
  double ready_seconds_ = 0;
};

// A value of the node's /metrics text (a line "NAME VALUE"); nullopt when absent.
std::optional<double> metric_value(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return std::nullopt;
}

// The least-squares slope of y over x.
double slope(const std::vector<std::pair<double, double>>& points) {
  double n = static_cast<double>(points.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : points) sx += x, sy += y, sxx += x * x, sxy += x * y;
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

// Allocated bytes of the files directly in `dir` (LMDB's data.mdb and lock file).
std::uint64_t allocated_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    struct stat st {};
    if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

struct Player {
  KeyPair key;
  std::uint64_t nonce = 0;
  std::string next_body(std::uint64_t n) {
    Bet b{fresh_id(n), key.public_key, ++nonce, static_cast<std::uint8_t>(Game::coinflip), 1, 0, {}, {}};
    put_u64_le(b.client_seed.data(), n);
    sign_tx(b, key);
    return bet_request_body(b, 30000).dump();
  }
};

// Funds every player with one deposit signed by the node's operator key.
void fund(std::vector<Player>& players, const KeyPair& operator_key, std::uint16_t port) {
  HttpClient http("127.0.0.1", port);
  std::uint64_t n = 1ull << 40;  // Apart from the bets' numbers.
  for (auto& p : players) {
    p.key = random_keypair();
    Deposit d{fresh_id(n++), p.key.public_key, 1'000'000'000'000, operator_key.public_key, {}};
    sign_tx(d, operator_key);
    auto a = http.request("POST", "/v1/deposits", deposit_request_body(d, 30000).dump());
    if (a.status != 200) throw std::runtime_error("funding a player failed: HTTP " + std::to_string(a.status) + " " + a.body);
  }
}

struct Drive {
  std::uint64_t bets = 0;
  // (bets final, RSS bytes) at every 10 %: VmRSS and RssAnon.
  std::vector<std::pair<double, double>> rss, anon;
  double seconds = 0;
};

// Closed-loop clients until `bets` are final; RSS sampled at every tenth.
Drive drive(std::vector<Player>& players, std::uint16_t port, std::uint64_t bets, const ChildNode& node, Reporter& rep) {
  Drive d;
  d.bets = bets;
  std::atomic<std::uint64_t> taken{0}, finals{0}, failures{0};
  std::mutex mutex;
  std::atomic<std::uint64_t> next_mark{1};  // The next tenth to sample (read unlocked, changed locked).
  const auto t0 = BenchClock::now();
  auto one_final = [&] {
    const std::uint64_t done = ++finals;
    if (done * 10 < next_mark * bets) return;
    std::lock_guard lock(mutex);
    while (next_mark <= 10 && done * 10 >= next_mark * bets) {
      const auto rss = node.rss();
      d.rss.emplace_back(static_cast<double>(done), rss.total);
      d.anon.emplace_back(static_cast<double>(done), rss.anon);
      const std::string at = "_at_" + std::to_string(next_mark * 10) + "pct_bytes";
      rep.figure("rss" + at, rss.total, "bytes",
                 "(" + std::to_string(done) + " bets final, " +
                     std::to_string(static_cast<long>(static_cast<double>(done) / seconds_since(t0))) + " bets/s)");
      rep.figure("rss_anon" + at, rss.anon, "bytes");
      rep.figure("bets_per_s_at_" + std::to_string(next_mark * 10) + "pct",
                 static_cast<double>(done) / seconds_since(t0), "bets/s");
      ++next_mark;
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < players.size(); ++c)
    threads.emplace_back([&, c] {
      try {
        HttpClient http("127.0.0.1", port);
        for (std::uint64_t n; (n = taken++) < bets;) {
          auto a = http.request("POST", "/v1/bets", players[c].next_body(n));
          if (a.status != 200) throw std::runtime_error("a bet was not final: HTTP " + std::to_string(a.status) + " " + a.body);
          one_final();
        }
      } catch (const std::exception& e) {
        ++failures;
        progress(std::string("client failed: ") + e.what());
      }
    });
  for (auto& t : threads) t.join();
  d.seconds = seconds_since(t0);
  if (failures > 0) throw std::runtime_error(std::to_string(failures.load()) + " client(s) failed (see above)");
  return d;
}

void report_snapshots(Reporter& rep, std::uint16_t port) {
  HttpClient http("127.0.0.1", port);
  const auto text = http.request("GET", "/metrics").body;
  const auto longest = metric_value(text, "snapshot_longest_us");
  const auto count = metric_value(text, "snapshot_duration_ms_count");
  if (!longest || !count) throw std::runtime_error("the node's /metrics has no snapshot figures");
  rep.figure("snapshots_taken", *count, "snapshots");
  if (auto encode = metric_value(text, "snapshot_encode_longest_us"))
    rep.figure("snapshot_longest_encode_ms", *encode / 1000, "ms",
               "(the journal's stall for a snapshot: it does nothing else while it encodes one)");
  rep.figure("snapshot_longest_journal_ms", *longest / 1000, "ms",
             "(encode, then the durable group commit the snapshot rides with, that group's own work included)");
  if (auto lock_sum = metric_value(text, "snapshot_lock_duration_ms_sum"); lock_sum && *count > 0)
    rep.figure("snapshot_mean_reader_wait_ms", *lock_sum / *count, "ms", "(the exclusive locks held per snapshot)");
  if (auto bytes = metric_value(text, "snapshot_bytes")) rep.figure("snapshot_bytes", *bytes, "bytes");
}

}  // namespace

int run_bench_soak(const std::vector<std::string>& argv) {
  return run_command("bench soak", kSpec, argv, [](const cli::Args& args) {
    Reporter rep{args.flag("json")};
    const std::uint64_t bets = args.unsigned_value("bets").value_or(1'000'000);
    const std::uint64_t recent = args.unsigned_value("recent-txs").value_or(10'000);
    const auto clients = static_cast<std::size_t>(args.unsigned_value("clients").value_or(64));
    if (bets < 100) throw cli::UsageError("--bets must be at least 100");
    if (recent > 10'000'000) throw cli::UsageError("--recent-txs must be 0..10000000");
    if (clients == 0 || clients > 1000) throw cli::UsageError("--clients must be 1..1000");
    std::filesystem::path dir =
        args.value("dir").value_or(".croupier-bench-soak-" + std::to_string(static_cast<long>(::getpid())));
    if (std::filesystem::exists(dir)) throw cli::UsageError("--dir " + dir.string() + " already exists");
    std::filesystem::create_directories(dir);
    RemovedOnExit cleanup{args.flag("keep") ? std::filesystem::path{} : dir};
    const auto config = dir / "soak.ini", data = dir / "node", err = dir / "node.err";
    std::ofstream(config) << "[croupier]\nrecent-txs = " << recent << "\n";

    progress("starting the node (recent-txs " + std::to_string(recent) + ")");
    auto node = std::make_unique<ChildNode>(config, data, err);
    const auto keys = read_node_keys(data);
    if (!keys) throw std::runtime_error("the node made no keys under " + (data / "keys").string());
    std::vector<Player> players(clients);
    fund(players, keys->operator_key, node->port());
    rep.figure("rss_after_start_bytes", node->rss().total, "bytes");
    rep.figure("rss_anon_after_start_bytes", node->rss().anon, "bytes");
    progress("driving " + std::to_string(bets) + " bets with " + std::to_string(clients) + " clients");
    const Drive d = drive(players, node->port(), bets, *node, rep);
    rep.figure("bets_finalized_per_s", static_cast<double>(bets) / d.seconds, "bets/s");
    rep.figure("rss_slope_bytes_per_bet", slope(d.rss), "bytes/bet", "(VmRSS; least squares over the 10 %..100 % points)");
    rep.figure("rss_anon_slope_bytes_per_bet", slope(d.anon), "bytes/bet", "(RssAnon: the state the node holds)");
    report_snapshots(rep, node->port());
    node->stop();
    rep.figure("log_bytes_per_bet", static_cast<double>(allocated_bytes(data)) / static_cast<double>(bets), "bytes/bet",
               "(the log's allocated size over the bets)");

    progress("restarting the node on the same log");
    node = std::make_unique<ChildNode>(config, data, err);
    rep.figure("restart_seconds", node->ready_seconds(), "s", "(start to ready: open, snapshot, replay of the rest)");
    rep.figure("rss_after_restart_bytes", node->rss().total, "bytes");
    rep.figure("rss_anon_after_restart_bytes", node->rss().anon, "bytes");
    node->stop();
    return 0;
  });
}

}  // namespace croupier::tools
