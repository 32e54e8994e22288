// `croupier shell` against a real `croupier node` process, over CAF's io middleman: with -c,
// with --json, interactively through a pseudo-terminal (completion, Ctrl-C, Ctrl-D), with
// `events follow` while bets arrive, `sequencer pause|resume`, a voter's state while its tx
// is pending, a lost connection, a node that is not running, and the admin token.
#include <doctest/doctest.h>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/inspector.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using croupier::test::Process;
using croupier::test::ProcessResult;
using croupier::test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kBinary = CROUPIER_BINARY;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using croupier::test::describe;
using croupier::test::free_port;

ProcessResult run(std::vector<std::string> args, std::chrono::seconds limit = std::chrono::seconds(30)) {
  args.insert(args.begin(), kBinary);
  Process p(args);
  return p.wait(limit);
}

// A node process with 3 local validators whose voters pause 100 ms between rounds (a tx
// takes about 2 s to decide, long enough to look at its voter), on free ports.
class LiveNode {
 public:
  explicit LiveNode(TempDir& dir, std::string extra_config = "", std::uint16_t admin_port = 0)
      : data_(dir.path() / "data"), config_(dir.path() / "node.ini") {
    std::ofstream(config_) << "[croupier]\nlocal-validators = 3\nround-interval = 100ms\nbatch-interval = 100ms\n"
                           << extra_config;
    start(admin_port);
  }

