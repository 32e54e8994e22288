// `croupier bench log`: the event log's throughput figures, measured in one run.
//
//   append:  durable commits/s and events/s at group sizes 1..10000, bet-sized events
//            (TxAdmitted of a bet: record, hash chain and bet_index entry), next to two
//            ceilings at group size 1000: the disk's (its durable write rate over the bytes
//            LMDB writes per event) and the journal's one-thread CPU's (the same appends
//            with fsync off);
//   replay:  events/s of decode + hash check + apply over a generated history, next to
//            the hashing ceiling (cores x one core's chain hashes and tx ids);
//   verify:  `replay --verify` events/s next to the verification ceiling, i.e. the number
//            of cores times one core's rate of the very same checks (Ed25519, ECVRF and
//            batch proofs), measured on the same events in the same run.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "domain/audit.hpp"
#include "eventlog/replay.hpp"
#include "tools/bench_report.hpp"
#include "tools/bench_support.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/ledger_generator.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kSpec{
    "croupier bench log [--json] [--dir DIR] [--replay-events N] [--verify-bets N] [--seconds S]",
    "Measures the event log: durable group-commit throughput at group sizes 1, 10, 100, 1000 and\n"
    "10000, next to two ceilings at 1000: the disk's (its durable write rate over the bytes\n"
    "written per event) and the journal's one-thread CPU's (the same appends with fsync off),\n"
    "and the fraction of the lower one reached; replay events/s over a generated history and\n"
    "its payload bytes per event, next to the hashing ceiling (cores x\n"
    "one core's chain hashes and tx ids); and `replay --verify` events/s next to the machine's\n"
    "verification ceiling (cores x one core's rate of the same checks). Logs are\n"
    "written to a fresh directory (default: under the current directory, which must be on a\n"
    "real disk for durable figures) and removed afterwards. Progress goes to stderr.",
    {{"json", "", "one JSON line per figure: {\"metric\":...,\"value\":...,\"unit\":...}"},
     {"dir", "DIR", "where to write the benchmark logs (default ./.croupier-bench-PID)"},
     {"replay-events", "N", "events in the replay history (default 1000000)"},
     {"verify-bets", "N", "bets in the fully signed history for the verify figures (default 4000)"},
     {"seconds", "S", "time budget per group size (default 2)"}}};

using Clock = BenchClock;
double since(Clock::time_point t0) { return seconds_since(t0); }

void progress(const char* what) { std::fprintf(stderr, "bench: %s\n", what); }

// Bet-sized TxAdmitted events with distinct, time-ordered bet ids (signatures are random
// bytes: appending does not check them).
std::vector<Event> bet_events(std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<Event> events;
  events.reserve(n);
  std::uint64_t ms = 1'763'683'200'000;
  for (std::size_t i = 0; i < n; ++i) {
    Bet b;
    std::array<std::uint8_t, 10> r{};
    for (auto& x : r) x = static_cast<std::uint8_t>(rng());
    if (i % 64 == 0) ++ms;
    b.bet_id = make_time_ordered_id(ms, r);
    for (auto& x : b.account) x = static_cast<std::uint8_t>(rng());
    b.nonce = i + 1;
    b.game = 2;
    b.wager = 100 + i % 900;
    b.choice = 50;
    for (auto& x : b.client_seed) x = static_cast<std::uint8_t>(rng());
    for (auto& x : b.signature) x = static_cast<std::uint8_t>(rng());
    events.push_back(TxAdmitted{b});
  }
  return events;
}

// Bytes this process has handed to write(2)-like calls so far (/proc/self/io "wchar"); nullopt
// where the kernel does not say.
std::optional<std::uint64_t> bytes_written_so_far() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return std::nullopt;
}

struct AppendRun {
  std::size_t commits = 0, events = 0;
  double seconds = 0;
  std::optional<std::uint64_t> bytes_written;  // What LMDB wrote for them (pages, meta).
};

