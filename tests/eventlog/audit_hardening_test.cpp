// The audit's defences against a log that lies: a cut-off tail, damage that must not hide
// the rest, keys that are not the node's, an empty or foreign directory; and the log's own
// safety when its map grows while other threads read.
// Method: generated histories written with EventLog, then changed underneath it with the
// LMDB C API (tests/test_support.hpp), then audited with eventlog::replay as
// `croupier replay` does (opened for an audit, read-only).
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "eventlog/replay.hpp"
#include "eventlog/index_support.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;
using eventlog::Seq;
using test::RawLmdb;
using test::TempDir;

namespace {

tools::LedgerGenerator make_gen() {
  tools::LedgerOptions lo;
  lo.real_crypto = false;
  lo.accounts = 4;
  lo.batch_size = 10;
  return tools::LedgerGenerator(lo);
}

std::vector<Event> history(std::size_t bets) {
  auto gen = make_gen();
  auto events = gen.genesis();
  gen.bets(bets, events);
  gen.flush(events);
  return events;
}

void write_log(const std::filesystem::path& dir, const std::vector<Event>& events) {
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  auto log = eventlog::EventLog::open(o);
  for (std::size_t at = 0; at < events.size(); at += 10)
    log->append(std::span<const Event>(events.data() + at, std::min<std::size_t>(10, events.size() - at)), 1);
}

eventlog::ReplayResult audit(const std::filesystem::path& dir, eventlog::ReplayOptions ro = {}) {
  eventlog::Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.audit = true;
  auto log = eventlog::EventLog::open(o);
  ro.from = 0;
  return eventlog::replay(*log, ro);
}

std::size_t count(const eventlog::ReplayResult& r, const std::string& kind, std::optional<Seq> seq = std::nullopt) {
  std::size_t n = 0;
  for (const auto& p : r.problems) n += p.kind == kind && (!seq || p.seq == *seq);
  return n;
}

}  // namespace

TEST_CASE("ACutOffTailIsDetectedAtOpenAndByTheAudit") {
  TempDir dir("croupier-audit");
  auto events = history(20);
  write_log(dir.path(), events);
  Seq head = events.size();
  {
    RawLmdb raw(dir.path());
    for (Seq s = head - 2; s <= head; ++s) raw.erase("events", RawLmdb::seq_key(s));
  }
  eventlog::Options o;
  o.dir = dir.path();
  CHECK_THROWS_WITH_AS(eventlog::EventLog::open(o), doctest::Contains("records were lost or changed at the end"),
                       eventlog::LogError);
  auto r = audit(dir.path());
  CHECK_FALSE(r.clean());
  CHECK(count(r, "broken_chain", head) == 1);
}

TEST_CASE("AnUnreadableRecordIsReportedAndTheRestOfTheLogIsStillRead") {
  TempDir dir("croupier-audit");
  auto events = history(40);
  write_log(dir.path(), events);
  Seq head = events.size(), bad = 20;
  {
    RawLmdb raw(dir.path());
    auto record = raw.record(bad);
    record[0] = 9;  // An unknown record version.
    raw.set_record(bad, record);
    raw.erase("events", RawLmdb::seq_key(bad + 10));  // And a missing record further on.
  }
  auto r = audit(dir.path());
  CHECK(count(r, "unknown_format", bad) == 1);
  CHECK(count(r, "broken_chain", bad + 10) == 1);
  CHECK(r.records_scanned == head - 2);  // Everything else was read and chain-checked.
  CHECK(r.projections.last_seq == head);
}

TEST_CASE("KeysAreCheckedAgainstAnOutsideCopyAndEveryChangeIsReported") {
  TempDir dir("croupier-audit");
  auto gen = make_gen();
  auto events = gen.genesis();
  gen.bets(5, events);
  write_log(dir.path(), events);

  eventlog::ReplayOptions ro;
  ro.expected_keys = eventlog::ReplayOptions::Keys{gen.operator_key().public_key, gen.house_key().public_key,
                                                    gen.sequencer_key().public_key};
  CHECK(audit(dir.path(), ro).clean());

  // The auditor's copy names another house key: the log's NodeStarted is refused.
  auto wrong = ro;
  wrong.expected_keys->house_key = random_keypair().public_key;
  auto r = audit(dir.path(), wrong);
  CHECK(count(r, "keys", 1) == 1);

  // A later NodeStarted naming a new operator key is reported, with or without an outside copy.
  {
    eventlog::Options o;
    o.dir = dir.path();
    auto log = eventlog::EventLog::open(o);
    auto ns = std::get<NodeStarted>(events.front());
    ns.operator_key = random_keypair().public_key;
    log->append(std::vector<Event>{ns}, 2);
  }
  Seq changed = events.size() + 1;
  CHECK(count(audit(dir.path()), "keys", changed) == 1);
  CHECK(count(audit(dir.path(), ro), "keys", changed) == 1);
}

