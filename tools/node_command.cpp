// `croupier node`: until the node's actors land, it opens (or creates) the event log,
// records NodeStarted with the node's keys, and waits for SIGINT/SIGTERM.
#include <signal.h>

#include <chrono>
#include <iostream>

#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/node_config.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {
const cli::CommandSpec kSpec{
    "croupier node [--config FILE] [--data DIR]",
    "Opens the event log in DIR (creating it and the node's keys on first start), appends\n"
    "NodeStarted naming the operator, house and sequencer public keys, and waits. SIGINT or\n"
    "SIGTERM closes the log and exits 0. The actors (HTTP API, consensus, settlement) are not\n"
    "built yet: this node accepts no bets.",
    {{"config", "FILE", "configuration file (CAF's config format; see config/croupier.ini)"},
     {"data", "DIR", "data directory: event log and keys (default ./croupier-data; overrides the file)"}}};

std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}
}  // namespace

int run_node(const std::vector<std::string>& argv) {
  return run_command("node", kSpec, argv, [](const cli::Args& args) {
    NodeConfig config;
    if (auto file = args.value("config")) config = load_node_config(*file);
    if (auto data = args.value("data")) config.data = *data;
    const std::filesystem::path& dir = config.data;
    // Block the stop signals before anything else so that none is lost while we start;
    // sigwait below collects them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    eventlog::Options options;
    options.dir = dir;
    options.node_id_if_new = random_node_id();
    auto log = eventlog::EventLog::open(options);
    auto keys = load_or_create_node_keys(dir, log->head_seq() == 0);
    NodeStarted started{log->node_id(), CROUPIER_VERSION, keys.operator_key.public_key, keys.house_key.public_key,
                        keys.sequencer_key.public_key};
    auto seqs = log->append(std::vector<Event>{started}, wall_clock_ms());
    std::cout << "croupier node " << to_hex(log->node_id()) << "\n"
              << "  data:      " << std::filesystem::absolute(dir).string() << " (event log head seq " << seqs.front()
              << ")\n"
              << "  operator:  " << to_hex(keys.operator_key.public_key) << "\n"
              << "  house:     " << to_hex(keys.house_key.public_key) << "\n"
              << "  sequencer: " << to_hex(keys.sequencer_key.public_key) << "\n"
              << "  no HTTP API yet (the node's actors are not built); waiting for SIGINT/SIGTERM" << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
    log.reset();  // Closes LMDB: every append above was already durable.
    std::cout << "croupier node: stopped by " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", log closed" << std::endl;
    return 0;
  });
}

}  // namespace croupier::tools
