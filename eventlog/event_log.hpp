#pragma once
// The event log: an append-only, hash-chained sequence of events in LMDB, with the
// indexes that make deduplication exact and snapshots that bound recovery time.
//
// Thread safety: one writer at a time (the journal) may call append/append_snapshot;
// any number of threads may read concurrently (each read uses its own LMDB read
// transaction). Growing the map waits until no transaction of this process is open, so a
// long scan delays an append that needs a bigger map until the scan ends. Not copyable.
//
// Errors: every failure is a LogError with a kind and, when one record is to blame,
// its sequence number. Nothing is skipped silently and nothing aborts the process.

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/events.hpp"
#include "eventlog/indexes.hpp"
#include "eventlog/record_format.hpp"

namespace croupier::eventlog {

enum class ErrorKind {
  io,              // An LMDB or file-system call failed (message has the errno text).
  disk_full,       // No room to grow (full device, quota, file-size limit): nothing of the failed append was written.
  corrupt_record,  // A record cannot be parsed or its hash does not match its contents.
  broken_chain,    // A record's prev_hash is not the previous record's hash, or a seq is missing.
  unknown_format,  // The log or a record was written by a format this build cannot read.
  duplicate_key,   // An index entry (tx, bet, deposit) already exists: the append was refused.
};
std::string_view error_kind_name(ErrorKind k);

class LogError : public std::runtime_error {
 public:
  LogError(ErrorKind kind, std::string message, std::optional<Seq> seq = std::nullopt);
  ErrorKind kind() const { return kind_; }
  std::optional<Seq> seq() const { return seq_; }

