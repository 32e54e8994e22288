#include "eventlog/replay.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "domain/audit.hpp"
#include "eventlog/cold.hpp"
#include "eventlog/index_audit.hpp"

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

// One record after the decode stage: the chain fields, whether its hash matched, and
// its event (or why it did not decode).
struct DecodedRecord {
  Seq seq = 0;
  std::optional<std::pair<ErrorKind, std::string>> damage;  // Unreadable: no other field is set.
  Hash32 prev_hash{}, hash{};
  bool intact = false;
  std::optional<Event> event;       // Set when intact and decoded (after the snapshot only).
  std::optional<Hash32> tx_id;      // For TxAdmitted: tx_id(tx), hashed off the apply thread.
  // For a bet's or deposit's TxAdmitted: its key's index entry, read off the apply thread too.
  std::optional<IndexAudit::StoredTx> stored_tx;
  std::string decode_error;
};

// The index entry the scan's transaction holds for the key `e` admits (bets and deposits).
std::optional<IndexAudit::StoredTx> stored_entry_of(const Event& e, const EventLog::ScanIndexes& indexes) {
  const auto key = admitted_key(e);
  if (!key) return std::nullopt;
  try {
    return IndexAudit::StoredTx{indexes.find_tx(key->kind, key->id), false};
  } catch (const LogError&) {
    return IndexAudit::StoredTx{std::nullopt, true};  // Malformed: the index audit reports it.
  }
}

// Scans the log on its own thread, checks each record's hash and decodes it, handing
// chunks to the applying thread in order through a bounded queue. Hashing and decoding
// are most of a replay's work; this puts them on a second core.
class DecodeStage {
 public:
  // Reads from `scan_from`; decodes the records after `decode_after`.
  DecodeStage(const EventLog& log, Seq scan_from, Seq decode_after)
      : log_(log), scan_from_(scan_from), decode_after_(decode_after) {
    thread_ = std::thread([this] { run(); });
  }
  ~DecodeStage() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }

  // The next chunk in log order; empty when the scan is over. Rethrows a scan error.
  // Hand each chunk back with recycle() once applied.
  std::vector<DecodedRecord> next() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return {};
    }
    auto chunk = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_one();
    return chunk;
  }

  // Takes back an applied chunk's storage for the scan to fill again: fresh chunks are
  // fresh pages, and faulting them in cost about a quarter of the scanning thread's time.
  void recycle(std::vector<DecodedRecord> chunk) {
    chunk.clear();
    std::lock_guard lock(mutex_);
    if (spare_.size() < kMaxQueued) spare_.push_back(std::move(chunk));
  }

 private:
  static constexpr std::size_t kChunk = 512, kMaxQueued = 32;

  void run() {
    std::vector<DecodedRecord> chunk;
    chunk.reserve(kChunk);
    bool stopped = false;
    auto emit = [&](DecodedRecord d) {
      if (stopped) return;
      chunk.push_back(std::move(d));
      if (chunk.size() == kChunk && !push(std::exchange(chunk, spare_chunk()))) stopped = true;
    };
    try {
      log_.audit_scan(
          scan_from_,
          [&](const RecordView& r, const EventLog::ScanIndexes& indexes) {
            DecodedRecord d;
            d.seq = r.seq;
            d.prev_hash = r.prev_hash;
            d.hash = r.hash;
            d.intact = r.hash_matches();
            if (d.intact && r.seq > decode_after_) {
              try {
                d.event = decode_event(r.type, r.payload);
                if (auto* a = std::get_if<TxAdmitted>(&*d.event)) {
                  d.tx_id = tx_id(a->tx);
                  d.stored_tx = stored_entry_of(*d.event, indexes);
                }
              } catch (const DecodeError& e) {
                d.decode_error = e.what();
              }
            }
            emit(std::move(d));
          },
          [&](Seq seq, ErrorKind kind, const std::string& message) {
            DecodedRecord d;
            d.seq = seq;
            d.damage = std::pair{kind, message};
            emit(std::move(d));
          });
      if (!chunk.empty() && !stopped) push(std::move(chunk));
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    done_ = true;
    ready_.notify_all();
  }

  std::vector<DecodedRecord> spare_chunk() {
    std::vector<DecodedRecord> chunk;
    {
      std::lock_guard lock(mutex_);
      if (!spare_.empty()) {
        chunk = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    chunk.reserve(kChunk);
    return chunk;
  }

  bool push(std::vector<DecodedRecord> chunk) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < kMaxQueued || stop_; });
    if (stop_) return false;
    queue_.push_back(std::move(chunk));
    ready_.notify_one();
    return true;
  }

  const EventLog& log_;
  const Seq scan_from_;
  Seq decode_after_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::vector<DecodedRecord>> queue_;
  std::vector<std::vector<DecodedRecord>> spare_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

constexpr std::uint64_t kReleasePagesEvery = 262'144;  // Records.

