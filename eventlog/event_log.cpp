#include "eventlog/event_log.hpp"

#include <lmdb.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <array>
#include <cassert>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <shared_mutex>

namespace croupier::eventlog {

Hash32 record_hash(const Hash32& prev_hash, Seq seq, std::uint64_t time_ms, std::uint16_t type, ByteView payload) {
  std::uint8_t fixed[8 + 8 + 2];
  put_u64_be(fixed, seq);
  put_u64_le(fixed + 8, time_ms);
  fixed[16] = static_cast<std::uint8_t>(type);
  fixed[17] = static_cast<std::uint8_t>(type >> 8);
  return Blake2b256().update(prev_hash).update(ByteView{fixed, sizeof fixed}).update(payload).finish();
}

std::string_view error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::io: return "io";
    case ErrorKind::disk_full: return "disk_full";
    case ErrorKind::corrupt_record: return "corrupt_record";
    case ErrorKind::broken_chain: return "broken_chain";
    case ErrorKind::unknown_format: return "unknown_format";
    case ErrorKind::duplicate_key: return "duplicate_key";
  }
  return "unknown";
}

LogError::LogError(ErrorKind kind, std::string message, std::optional<Seq> seq)
    : std::runtime_error(seq ? "event log: seq " + std::to_string(*seq) + ": " + message : "event log: " + message),
      kind_(kind),
      seq_(seq) {}

namespace {

// meta first: the format version is read before the other databases are opened.
enum Dbi : unsigned { kMeta, kEvents, kBetIndex, kDepositIndex, kBatchIndex, kBlockIndex, kSnapshots, kDbiCount };
const std::string kFormatKey = "format_version", kNodeKey = "node_id", kHeadKey = "head";
constexpr std::array<const char*, kDbiCount> kDbiNames{"meta",        "events",      "bet_index", "deposit_index",
                                                       "batch_index", "block_index", "snapshots"};

// Why the log in `dir` cannot grow, if that is the case: little free space on its file
// system, or the process's file-size limit reached.
std::optional<std::string> no_room_reason(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) == 0) {
    auto free_bytes = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
    if (free_bytes < (4ull << 20))
      return "only " + std::to_string(free_bytes) + " bytes free on the file system of " + dir.string();
  }
  struct rlimit limit {};
  std::error_code ec;
  auto size = std::filesystem::file_size(dir / "data.mdb", ec);
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && !ec &&
      size + (1u << 20) >= limit.rlim_cur)
    return "the process's file size limit (" + std::to_string(limit.rlim_cur) + " bytes) is reached";
  return std::nullopt;
}

// A failed write: a full device, a quota or a file-size limit means the log cannot grow
// (LMDB reports a short write as EIO, which is what a full disk often gives, so EIO is
// classified by looking at the file system).
[[noreturn]] void throw_write_error(int rc, const std::string& what, const std::filesystem::path& dir,
                                    std::optional<Seq> seq = std::nullopt) {
  auto reason = no_room_reason(dir);
  if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG || (rc == EIO && reason))
    throw LogError(ErrorKind::disk_full,
                   what + ": no space to grow the log (" + mdb_strerror(rc) + (reason ? "; " + *reason : "") + ")", seq);
  throw LogError(ErrorKind::io, what + ": " + mdb_strerror(rc), seq);
}

[[noreturn]] void throw_mdb(int rc, const std::string& what, std::optional<Seq> seq = std::nullopt) {
  if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG)
    throw LogError(ErrorKind::disk_full, what + ": no space to grow the log (" + mdb_strerror(rc) + ")", seq);
  throw LogError(ErrorKind::io, what + ": " + mdb_strerror(rc), seq);
}

void check(int rc, const std::string& what) {
  if (rc != MDB_SUCCESS) throw_mdb(rc, what);
}

MDB_val val(ByteView b) { return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())}; }
MDB_val val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
ByteView view(const MDB_val& v) { return ByteView{static_cast<const std::uint8_t*>(v.mv_data), v.mv_size}; }

std::array<std::uint8_t, 8> seq_key(Seq seq) {
  std::array<std::uint8_t, 8> k{};
  put_u64_be(k.data(), seq);
  return k;
}

