// The event log keeps what it acknowledged, in order, hash-chained and indexed, refuses
// a duplicate without writing anything, and names the record to blame for every kind of
// damage it can meet.
//
// Method: real LMDB logs in temp directories (MDB_NOSYNC: durability across crashes is
// crash_test.cpp's job). Histories come from LedgerGenerator (real_crypto=false) or are
// built by hand when a test needs particular ids. Damage is written with the LMDB C API
// on the closed log (test_support.hpp), then the log is reopened and asked.
#include <doctest/doctest.h>

#include <fstream>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "eventlog/event_log.hpp"
#include "eventlog/index_support.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

namespace {

using namespace croupier;
using eventlog::BatchEntry;
using eventlog::ErrorKind;
using eventlog::EventLog;
using eventlog::LogError;
using eventlog::Seq;
using test::RawLmdb;
using test::TempDir;

constexpr std::uint64_t kTimeMs = 1'763'683'200'000;

eventlog::Options options_for(const std::filesystem::path& dir) {
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  o.node_id_if_new = Id128{1, 2, 3, 4};
  return o;
}

template <std::size_t N>
FixedBytes<N> fill(std::uint64_t n, std::uint8_t tag) {
  FixedBytes<N> b{};
  b[0] = tag;
  put_u64_be(b.data() + N - 8, n);
  return b;
}

// A bet's TxAdmitted; `n` picks the bet id, `nonce` varies the tx (and its id) alone.
Event bet_admitted(std::uint64_t n, std::uint64_t nonce = 1) {
  Bet b;
  b.bet_id = fill<16>(n, 0xB0);
  b.account = fill<32>(n % 7, 0xAC);
  b.nonce = nonce;
  b.game = 1;
  b.wager = 10 + n;
  b.choice = 0;
  b.client_seed = fill<32>(n, 0x5E);
  return TxAdmitted{b};
}

Event deposit_admitted(std::uint64_t n, Amount amount = 1000) {
  Deposit d;
  d.deposit_id = fill<16>(n, 0xD0);
  d.account = fill<32>(n, 0xAC);
  d.amount = amount;
  d.operator_key = fill<32>(1, 0x0F);
  return TxAdmitted{d};
}

Event node_started(std::uint64_t n) { return NodeStarted{fill<16>(n, 0x4E), "test", {}, {}, {}}; }

// A generated history (real_crypto=false): genesis, `bets` bets, and the last batch.
std::vector<Event> history(std::size_t bets, std::uint64_t seed = 7) {
  tools::LedgerOptions lo;
  lo.seed = seed;
  lo.accounts = 8;
  lo.real_crypto = false;
  lo.block_size = 10;
  lo.batch_size = 25;
  tools::LedgerGenerator gen(lo);
  std::vector<Event> out = gen.genesis();
  gen.bets(bets, out);
  gen.flush(out);
  return out;
}

// Appends `events` in groups of 1, 2, 3, ... events; returns every seq returned.
std::vector<Seq> append_in_groups(EventLog& log, const std::vector<Event>& events) {
  std::vector<Seq> seqs;
  std::size_t at = 0, size = 1;
  while (at < events.size()) {
    std::size_t n = std::min(size++, events.size() - at);
    auto got = log.append(std::span<const Event>(events.data() + at, n), kTimeMs + at);
    seqs.insert(seqs.end(), got.begin(), got.end());
    at += n;
  }
  return seqs;
}

// Runs a ChainVerifier over the whole log; returns where it ended.
eventlog::ChainVerifier verify_chain(const EventLog& log) {
  eventlog::ChainVerifier v;
  log.scan(0, [&](const eventlog::RecordView& r) {
    v.check(r);
    return true;
  });
  return v;
}

// Calls `f`, which must throw LogError; returns it.
template <class F>
LogError log_error_from(F&& f) {
  try {
    f();
  } catch (const LogError& e) {
    return e;
  }
  FAIL("no LogError was thrown");
  return LogError(ErrorKind::io, "unreachable");
}

std::string render(const LogError& e) {
  return std::string(eventlog::error_kind_name(e.kind())) + "@" + (e.seq() ? std::to_string(*e.seq()) : "-");
}

// A log of `n` hand-made bets at seqs 1..n, closed again.
void make_bet_log(const std::filesystem::path& dir, std::size_t n) {
  auto log = EventLog::open(options_for(dir));
  for (std::size_t i = 1; i <= n; ++i) log->append(std::vector<Event>{bet_admitted(i)}, kTimeMs + i);
}

}  // namespace

