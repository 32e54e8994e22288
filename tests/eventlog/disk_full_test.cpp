// A full disk stops appends with a clear, typed error and loses nothing acknowledged.
// Method: a forked child lowers RLIMIT_FSIZE (so the log file cannot grow, as on a full
// device) and appends until the log refuses; it reports over a pipe what it saw. The parent
// then reopens the log without the limit and checks every acknowledged event.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "eventlog/event_log.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;

TEST_CASE("a log that cannot grow refuses appends with disk_full and keeps what was acknowledged") {
  auto dir = std::filesystem::temp_directory_path() / ("croupier-diskfull-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  tools::LedgerOptions lo;
  lo.real_crypto = false;
  tools::LedgerGenerator gen(lo);
  auto events = gen.genesis();
  while (events.size() < 20000) gen.bets(500, events);

  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);  // Make writes past the limit fail with EFBIG instead of killing us.
    eventlog::Options o;
    o.dir = dir;
    o.map_size = 64u << 20;
    std::string report;
    try {
      auto log = eventlog::EventLog::open(o);
      rlimit limit{256u << 10, 256u << 10};  // The data file may not grow past 256 KiB.
      ::setrlimit(RLIMIT_FSIZE, &limit);
      eventlog::Seq acked = 0;
      for (std::size_t i = 0; i < events.size(); i += 100) {
        try {
          auto seqs = log->append(std::span<const Event>(events.data() + i, 100), 1);
          acked = seqs.back();
        } catch (const eventlog::LogError& e) {
          report = std::to_string(acked) + " " + std::string(eventlog::error_kind_name(e.kind())) + " " + e.what();
          break;
        }
      }
      if (report.empty()) report = std::to_string(acked) + " none";
    } catch (const std::exception& e) {
      report = "0 open-failed " + std::string(e.what());
    }
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  CAPTURE(report);
  REQUIRE(WIFEXITED(status));
  auto space = report.find(' ');
  eventlog::Seq acked = std::stoull(report.substr(0, space));
  CHECK(report.find(" disk_full ") != std::string::npos);
  CHECK(report.find("no space to grow the log") != std::string::npos);
  CHECK(acked > 0);

  eventlog::Options o;
  o.dir = dir;
  auto log = eventlog::EventLog::open(o);
  CHECK(log->head_seq() == acked);  // All acknowledged, nothing of the refused append.
  eventlog::ChainVerifier chain;
  std::size_t i = 0;
  log->scan(1, [&](const eventlog::RecordView& r) {
    chain.check(r);
    CHECK(Bytes(r.payload.begin(), r.payload.end()) == encode_event(events[i++]));
    return true;
  });
  CHECK(i == acked);
  // Once there is room again, appends go on.
  auto more = log->append(std::span<const Event>(events.data() + acked, 10), 2);
  CHECK(more.front() == acked + 1);
  log.reset();
  std::filesystem::remove_all(dir);
}