// Why a log of format `found` is refused: both versions, and what to do.
std::string format_refusal(const std::filesystem::path& dir, std::uint32_t found) {
  std::string why = "the log in " + dir.string() + " is format version " + std::to_string(found) +
                    "; this build reads format version " + std::to_string(kLogFormatVersion) + " only";
  if (found == 1 || found == 2)
    why += std::string(" (") +
           (found == 1 ? "format 2 keeps no tx-id index and stores each batch's witness once; "
                       : "") +
           "format 3 encodes witness proofs compactly and records whether a node settles, so a format-" +
           std::to_string(found) +
           " log cannot be read in place: audit it with the build that wrote it, `croupier replay`, and start "
           "this build on a new data directory)";
  return why;
}

// Encodes `e` as the record with sequence number `seq` after `prev` into `out` (reused
// buffer) and returns its hash.
Hash32 build_record(Bytes& out, const Hash32& prev, Seq seq, std::uint64_t time_ms, const Event& e) {
  auto type = static_cast<std::uint16_t>(event_type(e));
  out.resize(kRecordHeaderSize);
  encode_event_into(out, e);
  ByteView payload{out.data() + kRecordHeaderSize, out.size() - kRecordHeaderSize};
  Hash32 hash = record_hash(prev, seq, time_ms, type, payload);
  out[0] = kRecordVersion;
  std::memcpy(out.data() + 1, prev.data(), 32);
  std::memcpy(out.data() + 33, hash.data(), 32);
  put_u64_le(out.data() + 65, time_ms);
  out[73] = static_cast<std::uint8_t>(type);
  out[74] = static_cast<std::uint8_t>(type >> 8);
  return hash;
}

// Parses a stored record value; throws corrupt_record / unknown_format naming seq.
RecordView parse_record(Seq seq, ByteView v) {
  if (v.size() < kRecordHeaderSize)
    throw LogError(ErrorKind::corrupt_record, "record is " + std::to_string(v.size()) + " bytes, shorter than its header",
                   seq);
  if (v[0] != kRecordVersion)
    throw LogError(ErrorKind::unknown_format, "record format version " + std::to_string(v[0]) + " is unknown", seq);
  RecordView r;
  r.seq = seq;
  std::memcpy(r.prev_hash.data(), v.data() + 1, 32);
  std::memcpy(r.hash.data(), v.data() + 33, 32);
  r.time_ms = get_u64_le(v.data() + 65);
  r.type = static_cast<std::uint16_t>(v[73] | (v[74] << 8));
  r.payload = v.subspan(kRecordHeaderSize);
  return r;
}

// Raised inside a write transaction to abort and retry it after growing the map.
struct MapFull {};

}  // namespace

struct EventLog::Handles {
  MDB_env* env = nullptr;
  std::array<MDB_dbi, kDbiCount> dbi{};
  // Growing the map remaps it, so no transaction of this process may be open meanwhile:
  // every transaction holds this shared, growing (or adopting a size another process set)
  // holds it exclusively.
  std::shared_mutex map_mutex;
  ~Handles() {
    if (env) mdb_env_close(env);
  }

  // Begins a transaction; when another process grew the map (MDB_MAP_RESIZED), adopts the
  // new size and begins again. The caller holds `lock` (shared) on map_mutex.
  MDB_txn* begin(unsigned flags, std::shared_lock<std::shared_mutex>& lock, const char* what) {
    for (;;) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env, nullptr, flags, &txn);
      if (rc == MDB_SUCCESS) return txn;
      if (rc != MDB_MAP_RESIZED) throw_mdb(rc, what);
      lock.unlock();
      {
        std::unique_lock grow(map_mutex);
        check(mdb_env_set_mapsize(env, 0), "adopt the map size another process set");
      }
      lock.lock();
    }
  }
};