TEST_CASE("AppendReturnsConsecutiveSeqsStartingAtOne") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  CHECK(log->head_seq() == 0);
  CHECK(log->head_hash() == Hash32{});

  CHECK(log->append(std::vector<Event>{node_started(1), bet_admitted(1), bet_admitted(2)}, kTimeMs) ==
        std::vector<Seq>{1, 2, 3});
  CHECK(log->head_seq() == 3);
  CHECK(log->append(std::vector<Event>{bet_admitted(3)}, kTimeMs + 1) == std::vector<Seq>{4});
  CHECK(log->append(std::vector<Event>{}, kTimeMs + 2).empty());
  CHECK(log->head_seq() == 4);

  auto head = log->read(4);
  REQUIRE(head);
  CHECK(log->head_hash() == head->hash);
  CHECK(head->prev_hash == log->read(3)->hash);
  CHECK(log->read(1)->prev_hash == Hash32{});
  CHECK_FALSE(log->read(5));
  CHECK_FALSE(log->read(0));
}

TEST_CASE("OneAppendOfManyEventsIsOneContiguousGroup") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  auto events = history(40);
  auto seqs = log->append(events, kTimeMs);
  REQUIRE(seqs.size() == events.size());
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == i + 1);
  CHECK(log->head_seq() == events.size());
  CHECK(log->head_hash() == log->read(events.size())->hash);
  // All of one group share its time.
  CHECK(log->read(1)->time_ms == kTimeMs);
  CHECK(log->read(events.size())->time_ms == kTimeMs);
}

TEST_CASE("ReadAndScanReturnWhatWasAppended") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  auto events = history(60);
  auto seqs = append_in_groups(*log, events);
  REQUIRE(seqs.size() == events.size());
  REQUIRE(log->head_seq() == events.size());

  for (Seq seq = 1; seq <= events.size(); ++seq) {
    CAPTURE(seq);
    const Event& e = events[seq - 1];
    auto r = log->read(seq);
    REQUIRE(r);
    CHECK(r->seq == seq);
    CHECK(r->type == static_cast<std::uint16_t>(event_type(e)));
    CHECK(r->payload == encode_event(e));
    CHECK(encode_event(decode_event(r->type, r->payload)) == encode_event(e));
    CHECK(r->hash == eventlog::record_hash(r->prev_hash, seq, r->time_ms, r->type, r->payload));
  }

  std::vector<Seq> scanned;
  log->scan(1, [&](const eventlog::RecordView& r) {
    const Event& e = events[r.seq - 1];
    CHECK(r.type == static_cast<std::uint16_t>(event_type(e)));
    CHECK(Bytes(r.payload.begin(), r.payload.end()) == encode_event(e));
    CHECK(r.hash_matches());
    scanned.push_back(r.seq);
    return true;
  });
  CHECK(scanned == seqs);

  auto verifier = verify_chain(*log);
  CHECK(verifier.seq() == log->head_seq());
  CHECK(verifier.hash() == log->head_hash());

  SUBCASE("scan starts at `from` and stops when the visitor says so") {
    std::vector<Seq> part;
    log->scan(10, [&](const eventlog::RecordView& r) {
      part.push_back(r.seq);
      return part.size() < 3;
    });
    CHECK(part == std::vector<Seq>{10, 11, 12});
    std::size_t beyond = 0;
    log->scan(log->head_seq() + 1, [&](const eventlog::RecordView&) { return ++beyond > 0; });
    CHECK(beyond == 0);
  }
}

