// `croupier sim`: one simulated run (--seed) or a sweep of seeds (--seeds A..B).
#include <iostream>

#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/sim/simulation.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kSpec{
    "croupier sim (--seed N | --seeds A..B) [--nodes 5] [--bets 20000] [--byzantine F] [--drop P] [--duplicate P]\n"
    "             [--crash-rate R] [--partition-rate R] [--pause-rate R] [--forge-rate R] [--heal-after MS]\n"
    "             [--recent-txs N] [--json]",
    "Runs a whole cluster of real nodes (every actor, each node with its own event log in a\n"
    "temporary directory) in one process on CAF's deterministic scheduler and virtual time.\n"
    "One seed drives the clients, the network (delays, drops, duplicates, reordering,\n"
    "partitions, pauses), the crashes and restarts, the Byzantine validators and forged\n"
    "settlements, and the order in which ready actors run. Faults stop at --heal-after (or\n"
    "once every bet is sent); everything must be decided and settled within --liveness ms\n"
    "of the later of the heal and the last bet sent (while clients still send after the heal,\n"
    "some bet must be sent or final within every --liveness ms). The summary gives the rate\n"
    "at which bets became final while the faults were on. Checked while it runs and at the\n"
    "end: 1 no acknowledged bet is lost,\n"
    "2 agreement, 3 settlement integrity (no bet in two batches, no batch settled twice, money\n"
    "conserved, forged settlements refused, no reconciliation alarm), 4 each log replays to\n"
    "its node's live state,\n"
    "5 liveness, 6 deduplication. A fault rate not given is drawn from the seed (swarm mode).\n"
    "Prints a summary and a digest of all the logs: the same options give the same digest.\n"
    "A violation prints the invariant, the step, and the command that reproduces it; exit 1.\n"
    "--seeds A..B runs a sweep (progress on stderr) and lists the failing seeds.",
    {{"seed", "N", "the run's seed"},
     {"seeds", "A..B", "a sweep over seeds A to B (inclusive)"},
     {"nodes", "N", "nodes in the cluster (default 5; node 0 sequences the batches)"},
     {"bets", "N", "bets the clients send (default 20000)"},
     {"clients", "N", "concurrent players (default bets/25, 4..64)"},
     {"byzantine", "F", "fraction of nodes whose validator lies (default: drawn: 0 or one node)"},
     {"drop", "P", "probability that a message is lost (default: drawn)"},
     {"duplicate", "P", "probability that a message is delivered twice (default: drawn)"},
     {"crash-rate", "R", "node crashes per virtual second (default: drawn)"},
     {"partition-rate", "R", "network partitions per virtual second (default: drawn)"},
     {"pause-rate", "R", "node pauses per virtual second (default: drawn)"},
     {"forge-rate", "R", "forged settlements (a Byzantine sequencer) per virtual second (default: drawn)"},
     {"heal-after", "MS", "virtual ms after which faults stop (default 60000, or when the last bet is sent)"},
     {"liveness", "MS", "virtual ms after the heal and the last bet within which all must be decided (default 120000)"},
     {"rivals", "P", "probability that a new bet gets a rival on the same nonce at another node (default 0.04)"},
     {"beta", "N", "Snowball's beta, consecutive successful polls to decide (default 20)"},
     {"recent-txs", "N", "finished txs each node keeps in memory (default 100000; small: lookups go to the log)"},
     {"json", "", "print the summary as JSON (one document per seed)"}}};