namespace {

// RAII read transaction, holding the map lock shared for its lifetime.
struct ReadTxn {
  std::shared_lock<std::shared_mutex> lock;
  MDB_txn* txn = nullptr;
  explicit ReadTxn(EventLog::Handles& h) : lock(h.map_mutex) { txn = h.begin(MDB_RDONLY, lock, "begin read transaction"); }
  ~ReadTxn() { mdb_txn_abort(txn); }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
};

struct Cursor {
  MDB_cursor* c = nullptr;
  Cursor(MDB_txn* txn, MDB_dbi dbi) { check(mdb_cursor_open(txn, dbi, &c), "open cursor"); }
  ~Cursor() { mdb_cursor_close(c); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
};

}  // namespace

void ChainVerifier::check(const RecordView& r) {
  if (r.seq != seq_ + 1)
    throw LogError(ErrorKind::broken_chain, "expected seq " + std::to_string(seq_ + 1) + " next", r.seq);
  if (r.prev_hash != hash_)
    throw LogError(ErrorKind::broken_chain, "prev_hash is not the hash of record " + std::to_string(seq_), r.seq);
  if (!r.hash_matches()) throw LogError(ErrorKind::corrupt_record, "hash does not match the record's contents", r.seq);
  seq_ = r.seq;
  hash_ = r.hash;
}

EventLog::EventLog(const Options& options)
    : h_(std::make_unique<Handles>()), dir_(options.dir), map_size_(options.map_size) {}

EventLog::~EventLog() = default;

std::optional<std::pair<Seq, Hash32>> EventLog::recorded_head() const {
  std::lock_guard guard(head_mutex_);
  return recorded_head_;
}

std::unique_ptr<EventLog> EventLog::open(const Options& options) {
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::exists(options.dir / "data.mdb"))
    throw LogError(ErrorKind::io, "no event log in " + options.dir.string() + " (no data.mdb there)");
  std::filesystem::create_directories(options.dir, ec);
  if (ec) throw LogError(ErrorKind::io, "cannot create data directory " + options.dir.string() + ": " + ec.message());
  std::unique_ptr<EventLog> log(new EventLog(options));
  Handles& h = *log->h_;
  check(mdb_env_create(&h.env), "create LMDB environment");
  check(mdb_env_set_maxdbs(h.env, kDbiCount), "set max databases");
  check(mdb_env_set_mapsize(h.env, options.map_size), "set map size");
  // An audit opens read-only: it never creates, writes or takes the writer's lock.
  unsigned flags = MDB_NOTLS | (options.durable ? 0u : MDB_NOSYNC) | (options.audit ? MDB_RDONLY : 0u);
  int rc = mdb_env_open(h.env, options.dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) throw_mdb(rc, "open LMDB environment in " + options.dir.string());
  int dead = 0;
  check(mdb_reader_check(h.env, &dead), "clear stale readers");
  MDB_envinfo info;
  check(mdb_env_info(h.env, &info), "read environment info");
  log->map_size_ = info.me_mapsize;  // An existing, larger map keeps its size.
  log->audit_ = options.audit;