TEST_CASE("IndexEntriesNameWhereEachTxsAndBatchsLifeIsInTheLog") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  auto events = history(80);
  append_in_groups(*log, events);
  auto event_at = [&](Seq seq) { return decode_event(log->read(seq)->type, log->read(seq)->payload); };

  std::size_t bets = 0, deposits = 0, batches = 0, blocks = 0;
  for (Seq seq = 1; seq <= events.size(); ++seq) {
    CAPTURE(seq);
    const Event& e = events[seq - 1];
    if (auto* a = std::get_if<TxAdmitted>(&e); a && !std::holds_alternative<Settlement>(a->tx)) {
      const TxKey key = tx_key(a->tx);
      auto entry = key.kind == TxKind::bet ? log->find_bet(key.id) : log->find_deposit(key.id);
      REQUIRE(entry);
      (key.kind == TxKind::bet ? bets : deposits) += 1;
      CHECK(entry->tx_id == tx_id(a->tx));
      CHECK(entry->admitted == seq);
      auto fin = std::get<TxFinalized>(event_at(entry->finalized));
      CHECK(fin.tx_id == entry->tx_id);
      CHECK(fin.key == key);
      if (key.kind == TxKind::bet) CHECK(std::get<BetResolved>(event_at(entry->resolved)).bet_id == key.id);
      else CHECK(entry->resolved == 0);
      auto created = std::get<BatchCreated>(event_at(log->find_batch(entry->batch_id)->created));
      CHECK(std::any_of(created.items.begin(), created.items.end(), [&](auto& item) { return item.id == key.id; }));
    }
    if (auto* c = std::get_if<BatchCreated>(&e)) {
      ++batches;
      auto entry = log->find_batch(c->batch_id);
      REQUIRE(entry);
      CHECK(entry->created == seq);
      CHECK(std::get<BatchProved>(event_at(entry->proved)).batch_id == c->batch_id);
      CHECK(std::get<BatchSubmitted>(event_at(entry->submitted)).batch_id == c->batch_id);
      CHECK(std::get<BatchConfirmed>(event_at(entry->last)).batch_id == c->batch_id);
    }
    if (auto* b = std::get_if<BlockCommitted>(&e)) {
      ++blocks;
      CHECK(log->find_block(b->height) == seq);
    }
  }
  CHECK(bets == 80);
  CHECK(deposits == 8);
  CHECK(batches >= 3);
  CHECK(blocks >= 3);
  CHECK(test::index_mismatches(*log, test::indexes_of(events)) == 0);
  CHECK_FALSE(log->find_bet(Id128{}));
  CHECK_FALSE(log->find_deposit(Id128{}));
  CHECK_FALSE(log->find_batch(Id128{}));
  CHECK_FALSE(log->find_block(blocks + 1));
}

TEST_CASE("ABatchsEntryFollowsItsStages") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  Id128 batch = fill<16>(9, 0xBA);
  log->append(std::vector<Event>{BatchCreated{batch, {}, 5}}, kTimeMs);
  CHECK(log->find_batch(batch) == BatchEntry{1, 0, 0, 1});
  log->append(std::vector<Event>{node_started(1), BatchSubmitted{batch, 1, Hash32{}}}, kTimeMs);
  CHECK(log->find_batch(batch) == BatchEntry{1, 0, 3, 3});
  log->append(std::vector<Event>{BatchFailed{batch, "gave up"}, node_started(2)}, kTimeMs);
  CHECK(log->find_batch(batch) == BatchEntry{1, 0, 3, 4});
}

TEST_CASE("AnEventNamingATxWithNoEntryIsRefusedAndWritesNothing") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  Bet b{};
  b.bet_id = fill<16>(3, 0xBE);
  auto err = log_error_from([&] {
    log->append(std::vector<Event>{node_started(1), TxFinalized{Hash32{1}, true, 1, TxKey{TxKind::bet, b.bet_id}}}, kTimeMs);
  });
  CHECK(render(err) == "corrupt_record@2");
  CHECK(log->head_seq() == 0);
}