// Whether `e` admits a bet or deposit id the projections hold: apply() refuses it, and the
// writer never indexed it.
bool key_held_in_memory(const Projections& p, const Event& e) {
  const auto key = admitted_key(e);
  return key && (key->kind == TxKind::bet ? p.bets : p.deposits).contains(key->id);
}

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
  std::vector<audit::Job> chunk_jobs;
  constexpr std::size_t kJobChunk = 64;

  Projections& p = result.projections;
  set_windows(p, options.recent_txs, options.recent_batches);
  // A bet takes about three events; sizing the tables once saves rehashing them as they grow
  // (no more than the window holds, plus what is unfinished).
  const std::size_t expected = std::min<std::size_t>(result.head / 3, options.recent_txs) + std::min<std::size_t>(result.head / 3, kRecentTxs);
  p.txs.reserve(std::max(p.txs.size(), expected));
  p.bets.reserve(std::max(p.bets.size(), expected));
  // From a snapshot, when told so, the chain is checked from the snapshot's record on: the
  // records before it were checked when it was taken, and reading them all would make a
  // start cost the whole history. The audit (the default) checks it from the first event.
  const Seq scan_from = options.chain_from_snapshot && result.snapshot_seq ? result.snapshot_seq : 1;
  const Seq to_scan = result.head >= scan_from ? result.head - scan_from + 1 : 0;
  Hash32 prev{};
  bool chain_known = scan_from == 1;  // False right after a damaged record: its hash is unknown.
  Seq last_seq = 0;
  std::optional<ReplayOptions::Keys> keys = options.expected_keys;
  auto check_keys = [&](Seq seq, const NodeKeys& k) {
    ReplayOptions::Keys named{k.operator_key, k.house_key, k.sequencer_key};
    if (!keys) {
      keys = named;  // No outside copy: the first keys in the log are the reference.
      return;
    }
    auto differs = [&](const char* which, const PublicKey& want, const PublicKey& got) {
      if (want != got)
        problem(seq, "keys", std::string(which) + " key " + to_hex(got) + " is not the expected " + to_hex(want));
    };
    differs("operator", keys->operator_key, named.operator_key);
    differs("house", keys->house_key, named.house_key);
    differs("sequencer", keys->sequencer_key, named.sequencer_key);
  };
  if (result.snapshot_seq && p.keys.known) check_keys(result.snapshot_seq, p.keys);
  // The indexes are audited when every event is replayed (from a snapshot, the events
  // before it are not decoded, so their entries are unknown).
  std::optional<IndexAudit> index_audit;
  if (result.snapshot_seq == 0) index_audit.emplace(log);
  try {
    DecodeStage stage(log, scan_from, result.snapshot_seq);
    for (auto chunk = stage.next(); !chunk.empty(); stage.recycle(std::move(chunk)), chunk = stage.next()) {
      for (auto& r : chunk) {
        if (r.damage) {
          problem(r.seq, std::string(error_kind_name(r.damage->first)), r.damage->second);
          if (index_audit) index_audit->unknown(r.seq);
          chain_known = false;
          if (r.seq > result.snapshot_seq) p.last_seq = std::max(p.last_seq, r.seq);
          continue;
        }
        ++result.records_scanned;
        if (chain_known && r.prev_hash != prev)
          problem(r.seq, "broken_chain", "prev_hash is not the hash of record " + std::to_string(r.seq - 1));
        chain_known = true;
        if (!r.intact) problem(r.seq, "corrupt_record", "hash does not match the record's contents");
        prev = r.hash;
        last_seq = r.seq;
        if (result.records_scanned % 1024 == 0 && options.progress) options.progress(result.records_scanned, to_scan);
        // The pages read so far leave the resident set: an audit of a log larger than memory
        // holds its state, not the log (about 100 MB of records between two releases).
        if (result.records_scanned % kReleasePagesEvery == 0) log.release_mapped_pages();
        if (r.seq <= result.snapshot_seq) continue;  // Covered by the snapshot: chain check only.
        if (!r.event) {  // Corrupt or undecodable: skip it but keep the sequence contiguous.
          if (r.intact) problem(r.seq, "decode", r.decode_error);
          if (index_audit) index_audit->unknown(r.seq);
          p.last_seq = r.seq;
          continue;
        }
        Event& e = *r.event;
        if (auto* ns = std::get_if<NodeStarted>(&e))
          check_keys(r.seq, NodeKeys{ns->node_id, ns->operator_key, ns->house_key, ns->sequencer_key, true});
        if (auto* st = std::get_if<SnapshotTaken>(&e)) {
          // A snapshot is of the state right before its SnapshotTaken, and its stored blob
          // must have the digest the chain carries.
          if (st->snapshot_seq + 1 != r.seq)
            problem(r.seq, "snapshot", "SnapshotTaken names seq " + std::to_string(st->snapshot_seq) +
                                           ", not the record before it");
          auto stored = log.latest_snapshot(st->snapshot_seq);
          if (!stored || stored->seq != st->snapshot_seq)
            problem(r.seq, "snapshot", "no stored snapshot for seq " + std::to_string(st->snapshot_seq));
          else if (blake2b256(stored->blob) != st->digest)
            problem(r.seq, "snapshot", "stored snapshot of seq " + std::to_string(st->snapshot_seq) +
                                           " does not match the digest in the log");
          if (snapshot && st->snapshot_seq == snapshot->seq) snapshot_vouched = st->digest == snapshot_digest;
          if (result.snapshot_seq == 0 && st->snapshot_seq == p.last_seq &&
              blake2b256(encode_snapshot(p)) != st->digest)
            problem(r.seq, "snapshot", "snapshot of seq " + std::to_string(st->snapshot_seq) +
                                           " does not match the state replayed from the first event");
        }
        // Unique ids, also once forgotten: a second admission of an id the log's index names
        // for an earlier one. The writer never indexed it, so the index audit does not see it
        // either (the first entry stands).
        std::optional<std::string> admitted_before;
        try {
          // A malformed index entry is not judged here: the index audit reports it.
          if (r.stored_tx && !r.stored_tx->malformed) refuse_key_held_in(r.stored_tx->entry, p, e, r.seq);
        } catch (const ApplyError& err) {
          admitted_before = err.what();
        }
        if (index_audit && !admitted_before && !key_held_in_memory(p, e)) index_audit->event(e, r.seq, r.tx_id, r.stored_tx);
        // The job is taken before apply, which moves the event's transaction away.
        std::optional<audit::Job> job;
        if (pool) job = audit::job_for(p, r.seq, e);
        auto type = event_type(e);
        try {
          if (admitted_before) throw ApplyError(*admitted_before);
          apply(p, r.seq, std::move(e), r.tx_id);
          ++result.events_applied;
        } catch (const ApplyError& err) {
          problem(r.seq, "rule", std::string(event_type_name(type)) + ": " + err.what());
          p.last_seq = r.seq;
        }
        if (job) {
          chunk_jobs.push_back(std::move(*job));
          if (chunk_jobs.size() == kJobChunk) pool->submit(std::exchange(chunk_jobs, {}));
        }
      }
    }
  } catch (const LogError& err) {
    problem(err.seq().value_or(result.records_scanned + 1), std::string(error_kind_name(err.kind())), err.what());
  }
  if (result.head == 0) problem(0, "empty", "the log holds no events: there is nothing to audit");
  // LMDB may end a scan early at a damaged page as if the log ended there: the records after
  // it could not be read, and the indexes cannot be judged against events never seen.
  const bool read_to_head = last_seq >= result.head;
  if (!read_to_head)
    problem(last_seq + 1, "broken_chain",
            "records " + std::to_string(last_seq + 1) + ".." + std::to_string(result.head) +
                " could not be read: the scan ended at seq " + std::to_string(last_seq) + " before the log's head " +
                std::to_string(result.head) + " (damaged storage)");
  const bool intact = std::none_of(result.problems.begin(), result.problems.end(), [](const Problem& x) {
    return x.kind == "corrupt_record" || x.kind == "broken_chain" || x.kind == "decode" || x.kind == "io" ||
           x.kind == "unknown_format";
  });
  if (index_audit && intact) {
    result.indexes_checked = true;
    auto index_problem = [&](Seq seq, std::string message) { problem(seq, "index", std::move(message)); };
    try {
      index_audit->finish(index_problem);
    } catch (const LogError& err) {
      problem(err.seq().value_or(0), std::string(error_kind_name(err.kind())), err.what());
    }
  }
  // The head recorded by the last commit must be the last record: a log cut at the end
  // has a consistent chain and would otherwise pass.
  if (auto recorded = log.recorded_head()) {
    if (recorded->first != last_seq || recorded->second != prev)
      problem(std::max(recorded->first, last_seq), "broken_chain",
              "the last commit recorded head seq " + std::to_string(recorded->first) + " (" + to_hex(recorded->second) +
                  ") but the log ends at seq " + std::to_string(last_seq) + ": records were lost or changed at the end");
  }
  // A snapshot's SnapshotTaken is the record right after the state it covers, so the scan
  // above has met it unless the log was cut or the snapshot planted.
  if (snapshot && !snapshot_vouched &&
      std::none_of(result.problems.begin(), result.problems.end(), [](auto& x) { return x.kind == "snapshot"; }))
    problem(snapshot->seq, "snapshot", "no SnapshotTaken event in the log vouches for the snapshot");
  if (pool) {
    if (!chunk_jobs.empty()) pool->submit(std::move(chunk_jobs));
    auto found = pool->finish();
    result.problems.insert(result.problems.end(), found.begin(), found.end());
    result.crypto_checks = pool->checks();
  }
  if (options.progress) options.progress(result.records_scanned, to_scan);
  for (auto& msg : check_invariants(p)) problem(result.head, "invariant", msg);
  std::stable_sort(result.problems.begin(), result.problems.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  return result;
}

}  // namespace croupier::eventlog