  MDB_txn* txn = nullptr;
  check(mdb_txn_begin(h.env, nullptr, options.audit ? MDB_RDONLY : 0u, &txn), "begin open transaction");
  try {
    auto open_dbi = [&](unsigned i) {
      rc = mdb_dbi_open(txn, kDbiNames[i], options.audit ? 0u : MDB_CREATE, &h.dbi[i]);
      if (rc == MDB_NOTFOUND)
        throw LogError(ErrorKind::unknown_format, options.dir.string() + " is not a Croupier event log (no '" +
                                                      kDbiNames[i] + "' database)");
      check(rc, "open database");
    };
    open_dbi(kMeta);
    MDB_val k = val(kFormatKey), v;
    rc = mdb_get(txn, h.dbi[kMeta], &k, &v);
    if (rc == MDB_NOTFOUND && !options.audit) {
      std::uint8_t fmt[4] = {kLogFormatVersion & 0xff, 0, 0, 0};
      MDB_val fv{4, fmt};
      check(mdb_put(txn, h.dbi[kMeta], &k, &fv, 0), "write format version");
      MDB_val nk = val(kNodeKey);
      MDB_val nv = val(options.node_id_if_new);
      check(mdb_put(txn, h.dbi[kMeta], &nk, &nv, 0), "write node id");
    } else if (rc == MDB_NOTFOUND) {
      throw LogError(ErrorKind::unknown_format, options.dir.string() + " is not a Croupier event log (no format version)");
    } else {
      check(rc, "read format version");
      std::uint32_t fmt = 0;
      if (v.mv_size == 4) std::memcpy(&fmt, v.mv_data, 4);
      if (fmt != kLogFormatVersion) throw LogError(ErrorKind::unknown_format, format_refusal(options.dir, fmt));
    }
    for (unsigned i = kMeta + 1; i < kDbiCount; ++i) open_dbi(i);
    MDB_val nk = val(kNodeKey), nv;
    check(mdb_get(txn, h.dbi[kMeta], &nk, &nv), "read node id");
    if (nv.mv_size != 16) throw LogError(ErrorKind::corrupt_record, "meta node_id has the wrong size");
    std::memcpy(log->node_id_.data(), nv.mv_data, 16);
    MDB_val hk = val(kHeadKey), hv;
    rc = mdb_get(txn, h.dbi[kMeta], &hk, &hv);
    if (rc == MDB_SUCCESS) {
      if (hv.mv_size != 40) throw LogError(ErrorKind::corrupt_record, "meta head has the wrong size");
      Hash32 hash{};
      std::memcpy(hash.data(), static_cast<const std::uint8_t*>(hv.mv_data) + 8, 32);
      log->recorded_head_ = std::pair{get_u64_be(static_cast<const std::uint8_t*>(hv.mv_data)), hash};
    } else if (rc != MDB_NOTFOUND) {
      check(rc, "read head");
    }
    check(mdb_txn_commit(txn), "commit open transaction");
  } catch (...) {
    mdb_txn_abort(txn);
    throw;
  }

  {  // Head: the last record.
    ReadTxn rt(h);
    Cursor c(rt.txn, h.dbi[kEvents]);
    MDB_val k, v;
    rc = mdb_cursor_get(c.c, &k, &v, MDB_LAST);
    if (rc == MDB_SUCCESS) {
      if (k.mv_size != 8) throw LogError(ErrorKind::corrupt_record, "last event key is not 8 bytes");
      Seq seq = get_u64_be(static_cast<const std::uint8_t*>(k.mv_data));
      log->head_seq_ = seq;
      try {
        log->head_hash_ = parse_record(seq, view(v)).hash;
      } catch (const LogError&) {
        if (!options.audit) throw;
      }
    } else if (rc != MDB_NOTFOUND) {
      check(rc, "read last event");
    }
  }
  // The head written with the last commit must be the last record: otherwise records at
  // the end were lost or cut off (an audit reports this instead of refusing to open).
  if (log->recorded_head_ && !options.audit &&
      (log->recorded_head_->first != log->head_seq_ || log->recorded_head_->second != log->head_hash_))
    throw LogError(ErrorKind::broken_chain,
                   "the last commit recorded head seq " + std::to_string(log->recorded_head_->first) +
                       " but the last record is seq " + std::to_string(log->head_seq_) +
                       ": records were lost or changed at the end of the log",
                   log->head_seq_);
  if (!options.audit) log->verify_tail(options.verify_tail);
  return log;
}

void EventLog::verify_tail(std::size_t count) {
  if (head_seq_ == 0 || count == 0) return;
  Seq from = head_seq_ > count ? head_seq_ - count + 1 : 1;
  std::optional<ChainVerifier> verifier;
  if (from == 1) verifier.emplace();
  scan(from, [&](const RecordView& r) {
    if (!verifier) {
      // The first record of the tail only anchors the chain; its own hash is checked.
      if (!r.hash_matches())
        throw LogError(ErrorKind::corrupt_record, "hash does not match the record's contents", r.seq);
      verifier.emplace(r.seq, r.hash);
      return true;
    }
    verifier->check(r);
    return true;
  });
}

Seq EventLog::head_seq() const {
  std::lock_guard lock(head_mutex_);
  return head_seq_;
}

Hash32 EventLog::head_hash() const {
  std::lock_guard lock(head_mutex_);
  return head_hash_;
}