TEST_CASE("DuplicateIndexKeyRefusesTheWholeAppendAndWritesNothing") {
  // Row: the log holds `existing`; appending `group` must fail with duplicate_key on the
  // group's `dup_index`-th event and leave no trace of any event of the group.
  struct Row {
    std::string name;
    std::vector<Event> existing;
    std::vector<Event> group;
    std::size_t dup_index;
  };
  const std::vector<Row> rows{
      {"tx already in the log", {bet_admitted(1)}, {bet_admitted(2), bet_admitted(3), bet_admitted(1)}, 2},
      {"tx twice within one group", {node_started(1)}, {bet_admitted(2), bet_admitted(3), bet_admitted(2)}, 2},
      {"tx twice as the whole group", {}, {bet_admitted(4), bet_admitted(4)}, 1},
      {"bet id again with another tx", {bet_admitted(1, 1)}, {bet_admitted(2), bet_admitted(1, 2)}, 1},
      {"deposit id again with another tx", {deposit_admitted(1, 5)}, {bet_admitted(2), deposit_admitted(1, 6)}, 1},
      {"deposit id twice within one group", {}, {deposit_admitted(3, 5), bet_admitted(2), deposit_admitted(3, 7)}, 2},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    TempDir dir("croupier-log");
    auto log = EventLog::open(options_for(dir.path()));
    if (!row.existing.empty()) log->append(row.existing, kTimeMs);
    Seq head = log->head_seq();
    Hash32 head_hash = log->head_hash();

    auto err = log_error_from([&] { log->append(row.group, kTimeMs + 1); });
    CHECK(render(err) == "duplicate_key@" + std::to_string(head + row.dup_index + 1));

    CHECK(log->head_seq() == head);
    CHECK(log->head_hash() == head_hash);
    CHECK_FALSE(log->read(head + 1));
    // The events of the group before the duplicate left no index entries behind.
    for (std::size_t i = 0; i < row.dup_index; ++i) {
      const auto* a = std::get_if<TxAdmitted>(&row.group[i]);
      if (!a) continue;
      const TxKey key = tx_key(a->tx);
      const bool in_existing = std::any_of(row.existing.begin(), row.existing.end(), [&](const Event& x) {
        return std::holds_alternative<TxAdmitted>(x) && tx_key(std::get<TxAdmitted>(x).tx) == key;
      });
      if (in_existing) continue;
      CHECK_FALSE((key.kind == TxKind::bet ? log->find_bet(key.id) : log->find_deposit(key.id)));
    }
    // The log still takes appends, right after the old head.
    CHECK(log->append(std::vector<Event>{node_started(99)}, kTimeMs + 2) == std::vector<Seq>{head + 1});
    CHECK(verify_chain(*log).seq() == head + 1);
  }
}

TEST_CASE("MapFullGrowsTheMapAndLosesNothing") {
  TempDir dir("croupier-log");
  auto options = options_for(dir.path());
  options.map_size = std::size_t{1} << 18;  // 256 KiB, far below what is appended.
  auto events = history(6000, 11);  // About 20k events, several MB.
  std::size_t payload_bytes = 0;
  for (const auto& e : events) payload_bytes += encode_event(e).size();
  REQUIRE(payload_bytes > 3 * (std::size_t{1} << 20));

  {
    auto log = EventLog::open(options);
    // One huge group first (a single transaction that must grow the map several times),
    // then many small ones.
    std::size_t first = events.size() / 3;
    auto seqs = log->append(std::span<const Event>(events.data(), first), kTimeMs);
    CHECK(seqs.size() == first);
    for (std::size_t at = first; at < events.size(); at += 97) {
      std::size_t n = std::min<std::size_t>(97, events.size() - at);
      auto got = log->append(std::span<const Event>(events.data() + at, n), kTimeMs + at);
      REQUIRE(got.size() == n);
      CHECK(got.front() == at + 1);
    }
    CHECK(log->head_seq() == events.size());
    CHECK(verify_chain(*log).seq() == events.size());
  }
  // Reopened with the same small initial size, the grown map keeps everything readable.
  auto log = EventLog::open(options);
  CHECK(log->head_seq() == events.size());
  std::size_t matched = 0;
  log->scan(1, [&](const eventlog::RecordView& r) {
    matched += Bytes(r.payload.begin(), r.payload.end()) == encode_event(events[r.seq - 1]);
    return true;
  });
  CHECK(matched == events.size());
  log->append(std::vector<Event>{node_started(5)}, kTimeMs);
  CHECK(log->head_seq() == events.size() + 1);
}

