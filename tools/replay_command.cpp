// `croupier replay`: rebuild every projection from the log and print an audit report.
//
// The audit runs in a forked child process. LMDB keeps no checksums: a damaged page
// header (a flipped byte in data.mdb) can make LMDB read out of bounds and die of
// SIGSEGV/SIGBUS, which no error code reports. The parent survives that, and turns the
// crash into a NOT CLEAN report (problem kind corrupt_storage) naming the signal and the
// last record the child reported reaching.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "domain/crypto.hpp"
#include "tools/audit_report.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {
const cli::CommandSpec kSpec{
    "croupier replay --data DIR [--verify] [--from SEQ] [--json] [--operator-key HEX --house-key HEX "
    "--sequencer-key HEX]",
    "Rebuilds every projection (accounts, transactions, blocks, batches, settled state) from the\n"
    "event log in DIR, starting from the newest snapshot, and audits it: the whole hash chain,\n"
    "every event's rules and money conservation; with --verify also every signature, VRF proof\n"
    "and batch proof, on all cores. Every NodeStarted must name the expected node keys: those\n"
    "given with --operator-key/--house-key/--sequencer-key, else those derived from the seeds in\n"
    "DIR/keys when all three files exist, else (said so in the report) the first ones in the log.\n"
    "Prints event counts, accounts, batches by status, the state root and every problem with its\n"
    "sequence number. A log whose storage is so damaged that reading it crashes is reported as a\n"
    "corrupt_storage problem. Exit code 0 only when the log is clean, 1 when problems were found,\n"
    "2 when the log cannot be opened or the usage is wrong.",
    {{"data", "DIR", "the node's data directory (required)"},
     {"verify", "", "also check every signature, VRF proof and batch proof (implies --from 0 unless --from is given)"},
     {"from", "SEQ", "start from the newest snapshot at or below SEQ; 0 replays from the first event"},
     {"json", "", "print the report as one JSON document"},
     {"threads", "N", "verification threads (default: one per core)"},
     {"operator-key", "HEX", "the expected operator public key (32 bytes hex; needs the other two keys)"},
     {"house-key", "HEX", "the expected house (VRF) public key (32 bytes hex; needs the other two keys)"},
     {"sequencer-key", "HEX", "the expected sequencer public key (32 bytes hex; needs the other two keys)"}}};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Everything the audit needs, settled before the fork so that usage and key-file errors
// are reported by the parent (exit 2) and the child only audits.
struct Request {
  eventlog::Options log;
  eventlog::ReplayOptions replay;
  AuditContext ctx;
  bool json = false;
};

// The expected keys: all three options, or all three seed files under DIR/keys, or none.
void choose_expected_keys(const cli::Args& args, Request& req) {
  const char* names[] = {"operator-key", "house-key", "sequencer-key"};
  std::optional<std::string> given[3];
  int count = 0;
  for (int i = 0; i < 3; ++i) count += (given[i] = args.value(names[i])).has_value();
  if (count > 0 && count < 3) {
    std::string missing;
    for (int i = 0; i < 3; ++i)
      if (!given[i]) missing += std::string(missing.empty() ? "" : ", ") + "--" + names[i];
    throw cli::UsageError("--operator-key, --house-key and --sequencer-key go together: missing " + missing);
  }
  PublicKey keys[3];
  if (count == 3) {
    for (int i = 0; i < 3; ++i) {
      try {
        keys[i] = fixed_from_hex<32>(*given[i], std::string("--") + names[i]);
      } catch (const InputError& e) {
        throw cli::UsageError(std::string("--") + names[i] + " must be a 32-byte public key in hex (64 digits): " +
                              e.what());
      }
    }
    req.ctx.keys_source = kKeysFromOptions;
  } else {
    auto files = read_node_keys(req.log.dir);
    if (!files) return;  // Not all there: the log's own keys.
    keys[0] = files->operator_key.public_key;
    keys[1] = files->house_key.public_key;
    keys[2] = files->sequencer_key.public_key;
    req.ctx.keys_source = kKeysFromKeyFiles;
  }
  req.replay.expected_keys = eventlog::ReplayOptions::Keys{keys[0], keys[1], keys[2]};
}

// What the child tells the parent through the progress pipe; 16 bytes, so each write is atomic.
struct ProgressFrame {
  std::uint64_t done = 0;  // Records checked so far (records are numbered from 1).
  std::uint64_t head = 0;
};