void EventLog::grow_map() {
  std::unique_lock lock(h_->map_mutex);  // Waits for every open transaction of this process.
  std::size_t next = map_size_ * 2;
  check(mdb_env_set_mapsize(h_->env, next), "grow map to " + std::to_string(next) + " bytes");
  map_size_ = next;
}

// Runs `body(txn)` in a write transaction and commits it, with the head record in meta;
// on MDB_MAP_FULL (from a put or the commit) aborts, doubles the map and runs the body
// again from scratch. `body` returns the new head (seq, hash).
template <class F>
void EventLog::write_txn(F&& body) {
  if (audit_) throw LogError(ErrorKind::io, "this log was opened for an audit, read-only");
  for (;;) {
    std::shared_lock lock(h_->map_mutex);
    MDB_txn* txn = h_->begin(0, lock, "begin write transaction");
    std::pair<Seq, Hash32> written;
    try {
      written = body(txn);
      const auto& [seq, hash] = written;
      std::array<std::uint8_t, 40> head{};
      put_u64_be(head.data(), seq);
      std::memcpy(head.data() + 8, hash.data(), 32);
      MDB_val hk = val(kHeadKey), hv = val(head);
      int rc = mdb_put(txn, h_->dbi[kMeta], &hk, &hv, 0);
      if (rc == MDB_MAP_FULL) throw MapFull{};
      if (rc != MDB_SUCCESS) throw_mdb(rc, "write the head record", seq);
    } catch (const MapFull&) {
      mdb_txn_abort(txn);
      lock.unlock();
      grow_map();
      continue;
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    int rc = mdb_txn_commit(txn);  // Frees txn whatever the result.
    if (rc == MDB_MAP_FULL) {
      lock.unlock();
      grow_map();
      continue;
    }
    if (rc != MDB_SUCCESS) throw_write_error(rc, "commit", dir_);
    commits_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard guard(head_mutex_);
      recorded_head_ = written;  // What meta now says, for an audit of this open log.
    }
    return;
  }
}

namespace {
void put_or_throw(MDB_txn* txn, MDB_dbi dbi, MDB_val* k, MDB_val* v, unsigned flags, Seq seq, const std::string& what) {
  int rc = mdb_put(txn, dbi, k, v, flags);
  if (rc == MDB_SUCCESS) return;
  if (rc == MDB_MAP_FULL) throw MapFull{};
  if (rc == MDB_KEYEXIST) throw LogError(ErrorKind::duplicate_key, what + " already indexed", seq);
  throw_mdb(rc, "write " + what, seq);
}

// The indexes as the append's write transaction sees them (its own writes included).
class TxnIndexes final : public IndexStore {
 public:
  TxnIndexes(MDB_txn* txn, const std::array<MDB_dbi, kDbiCount>& dbi) : txn_(txn), dbi_(dbi) {}

  std::optional<TxEntry> tx(TxKind kind, const Id128& id) override {
    auto v = get(dbi_of(kind), id);
    if (!v) return std::nullopt;
    auto e = decode_tx_entry(*v);
    if (!e) throw LogError(ErrorKind::corrupt_record, std::string(kDbiNames[dbi_of(kind)]) + " entry of " + to_hex(id) + " is malformed");
    return e;
  }
  void put_tx(TxKind kind, const Id128& id, const TxEntry& entry, bool fresh, Seq seq) override {
    auto bytes = encode_entry(entry);
    MDB_val k = val(id), v = val(bytes);
    put_or_throw(txn_, dbi_[dbi_of(kind)], &k, &v, fresh ? MDB_NOOVERWRITE : 0u, seq,
                 std::string(tx_kind_name(kind)) + " id " + to_hex(id));
  }
  std::optional<BatchEntry> batch(const Id128& id) override {
    auto v = get(kBatchIndex, id);
    if (!v) return std::nullopt;
    auto e = decode_batch_entry(*v);
    if (!e) throw LogError(ErrorKind::corrupt_record, "batch_index entry of " + to_hex(id) + " is malformed");
    return e;
  }
  void put_batch(const Id128& id, const BatchEntry& entry, Seq seq) override {
    auto bytes = encode_entry(entry);
    MDB_val k = val(id), v = val(bytes);
    put_or_throw(txn_, dbi_[kBatchIndex], &k, &v, 0u, seq, "batch id " + to_hex(id));
  }
  void put_block(std::uint64_t height, Seq seq) override {
    auto key = seq_key(height), value = seq_key(seq);
    MDB_val k = val(key), v = val(value);
    // Heights only grow in a node's log (apply() chains blocks), so this lands on the last
    // page; a log that repeats one (tests' synthetic histories) keeps the latest.
    put_or_throw(txn_, dbi_[kBlockIndex], &k, &v, 0u, seq, "block height " + std::to_string(height));
  }
  void missing(const std::string& what, Seq seq) override { throw LogError(ErrorKind::corrupt_record, what, seq); }

