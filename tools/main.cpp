// croupier: one executable, one subcommand per job. Only subcommands that are built are
// listed; there is no placeholder for future ones.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "tools/commands.hpp"

namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

constexpr Subcommand kSubcommands[] = {
    {"node", "start a node: recover from its log, run every actor, serve the HTTP API and the admin door",
     croupier::tools::run_node},
    {"replay", "rebuild every projection from the event log and audit it", croupier::tools::run_replay},
    {"snowball", "run a Snowball/Snowflake instance over a poll trace (JSON lines on stdin)",
     croupier::tools::run_snowball},
    {"keygen", "generate an Ed25519 key pair (a player's account) into a 0600 seed file",
     croupier::tools::run_keygen},
    {"client", "talk to a node's HTTP API: deposit, bet (outcome verified), get, health, metrics",
     croupier::tools::run_client},
    {"cluster", "`croupier cluster init`: the data directories and configs of a new cluster of nodes",
     croupier::tools::run_cluster},
    {"shell", "a debug shell into a live node's actors (status, actors, tx, events follow, operator actions)",
     croupier::tools::run_shell},
    {"sim", "deterministic simulation of a cluster with crashes, a lossy network and Byzantine validators",
     croupier::tools::run_sim},
    {"bench", "benchmarks: `croupier bench log`, `croupier bench node`, `croupier bench soak`", croupier::tools::run_bench},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: croupier <command> [options]   (croupier <command> --help for details)\n\ncommands:\n");
  for (const auto& c : kSubcommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) the kernel's default for SIGXFSZ kills the process
  // in the middle of an LMDB write. Ignored, the write fails with EFBIG instead, LMDB
  // returns the error and the log reports it (as disk_full) and stays consistent.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("croupier %s\n", CROUPIER_VERSION);
    return 0;
  }
  for (const auto& c : kSubcommands) {
    if (name == c.name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
  }
  std::fprintf(stderr, "croupier: unknown command '%s'\n", name.c_str());
  usage(stderr);
  return 2;
}