TEST_CASE("AReopenedLogKeepsHeadNodeIdAndIndexes") {
  TempDir dir("croupier-log");
  auto events = history(30);
  Seq head = 0;
  Hash32 head_hash{};
  Id128 first_id = fill<16>(1, 0x11), second_id = fill<16>(2, 0x22);
  {
    auto options = options_for(dir.path());
    options.node_id_if_new = first_id;
    auto log = EventLog::open(options);
    CHECK(log->node_id() == first_id);
    append_in_groups(*log, events);
    head = log->head_seq();
    head_hash = log->head_hash();
  }
  auto options = options_for(dir.path());
  options.node_id_if_new = second_id;
  auto log = EventLog::open(options);
  CHECK(log->node_id() == first_id);
  CHECK(log->head_seq() == head);
  CHECK(log->head_hash() == head_hash);
  CHECK(test::index_mismatches(*log, test::indexes_of(events)) == 0);
  // It goes on from the old head, and the indexes still refuse old ids.
  CHECK(log->append(std::vector<Event>{node_started(3)}, kTimeMs) == std::vector<Seq>{head + 1});
  CHECK(log->read(head + 1)->prev_hash == head_hash);
  const Event* old_tx = nullptr;
  for (const auto& e : events)
    if (auto* a = std::get_if<TxAdmitted>(&e); a && !std::holds_alternative<Settlement>(a->tx)) old_tx = &e;
  REQUIRE(old_tx);
  CHECK(render(log_error_from([&] { log->append(std::span<const Event>(old_tx, 1), kTimeMs); })) ==
        "duplicate_key@" + std::to_string(head + 2));
}