 private:
  static Dbi dbi_of(TxKind kind) { return kind == TxKind::bet ? kBetIndex : kDepositIndex; }
  std::optional<ByteView> get(Dbi dbi, const Id128& id) {
    MDB_val k = val(id), v;
    int rc = mdb_get(txn_, dbi_[dbi], &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, std::string("look up ") + kDbiNames[dbi]);
    return view(v);
  }
  MDB_txn* txn_;
  const std::array<MDB_dbi, kDbiCount>& dbi_;
};
}  // namespace

std::vector<Seq> EventLog::append(std::span<const Event> events, std::uint64_t time_ms) {
  return append_records(events, time_ms, std::nullopt);
}

std::vector<Seq> EventLog::append_records(std::span<const Event> events, std::uint64_t time_ms,
                                          const std::optional<std::pair<Seq, ByteView>>& snapshot) {
  std::vector<Seq> seqs;
  if (events.empty()) return seqs;
  Seq last_seq = 0;
  Hash32 last_hash{};
  write_txn([&](MDB_txn* txn) {
    seqs.clear();
    Seq seq;
    Hash32 prev;
    {
      std::lock_guard lock(head_mutex_);
      seq = head_seq_;
      prev = head_hash_;
    }
    if (snapshot) {
      assert(snapshot->first == seq && std::holds_alternative<SnapshotTaken>(events.front()));
      auto covered = seq_key(snapshot->first);
      MDB_val sk = val(covered), sv = val(snapshot->second);
      put_or_throw(txn, h_->dbi[kSnapshots], &sk, &sv, 0, seq + 1, "snapshot");
    }
    TxnIndexes indexes(txn, h_->dbi);
    for (const Event& e : events) {
      ++seq;
      Hash32 hash = build_record(scratch_, prev, seq, time_ms, e);
      auto key = seq_key(seq);
      MDB_val k = val(key), v = val(scratch_);
      put_or_throw(txn, h_->dbi[kEvents], &k, &v, MDB_APPEND, seq, "event");
      update_indexes(indexes, e, seq);
      seqs.push_back(seq);
      prev = hash;
    }
    last_seq = seq;
    last_hash = prev;
    return std::pair{seq, prev};
  });
  std::lock_guard lock(head_mutex_);
  assert(last_seq == head_seq_ + events.size());
  head_seq_ = last_seq;
  head_hash_ = last_hash;
  return seqs;
}

Seq EventLog::append_snapshot(Seq covered_seq, ByteView blob, std::uint64_t time_ms) {
  return append_snapshot_then(covered_seq, blob, {}, time_ms).front();
}

std::vector<Seq> EventLog::append_snapshot_then(Seq covered_seq, ByteView blob, std::span<const Event> events,
                                                std::uint64_t time_ms) {
  // A snapshot is always of the state at the head, so that a full replay can recompute
  // it right before the SnapshotTaken event and check the digest.
  if (covered_seq == 0 || covered_seq != head_seq())
    throw LogError(ErrorKind::io, "snapshot of seq " + std::to_string(covered_seq) + " is not of the log's head " +
                                      std::to_string(head_seq()));
  std::vector<Event> all;
  all.reserve(events.size() + 1);
  all.push_back(SnapshotTaken{covered_seq, blake2b256(blob)});
  all.insert(all.end(), events.begin(), events.end());
  return append_records(all, time_ms, std::pair{covered_seq, blob});
}