TEST_CASE("AnEmptyLogIsNotCleanAndAForeignDirectoryIsRefusedUntouched") {
  TempDir dir("croupier-audit");
  {
    eventlog::Options o;
    o.dir = dir.path();
    eventlog::EventLog::open(o);
  }
  auto r = audit(dir.path());
  CHECK(count(r, "empty") == 1);

  // An LMDB environment that is not a Croupier log: refused, and nothing is created in it.
  TempDir foreign("croupier-foreign");
  {
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 4);
    REQUIRE(mdb_env_open(env, foreign.path().c_str(), 0, 0600) == 0);
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "other", MDB_CREATE, &dbi) == 0);
    char k = 'k', v = 'v';
    MDB_val key{1, &k}, value{1, &v};
    REQUIRE(mdb_put(txn, dbi, &key, &value, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  eventlog::Options o;
  o.dir = foreign.path();
  o.create_if_missing = false;
  o.audit = true;
  CHECK_THROWS_WITH_AS(eventlog::EventLog::open(o), doctest::Contains("is not a Croupier event log"),
                       eventlog::LogError);
  RawLmdb raw(foreign.path());
  CHECK(raw.entries("other").size() == 1);
  CHECK_THROWS(raw.entries("events"));  // Not created by the audit.
}

TEST_CASE("ReadersAreSafeWhileTheMapGrowsUnderThem") {
  TempDir dir("croupier-audit");
  auto events = history(300);
  eventlog::Options o;
  o.dir = dir.path();
  o.durable = false;
  o.map_size = 64u << 10;  // Tiny: appends below grow it many times.
  auto log = eventlog::EventLog::open(o);
  std::atomic<bool> started{false}, done{false};
  std::atomic<std::size_t> reads{0}, bad{0};
  std::thread reader([&] {
    do {
      started = true;
      log->scan(1, [&](const eventlog::RecordView& r) {
        bad += !r.hash_matches();  // doctest's CHECK is not thread-safe: count, check after.
        return true;
      });
      ++reads;
    } while (!done);
  });
  while (!started) std::this_thread::yield();  // Appends (and map growth) overlap the scans.
  for (std::size_t at = 0; at < events.size(); at += 25)
    log->append(std::span<const Event>(events.data() + at, std::min<std::size_t>(25, events.size() - at)), 1);
  done = true;
  reader.join();
  CHECK(log->head_seq() == events.size());
  CHECK(reads > 0);
  CHECK(bad == 0);
}

TEST_CASE("TheIndexesAreAuditedAgainstTheEvents") {
  TempDir clean("croupier-audit");
  auto events = history(30);
  write_log(clean.path(), events);
  CHECK(audit(clean.path()).clean());

  // The seq of the first TxAdmitted of a bet, and its index keys.
  Seq bet_seq = 0;
  Hash32 bet_tx{};
  Id128 bet_id{};
  for (std::size_t i = 0; i < events.size() && !bet_seq; ++i)
    if (auto* a = std::get_if<TxAdmitted>(&events[i]); a && std::holds_alternative<Bet>(a->tx)) {
      bet_seq = i + 1;
      bet_tx = tx_id(a->tx);
      bet_id = std::get<Bet>(a->tx).bet_id;
    }
  REQUIRE(bet_seq > 0);

  struct Row {
    const char* name;
    std::function<void(RawLmdb&)> damage;
  };
  const auto entry = *test::indexes_of(events).tx(TxKind::bet, bet_id);
  REQUIRE(entry.tx_id == bet_tx);
  auto with = [](eventlog::TxEntry e, auto change) {
    change(e);
    auto bytes = eventlog::encode_entry(e);
    return Bytes(bytes.begin(), bytes.end());
  };
  Id128 first_batch{};
  for (const auto& e : events)
    if (auto* c = std::get_if<BatchCreated>(&e); c && first_batch == Id128{}) first_batch = c->batch_id;
  const std::vector<Row> rows{
      {"an entry removed", [&](RawLmdb& raw) { raw.erase("bet_index", bet_id); }},
      {"an entry naming another admission",
       [&](RawLmdb& raw) { raw.put("bet_index", bet_id, with(entry, [](auto& e) { e.admitted += 1; })); }},
      {"an entry naming another tx", [&](RawLmdb& raw) { raw.put("bet_index", bet_id, with(entry, [](auto& e) { e.tx_id[0] ^= 1; })); }},
      {"an entry naming another batch",
       [&](RawLmdb& raw) { raw.put("bet_index", bet_id, with(entry, [](auto& e) { e.batch_id[15] ^= 1; })); }},
      {"a malformed entry", [&](RawLmdb& raw) { raw.put("bet_index", bet_id, RawLmdb::seq_key(bet_seq)); }},
      {"an entry no event creates",
       [&](RawLmdb& raw) {
         Id128 stray{};
         stray.fill(0xee);
         raw.put("bet_index", stray, with(entry, [](auto&) {}));
       }},
      {"a batch entry naming another proof",
       [&](RawLmdb& raw) {
         auto b = *test::indexes_of(events).batch(first_batch);
         b.proved += 1;
         auto bytes = eventlog::encode_entry(b);
         raw.put("batch_index", first_batch, Bytes(bytes.begin(), bytes.end()));
       }},
      {"a block entry pointing elsewhere", [&](RawLmdb& raw) { raw.put("block_index", RawLmdb::seq_key(1), RawLmdb::seq_key(bet_seq)); }},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    TempDir dir("croupier-audit");
    std::filesystem::copy(clean.path(), dir.path(), std::filesystem::copy_options::recursive |
                                                        std::filesystem::copy_options::overwrite_existing);
    {
      RawLmdb raw(dir.path());
      row.damage(raw);
    }
    auto r = audit(dir.path());
    CHECK(count(r, "index") == 1);
  }
}