// The audit itself, as it ran before it was moved into a child: prints the report and
// returns the exit code. `progress_fd` (-1: none) receives a ProgressFrame at every progress call.
int audit(Request& req, int progress_fd) {
  auto send = [progress_fd](eventlog::Seq done, eventlog::Seq head) {
    if (progress_fd < 0) return;
    ProgressFrame f{done, head};
    [[maybe_unused]] auto n = ::write(progress_fd, &f, sizeof f);  // The parent may be gone: nothing to do then.
  };
  auto t0 = std::chrono::steady_clock::now();
  auto log = eventlog::EventLog::open(req.log);
  send(0, log->head_seq());

  eventlog::ReplayOptions& ro = req.replay;
  auto last_print = t0;
  bool printed = false;
  ro.progress = [&](eventlog::Seq done, eventlog::Seq head) {
    send(done, head);
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
  AuditContext ctx = req.ctx;
  ctx.head_hash = log->head_hash();
  // Closed before anything is printed: a crash in LMDB while closing must not follow a full report.
  log.reset();
  ctx.seconds = seconds_since(t0);
  if (req.json)
    std::cout << audit_report_json(result, ctx).dump(2) << "\n";
  else
    print_audit_report(std::cout, result, ctx);
  std::cout.flush();
  return result.clean() ? 0 : 1;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);  // glibc: "SEGV", "BUS", ...
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// Signals that mean the process crashed by itself (reading a damaged page), rather than
// being stopped from outside (SIGKILL from the OOM killer, SIGTERM, SIGINT, SIGPIPE...).
bool is_crash(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGILL || sig == SIGFPE || sig == SIGSYS;
}

// Runs audit() in a child and waits for it; see the comment at the top of the file.
int audit_in_child(Request& req) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::cout.flush();
  std::fflush(nullptr);  // Nothing buffered may be written twice, once by each process.
  auto t0 = std::chrono::steady_clock::now();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
#ifdef __linux__
    // An audit whose parent is gone has nobody to report to.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(2);
#endif
    (void)parent;
    // Errors (the log cannot be opened...) propagate to run_command as before: exit 2.
    int code = audit(req, fds[1]);
    ::close(fds[1]);
    return code;
  }
  ::close(fds[1]);
  std::optional<ProgressFrame> last;
  {
    char buf[sizeof(ProgressFrame) * 256];
    std::size_t have = 0;
    for (;;) {
      ssize_t got = ::read(fds[0], buf + have, sizeof buf - have);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;  // End of file: the child exited (or died).
      have += static_cast<std::size_t>(got);
      std::size_t whole = have / sizeof(ProgressFrame) * sizeof(ProgressFrame);
      if (whole) {
        ProgressFrame f;
        std::memcpy(&f, buf + whole - sizeof f, sizeof f);
        last = f;
        std::memmove(buf, buf + whole, have - whole);
        have -= whole;
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  std::uint64_t done = last ? last->done : 0;
  std::optional<eventlog::Seq> head;
  if (last) head = last->head;
  std::string where = !last             ? "while opening the log"
                      : last->done == 0 ? "after opening the log (head seq " + std::to_string(last->head) +
                                              "), before its first progress report (one every 1024 records)"
                                        : "after checking at least " + std::to_string(done) + " of " +
                                              std::to_string(last->head) +
                                              " records (it reports its progress every 1024 records)";
  if (!is_crash(sig)) {
    std::cerr << "croupier replay: the audit was stopped by " << signal_name(sig) << " " << where
              << ", before it finished; no report\n";
    return 2;
  }
  eventlog::Problem problem;
  problem.seq = done;
  problem.kind = "corrupt_storage";
  problem.message = "the audit crashed with " + signal_name(sig) + " " + where +
                    ": the log's storage is damaged (the LMDB page structure of data.mdb: LMDB keeps no checksums, "
                    "and reading a damaged page crashes it); the records after this seq were not all checked. "
                    "Restore the log from a copy";
  AuditContext ctx = req.ctx;
  ctx.seconds = seconds_since(t0);
  if (req.json)
    std::cout << audit_crash_report_json(problem, head, ctx).dump(2) << "\n";
  else
    print_audit_crash_report(std::cout, problem, head, ctx);
  std::cout.flush();
  return 1;
}

}  // namespace

int run_replay(const std::vector<std::string>& argv) {
  return run_command("replay", kSpec, argv, [](const cli::Args& args) {
    Request req;
    req.log.dir = args.required("data");
    req.log.create_if_missing = false;
    req.log.audit = true;  // The replay checks the whole chain itself and reports every problem.
    eventlog::ReplayOptions& ro = req.replay;
    ro.verify = args.flag("verify");
    ro.from = args.unsigned_value("from");
    if (ro.verify && !ro.from) ro.from = 0;  // An audit re-checks every event unless told otherwise.
    ro.threads = static_cast<unsigned>(args.unsigned_value("threads").value_or(0));
    req.json = args.flag("json");
    req.ctx.dir = req.log.dir.string();
    req.ctx.verified = ro.verify;
    choose_expected_keys(args, req);
    // No thread exists yet (the replay starts its own): the fork is safe here.
    return audit_in_child(req);
  });
}

}  // namespace croupier::tools