std::optional<ByteView> EventLog::find_in(void* txn, unsigned dbi_index, ByteView key) const {
  MDB_val k = val(key), v;
  int rc = mdb_get(static_cast<MDB_txn*>(txn), h_->dbi[dbi_index], &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, std::string("look up ") + kDbiNames[dbi_index]);
  return view(v);
}

std::optional<Bytes> EventLog::find(unsigned dbi_index, ByteView key) const {
  ReadTxn rt(*h_);
  auto b = find_in(rt.txn, dbi_index, key);
  if (!b) return std::nullopt;
  return Bytes(b->begin(), b->end());
}

namespace {
template <class T>
T decoded_or_throw(std::optional<T> entry, const char* index, ByteView key) {
  if (!entry) throw LogError(ErrorKind::corrupt_record, std::string(index) + " entry of " + to_hex(key) + " is malformed");
  return *entry;
}
}  // namespace

std::optional<TxEntry> EventLog::find_bet(const Id128& id) const {
  auto v = find(kBetIndex, id);
  if (!v) return std::nullopt;
  return decoded_or_throw(decode_tx_entry(*v), "bet_index", id);
}
std::optional<TxEntry> EventLog::ScanIndexes::find_tx(TxKind kind, const Id128& id) const {
  const bool bet = kind == TxKind::bet;
  auto v = log_.find_in(txn_, bet ? kBetIndex : kDepositIndex, id);
  if (!v) return std::nullopt;
  return decoded_or_throw(decode_tx_entry(*v), bet ? "bet_index" : "deposit_index", id);
}
std::optional<TxEntry> EventLog::find_deposit(const Id128& id) const {
  auto v = find(kDepositIndex, id);
  if (!v) return std::nullopt;
  return decoded_or_throw(decode_tx_entry(*v), "deposit_index", id);
}
std::optional<BatchEntry> EventLog::find_batch(const Id128& id) const {
  auto v = find(kBatchIndex, id);
  if (!v) return std::nullopt;
  return decoded_or_throw(decode_batch_entry(*v), "batch_index", id);
}
std::optional<Seq> EventLog::find_block(std::uint64_t height) const {
  auto key = seq_key(height);
  auto v = find(kBlockIndex, key);
  if (!v) return std::nullopt;
  if (v->size() != 8) throw LogError(ErrorKind::corrupt_record, "block_index entry of height " + std::to_string(height) + " is malformed");
  return get_u64_be(v->data());
}

std::optional<EventLog::OwnedRecord> EventLog::read(Seq seq) const {
  ReadTxn rt(*h_);
  auto key = seq_key(seq);
  MDB_val k = val(key), v;
  int rc = mdb_get(rt.txn, h_->dbi[kEvents], &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "read event " + std::to_string(seq));
  auto r = parse_record(seq, view(v));
  return OwnedRecord{r.seq, r.time_ms, r.type, Bytes(r.payload.begin(), r.payload.end()), r.prev_hash, r.hash};
}

void EventLog::scan(Seq from, const std::function<bool(const RecordView&)>& visit) const {
  scan_records(from, [&](const RecordView& r, const ScanIndexes&) { return visit(r); }, [](Seq seq, ErrorKind kind, const std::string& message) {
    throw LogError(kind, message, seq);  // Strict readers stop at the first damage.
  });
}

void EventLog::audit_scan(Seq from, const std::function<void(const RecordView&, const ScanIndexes&)>& visit,
                          const std::function<void(Seq, ErrorKind, const std::string&)>& damaged) const {
  scan_records(
      from,
      [&](const RecordView& r, const ScanIndexes& indexes) {
        visit(r, indexes);
        return true;
      },
      damaged);
}