  void start(std::uint16_t admin_port) {
    proc_.emplace(std::vector<std::string>{kBinary, "node", "--config", config_.string(), "--data", data_.string(),
                                           "--http", "127.0.0.1:0", "--admin",
                                           "127.0.0.1:" + std::to_string(admin_port)});
    bool ready = proc_->read_until("ready; SIGINT/SIGTERM stops");
    CAPTURE(proc_->out());
    CAPTURE(proc_->err());
    REQUIRE(ready);
    std::smatch m;
    const std::string out = proc_->out();
    REQUIRE(std::regex_search(out, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)")));
    http_ = "127.0.0.1:" + m[1].str();
    REQUIRE(std::regex_search(out, m, std::regex("admin: +(127\\.0\\.0\\.1:[0-9]+)")));
    admin_ = m[1].str();
    REQUIRE(std::regex_search(out, m, std::regex("croupier node ([0-9a-f]{32})")));
    node_id_ = m[1].str();
  }

  ProcessResult stop() {
    proc_->send(SIGTERM);
    return proc_->wait();
  }

  const std::string& http() const { return http_; }
  const std::string& admin() const { return admin_; }
  const std::string& node_id() const { return node_id_; }
  fs::path operator_seed() const { return data_ / "keys" / "operator.seed"; }

  const fs::path& data() const { return data_; }
  // The token the node wrote at its first start.
  std::string token() const {
    std::string t;
    std::ifstream(data_ / "keys" / "admin.token") >> t;
    return t;
  }

  // `croupier shell` as the node's own user runs it: with --data, unless `args` names the token.
  ProcessResult shell(std::vector<std::string> args) {
    const bool names_token = std::any_of(args.begin(), args.end(), [](const std::string& a) {
      return a == "--token" || a == "--token-file" || a == "--data";
    });
    if (!names_token) args.insert(args.begin(), {"--data", data_.string()});
    args.insert(args.begin(), {"shell", "--connect", admin_});
    return run(args);
  }
  json shell_json(const std::string& command) {
    auto r = shell({"--json", "-c", command});
    CAPTURE(describe(r));
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  }

 private:
  fs::path data_, config_;
  std::optional<Process> proc_;
  std::string http_, admin_, node_id_;
};

// A funded player: keygen, then a final deposit.
std::string funded_player(LiveNode& node, const fs::path& seed) {
  auto k = run({"keygen", "--out", seed.string(), "--json"});
  REQUIRE(k.exit_code == 0);
  const std::string account = json::parse(k.out).at("account");
  auto d = run({"client", "deposit", "--node", node.http(), "--operator-key", node.operator_seed().string(),
                "--account", account, "--amount", "100000", "--wait-ms", "10000", "--json"});
  CAPTURE(describe(d));
  REQUIRE(d.exit_code == 0);
  REQUIRE(json::parse(d.out).at("status") == "final");
  return account;
}

// A child on a pseudo-terminal, as a person at a terminal runs it.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(fd_);
  }

  // Types at once, whatever mode the terminal is in: for keys meant for a running command
  // (Ctrl-C during `events follow`), which the kernel's line discipline handles as it would
  // a person's.
  void type(const std::string& keys) { REQUIRE(::write(fd_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size())); }

  // Keys typed at the prompt, once the line editor reads them. libedit writes its prompt
  // while the terminal is still in canonical mode and only then turns ICANON off; until it
  // does, the kernel edits the line: a Ctrl-D there is end-of-file, which reaches libedit as
  // a NUL once it reads raw (and the shell does not leave), Ctrl-U and Ctrl-C act on the
  // kernel's buffer, TAB is echoed by the kernel. So wait, seeing the prompt, for raw mode
  // (libedit restores canonical mode before it returns each line, so raw mode seen after a
  // prompt is that prompt's).
  void type_at_prompt(const std::string& keys) {
    REQUIRE(wait_for_raw_mode());
    type(keys);
  }

  // Reads until the screen output since the last call contains `needle`; returns that output.
  std::string read_until(const std::string& needle, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = Clock::now() + limit;
    while (!contains(pending_, needle) && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0 && !read_some()) break;
    }
    std::string seen = pending_;
    auto at = pending_.find(needle);
    pending_ = at == std::string::npos ? "" : pending_.substr(at + needle.size());
    return seen;
  }

  int wait_exit(std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = Clock::now() + limit;
    int status = 0;
    while (Clock::now() < deadline) {
      drain();  // So the child never blocks writing to a full terminal.
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -2;
  }

 private:
  // Whether the terminal left canonical mode within the limit (tcgetattr on the master
  // reports the terminal's modes, which the child sets on its side). Drains meanwhile.
  bool wait_for_raw_mode(std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = Clock::now() + limit;
    while (true) {
      termios modes{};
      REQUIRE(::tcgetattr(fd_, &modes) == 0);
      if (!(modes.c_lflag & ICANON)) return true;
      if (Clock::now() >= deadline) return false;
      drain();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Reads what the terminal shows now, without waiting; it stays for read_until.
  void drain() {
    for (pollfd p{fd_, POLLIN, 0}; ::poll(&p, 1, 0) > 0 && read_some();) {
    }
  }

  // One read into pending_; false at the end (the child closed the terminal) or on an error.
  bool read_some() {
    char buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string pending_;
};

template <class F>
bool eventually(F f, std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = Clock::now() + limit;
  while (!f()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

TEST_CASE("ShellCommandsShowTheLiveNodesActorsVotersBatchesAndOperatorActions") {
  TempDir dir("croupier-shell");
  LiveNode node(dir);

  auto actors = node.shell({"-c", "actors"});
  CAPTURE(describe(actors));
  REQUIRE(actors.exit_code == 0);
  for (const char* name : {"journal", "waiters", "mempool", "router", "committer", "sequencer", "prover", "submitter",
                           "reconciler", "inspector", "validator-0", "validator-1", "validator-2"})
    CHECK(contains(actors.out, std::string("\n  ") + name + " "));
  CHECK(contains(actors.out, "mailbox"));
  CHECK(node.shell_json("status").at("node_id") == node.node_id());

  // A deposit answered pending at once: its voter runs for about 2 s.
  const fs::path seed = dir.path() / "player.seed";
  auto k = run({"keygen", "--out", seed.string(), "--json"});
  REQUIRE(k.exit_code == 0);
  const std::string account = json::parse(k.out).at("account");
  auto d = run({"client", "deposit", "--node", node.http(), "--operator-key", node.operator_seed().string(),
                "--account", account, "--amount", "100000", "--wait-ms", "0", "--json"});
  REQUIRE(d.exit_code == 0);
  const std::string tx_id = json::parse(d.out).at("tx_id");
  json tx = node.shell_json("tx " + tx_id);
  CAPTURE(tx.dump());
  CHECK(tx.at("status") == "admitted");
  REQUIRE(tx.at("voter").is_object());
  CHECK(tx.at("voter").at("k") == 3);
  CHECK(tx.at("voter").at("finalized") == false);
  CHECK(tx.at("voter").at("polls").get<int>() < 20);
  const std::string voter = tx.at("voter").at("actor").at("name");
  CHECK(contains(node.shell({"-c", "actors"}).out, voter));
  auto inspect_voter = node.shell({"-c", "inspect " + voter});
  CHECK(contains(inspect_voter.out, "kind: voter"));

  // Paused, the sequencer cuts no batch, however long the deposit waits to be batched.
  CHECK(contains(node.shell({"-c", "sequencer pause"}).out, "sequencer: paused"));
  REQUIRE(eventually([&] { return node.shell_json("tx " + tx_id).at("final") == true; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // Six batch intervals.
  CHECK(node.shell_json("batches").at("total") == 0);
  CHECK(node.shell_json("inspect sequencer").at("state").at("items_waiting") == 1);
  CHECK(contains(node.shell({"-c", "sequencer resume"}).out, "sequencer: running"));
  REQUIRE(eventually([&] { return node.shell_json("batches confirmed").at("total") == 1; }));
  CHECK(node.shell_json("account " + account).at("balance") == 100000);

  // Errors: exit 1 and a message that says why.
  auto bad = node.shell({"-c", "inspect nobody"});
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.err, "no live actor named or numbered 'nobody'"));
  auto usage = run({"shell", "--connect", "not-an-address"});
  CHECK(usage.exit_code == 2);

  auto stopped = node.stop();
  CHECK(stopped.exit_code == 0);
}

TEST_CASE("EventsFollowPrintsNewEventsAsBetsArriveUntilInterrupted") {
  TempDir dir("croupier-shell");
  LiveNode node(dir);
  const fs::path seed = dir.path() / "player.seed";
  funded_player(node, seed);

  Process follow({kBinary, "shell", "--connect", node.admin(), "--data", node.data().string(), "-c", "events follow"});
  // Its first line (stderr) says from which seq it follows: the bet comes after.
  REQUIRE(eventually([&] {
    follow.read_until("\x01never", std::chrono::milliseconds(50));
    return contains(follow.err(), "following the log after seq");
  }));
  auto bet = run({"client", "bet", "--node", node.http(), "--key", seed.string(), "--game", "dice", "--choice", "50",
                  "--wager", "100", "--wait-ms", "10000", "--json"});
  CAPTURE(describe(bet));
  REQUIRE(bet.exit_code == 0);
  const std::string bet_id = json::parse(bet.out).at("bet_id");
  bool seen = follow.read_until("BetResolved", std::chrono::seconds(20));
  CAPTURE(follow.out());
  CHECK(seen);
  CHECK(contains(follow.out(), "TxAdmitted"));
  CHECK(contains(follow.out(), "bet " + bet_id));
  follow.send(SIGINT);
  auto r = follow.wait(std::chrono::seconds(10));
  CAPTURE(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "following the log after seq"));

  // --json: one JSON object per line.
  auto tail = node.shell({"--json", "-c", "events tail 3"});
  REQUIRE(tail.exit_code == 0);
  CHECK(json::parse(tail.out).at("events").size() == 3);
}

TEST_CASE("InteractiveShellEditsCompletesAndSurvivesCtrlC") {
  TempDir dir("croupier-shell");
  LiveNode node(dir);
  Terminal t({kBinary, "shell", "--connect", node.admin(), "--data", node.data().string()});
  std::string screen = t.read_until("croupier> ");
  CAPTURE(screen);
  CHECK(contains(screen, "connected to node " + node.node_id()));

  t.type_at_prompt("act\t");  // Completes to `actors ` (the terminal shows the added "ors ").
  CHECK(contains(t.read_until("ors "), "ors "));
  t.type_at_prompt("\r");
  screen = t.read_until("croupier> ");
  CHECK(contains(screen, "validator-2"));
  CHECK(contains(screen, "inspector"));

  t.type_at_prompt("inspect seq\t\r");  // Actor names complete too.
  screen = t.read_until("croupier> ");
  CHECK(contains(screen, "kind: sequencer"));

  t.type_at_prompt("help\r");
  screen = t.read_until("croupier> ");
  CHECK(contains(screen, "events follow"));
  CHECK(contains(screen, "sequencer pause|resume"));

  t.type_at_prompt("events follow\r");
  CHECK(contains(t.read_until("Ctrl-C stops"), "following the log"));
  t.type("\x03");  // Ctrl-C ends follow, not the shell.
  CHECK(contains(t.read_until("croupier> "), "croupier> "));
  t.type_at_prompt("stat\x03");  // At the prompt Ctrl-C does nothing: the shell stays, the line too,
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  t.type_at_prompt("\x15status\r");  // and Ctrl-U clears it; the command then runs uninterrupted.
  screen = t.read_until("croupier> ");
  CHECK(contains(screen, "node_id: " + node.node_id()));
  t.type_at_prompt("bogus\r");
  CHECK(contains(t.read_until("croupier> "), "unknown command 'bogus'"));
  t.type_at_prompt("\x04");  // Ctrl-D leaves.
  CHECK(t.wait_exit() == 0);
}

TEST_CASE("ALostConnectionIsReportedAndTheNextCommandReconnects") {
  TempDir dir("croupier-shell");
  const std::uint16_t port = free_port();
  LiveNode node(dir, "", port);
  Terminal t({kBinary, "shell", "--connect", node.admin(), "--data", node.data().string()});
  t.read_until("croupier> ");
  node.stop();
  t.type_at_prompt("status\r");
  std::string screen = t.read_until("croupier> ");
  CAPTURE(screen);
  CHECK((contains(screen, "lost the connection") || contains(screen, "cannot reach")));
  node.start(port);  // The same node, the same admin port.
  t.type_at_prompt("status\r");
  screen = t.read_until("croupier> ");
  CHECK(contains(screen, "node_id: " + node.node_id()));
  t.type_at_prompt("quit\r");
  CHECK(t.wait_exit() == 0);
}

TEST_CASE("ANodeThatIsNotRunningGivesAClearErrorNotAHang") {
  const std::string where = "127.0.0.1:" + std::to_string(free_port());
  auto t0 = Clock::now();
  auto r = run({"shell", "--connect", where, "--token", "0123456789abcdef", "-c", "status"}, std::chrono::seconds(20));
  CAPTURE(describe(r));
  CHECK_FALSE(r.timed_out);
  CHECK(Clock::now() - t0 < std::chrono::seconds(10));
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "cannot reach a node's admin port at " + where));
  CHECK(contains(r.err, "is `croupier node` running there?"));
}

TEST_CASE("TheAdminPortNeedsATokenOffLoopbackAndChecksIt") {
  TempDir dir("croupier-shell");
  auto refused = run({"node", "--data", (dir.path() / "d0").string(), "--http", "127.0.0.1:0", "--admin", "0.0.0.0:0"});
  CAPTURE(describe(refused));
  CHECK(refused.exit_code == 2);
  CHECK(contains(refused.err, "not a loopback address"));
  CHECK(contains(refused.err, "admin-token"));

  const std::string token = "correct-horse-battery-staple";
  LiveNode node(dir, "admin-token = \"" + token + "\"\n");
  // The config's token overrides the data directory's file, which the node does not write.
  CHECK_FALSE(fs::exists(node.data() / "keys" / "admin.token"));
  auto none = node.shell({"-c", "status"});
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "no admin token"));
  auto wrong = node.shell({"--token", token + "x", "-c", "status"});
  CHECK(wrong.exit_code == 1);
  auto right = node.shell({"--token", token, "--json", "-c", "config"});
  CAPTURE(describe(right));
  REQUIRE(right.exit_code == 0);
  json config = json::parse(right.out);
  CHECK(config.at("admin-token") == "(set, not shown)");
  CHECK_FALSE(contains(right.out, token));
  CHECK(config.at("round-interval") == "100ms");
}

TEST_CASE("TheAdminDoorIsClosedByDefaultAndTheNodesOwnShellReadsItsTokenFile") {
  TempDir dir("croupier-shell");
  LiveNode node(dir);
  // At its first start the node wrote a random token, readable by its user alone.
  const fs::path file = node.data() / "keys" / "admin.token";
  REQUIRE(fs::exists(file));
  CHECK((fs::status(file).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  const std::string token = node.token();
  CHECK(std::regex_match(token, std::regex("[0-9a-f]{64}")));

  // The node's own shell needs nothing typed but its data directory; --token-file and
  // $CROUPIER_ADMIN_TOKEN work too.
  CHECK(node.shell({"-c", "status"}).exit_code == 0);
  CHECK(node.shell({"--token-file", file.string(), "-c", "status"}).exit_code == 0);
  // Any other shell is refused, loopback or not: no token, a wrong one, another node's.
  auto wrong = node.shell({"--token", token.substr(1) + "0", "-c", "status"});
  CHECK(wrong.exit_code == 1);
  CHECK(contains(wrong.err, "authentication failed"));
  CHECK(contains(wrong.err, "admin.token"));
  TempDir other("croupier-shell");
  auto none = run({"shell", "--connect", node.admin(), "--data", (other.path() / "nothing").string(), "-c", "status"});
  CAPTURE(describe(none));
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "no admin token"));
  CHECK(contains(none.err, "--data DIR"));
  // A token file others can read is refused before anything is sent.
  const fs::path loose = other.path() / "loose.token";
  std::ofstream(loose) << token << "\n";
  fs::permissions(loose, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  auto readable = node.shell({"--token-file", loose.string(), "-c", "status"});
  CHECK(readable.exit_code == 2);
  CHECK(contains(readable.err, "is readable by others"));
  auto both = node.shell({"--token", token, "--data", node.data().string(), "-c", "status"});
  CHECK(both.exit_code == 2);

  // The token survives restarts: the file is written once.
  node.stop();
  node.start(0);
  CHECK(node.token() == token);
  CHECK(node.shell({"-c", "status"}).exit_code == 0);
  node.stop();
}

TEST_CASE("OnlyTheAdminDoorIsReachableFromTheNetwork") {
  TempDir dir("croupier-shell");
  LiveNode node(dir);
  // An authenticated command first, so that whatever answered it has talked to the network.
  REQUIRE(node.shell({"-c", "actors"}).exit_code == 0);

  caf::actor_system_config config;
  config.set("logger.verbosity", caf::atom("quiet"));
  config.load<caf::io::middleman>();
  caf::actor_system system{config};
  const auto colon = node.admin().rfind(':');
  auto door = system.middleman().remote_actor(node.admin().substr(0, colon),
                                              static_cast<std::uint16_t>(std::stoi(node.admin().substr(colon + 1))));
  REQUIRE(door);
  // What a peer can do with CAF's BASP: make a proxy for any actor id of the node it is
  // connected to, and send to it. Every actor of the node that answers such a message is a
  // way around the door and its token.
  auto broker = system.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  auto* basp = static_cast<caf::io::basp_broker*>(caf::actor_cast<caf::abstract_actor*>(broker));
  caf::scoped_actor self{system};
  int sent = 0;
  for (caf::actor_id id = 1; id <= 64; ++id) {
    if (id == door->id()) continue;
    auto proxy = basp->proxy_registry_ptr()->get_or_put(door->node(), id);
    if (!proxy) continue;
    auto target = caf::actor_cast<caf::actor>(proxy);
    self->send(target, croupier::actors::shell_atom::value, std::vector<std::string>{"status"});
    self->send(target, croupier::actors::metrics_atom::value);
    sent += 2;
  }
  CHECK(sent > 100);
  std::vector<std::string> answers;
  for (bool quiet = false; !quiet;)
    self->receive([&](const std::string& text) { answers.push_back(text); }, [](const caf::error&) {},
                  caf::after(std::chrono::seconds(2)) >> [&] { quiet = true; });
  CAPTURE(answers.size());
  CHECK(answers.empty());
  // The door itself still wants its three-part message, with the token: none is refused.
  std::optional<std::string> through_door;
  std::string refused;
  self->request(*door, std::chrono::seconds(10), croupier::actors::shell_atom::value, std::string(),
                std::vector<std::string>{"status"})
      .receive([&](const std::string& text) { through_door = text; },
               [&](const caf::error& e) { refused = system.render(e); });
  CHECK_FALSE(through_door);
  CHECK(contains(refused, "authentication failed"));
  self->request(*door, std::chrono::seconds(10), croupier::actors::shell_atom::value, node.token(),
                std::vector<std::string>{"status"})
      .receive([&](const std::string& text) { through_door = text; }, [](const caf::error&) {});
  REQUIRE(through_door);
  CHECK(contains(*through_door, node.node_id()));
}