TEST_CASE("AnUnknownLogFormatVersionIsRefusedAtOpen") {
  TempDir dir("croupier-log");
  make_bet_log(dir.path(), 3);
  {
    RawLmdb raw(dir.path());
    const std::string key = "format_version";
    auto stored = raw.get("meta", ByteView(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
    REQUIRE(stored);
    CHECK(*stored == Bytes{3, 0, 0, 0});
    raw.put("meta", ByteView(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()), Bytes{4, 0, 0, 0});
  }
  auto err = log_error_from([&] { EventLog::open(options_for(dir.path())); });
  CHECK(render(err) == "unknown_format@-");
  CHECK(std::string(err.what()).find("is format version 4; this build reads format version 3 only") != std::string::npos);
}

TEST_CASE("LogsOfFormatsOneAndTwoAreRefusedNamingBothVersionsAndWhatToDo") {
  // Format 1 kept a tx-id index and each batch's witness twice; format 2 stored every proof
  // whole and did not record a node's role. Reading them in place is not kept, so they are
  // refused at open, for the node and the audit alike, before anything is created in them.
  for (std::uint8_t old : {std::uint8_t{1}, std::uint8_t{2}}) {
    CAPTURE(int{old});
    TempDir dir("croupier-log");
    make_bet_log(dir.path(), 3);
    const std::string key = "format_version";
    {
      RawLmdb raw(dir.path());
      raw.put("meta", ByteView(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()), Bytes{old, 0, 0, 0});
    }
    for (bool audit : {false, true}) {
      CAPTURE(audit);
      auto options = options_for(dir.path());
      options.audit = audit;
      auto err = log_error_from([&] { EventLog::open(options); });
      CHECK(render(err) == "unknown_format@-");
      const std::string what = err.what();
      CHECK(what.find("is format version " + std::to_string(old) + "; this build reads format version 3 only") !=
            std::string::npos);
      CHECK(what.find("records whether a node settles") != std::string::npos);
      CHECK(what.find("audit it with the build that wrote it") != std::string::npos);
    }
  }
}

TEST_CASE("ARecordWithAnUnknownVersionByteIsNamedByScanAndRead") {
  TempDir dir("croupier-log");
  make_bet_log(dir.path(), 6);
  {
    RawLmdb raw(dir.path());
    Bytes r = raw.record(4);
    r[0] = eventlog::kRecordVersion + 1;
    raw.set_record(4, r);
  }
  auto options = options_for(dir.path());
  options.verify_tail = 0;
  auto log = EventLog::open(options);
  std::vector<Seq> seen;
  auto err = log_error_from([&] {
    log->scan(1, [&](const eventlog::RecordView& r) {
      seen.push_back(r.seq);
      return true;
    });
  });
  CHECK(render(err) == "unknown_format@4");
  CHECK(seen == std::vector<Seq>{1, 2, 3});
  CHECK(render(log_error_from([&] { log->read(4); })) == "unknown_format@4");
  // Opening with the default tail check refuses the log, naming the same record.
  log.reset();
  CHECK(render(log_error_from([&] { EventLog::open(options_for(dir.path())); })) == "unknown_format@4");
}

TEST_CASE("ARecordShorterThanItsHeaderIsCorrupt") {
  TempDir dir("croupier-log");
  make_bet_log(dir.path(), 5);
  {
    RawLmdb raw(dir.path());
    Bytes r = raw.record(2);
    r.resize(eventlog::kRecordHeaderSize - 1);
    raw.set_record(2, r);
  }
  auto options = options_for(dir.path());
  options.verify_tail = 0;
  auto log = EventLog::open(options);
  CHECK(render(log_error_from([&] { log->scan(1, [](const eventlog::RecordView&) { return true; }); })) ==
        "corrupt_record@2");
  CHECK(render(log_error_from([&] { log->read(2); })) == "corrupt_record@2");
}

TEST_CASE("AFlippedPayloadByteFailsTheChainVerifierAtThatSeq") {
  TempDir dir("croupier-log");
  make_bet_log(dir.path(), 8);
  test::flip_payload_byte(dir.path(), 5, 7);
  auto options = options_for(dir.path());
  options.verify_tail = 0;
  auto log = EventLog::open(options);
  // scan itself parses it fine: the hash is the verifier's to check.
  std::size_t visited = 0;
  log->scan(1, [&](const eventlog::RecordView&) { return ++visited > 0; });
  CHECK(visited == 8);
  CHECK(render(log_error_from([&] { verify_chain(*log); })) == "corrupt_record@5");
}

TEST_CASE("OpenDetectsADamagedTailAndNamesTheRecord") {
  // 20 records; open verifies the last 5 (16..20). Row: what to damage, how, expected error.
  struct Row {
    std::string name;
    Seq seq;
    std::size_t offset;  // Byte of the stored value to flip.
    std::string expected;
  };
  constexpr std::size_t kPayload = eventlog::kRecordHeaderSize;
  const std::vector<Row> rows{
      {"payload of the head", 20, kPayload + 3, "corrupt_record@20"},
      {"payload inside the tail", 18, kPayload + 3, "corrupt_record@18"},
      {"stored hash inside the tail", 17, 33, "corrupt_record@17"},
      {"time of a tail record", 19, 65, "corrupt_record@19"},
      {"first record of the tail (the anchor)", 16, kPayload, "corrupt_record@16"},
      {"prev_hash of the anchor", 16, 1, "corrupt_record@16"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    TempDir dir("croupier-log");
    make_bet_log(dir.path(), 20);
    {
      RawLmdb raw(dir.path());
      raw.flip_record_byte(row.seq, row.offset);
    }
    auto options = options_for(dir.path());
    options.verify_tail = 5;
    CHECK(render(log_error_from([&] { EventLog::open(options); })) == row.expected);
  }

  SUBCASE("a re-hashed record whose prev_hash is wrong breaks the chain") {
    TempDir dir("croupier-log");
    make_bet_log(dir.path(), 20);
    {
      RawLmdb raw(dir.path());
      Bytes r = raw.record(19);
      r[1] ^= 0xFF;  // prev_hash
      Hash32 prev;
      std::memcpy(prev.data(), r.data() + 1, 32);
      ByteView payload(r.data() + kPayload, r.size() - kPayload);
      Hash32 h = eventlog::record_hash(prev, 19, get_u64_le(r.data() + 65),
                                       static_cast<std::uint16_t>(r[73] | (r[74] << 8)), payload);
      std::memcpy(r.data() + 33, h.data(), 32);
      raw.set_record(19, r);
    }
    auto options = options_for(dir.path());
    options.verify_tail = 5;
    CHECK(render(log_error_from([&] { EventLog::open(options); })) == "broken_chain@19");
  }

  SUBCASE("damage before the tail window is left to replay") {
    TempDir dir("croupier-log");
    make_bet_log(dir.path(), 20);
    test::flip_payload_byte(dir.path(), 10, 3);
    auto options = options_for(dir.path());
    options.verify_tail = 5;
    auto log = EventLog::open(options);
    CHECK(log->head_seq() == 20);
    CHECK(render(log_error_from([&] { verify_chain(*log); })) == "corrupt_record@10");
  }
}

TEST_CASE("CreateIfMissingFalseOnAnEmptyDirIsAClearIoError") {
  TempDir dir("croupier-log");
  for (auto target : {dir.path(), dir.path() / "does-not-exist"}) {
    CAPTURE(target.string());
    auto options = options_for(target);
    options.create_if_missing = false;
    auto err = log_error_from([&] { EventLog::open(options); });
    CHECK(render(err) == "io@-");
    CHECK(std::string(err.what()).find(target.string()) != std::string::npos);
    CHECK(std::string(err.what()).find("no event log") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(target / "data.mdb"));
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() / "does-not-exist"));
}

TEST_CASE("AppendSnapshotStoresTheBlobAndItsEventInOneStep") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  CHECK_FALSE(log->latest_snapshot());
  log->append(std::vector<Event>{node_started(1), bet_admitted(1), bet_admitted(2)}, kTimeMs);
  const Bytes blob{'s', 'n', 'a', 'p', 0, 1, 2, 3};
  Seq seq = log->append_snapshot(3, blob, kTimeMs + 5);
  CHECK(seq == 4);
  CHECK(log->head_seq() == 4);

  auto r = log->read(4);
  REQUIRE(r);
  CHECK(r->type == static_cast<std::uint16_t>(EventType::snapshot_taken));
  CHECK(r->time_ms == kTimeMs + 5);
  auto st = std::get<SnapshotTaken>(decode_event(r->type, r->payload));
  CHECK(st.snapshot_seq == 3);
  CHECK(st.digest == blake2b256(blob));
  CHECK(log->head_hash() == r->hash);
  CHECK(verify_chain(*log).seq() == 4);

  auto snap = log->latest_snapshot();
  REQUIRE(snap);
  CHECK(snap->seq == 3);
  CHECK(snap->blob == blob);

  // Both survive a reopen.
  log.reset();
  log = EventLog::open(options_for(dir.path()));
  CHECK(log->head_seq() == 4);
  CHECK(log->latest_snapshot()->blob == blob);
}

TEST_CASE("LatestSnapshotPicksTheNewestAtOrBelowTheBound") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  // Snapshots of seqs 2, 5 and 9 (their SnapshotTaken events are at 3, 6 and 10).
  log->append(std::vector<Event>{node_started(1), bet_admitted(1)}, kTimeMs);
  log->append_snapshot(2, Bytes{2}, kTimeMs);
  log->append(std::vector<Event>{bet_admitted(2), bet_admitted(3)}, kTimeMs);
  log->append_snapshot(5, Bytes{5}, kTimeMs);
  log->append(std::vector<Event>{bet_admitted(4), bet_admitted(5), bet_admitted(6)}, kTimeMs);
  log->append_snapshot(9, Bytes{9}, kTimeMs);
  REQUIRE(log->head_seq() == 10);

  struct Row {
    std::string name;
    std::optional<Seq> at_most;
    std::optional<Seq> expected;
  };
  const std::vector<Row> rows{
      {"no bound", std::nullopt, 9}, {"below the first", 1, std::nullopt}, {"zero", 0, std::nullopt},
      {"exactly the first", 2, 2},   {"between first and second", 4, 2},   {"exactly the second", 5, 5},
      {"between", 8, 5},             {"exactly the last", 9, 9},           {"beyond the head", 1000, 9},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto snap = log->latest_snapshot(row.at_most);
    CHECK(snap.has_value() == row.expected.has_value());
    if (snap && row.expected) {
      CHECK(snap->seq == *row.expected);
      CHECK(snap->blob == Bytes{static_cast<std::uint8_t>(*row.expected)});
    }
  }
}