// Appends `pool` in groups of `group` to a fresh durable log for at most `budget` seconds.
AppendRun time_appends(const std::filesystem::path& dir, const std::vector<Event>& pool, std::size_t group,
                       double budget, bool durable = true) {
  std::filesystem::remove_all(dir);
  eventlog::Options o;
  o.dir = dir;
  o.durable = durable;
  auto log = eventlog::EventLog::open(o);
  AppendRun run;
  auto written0 = bytes_written_so_far();
  auto t0 = Clock::now();
  while (run.events + group <= pool.size() && since(t0) < budget) {
    log->append(std::span<const Event>(pool.data() + run.events, group), 0);
    run.events += group;
    ++run.commits;
  }
  run.seconds = since(t0);
  if (auto written = bytes_written_so_far(); written && written0) run.bytes_written = *written - *written0;
  log.reset();
  std::filesystem::remove_all(dir);
  return run;
}

// The disk's durable sequential write rate: 256 MiB written in 4 MiB pieces, then one
// fdatasync. No log can commit bytes faster than this.
double durable_write_bytes_per_s(const std::filesystem::path& dir) {
  auto path = dir / "bandwidth";
  struct File {
    int fd;
    ~File() { ::close(fd); }
  } file{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)};
  if (file.fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  std::vector<char> piece(4 << 20, 'x');
  constexpr std::size_t kPieces = 64;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < kPieces; ++i)
    for (std::size_t done = 0; done < piece.size();) {
      auto n = ::write(file.fd, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error("writing " + path.string() + ": " + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
  if (::fdatasync(file.fd) != 0) throw std::runtime_error("fdatasync " + path.string() + ": " + std::strerror(errno));
  double s = since(t0);
  std::filesystem::remove(path);
  return static_cast<double>(kPieces * piece.size()) / s;
}

void bench_append(Reporter& rep, const std::filesystem::path& root, double budget) {
  progress("append: generating bet events");
  auto pool = bet_events(400'000);
  std::optional<double> bytes_per_event_1000;
  double durable_1000 = 0;
  for (std::size_t group : {1u, 10u, 100u, 1000u, 10000u}) {
    auto [commits, events, s, written] = time_appends(root / ("append-" + std::to_string(group)), pool, group, budget);
    if (group == 1000) durable_1000 = static_cast<double>(events) / s;
    if (group == 1000 && written && events > 0)
      bytes_per_event_1000 = static_cast<double>(*written) / static_cast<double>(events);
    rep.figure("log_append_commits_per_s_group_" + std::to_string(group), static_cast<double>(commits) / s,
               "commits/s");
    rep.figure("log_append_events_per_s_group_" + std::to_string(group), static_cast<double>(events) / s, "events/s");
  }
  // What the disk allows at group size 1000: its durable write rate over the bytes LMDB
  // writes per event (records, index pages, meta), both measured in this run.
  progress("append: measuring the disk's durable write rate");
  const double bandwidth = durable_write_bytes_per_s(root);
  rep.figure("disk_durable_write_mb_per_s", bandwidth / 1e6, "MB/s", "(256 MiB written, then one fdatasync)");
  if (!bytes_per_event_1000) progress("append: /proc/self/io does not say what was written: no disk ceiling figure");
  if (bytes_per_event_1000) {
    rep.figure("log_append_bytes_written_per_event_group_1000", *bytes_per_event_1000, "bytes");
    rep.figure("log_append_disk_ceiling_events_per_s_group_1000", bandwidth / *bytes_per_event_1000, "events/s",
               "(disk write rate / bytes written per event)");
  }
  // What one thread of the journal allows: the same appends with fsync off (MDB_NOSYNC), so
  // that encoding, hashing, LMDB's B-tree work and the write calls are all that is left.
  progress("append: the same appends at group size 1000 with fsync off");
  const auto cpu = time_appends(root / "append-nosync", pool, 1000, budget, false);
  const double cpu_ceiling = static_cast<double>(cpu.events) / cpu.seconds;
  rep.figure("log_append_cpu_ceiling_events_per_s_group_1000", cpu_ceiling, "events/s",
             "(one thread: the same appends with fsync off)");
  if (bytes_per_event_1000) {
    const double ceiling = std::min(cpu_ceiling, bandwidth / *bytes_per_event_1000);
    rep.figure("log_append_fraction_of_ceiling_pct_group_1000", 100.0 * durable_1000 / ceiling, "%",
               "(durable events/s over the lower of the two ceilings)");
  }
  // The same at group size 1000 over a bet's whole life (admitted, finalized, committed,
  // resolved, batched), each event updating its bet's index entry.
  progress("append: generating a bet-lifecycle history");
  LedgerOptions lo;
  lo.real_crypto = false;
  lo.accounts = 1000;
  LedgerGenerator gen(lo);
  auto history = gen.genesis();
  while (history.size() < 400'000) gen.bets(1000, history);
  auto [commits, events, s, written] = time_appends(root / "append-lifecycle", history, 1000, budget);
  rep.figure("log_append_events_per_s_group_1000_bet_lifecycle", static_cast<double>(events) / s, "events/s");
}

// Writes a generated history of at least `min_events` events (or `bets` bets) into a log.
std::unique_ptr<eventlog::EventLog> write_history(const std::filesystem::path& dir, bool real_crypto,
                                                  std::size_t min_events, std::size_t bets) {
  std::filesystem::remove_all(dir);
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;  // Building the input is not what is measured.
  auto log = eventlog::EventLog::open(o);
  LedgerOptions lo;
  lo.real_crypto = real_crypto;
  lo.accounts = 1000;
  LedgerGenerator gen(lo);
  auto events = gen.genesis();
  std::size_t total = 0, placed = 0;
  while ((min_events && total + events.size() < min_events) || (bets && placed < bets)) {
    std::size_t n = bets ? std::min<std::size_t>(1000, bets - placed) : 1000;
    gen.bets(n, events);
    placed += n;
    if (events.size() >= 10000) {
      log->append(events, gen.now_ms());
      total += events.size();
      events.clear();
    }
  }
  gen.flush(events);
  if (!events.empty()) log->append(events, gen.now_ms());
  return log;
}

// The hashing no replay can skip, on the same history: every record's chain hash and every
// admitted transaction's id, timed on one core (the records are decoded beforehand, outside
// the timing). Cores x that rate bounds replay from above whatever else it does.
void bench_replay_hashing(Reporter& rep, const eventlog::EventLog& log) {
  progress("replay: measuring one core's hashing rate on the same history");
  std::vector<Tx> txs;
  std::size_t bytes = 0, records = 0;
  log.scan(1, [&](const eventlog::RecordView& r) {
    bytes += r.payload.size();
    ++records;
    if (r.type == static_cast<std::uint16_t>(EventType::tx_admitted))
      txs.push_back(std::get<TxAdmitted>(decode_event(r.type, r.payload)).tx);
    return true;
  });
  auto t0 = Clock::now();
  std::size_t intact = 0;
  log.scan(1, [&](const eventlog::RecordView& r) {
    intact += r.hash_matches();
    return true;
  });
  for (const auto& tx : txs) (void)tx_id(tx);  // An opaque libsodium call: not optimised away.
  double one_core = since(t0);
  if (intact != records) throw std::runtime_error("the generated replay history has records whose hash does not match");
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  rep.figure("replay_payload_bytes_per_event", static_cast<double>(bytes) / static_cast<double>(records), "bytes");
  rep.figure("replay_hashing_ceiling_events_per_s", cores * static_cast<double>(records) / one_core, "events/s",
             "(" + std::to_string(cores) + " cores x one core's chain hashes and tx ids)");
}

void bench_replay(Reporter& rep, const std::filesystem::path& root, std::size_t n_events) {
  progress("replay: generating the history");
  auto log = write_history(root / "replay", false, n_events, 0);
  progress("replay: replaying");
  eventlog::ReplayOptions ro;
  ro.from = 0;
  auto t0 = Clock::now();
  auto result = eventlog::replay(*log, ro);
  double s = since(t0);
  if (!result.clean()) throw std::runtime_error("the generated replay history is not clean: " + result.problems.front().message);
  rep.figure("replay_events", static_cast<double>(result.head), "events");
  rep.figure("replay_events_per_s", static_cast<double>(result.head) / s, "events/s");
  bench_replay_hashing(rep, *log);
}

void bench_verify(Reporter& rep, const std::filesystem::path& root, std::size_t bets) {
  progress("verify: generating a fully signed history (ECVRF proofs take a while)");
  auto log = write_history(root / "verify", true, 0, bets);
  eventlog::Seq head = log->head_seq();

  // One core's rate of the very checks `replay --verify` runs, on the same events.
  progress("verify: measuring one core's checking rate");
  std::vector<audit::Job> jobs;
  Projections p;
  log->scan(1, [&](const eventlog::RecordView& r) {
    Event e = decode_event(r.type, r.payload);
    apply(p, r.seq, e);
    if (auto job = audit::job_for(p, r.seq, e)) jobs.push_back(std::move(*job));
    return true;
  });
  auto t0 = Clock::now();
  for (const auto& job : jobs)
    if (audit::run(job)) throw std::runtime_error("the generated verify history fails a check");
  double one_core = since(t0);
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  double ceiling = cores * static_cast<double>(head) / one_core;

  progress("verify: replay --verify on all cores");
  eventlog::ReplayOptions ro;
  ro.from = 0;
  ro.verify = true;
  t0 = Clock::now();
  auto result = eventlog::replay(*log, ro);
  double s = since(t0);
  if (!result.clean()) throw std::runtime_error("replay --verify found problems in the generated history");
  double rate = static_cast<double>(head) / s;
  rep.figure("verify_events", static_cast<double>(head), "events");
  rep.figure("verify_checks", static_cast<double>(jobs.size()), "checks");
  rep.figure("verify_ceiling_events_per_s", ceiling, "events/s", "(" + std::to_string(cores) + " cores x one core)");
  rep.figure("replay_verify_events_per_s", rate, "events/s");
  rep.figure("replay_verify_fraction_of_ceiling_pct", 100.0 * rate / ceiling, "%");
}

}  // namespace

int run_bench(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "node") return run_bench_node({argv.begin() + 1, argv.end()});
  if (!argv.empty() && argv[0] == "soak") return run_bench_soak({argv.begin() + 1, argv.end()});
  if (argv.empty() || (argv[0] != "log" && argv[0] != "--help" && argv[0] != "-h")) {
    std::cerr << "croupier bench: which benchmark? available: log, node, soak (see croupier bench log --help, "
                 "croupier bench node --help, croupier bench soak --help)\n";
    return 2;
  }
  std::vector<std::string> rest(argv.begin() + (argv[0] == "log" ? 1 : 0), argv.end());
  return run_command("bench", kSpec, rest, [](const cli::Args& args) {
    Reporter rep{args.flag("json")};
    std::filesystem::path root =
        args.value("dir").value_or(".croupier-bench-" + std::to_string(static_cast<long>(::getpid())));
    if (std::filesystem::exists(root) && !std::filesystem::is_empty(root))
      throw cli::UsageError("--dir " + root.string() + " exists and is not empty");
    std::filesystem::create_directories(root);
    RemovedOnExit cleanup{root};
    double budget = static_cast<double>(args.unsigned_value("seconds").value_or(2));
    bench_append(rep, root, budget);
    bench_replay(rep, root, args.unsigned_value("replay-events").value_or(1'000'000));
    bench_verify(rep, root, args.unsigned_value("verify-bets").value_or(4000));
    return 0;
  });
}

}  // namespace croupier::tools
