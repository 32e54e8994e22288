#include "eventlog/replay.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "domain/audit.hpp"

namespace croupier::eventlog {

namespace {

// Runs audit jobs on worker threads. The producer hands over chunks; when the queue is
// full it waits, so memory stays bounded however long the log is.
class VerifierPool {
 public:
  explicit VerifierPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~VerifierPool() { finish(); }

  void submit(std::vector<audit::Job> chunk) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < kMaxQueuedChunks; });
    queue_.push_back(std::move(chunk));
    ready_.notify_one();
  }

  // Waits for every job; returns the problems found.
  std::vector<Problem> finish() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
    for (auto& w : workers_)
      if (w.joinable()) w.join();
    return std::move(problems_);
  }

  std::uint64_t checks() const { return checks_; }

 private:
  static constexpr std::size_t kMaxQueuedChunks = 64;

  void work() {
    std::vector<Problem> found;
    std::uint64_t checks = 0;
    for (;;) {
      std::vector<audit::Job> chunk;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
        if (queue_.empty()) break;
        chunk = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      for (const auto& job : chunk) {
        ++checks;
        if (auto bad = audit::run(job)) found.push_back({job.seq, "crypto", *bad});
      }
    }
    std::lock_guard lock(mutex_);
    problems_.insert(problems_.end(), found.begin(), found.end());
    checks_ += checks;
  }

  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::vector<audit::Job>> queue_;
  bool closed_ = false;
  std::vector<Problem> problems_;
  std::uint64_t checks_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace

ReplayResult replay(const EventLog& log, const ReplayOptions& options) {
  ReplayResult result;
  result.head = log.head_seq();
  auto problem = [&](Seq seq, std::string kind, std::string message) {
    result.problems.push_back({seq, std::move(kind), std::move(message)});
  };

  std::optional<Snapshot> snapshot;
  if (!options.from || *options.from > 0) {
    snapshot = log.latest_snapshot(options.from);
    if (snapshot) {
      try {
        result.projections = decode_snapshot(snapshot->blob);
        result.snapshot_seq = snapshot->seq;
        if (result.projections.last_seq != snapshot->seq)
          throw DecodeError("it says it covers seq " + std::to_string(result.projections.last_seq));
      } catch (const DecodeError& e) {
        problem(snapshot->seq, "snapshot", std::string("snapshot does not load, replaying from the first event: ") + e.what());
        result.projections = Projections{};
        result.snapshot_seq = 0;
        snapshot.reset();
      }
    }
  }
  bool snapshot_vouched = false;
  Hash32 snapshot_digest = snapshot ? blake2b256(snapshot->blob) : Hash32{};

  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::optional<VerifierPool> pool;
  if (options.verify) pool.emplace(threads);
  std::vector<audit::Job> chunk;
  constexpr std::size_t kChunk = 64;

  Projections& p = result.projections;
  Hash32 prev{};
  Seq done = 0;
  try {
    log.scan(1, [&](const RecordView& r) {
      if (r.prev_hash != prev)
        problem(r.seq, "broken_chain", "prev_hash is not the hash of record " + std::to_string(r.seq - 1));
      bool intact = r.hash_matches();
      if (!intact) problem(r.seq, "corrupt_record", "hash does not match the record's contents");
      prev = r.hash;
      if (++done % 65536 == 0 && options.progress) options.progress(done, result.head);
      if (r.seq <= result.snapshot_seq) return true;  // Covered by the snapshot: chain check only.
      if (!intact) {
        p.last_seq = r.seq;  // Skip the record but keep the sequence contiguous.
        return true;
      }
      Event e;
      try {
        e = decode_event(r.type, r.payload);
      } catch (const DecodeError& err) {
        problem(r.seq, "decode", err.what());
        p.last_seq = r.seq;
        return true;
      }
      if (auto* st = std::get_if<SnapshotTaken>(&e)) {
        if (snapshot && st->snapshot_seq == snapshot->seq) {
          snapshot_vouched = st->digest == snapshot_digest;
          if (!snapshot_vouched) problem(r.seq, "snapshot", "stored snapshot does not match the digest in the log");
        } else if (st->snapshot_seq == p.last_seq && result.snapshot_seq == 0 && blake2b256(encode_snapshot(p)) != st->digest) {
          problem(r.seq, "snapshot", "snapshot of seq " + std::to_string(st->snapshot_seq) +
                                         " does not match the state replayed from the first event");
        }
      }
      try {
        apply(p, r.seq, e);
        ++result.events_applied;
      } catch (const ApplyError& err) {
        problem(r.seq, "rule", std::string(event_type_name(event_type(e))) + ": " + err.what());
        p.last_seq = r.seq;
        return true;
      }
      if (pool) {
        if (auto job = audit::job_for(p, r.seq, e)) {
          chunk.push_back(std::move(*job));
          if (chunk.size() == kChunk) pool->submit(std::exchange(chunk, {}));
        }
      }
      return true;
    });
  } catch (const LogError& err) {
    problem(err.seq().value_or(done + 1), std::string(error_kind_name(err.kind())), err.what());
  }
  // A snapshot's SnapshotTaken is the record right after the state it covers, so the scan
  // above has met it unless the log was cut or the snapshot planted.
  if (snapshot && !snapshot_vouched &&
      std::none_of(result.problems.begin(), result.problems.end(), [](auto& x) { return x.kind == "snapshot"; }))
    problem(snapshot->seq, "snapshot", "no SnapshotTaken event in the log vouches for the snapshot");
  if (pool) {
    if (!chunk.empty()) pool->submit(std::move(chunk));
    auto found = pool->finish();
    result.problems.insert(result.problems.end(), found.begin(), found.end());
    result.crypto_checks = pool->checks();
  }
  if (options.progress) options.progress(done, result.head);
  for (auto& msg : check_invariants(p)) problem(result.head, "invariant", msg);
  std::stable_sort(result.problems.begin(), result.problems.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  return result;
}

}  // namespace croupier::eventlog