// latest_snapshot(at_most) looks up key at_most + 1, which wraps to 0 for the largest
// Seq: "every snapshot" must still find the newest one.
TEST_CASE("LatestSnapshotWithTheLargestBoundFindsTheNewest") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  log->append(std::vector<Event>{node_started(1)}, kTimeMs);
  log->append_snapshot(1, Bytes{1}, kTimeMs);
  auto snap = log->latest_snapshot(std::numeric_limits<Seq>::max());
  REQUIRE(snap);
  CHECK(snap->seq == 1);
}

TEST_CASE("ASnapshotOfASeqOtherThanTheHeadIsRefused") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  CHECK_THROWS_AS(log->append_snapshot(0, Bytes{1}, kTimeMs), LogError);  // Empty log: nothing to cover.
  log->append(std::vector<Event>{node_started(1), bet_admitted(1), bet_admitted(2)}, kTimeMs);
  Hash32 head_hash = log->head_hash();
  for (Seq covered : {Seq{0}, Seq{1}, Seq{2}, Seq{4}, Seq{100}}) {
    CAPTURE(covered);
    CHECK_THROWS_AS(log->append_snapshot(covered, Bytes{1}, kTimeMs), LogError);
    CHECK(log->head_seq() == 3);
    CHECK(log->head_hash() == head_hash);
    CHECK_FALSE(log->latest_snapshot());
  }
  CHECK(log->append_snapshot(3, Bytes{1}, kTimeMs) == 4);
}

