// `croupier shell`: a debug shell into a live node. It connects over CAF's io middleman to
// the admin door the node publishes (actors/admin_door.hpp) and sends each command's words;
// the node's inspector answers with JSON, printed for people (tools/shell_render.hpp) or as
// it is (--json). Interactive on a terminal (libedit: line editing, history, TAB
// completion of commands and actor names); one command with -c; lines from stdin otherwise.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <future>
#include <optional>
#include <utility>
#include <variant>
#include <thread>

#include <editline/readline.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/inspector.hpp"
#include "tools/admin_token.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/shell_render.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kSpec{
    "croupier shell [--connect HOST:PORT] [--data DIR | --token-file FILE | --token TOKEN] [-c COMMAND] [--json]",
    "A debug shell into a live node's actors: status, the actor list with mailboxes, one actor's\n"
    "state, a transaction's Snowball vote, the mempool, batches, accounts, the event log (tail and\n"
    "follow), metrics, the configuration, and operator actions (pause or resume the sequencer,\n"
    "reconcile now, snapshot now). `help` inside lists every command. Interactive on a terminal\n"
    "(line editing, history in ~/.croupier_shell_history, TAB completes commands and actor\n"
    "names); with -c it runs one command and exits; otherwise it reads commands from stdin.\n"
    "A lost connection is reported and the next command reconnects.\n"
    "The node's admin door answers only commands that carry its token: by default the one the\n"
    "node wrote to DIR/keys/admin.token (mode 0600) at its first start, so a shell run by the\n"
    "node's own user with --data DIR (default ./croupier-data, as `croupier node`) needs nothing\n"
    "typed; a node whose config sets croupier.admin-token takes that one instead\n"
    "($CROUPIER_ADMIN_TOKEN, --token-file or --token).\n"
    "Exit status: 0 success; 1 the node answered an error or could not be reached; 2 bad usage;\n"
    "130 interrupted by Ctrl-C (except `events follow`, which Ctrl-C ends normally).",
    {{"connect", "HOST:PORT", "the node's admin address (default 127.0.0.1:8081, as `croupier node --admin`)"},
     {"data", "DIR", "the node's data directory: the token is read from DIR/keys/admin.token (default ./croupier-data)"},
     {"token-file", "FILE", "read the token from FILE (mode 0600, its first line)"},
     {"token", "TOKEN",
      "the token itself; other users see command lines (ps), so prefer $CROUPIER_ADMIN_TOKEN (used when "
      "neither --data nor --token-file is given, before the default token file)"},
     {"command", "COMMAND", "run one command and exit (also -c); `events follow` runs until Ctrl-C (SIGINT)"},
     {"json", "", "print the node's JSON answers (one JSON line per event for `events follow`)"}}};

// Longer than the node's own limit for a command (the door waits 6 min for a snapshot): the
// node always answers first. A node that died is noticed at once (the door's proxy goes
// down); from a frozen one, Ctrl-C gets the prompt back.
constexpr auto kAnswerTimeout = std::chrono::minutes(7);

// The admin token: --token, --token-file or --data DIR (at most one of them); else
// $CROUPIER_ADMIN_TOKEN; else ./croupier-data/keys/admin.token, the default node's.
std::string shell_token(const cli::Args& args) {
  const int given = args.value("token").has_value() + args.value("token-file").has_value() + args.value("data").has_value();
  if (given > 1) throw cli::UsageError("give one of --token, --token-file and --data");
  if (auto token = args.value("token")) {
    if (token->empty()) throw cli::UsageError("--token: empty");
    return *token;
  }
  if (const char* env = std::getenv("CROUPIER_ADMIN_TOKEN"); env && *env && !args.value("token-file") && !args.value("data"))
    return env;
  const std::filesystem::path file = args.value("token-file") ? std::filesystem::path(*args.value("token-file"))
                                                               : admin_token_file(args.value("data").value_or("croupier-data"));
  if (!args.value("token-file") && !std::filesystem::exists(file))
    throw cli::UsageError("no admin token: " + file.string() +
                          " does not exist. The node's door answers only commands carrying its token: give the "
                          "node's data directory with --data DIR (its keys/admin.token), or --token-file FILE, or "
                          "set $CROUPIER_ADMIN_TOKEN (a node whose config sets croupier.admin-token takes that)");
  try {
    return read_admin_token_file(file);
  } catch (const std::runtime_error& e) {
    throw cli::UsageError(e.what());
  }
}

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

