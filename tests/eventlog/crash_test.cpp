// Whatever append acknowledged survives a SIGKILL at any moment, group commits are
// all-or-nothing, and the indexes never disagree with the events after a crash.
//
// Method: a forked child (forked before the test process has any thread) opens a
// durable log and appends groups of a planned stream of events; only after an append
// returns does it write the acknowledged seq range to a pipe. The parent reads the
// acknowledgements and SIGKILLs the child at a seeded moment, then reopens the log and
// checks it against the plan: every acknowledged event is there with identical payload,
// the head falls on a group boundary, the chain verifies from seq 1 and the indexes
// agree with the events in both directions. Several kills, each followed by a restart
// that appends more to the same log. The plan is deterministic (a LedgerGenerator with
// real_crypto=false per run, cut into groups of seeded sizes), so the parent knows the
// payload of every seq without being told.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "eventlog/event_log.hpp"
#include "eventlog/index_support.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

namespace {

using namespace croupier;
using eventlog::EventLog;
using eventlog::Seq;

constexpr std::uint64_t kSeed = 20251121;
constexpr int kRuns = 10;

// The events run `run` appends, in groups of 1..40 events, in order.
class Plan {
 public:
  explicit Plan(int run) : gen_(options(run)), sizes_(kSeed * 31 + static_cast<std::uint64_t>(run)) {
    auto g = gen_.genesis();
    pending_.insert(pending_.end(), g.begin(), g.end());
  }

  std::vector<Event> next_group() {
    std::size_t size = 1 + sizes_() % 40;
    while (pending_.size() < size) {
      std::vector<Event> more;
      gen_.bets(10, more);
      pending_.insert(pending_.end(), more.begin(), more.end());
    }
    std::vector<Event> group(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(size));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(size));
    return group;
  }

 private:
  static tools::LedgerOptions options(int run) {
    tools::LedgerOptions o;
    o.seed = kSeed + static_cast<std::uint64_t>(run);  // A new seed per run: fresh ids.
    o.accounts = 16;
    o.real_crypto = false;
    o.block_size = 20;
    o.batch_size = 60;
    return o;
  }

  tools::LedgerGenerator gen_;
  std::mt19937_64 sizes_;
  std::deque<Event> pending_;
};

eventlog::Options log_options(const std::filesystem::path& dir) {
  eventlog::Options o;
  o.dir = dir;
  o.durable = true;
  o.map_size = std::size_t{1} << 20;  // Small, so that some of the killed appends grow the map.
  return o;
}

struct Ack {
  std::uint64_t first = 0, last = 0;
};

// The child: appends the plan of `run` until killed, acknowledging each append after it
// returns. Never returns.
[[noreturn]] void child_main(const std::filesystem::path& dir, int run, int ack_fd) {
  try {
    auto log = EventLog::open(log_options(dir));
    Plan plan(run);
    for (;;) {
      auto group = plan.next_group();
      auto seqs = log->append(group, 1'763'683'200'000);
      Ack ack{seqs.front(), seqs.back()};
      if (::write(ack_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) ::_exit(4);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_test child: %s\n", e.what());
  }
  ::_exit(3);
}

// Reads one acknowledgement; false at end of stream.
bool read_ack(int fd, Ack& ack) {
  auto* p = reinterpret_cast<char*>(&ack);
  std::size_t got = 0;
  while (got < sizeof ack) {
    ssize_t n = ::read(fd, p + got, sizeof ack - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

struct Expected {
  std::uint16_t type;
  Bytes payload;
};

}  // namespace

TEST_CASE("AcknowledgedAppendsSurviveSigkillAndIndexesAgreeWithEvents") {
  test::TempDir dir("croupier-crash");
  std::mt19937_64 rng(kSeed);
  std::vector<Expected> expected;  // Payloads of seqs 1..head, as planned.
  std::size_t kills = 0;

  for (int run = 0; run < kRuns; ++run) {
    CAPTURE(run);
    const Seq base = expected.size();
    const std::size_t kill_after_acks = 3 + rng() % 40;
    const auto kill_delay = std::chrono::microseconds(rng() % 5000);

    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(dir.path(), run, fds[1]);
    }
    ::close(fds[1]);

    std::vector<Ack> acks;
    Ack ack;
    while (acks.size() < kill_after_acks && read_ack(fds[0], ack)) acks.push_back(ack);
    // A seeded pause, so the kill lands at varying points of an append.
    std::this_thread::sleep_for(kill_delay);
    ::kill(pid, SIGKILL);
    while (read_ack(fds[0], ack)) acks.push_back(ack);  // Every ack written before it died.
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(WIFSIGNALED(status), "the child stopped by itself, exit status " << WEXITSTATUS(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    REQUIRE(acks.size() >= kill_after_acks);
    ++kills;

    // The acknowledgements are contiguous, starting right after the previous head.
    Seq acked = base;
    for (const auto& a : acks) {
      CHECK(a.first == acked + 1);
      CHECK(a.last >= a.first);
      acked = a.last;
    }

    Seq head = 0;
    {
      auto log = EventLog::open(log_options(dir.path()));
      head = log->head_seq();
      CHECK(head >= acked);

      // The log holds a whole number of planned groups: the acknowledged ones and at most
      // one more that committed before the acknowledgement could be sent.
      Plan plan(run);
      Seq planned = base;
      std::size_t groups = 0;
      while (planned < head) {
        for (const auto& e : plan.next_group()) expected.push_back({static_cast<std::uint16_t>(event_type(e)), encode_event(e)});
        planned = expected.size();
        ++groups;
      }
      CHECK(planned == head);
      CHECK(groups >= acks.size());
      CHECK(groups <= acks.size() + 1);
      for (std::size_t i = 0; i < acks.size(); ++i) CHECK(acks[i].last <= head);

      // Every event, old runs' too, is there with its payload, and the chain verifies from 1.
      eventlog::ChainVerifier verifier;
      std::size_t mismatched = 0;
      test::MemoryIndexes indexes;  // What the indexes must hold for the events kept.
      log->scan(1, [&](const eventlog::RecordView& r) {
        verifier.check(r);
        const Expected& want = expected.at(r.seq - 1);
        if (r.type != want.type || !std::equal(r.payload.begin(), r.payload.end(), want.payload.begin(), want.payload.end())) {
          ++mismatched;
          return true;
        }
        eventlog::update_indexes(indexes, decode_event(r.type, r.payload), r.seq);
        return true;
      });
      CHECK(mismatched == 0);
      CHECK(verifier.seq() == head);
      CHECK(verifier.hash() == log->head_hash());
      CHECK(test::index_mismatches(*log, indexes) == 0);

      // No index holds an entry for an event that is not in the log.
      log.reset();
      test::RawLmdb raw(dir.path());
      struct Index {
        const char* name;
        std::size_t entries_expected;
      };
      for (const Index& index : {Index{"bet_index", indexes.bets.size()}, Index{"deposit_index", indexes.deposits.size()},
                                 Index{"batch_index", indexes.batches.size()}, Index{"block_index", indexes.blocks.size()}}) {
        const std::string index_name = index.name;
        CAPTURE(index_name);
        CHECK(raw.entries(index.name).size() == index.entries_expected);
      }
    }  // Closed before the next fork: a child must not inherit an open environment.
  }
  CHECK(kills >= 5);
  CHECK(expected.size() > 100);
}
