// How a simulation run is shown: the summary (text or JSON) and the command that reproduces it.
#include <iomanip>
#include <sstream>

#include "tools/sim/simulation.hpp"

namespace croupier::sim {

namespace {

std::string number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

}  // namespace

std::string reproduce_command(const SimOptions& o) {
  std::ostringstream out;
  out << "croupier sim --seed " << o.seed;
  const SimOptions d;
  if (o.nodes != d.nodes) out << " --nodes " << o.nodes;
  if (o.bets != d.bets) out << " --bets " << o.bets;
  if (o.clients) out << " --clients " << o.clients;
  if (o.beta != d.beta) out << " --beta " << o.beta;
  if (o.recent_txs != d.recent_txs) out << " --recent-txs " << o.recent_txs;
  if (o.rival_rate != d.rival_rate) out << " --rivals " << number(o.rival_rate);
  auto rate = [&](const char* name, const std::optional<double>& v) {
    if (v) out << " --" << name << " " << number(*v);
  };
  rate("byzantine", o.byzantine);
  rate("drop", o.drop);
  rate("duplicate", o.duplicate);
  rate("crash-rate", o.crash_rate);
  rate("partition-rate", o.partition_rate);
  rate("pause-rate", o.pause_rate);
  rate("forge-rate", o.forge_rate);
  if (o.heal_after_ms != d.heal_after_ms) out << " --heal-after " << o.heal_after_ms;
  if (o.liveness_ms != d.liveness_ms) out << " --liveness " << o.liveness_ms;
  if (o.sabotage != Sabotage::none) out << "   (with a sabotaged component: test build only)";
  return out.str();
}

nlohmann::ordered_json to_json(const SimResult& r) {
  nlohmann::ordered_json j;
  j["seed"] = r.options.seed;
  j["ok"] = !r.violation;
  if (r.violation)
    j["violation"] = {{"invariant", r.violation->invariant},
                      {"name", invariant_name(r.violation->invariant)},
                      {"detail", r.violation->detail},
                      {"step", r.violation->step},
                      {"virtual_ms", r.violation->virtual_ms},
                      {"reproduce", reproduce_command(r.options)}};
  j["digest"] = r.digest;
  j["nodes"] = r.options.nodes;
  j["faults"] = {{"byzantine_nodes", r.faults.byzantine_nodes}, {"drop", r.faults.drop},
                 {"duplicate", r.faults.duplicate},         {"crash_rate", r.faults.crash_rate},
                 {"partition_rate", r.faults.partition_rate}, {"pause_rate", r.faults.pause_rate},
                 {"forge_rate", r.faults.forge_rate}};
  const auto& w = r.workload;
  j["bets"] = {{"sent", w.bets_sent},          {"rivals", w.rivals_sent},
               {"overdraws", w.overdraws_sent}, {"final_accepted", w.final_accepted},
               {"final_rejected", w.final_rejected}, {"acknowledged_final", r.acked_bets},
               {"pending_answers", w.pending_answers}, {"polls", w.polls},
               {"refused", w.refused},          {"unavailable", w.unavailable},
               {"busy", w.busy},                {"resends", w.resends},
               {"resends_checked", w.resends_checked}, {"deposits", w.deposits_sent},
               {"rival_pairs_abandoned", w.rivals_abandoned}};
  j["node0"] = {{"txs_decided", r.txs_decided}, {"batches", r.batches}, {"batches_confirmed", r.batches_confirmed}};
  j["cold_lookups"] = r.cold_lookups;
  j["most_decided_txs_held"] = r.most_decided_txs_held;
  j["injected"] = {{"crashes", r.crashes},
                   {"crashes_after_commit", r.crashes_after_commit},
                   {"crashes_mid_batch", r.crashes_mid_batch},
                   {"restarts", r.restarts},
                   {"partitions", r.partitions},
                   {"pauses", r.pauses},
                   {"forged_settlements", r.forged},
                   {"forged_votes_refused", r.forged_rejected},
                   {"messages", r.network.sent},
                   {"dropped", r.network.dropped},
                   {"duplicated", r.network.duplicated},
                   {"cut_by_partition_or_crash", r.network.cut},
                   {"held_by_pause", r.network.held}};
  j["steps"] = r.steps;
  j["virtual_ms"] = r.virtual_ms;
  j["heal_ms"] = r.heal_ms;
  j["all_sent_ms"] = r.all_sent_ms;
  j["final_during_faults"] = r.final_at_heal;
  j["final_per_second_during_faults"] = r.fault_rate();
  j["longest_quiet_ms_during_faults"] = r.longest_quiet_ms;
  j["wall_seconds"] = r.wall_seconds;
  return j;
}

std::string to_text(const SimResult& r) {
  std::ostringstream out;
  const auto& w = r.workload;
  out << "seed " << r.options.seed << ": " << (r.violation ? "INVARIANT VIOLATED" : "ok") << "\n";
  if (r.violation)
    out << "  invariant " << r.violation->invariant << " (" << invariant_name(r.violation->invariant)
        << "): " << r.violation->detail << "\n  at step " << r.violation->step << ", " << r.violation->virtual_ms
        << " ms of virtual time\n  reproduce: " << reproduce_command(r.options) << "\n";
  out << "  nodes " << r.options.nodes << " (" << r.faults.byzantine_nodes << " Byzantine), faults: drop "
      << number(r.faults.drop) << ", duplicate " << number(r.faults.duplicate) << ", crashes/s "
      << number(r.faults.crash_rate) << ", partitions/s " << number(r.faults.partition_rate) << ", pauses/s "
      << number(r.faults.pause_rate) << ", forgeries/s " << number(r.faults.forge_rate) << "\n";
  out << "  bets sent " << w.bets_sent << " (+" << w.rivals_sent << " rivals, " << w.overdraws_sent
      << " beyond balance), final accepted " << w.final_accepted << ", rejected " << w.final_rejected
      << ", acknowledged final " << r.acked_bets << ", refused " << w.refused << ", resends checked "
      << w.resends_checked << ", rival pairs abandoned " << w.rivals_abandoned << "\n";
  out << "  node 0: txs decided " << r.txs_decided << ", batches " << r.batches << " (confirmed "
      << r.batches_confirmed << "); checks read " << r.cold_lookups << " forgotten txs from the logs\n";
  out << "  injected: crashes " << r.crashes << " (after a commit " << r.crashes_after_commit << ", mid-batch "
      << r.crashes_mid_batch << "), restarts " << r.restarts << ", partitions " << r.partitions << ", pauses "
      << r.pauses << ", forged settlements " << r.forged << " (votes refused " << r.forged_rejected << ")\n";
  out << "  network: messages " << r.network.sent << ", dropped " << r.network.dropped << ", duplicated "
      << r.network.duplicated << ", cut " << r.network.cut << ", held " << r.network.held << "\n";
  out << "  steps " << r.steps << ", virtual time " << std::fixed << std::setprecision(1)
      << static_cast<double>(r.virtual_ms) / 1000 << " s (healed at " << static_cast<double>(r.heal_ms) / 1000
      << " s), wall time " << r.wall_seconds << " s\n";
  out << "  during the faults: " << r.final_at_heal << " bets final in " << static_cast<double>(r.heal_ms) / 1000
      << " s (" << std::setprecision(2) << r.fault_rate() << " per second; none final for at most "
      << std::setprecision(1) << static_cast<double>(r.longest_quiet_ms) / 1000 << " s)\n";
  out << "  digest " << r.digest << "\n";
  return out.str();
}

}  // namespace croupier::sim