double fraction(const cli::Args& args, const std::string& name, double max) {
  auto v = args.value(name);
  std::size_t used = 0;
  double x = 0;
  try {
    x = std::stod(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || !(x >= 0) || x > max)
    throw cli::UsageError("--" + name + " must be a number from 0 to " + std::to_string(static_cast<int>(max)) +
                          ", not '" + *v + "'");
  return x;
}

sim::SimOptions options_from(const cli::Args& args) {
  sim::SimOptions o;
  if (auto v = args.unsigned_value("nodes")) o.nodes = *v;
  if (o.nodes < 1 || o.nodes > 64) throw cli::UsageError("--nodes must be between 1 and 64");
  if (auto v = args.unsigned_value("bets")) o.bets = *v;
  if (auto v = args.unsigned_value("clients")) o.clients = *v;
  if (auto v = args.unsigned_value("beta")) o.beta = static_cast<int>(std::min<std::uint64_t>(*v, 1000));
  if (o.beta < 1) throw cli::UsageError("--beta must be at least 1");
  if (auto v = args.unsigned_value("recent-txs")) o.recent_txs = *v;
  if (o.recent_txs > 10'000'000) throw cli::UsageError("--recent-txs must be at most 10000000");
  auto opt = [&](const char* name, std::optional<double>& out, double max) {
    if (args.value(name)) out = fraction(args, name, max);
  };
  opt("byzantine", o.byzantine, 1);
  opt("drop", o.drop, 1);
  opt("duplicate", o.duplicate, 1);
  opt("crash-rate", o.crash_rate, 100);
  opt("partition-rate", o.partition_rate, 100);
  opt("pause-rate", o.pause_rate, 100);
  opt("forge-rate", o.forge_rate, 100);
  if (args.value("rivals")) o.rival_rate = fraction(args, "rivals", 1);
  if (auto v = args.unsigned_value("heal-after")) o.heal_after_ms = *v;
  if (auto v = args.unsigned_value("liveness")) o.liveness_ms = *v;
  return o;
}

std::pair<std::uint64_t, std::uint64_t> seed_range(const std::string& text) {
  auto dots = text.find("..");
  try {
    if (dots != std::string::npos) {
      std::size_t a_used = 0, b_used = 0;
      auto a = std::stoull(text.substr(0, dots), &a_used), b = std::stoull(text.substr(dots + 2), &b_used);
      if (a_used == dots && b_used == text.size() - dots - 2 && a <= b) return {a, b};
    }
  } catch (const std::exception&) {
  }
  throw cli::UsageError("--seeds takes A..B with A <= B, not '" + text + "'");
}

}  // namespace

int run_sim(const std::vector<std::string>& argv) {
  return run_command("sim", kSpec, argv, [](const cli::Args& args) {
    const bool json = args.flag("json");
    auto options = options_from(args);
    auto seed = args.unsigned_value("seed");
    auto seeds = args.value("seeds");
    if (seed.has_value() == seeds.has_value()) throw cli::UsageError("give either --seed N or --seeds A..B");
    auto [first, last] = seeds ? seed_range(*seeds) : std::pair{*seed, *seed};
    const bool sweep = static_cast<bool>(seeds);
    if (!sweep) options.progress = [](const std::string& line) { std::cerr << line << "\n"; };
    std::vector<std::uint64_t> failing;
    for (std::uint64_t s = first;; ++s) {
      options.seed = s;
      auto result = sim::run_simulation(options);
      if (json) std::cout << sim::to_json(result).dump() << "\n";
      else if (!sweep || result.violation) std::cout << sim::to_text(result);
      if (result.violation) failing.push_back(s);
      if (sweep)
        std::cerr << "sim sweep: seed " << s << " " << (result.violation ? "FAILED" : "ok") << " ("
                  << s - first + 1 << "/" << last - first + 1 << ", " << result.wall_seconds << " s)\n";
      if (s == last) break;
    }
    if (sweep && !json) {
      std::cout << "sweep of seeds " << first << ".." << last << ": " << (last - first + 1 - failing.size())
                << " ok, " << failing.size() << " failing";
      for (std::size_t i = 0; i < failing.size(); ++i) std::cout << (i ? ", " : ": ") << failing[i];
      std::cout << "\n";
    }
    return failing.empty() ? 0 : 1;
  });
}

}  // namespace croupier::tools
