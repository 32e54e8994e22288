// `croupier replay`: rebuild every projection from the log and print an audit report.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "tools/audit_report.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"

namespace croupier::tools {

namespace {
const cli::CommandSpec kSpec{
    "croupier replay --data DIR [--verify] [--from SEQ] [--json]",
    "Rebuilds every projection (accounts, transactions, blocks, batches, settled state) from the\n"
    "event log in DIR, starting from the newest snapshot, and audits it: the whole hash chain,\n"
    "every event's rules and money conservation; with --verify also every signature, VRF proof\n"
    "and batch proof, on all cores. Prints event counts, accounts, batches by status, the state\n"
    "root and every problem with its sequence number. Exit code 0 only when the log is clean,\n"
    "1 when problems were found, 2 when the log cannot be opened or the usage is wrong.",
    {{"data", "DIR", "the node's data directory (required)"},
     {"verify", "", "also check every signature, VRF proof and batch proof (implies --from 0 unless --from is given)"},
     {"from", "SEQ", "start from the newest snapshot at or below SEQ; 0 replays from the first event"},
     {"json", "", "print the report as one JSON document"},
     {"threads", "N", "verification threads (default: one per core)"}}};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int run_replay(const std::vector<std::string>& argv) {
  return run_command("replay", kSpec, argv, [](const cli::Args& args) {
    eventlog::Options options;
    options.dir = args.required("data");
    options.create_if_missing = false;
    options.audit = true;  // The replay checks the whole chain itself and reports every problem.
    auto log = eventlog::EventLog::open(options);

    eventlog::ReplayOptions ro;
    ro.verify = args.flag("verify");
    ro.from = args.unsigned_value("from");
    if (ro.verify && !ro.from) ro.from = 0;  // An audit re-checks every event unless told otherwise.
    ro.threads = static_cast<unsigned>(args.unsigned_value("threads").value_or(0));
    auto t0 = std::chrono::steady_clock::now();
    auto last_print = t0;
    bool printed = false;
    ro.progress = [&](eventlog::Seq done, eventlog::Seq head) {
      auto now = std::chrono::steady_clock::now();
      if (now - t0 < std::chrono::seconds(1) || (printed && now - last_print < std::chrono::milliseconds(500) && done < head))
        return;
      double pct = head ? 100.0 * static_cast<double>(done) / static_cast<double>(head) : 100.0;
      std::fprintf(stderr, "\rreplay: %llu/%llu events (%.0f%%), %.0f events/s   ", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(head), pct, static_cast<double>(done) / seconds_since(t0));
      printed = true;
      last_print = now;
    };
    auto result = eventlog::replay(*log, ro);
    if (printed) std::fprintf(stderr, "\n");
    AuditContext ctx{options.dir.string(), log->head_hash(), ro.verify, seconds_since(t0)};
    if (args.flag("json"))
      std::cout << audit_report_json(result, ctx).dump(2) << "\n";
    else
      print_audit_report(std::cout, result, ctx);
    return result.clean() ? 0 : 1;
  });
}

}  // namespace croupier::tools