namespace {
// This process's resident pages of mapped files, in kB (/proc/self/status RssFile).
std::uint64_t rss_file_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("RssFile:", 0) == 0) return std::stoull(line.substr(8));
  return 0;
}
}  // namespace

TEST_CASE("ReleasingTheMappedPagesTakesWhatAScanReadOutOfTheResidentSet") {
  TempDir dir("croupier-log");
  auto log = EventLog::open(options_for(dir.path()));
  std::vector<Event> group;
  for (std::uint64_t n = 1; n <= 60'000; ++n) {
    group.push_back(bet_admitted(n));
    if (group.size() == 1000) log->append(std::exchange(group, {}), kTimeMs);
  }
  log->release_mapped_pages();
  const auto before = rss_file_kb();
  std::uint64_t bytes = 0;
  log->scan(1, [&](const eventlog::RecordView& r) {
    bytes += r.payload.size();
    return true;
  });
  const auto after_scan = rss_file_kb();
  REQUIRE(bytes > 10'000'000);
  CHECK(after_scan > before + 8'000);  // The scan mapped at least 8 MB of the log in.
  log->release_mapped_pages();
  CHECK(rss_file_kb() < after_scan - 8'000);
  // And the log reads the same afterwards.
  CHECK(log->read(30'000).has_value());
}