// The node answered: the command was wrong or its object does not exist.
class NodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The node could not be reached or stopped answering.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Ctrl-C while waiting for an answer.
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

std::string error_message(caf::actor_system& system, const caf::error& e) {
  const auto& context = e.context();
  if (context.match_elements<std::string>()) return context.get_as<std::string>(0);
  return system.render(e);
}

class AdminSession {
 public:
  AdminSession(caf::actor_system& system, Endpoint endpoint, std::string token)
      : system_(system), endpoint_(std::move(endpoint)), token_(std::move(token)) {}

  std::string where() const { return endpoint_.host + ":" + std::to_string(endpoint_.port); }

  // The node's answer to `words`. Throws NodeError or ConnectionError (then the next call
  // connects again).
  nlohmann::ordered_json ask(const std::vector<std::string>& words) {
    if (!door_) connect();
    // A helper actor monitors the door while it asks: when the node goes away the proxy dies
    // (at once, or when the connection drops during the request) and the down message ends
    // the wait, where a blocking request would wait for its whole timeout.
    using Outcome = std::variant<std::string, caf::error>;
    auto outcome = std::make_shared<std::promise<Outcome>>();
    auto answered = outcome->get_future();
    system_.spawn([outcome, door = *door_, token = token_, words](caf::event_based_actor* self) {
      auto done = std::make_shared<bool>(false);
      auto finish = [self, outcome, done](Outcome o) {
        if (std::exchange(*done, true)) return;
        outcome->set_value(std::move(o));
        self->quit();
      };
      self->monitor(door);
      self->set_down_handler([finish](caf::down_msg& dm) {
        finish(dm.reason ? dm.reason : caf::make_error(caf::sec::request_receiver_down));
      });
      self->request(door, kAnswerTimeout, actors::shell_atom::value, token, words)
          .then([finish](std::string& text) { finish(std::move(text)); },
                [finish](caf::error& e) { finish(std::move(e)); });
    });
    while (answered.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
      if (g_interrupted) throw Interrupted();  // The helper actor finishes on its own.
    Outcome result = answered.get();
    if (auto* failure = std::get_if<caf::error>(&result)) {
      const bool answered_by_node = failure->category() == caf::atom("system") &&
                                    (failure->code() == static_cast<std::uint8_t>(caf::sec::invalid_argument) ||
                                     failure->code() == static_cast<std::uint8_t>(caf::sec::runtime_error));
      if (answered_by_node) throw NodeError(error_message(system_, *failure));
      door_.reset();
      throw ConnectionError("lost the connection to the node at " + where() + " (" + error_message(system_, *failure) +
                            "); the next command reconnects");
    }
    auto answer = nlohmann::ordered_json::parse(std::get<std::string>(result), nullptr, false);
    if (answer.is_discarded()) throw ConnectionError("the node sent an answer that is not JSON");
    return answer;
  }

 private:
  void connect() {
    auto door = system_.middleman().remote_actor(endpoint_.host, endpoint_.port);
    if (!door)
      throw ConnectionError("cannot reach a node's admin port at " + where() + ": " + error_message(system_, door.error()) +
                            " (is `croupier node` running there? its banner shows the admin address; choose it "
                            "with --connect HOST:PORT)");
    door_ = *door;
  }

  caf::actor_system& system_;
  Endpoint endpoint_;
  std::string token_;
  std::optional<caf::actor> door_;
};

void sleep_unless_interrupted(std::chrono::milliseconds total) {
  for (auto slept = std::chrono::milliseconds(0); slept < total && !g_interrupted; slept += std::chrono::milliseconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// `events follow`: new events as they are appended, until SIGINT (Ctrl-C).
void follow_events(AdminSession& session, bool json_out) {
  auto head = session.ask({"events", "tail", "0"}).at("head").get<std::uint64_t>();
  std::cerr << "following the log after seq " << head << "; Ctrl-C stops" << std::endl;
  while (!g_interrupted) {
    nlohmann::ordered_json answer;
    try {
      answer = session.ask({"events", "since", std::to_string(head), "100"});
    } catch (const Interrupted&) {
      return;  // Ctrl-C is how follow ends.
    }
    const auto& events = answer.at("events");
    for (const auto& e : events) {
      std::cout << (json_out ? e.dump() : shell::render_event(e)) << "\n";
      head = e.at("seq").get<std::uint64_t>();
    }
    std::cout.flush();
    if (events.size() < 100) sleep_unless_interrupted(std::chrono::milliseconds(200));
  }
}

// Runs one command line; returns false for quit. Errors are printed; `failed` is set.
bool run_line(AdminSession& session, const std::string& line, bool json_out, bool& failed) {
  failed = false;
  try {
    auto words = shell::split_words(line);
    if (words.empty()) return true;
    if (words[0] == "quit" || words[0] == "exit") return false;
    if (words[0] == "help") {
      if (words.size() > 2) throw NodeError("usage: help [COMMAND]");
      std::cout << shell::help_text(words.size() == 2 ? words[1] : "");
      return true;
    }
    if (words[0] == "events" && words.size() >= 2 && words[1] == "follow") {
      if (words.size() != 2) throw NodeError("usage: events follow");
      g_interrupted = 0;
      follow_events(session, json_out);
      if (g_interrupted) std::cerr << std::endl;  // After the terminal's ^C.
      g_interrupted = 0;
      return true;
    }
    auto answer = session.ask(words);
    std::cout << (json_out ? answer.dump() + "\n" : shell::render(words, answer)) << std::flush;
  } catch (const ConnectionError& e) {
    failed = true;
    std::cerr << "croupier shell: " << e.what() << std::endl;
  } catch (const Interrupted&) {
    failed = true;
    std::cerr << "\ninterrupted (the node may still carry the command out)" << std::endl;
  } catch (const std::exception& e) {  // NodeError, bad quoting, bad help topic.
    failed = true;
    std::cerr << "error: " << e.what() << std::endl;
  }
  return true;
}

// --- interactive: libedit -------------------------------------------------------------

AdminSession* g_session = nullptr;
std::vector<std::string> g_matches;

std::vector<std::string> actor_names() {
  // Asked at each TAB after `inspect `: the list changes as voters come and go.
  std::vector<std::string> names;
  try {
    for (const auto& name : g_session->ask({"names"})) names.push_back(name.get<std::string>());
  } catch (const std::exception&) {
  }
  return names;
}

extern "C" char* next_match(const char*, int state) {
  static std::size_t i = 0;
  if (state == 0) i = 0;
  return i < g_matches.size() ? strdup(g_matches[i++].c_str()) : nullptr;
}

extern "C" char** complete_line(const char* text, int, int end) {
  rl_attempted_completion_over = 1;  // No file-name completion.
  const std::string before(rl_line_buffer, static_cast<std::size_t>(end));
  try {
    auto words = shell::split_words(before);
    const bool wants_actor = !words.empty() && words[0] == "inspect";
    g_matches = shell::complete(before, wants_actor ? actor_names() : std::vector<std::string>{});
  } catch (const std::exception&) {
    g_matches.clear();
  }
  return rl_completion_matches(text, next_match);
}

std::string history_file() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.croupier_shell_history" : std::string();
}

int interactive(AdminSession& session, bool json_out) {
  g_session = &session;
  rl_catch_signals = 0;  // Our SIGINT handler stays in place while libedit reads.
  rl_attempted_completion_function = complete_line;
  const std::string history = history_file();
  if (!history.empty()) read_history(history.c_str());
  stifle_history(1000);
  while (true) {
    g_interrupted = 0;
    char* raw = readline("croupier> ");
    if (!raw) break;  // Ctrl-D.
    std::string line(raw);
    std::free(raw);
    g_interrupted = 0;  // A Ctrl-C pressed at the prompt is not meant for this command.
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(line.c_str());
    bool failed = false;
    if (!run_line(session, line, json_out, failed)) break;
  }
  std::cout << std::endl;
  if (!history.empty()) write_history(history.c_str());
  return 0;
}

}  // namespace

int run_shell(const std::vector<std::string>& raw_args) {
  // -c COMMAND is the shells' usual spelling; cli::Args knows long options only.
  std::vector<std::string> argv;
  for (const auto& a : raw_args) argv.push_back(a == "-c" ? "--command" : a);
  return run_command("shell", kSpec, argv, [](const cli::Args& args) {
    Endpoint endpoint;
    try {
      endpoint = parse_endpoint(args.value("connect").value_or("127.0.0.1:8081"), false);
    } catch (const std::invalid_argument& e) {
      throw cli::UsageError(std::string("--connect: ") + e.what());
    }
    const std::string token = shell_token(args);
    const bool json_out = args.flag("json");

    // Ctrl-C (SIGINT) ends `events follow` or the wait for an answer. It only sets a flag that
    // those loops poll; interrupted reads restart (SA_RESTART), because libedit, given an
    // EINTR, was left unable to read the next line. So at the prompt Ctrl-C does nothing (Ctrl-U
    // clears the line). SIGTERM keeps its default action.
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);

    // SIGINT is for the main thread only: CAF's threads (the middleman's socket loop among
    // them) start with it blocked, so a Ctrl-C never interrupts their system calls (an EINTR
    // there was taken for a broken connection).
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_BLOCK, &interrupt, nullptr);
    caf::actor_system_config config;
    config.set("logger.verbosity", caf::atom("quiet"));
    config.set("scheduler.max-threads", std::size_t{2});
    config.load<caf::io::middleman>();
    // A cluster node drops a connection silent for its connection timeout (at least 10 s): an
    // idle interactive shell keeps its connection with a heartbeat well inside it.
    config.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
    caf::actor_system system{config};
    pthread_sigmask(SIG_UNBLOCK, &interrupt, nullptr);
    AdminSession session(system, endpoint, token);

    if (auto command = args.value("command")) {
      bool failed = false;
      const bool following = shell::split_words(*command) == std::vector<std::string>{"events", "follow"};
      run_line(session, *command, json_out, failed);
      if (g_interrupted && !following) return 130;  // As shells report an interrupted command.
      return failed ? 1 : 0;
    }
    if (isatty(STDIN_FILENO)) {
      try {
        auto status = session.ask({"status"});
        std::cout << "connected to node " << status.value("node_id", "?") << " (croupier "
                  << status.value("version", "?") << ") at " << session.where()
                  << "; `help` lists the commands, Ctrl-D leaves" << std::endl;
      } catch (const std::exception& e) {
        std::cerr << "croupier shell: " << e.what() << std::endl;
        return 1;
      }
      return interactive(session, json_out);
    }
    std::signal(SIGINT, SIG_DFL);  // A script's commands: Ctrl-C ends the shell, as it ends scripts.
    int status = 0;
    std::string line;
    while (std::getline(std::cin, line)) {
      bool failed = false;
      if (!run_line(session, line, json_out, failed)) break;
      if (failed) status = 1;
    }
    return status;
  });
}

}  // namespace croupier::tools