 private:
  ErrorKind kind_;
  std::optional<Seq> seq_;
};

// One record as stored. In scan callbacks `payload` points into LMDB's memory and is
// valid only during the callback.
struct RecordView {
  Seq seq = 0;
  std::uint64_t time_ms = 0;
  std::uint16_t type = 0;
  ByteView payload;
  Hash32 prev_hash{};
  Hash32 hash{};
  bool hash_matches() const { return record_hash(prev_hash, seq, time_ms, type, payload) == hash; }
};

struct Snapshot {
  Seq seq = 0;   // The projections cover events 1..seq.
  Bytes blob;
};

struct Options {
  std::filesystem::path dir;
  std::size_t map_size = std::size_t{1} << 30;  // Initial LMDB map size; doubled on MDB_MAP_FULL.
  bool durable = true;          // false: MDB_NOSYNC, for simulations and benchmarks only.
  std::size_t verify_tail = 1000;  // Records whose chain is verified at open.
  Id128 node_id_if_new{};       // Stored in meta when the log is created.
  bool create_if_missing = true;  // false: a directory without a log is an error (audits).
  // Opening for an audit: no tail verification and a damaged head record does not stop the
  // open (the audit reports it with its seq); head_hash() is then all zeros.
  bool audit = false;
};

class EventLog {
 public:
  // Opens or creates the log in options.dir (created if missing), clears stale readers,
  // checks the format version and verifies the hash chain of the tail.
  static std::unique_ptr<EventLog> open(const Options& options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends all events in ONE write transaction and ONE commit (group commit), with
  // their index entries. Returns their sequence numbers only once the commit is durable.
  // On any error nothing is written (the transaction is aborted) and LogError is thrown.
  std::vector<Seq> append(std::span<const Event> events, std::uint64_t time_ms);

  // Stores `blob` (the projections as of `covered_seq`, which must be the head) and appends
  // SnapshotTaken{covered_seq, BLAKE2b(blob)} in the same transaction. Returns its seq.
  Seq append_snapshot(Seq covered_seq, ByteView blob, std::uint64_t time_ms);
  // The same, with `events` after the SnapshotTaken in the same transaction and commit (the
  // journal's group that follows a snapshot: one durable commit for both). Returns the seqs
  // of the SnapshotTaken and then of `events`.
  std::vector<Seq> append_snapshot_then(Seq covered_seq, ByteView blob, std::span<const Event> events,
                                        std::uint64_t time_ms);

  Seq head_seq() const;
  Hash32 head_hash() const;
  // Write transactions committed since open (appends and snapshots): with the events
  // appended, the group-commit size.
  std::uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  Id128 node_id() const { return node_id_; }
  // The head (seq, hash) written in meta by the last commit; nullopt for an empty log.
  // At open it must match the last record, so a cut-off tail is detected; later appends
  // update it, so that an audit of a log that is still open compares the current head.
  std::optional<std::pair<Seq, Hash32>> recorded_head() const;
  const std::filesystem::path& dir() const { return dir_; }

  // Index lookups (eventlog/indexes.hpp); nullopt when the id is not indexed. Throw
  // LogError(corrupt_record) for a malformed entry.
  std::optional<TxEntry> find_bet(const Id128& bet_id) const;
  std::optional<TxEntry> find_deposit(const Id128& deposit_id) const;
  std::optional<BatchEntry> find_batch(const Id128& batch_id) const;
  std::optional<Seq> find_block(std::uint64_t height) const;  // Its BlockCommitted.

  // Reads one record (a copy). nullopt when seq is beyond the head.
  struct OwnedRecord {
    Seq seq = 0;
    std::uint64_t time_ms = 0;
    std::uint16_t type = 0;
    Bytes payload;
    Hash32 prev_hash{}, hash{};
  };
  std::optional<OwnedRecord> read(Seq seq) const;

  // Calls `visit` for every record from `from` (inclusive) in order, in one read
  // transaction, until it returns false. Throws LogError(corrupt_record) for a record
  // that cannot be parsed and LogError(broken_chain) for a gap in sequence numbers;
  // hash checks are the visitor's (see ChainVerifier).
  void scan(Seq from, const std::function<bool(const RecordView&)>& visit) const;

  // For audits: like scan from `from`, but a record that cannot be parsed or a gap in the
  // sequence numbers is passed to `damaged(seq, kind, message)` and the scan goes on with
  // the next record, so one bad record never hides the rest of the log.
  // `visit` also gets the scan's own view of the bet and deposit indexes (ScanIndexes).
  class ScanIndexes;
  void audit_scan(Seq from, const std::function<void(const RecordView&, const ScanIndexes&)>& visit,
                  const std::function<void(Seq, ErrorKind, const std::string&)>& damaged) const;

  // Every entry of one index in key order: (key, value as stored). For audits.
  enum class Index { bet, deposit, batch, block };
  void scan_index(Index index, const std::function<void(ByteView, ByteView)>& visit) const;
  // How many entries one index holds (LMDB's count; no scan).
  std::uint64_t index_size(Index index) const;

  // Takes the log's memory-mapped pages out of this process's resident set (they stay in the
  // page cache; the next read of one faults it back in). For an audit that reads a log larger
  // than memory: without it, every page it read counts in its RSS until the kernel needs it.
  void release_mapped_pages() const;

  // The newest snapshot with seq <= at_most (any, when nullopt).
  std::optional<Snapshot> latest_snapshot(std::optional<Seq> at_most = std::nullopt) const;

  // Raw handle access for tests that must corrupt bytes on purpose.
  struct Handles;
  Handles& handles_for_tests() { return *h_; }

 private:
  explicit EventLog(const Options& options);
  std::optional<Bytes> find(unsigned dbi_index, ByteView key) const;
  // In the read transaction `txn` (an MDB_txn*), the value is valid while it is open.
  std::optional<ByteView> find_in(void* txn, unsigned dbi_index, ByteView key) const;
  // The one cursor loop behind scan and audit_scan: damage goes to `damaged`, which may throw.
  void scan_records(Seq from, const std::function<bool(const RecordView&, const ScanIndexes&)>& visit,
                    const std::function<void(Seq, ErrorKind, const std::string&)>& damaged) const;
  template <class F>
  void write_txn(F&& body);
  // append() and append_snapshot_then(): `events` in one transaction, and `snapshot` (a blob
  // under the seq it covers) when given.
  std::vector<Seq> append_records(std::span<const Event> events, std::uint64_t time_ms,
                                  const std::optional<std::pair<Seq, ByteView>>& snapshot);
  void grow_map();
  void verify_tail(std::size_t count);

  std::unique_ptr<Handles> h_;
  std::filesystem::path dir_;
  Id128 node_id_{};
  std::size_t map_size_;
  mutable std::mutex head_mutex_;  // Guards head_seq_/head_hash_ for concurrent readers.
  Seq head_seq_ = 0;
  Hash32 head_hash_{};
  std::optional<std::pair<Seq, Hash32>> recorded_head_;
  bool audit_ = false;
  Bytes scratch_;                  // Reused record buffer (writer only).
  std::atomic<std::uint64_t> commits_{0};
};

// Point reads of the bet and deposit indexes inside an audit scan's own read transaction:
// what they return is as of the records that scan reads (one snapshot), and a read costs no
// transaction of its own. Valid only inside the audit_scan visit it is handed to.
class EventLog::ScanIndexes {
 public:
  // kind bet or deposit: the stored entry, nullopt when there is none; LogError(corrupt_record)
  // when it is malformed (as find_bet).
  std::optional<TxEntry> find_tx(TxKind kind, const Id128& id) const;

 private:
  friend class EventLog;
  ScanIndexes(const EventLog& log, void* txn) : log_(log), txn_(txn) {}
  const EventLog& log_;
  void* txn_;
};

// Checks a stream of records for hash and chain integrity, in order.
class ChainVerifier {
 public:
  // Starts after `seq` whose hash is `hash` (0 and zeros for the start of the log).
  ChainVerifier(Seq seq = 0, const Hash32& hash = Hash32{}) : seq_(seq), hash_(hash) {}
  // Throws LogError(corrupt_record | broken_chain) naming the record's seq.
  void check(const RecordView& r);
  Seq seq() const { return seq_; }
  const Hash32& hash() const { return hash_; }

 private:
  Seq seq_;
  Hash32 hash_;
};

// The event at `seq` when it is a T; nullopt when there is no such record or it holds
// another type. Decoding errors propagate (DecodeError).
template <class T>
std::optional<T> read_event_as(const EventLog& log, Seq seq) {
  auto record = log.read(seq);
  if (!record) return std::nullopt;
  auto e = decode_event(record->type, record->payload);
  if (auto* t = std::get_if<T>(&e)) return std::move(*t);
  return std::nullopt;
}

}  // namespace croupier::eventlog