void EventLog::scan_records(Seq from, const std::function<bool(const RecordView&, const ScanIndexes&)>& visit,
                            const std::function<void(Seq, ErrorKind, const std::string&)>& damaged) const {
  ReadTxn rt(*h_);
  const ScanIndexes indexes(*this, rt.txn);
  Cursor c(rt.txn, h_->dbi[kEvents]);
  auto key = seq_key(from);
  MDB_val k = val(key), v;
  int rc = mdb_cursor_get(c.c, &k, &v, MDB_SET_RANGE);
  Seq expected = from == 0 ? 1 : from;
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c.c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8) {
      damaged(expected, ErrorKind::corrupt_record, "an event key is " + std::to_string(k.mv_size) + " bytes, not 8");
      continue;
    }
    Seq seq = get_u64_be(static_cast<const std::uint8_t*>(k.mv_data));
    if (seq != expected)
      damaged(expected, ErrorKind::broken_chain,
              seq > expected ? "records " + std::to_string(expected) + ".." + std::to_string(seq - 1) + " are missing"
                             : "record " + std::to_string(seq) + " is out of order");
    expected = seq + 1;
    std::optional<RecordView> r;
    try {
      r = parse_record(seq, view(v));
    } catch (const LogError& e) {
      damaged(seq, e.kind(), e.what());
      continue;
    }
    if (!visit(*r, indexes)) return;
  }
  if (rc != MDB_NOTFOUND) damaged(expected, ErrorKind::io, std::string("scan stopped: ") + mdb_strerror(rc));
}

void EventLog::scan_index(Index index, const std::function<void(ByteView, ByteView)>& visit) const {
  static constexpr std::array<Dbi, 4> kDbis{kBetIndex, kDepositIndex, kBatchIndex, kBlockIndex};
  ReadTxn rt(*h_);
  Cursor c(rt.txn, h_->dbi[kDbis[static_cast<std::size_t>(index)]]);
  MDB_val k, v;
  int rc = mdb_cursor_get(c.c, &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c.c, &k, &v, MDB_NEXT)) visit(view(k), view(v));
  if (rc != MDB_NOTFOUND) check(rc, "scan index");
}

void EventLog::release_mapped_pages() const {
  // LMDB does not say where its map is (mdb_env_info only names a fixed map): the kernel does.
  std::shared_lock lock(h_->map_mutex);  // The map is not moved meanwhile (grow_map).
  std::error_code ec;
  const auto file = std::filesystem::canonical(dir_ / "data.mdb", ec);
  if (ec) return;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.size() < file.native().size() || line.compare(line.size() - file.native().size(), std::string::npos, file.native()) != 0)
      continue;
    std::uintptr_t from = 0, to = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &from, &to) != 2 || to <= from) continue;
    // Advice only: a failure changes nothing but the figure it is for.
    (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
  }
}

std::uint64_t EventLog::index_size(Index index) const {
  static constexpr std::array<Dbi, 4> kDbis{kBetIndex, kDepositIndex, kBatchIndex, kBlockIndex};
  ReadTxn rt(*h_);
  MDB_stat st{};
  check(mdb_stat(rt.txn, h_->dbi[kDbis[static_cast<std::size_t>(index)]], &st), "index stat");
  return st.ms_entries;
}

std::optional<Snapshot> EventLog::latest_snapshot(std::optional<Seq> at_most) const {
  ReadTxn rt(*h_);
  Cursor c(rt.txn, h_->dbi[kSnapshots]);
  MDB_val k, v;
  int rc;
  if (at_most && *at_most < std::numeric_limits<Seq>::max()) {
    auto key = seq_key(*at_most + 1);
    k = val(key);
    rc = mdb_cursor_get(c.c, &k, &v, MDB_SET_RANGE);
    rc = rc == MDB_SUCCESS ? mdb_cursor_get(c.c, &k, &v, MDB_PREV) : mdb_cursor_get(c.c, &k, &v, MDB_LAST);
  } else {
    rc = mdb_cursor_get(c.c, &k, &v, MDB_LAST);
  }
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "read snapshot");
  if (k.mv_size != 8) throw LogError(ErrorKind::corrupt_record, "snapshot key is not 8 bytes");
  auto b = view(v);
  return Snapshot{get_u64_be(static_cast<const std::uint8_t*>(k.mv_data)), Bytes(b.begin(), b.end())};
}

}  // namespace croupier::eventlog
