// replay rebuilds exactly the generator's projections from a log, starts from a snapshot
// when it may and ends in the same state, and blames every kind of damage on the record
// (or snapshot) that carries it: a flipped byte, a forged outcome under a re-computed
// hash chain, a tampered or planted snapshot.
//
// Method: small real-crypto histories from LedgerGenerator written to temp-dir logs; the
// projections are compared as encode_snapshot bytes. Damage is written with the LMDB C
// API on the closed log (test_support.hpp); a forger re-hashes every record from the
// one it changed, so the chain itself stays consistent and only the audit can tell.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "eventlog/replay.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

namespace {

using namespace croupier;
using eventlog::EventLog;
using eventlog::ReplayOptions;
using eventlog::ReplayResult;
using eventlog::Seq;
using test::RawLmdb;
using test::TempDir;
namespace fs = std::filesystem;

constexpr std::uint64_t kTimeMs = 1'763'683'200'000;

tools::LedgerOptions small_ledger(bool real_crypto = true) {
  tools::LedgerOptions o;
  o.seed = 42;
  o.accounts = 8;
  o.real_crypto = real_crypto;
  o.block_size = 10;
  o.batch_size = 20;
  return o;
}

eventlog::Options log_options(const fs::path& dir) {
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  return o;
}

// Appends `events` to the log in `dir` (created if need be) in groups of up to 7.
void append_all(const fs::path& dir, const std::vector<Event>& events) {
  auto log = EventLog::open(log_options(dir));
  for (std::size_t at = 0; at < events.size(); at += 7) {
    std::size_t n = std::min<std::size_t>(7, events.size() - at);
    log->append(std::span<const Event>(events.data() + at, n), kTimeMs + at);
  }
}

ReplayResult replay_dir(const fs::path& dir, std::optional<Seq> from, bool verify) {
  auto options = log_options(dir);
  options.create_if_missing = false;
  options.audit = true;  // As `croupier replay` opens it: damage is the replay's to report, not open's.
  auto log = EventLog::open(options);
  ReplayOptions ro;
  ro.from = from;
  ro.verify = verify;
  ro.threads = 2;
  return eventlog::replay(*log, ro);
}

// The problems as "seq:kind" lines, for compact assertions and readable failures.
std::string render(const ReplayResult& r) {
  std::string s;
  for (const auto& p : r.problems) s += std::to_string(p.seq) + ":" + p.kind + " ";
  return s;
}

std::set<std::string> kinds_at(const ReplayResult& r, Seq seq) {
  std::set<std::string> kinds;
  for (const auto& p : r.problems)
    if (p.seq == seq) kinds.insert(p.kind);
  return kinds;
}

// A history of genesis + `bets` bets (+ the last batch when `flush`), with the
// generator's final state.
struct History {
  std::vector<Event> events;
  Projections state;
};

History make_history(std::size_t bets, bool flush, bool real_crypto = true) {
  tools::LedgerGenerator gen(small_ledger(real_crypto));
  History h;
  h.events = gen.genesis();
  gen.bets(bets, h.events);
  if (flush) gen.flush(h.events);
  h.state = gen.state();
  return h;
}

std::vector<Seq> seqs_of(const std::vector<Event>& events, EventType type) {
  std::vector<Seq> out;
  for (std::size_t i = 0; i < events.size(); ++i)
    if (event_type(events[i]) == type) out.push_back(i + 1);
  return out;
}

// Replaces record `seq` with `type` and `payload` and, as a forger who knows the format
// would, re-hashes it and every later record so that the chain links up again.
void forge_raw(const fs::path& dir, Seq seq, std::uint16_t type, const Bytes& payload) {
  constexpr std::size_t kHeader = eventlog::kRecordHeaderSize;
  RawLmdb raw(dir);
  Seq head = raw.entries("events").size();
  Hash32 prev{};
  if (seq > 1) std::memcpy(prev.data(), raw.record(seq - 1).data() + 33, 32);
  for (Seq s = seq; s <= head; ++s) {
    Bytes r = raw.record(s);
    if (s == seq) {
      r.resize(kHeader);
      r[73] = static_cast<std::uint8_t>(type);
      r[74] = static_cast<std::uint8_t>(type >> 8);
      r.insert(r.end(), payload.begin(), payload.end());
    }
    std::memcpy(r.data() + 1, prev.data(), 32);
    Hash32 h = eventlog::record_hash(prev, s, get_u64_le(r.data() + 65), static_cast<std::uint16_t>(r[73] | (r[74] << 8)),
                                     ByteView(r.data() + kHeader, r.size() - kHeader));
    std::memcpy(r.data() + 33, h.data(), 32);
    raw.set_record(s, r);
    prev = h;
  }
  // A thorough forger also rewrites the head the last commit recorded in meta; without
  // that, the log's open and the audit's tail check catch the forgery already.
  Bytes head_value(8);
  put_u64_be(head_value.data(), head);
  head_value.insert(head_value.end(), prev.begin(), prev.end());
  const std::string head_key = "head";
  raw.put("meta", ByteView(reinterpret_cast<const std::uint8_t*>(head_key.data()), head_key.size()), head_value);
}

// The same, with the encoding of `replacement`, which must have the record's type.
void forge(const fs::path& dir, Seq seq, const Event& replacement) {
  auto type = static_cast<std::uint16_t>(event_type(replacement));
  {
    RawLmdb raw(dir);
    Bytes r = raw.record(seq);
    REQUIRE(static_cast<std::uint16_t>(r[73] | (r[74] << 8)) == type);
  }
  forge_raw(dir, seq, type, encode_event(replacement));
}

void copy_log(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// The flushed real-crypto history and its log, built once for the tests that only read
// or copy it.
struct Shared {
  History history = make_history(50, true);
  TempDir dir{"croupier-replay-shared"};
  Shared() { append_all(dir.path(), history.events); }
};
const Shared& shared() {
  static Shared s;
  return s;
}

}  // namespace

TEST_CASE("AGeneratedHistoryReplaysCleanWithVerifyAndMatchesTheGenerator") {
  const auto& s = shared();
  auto r = replay_dir(s.dir.path(), 0, true);
  CHECK(render(r) == "");
  CHECK(r.clean());
  CHECK(r.head == s.history.events.size());
  CHECK(r.snapshot_seq == 0);
  CHECK(r.events_applied == s.history.events.size());
  // One check per TxAdmitted (signature), BetResolved (VRF) and BatchProved (batch proof).
  std::size_t jobs = seqs_of(s.history.events, EventType::tx_admitted).size() +
                     seqs_of(s.history.events, EventType::bet_resolved).size() +
                     seqs_of(s.history.events, EventType::batch_proved).size();
  CHECK(r.crypto_checks == jobs);
  CHECK(seqs_of(s.history.events, EventType::batch_confirmed).size() >= 3);
  CHECK(encode_snapshot(r.projections) == encode_snapshot(s.history.state));
}

TEST_CASE("WithoutVerifyNoCryptographicCheckRuns") {
  const auto& s = shared();
  auto r = replay_dir(s.dir.path(), 0, false);
  CHECK(render(r) == "");
  CHECK(r.crypto_checks == 0);
  CHECK(encode_snapshot(r.projections) == encode_snapshot(s.history.state));

  SUBCASE("a history without real signatures passes only without verify") {
    TempDir dir("croupier-replay");
    auto fake = make_history(30, true, /*real_crypto=*/false);
    append_all(dir.path(), fake.events);
    auto plain = replay_dir(dir.path(), 0, false);
    CHECK(render(plain) == "");
    CHECK(plain.crypto_checks == 0);
    CHECK(encode_snapshot(plain.projections) == encode_snapshot(fake.state));

    auto verified = replay_dir(dir.path(), 0, true);
    CHECK_FALSE(verified.clean());
    std::set<std::string> kinds;
    for (const auto& p : verified.problems) kinds.insert(p.kind);
    CHECK(kinds == std::set<std::string>{"crypto"});
    // Every unsigned bet and every zero VRF proof is named.
    CHECK(kinds_at(verified, seqs_of(fake.events, EventType::bet_resolved).front()) == std::set<std::string>{"crypto"});
  }
}

TEST_CASE("AFlippedPayloadByteIsReportedAtThatRecordsSeq") {
  const auto& s = shared();
  const auto& events = s.history.events;
  struct Row {
    std::string name;
    Seq seq;
  };
  const std::vector<Row> rows{
      {"NodeStarted, the first record", 1},
      {"a deposit's TxAdmitted", seqs_of(events, EventType::tx_admitted).front()},
      {"a bet's TxAdmitted", seqs_of(events, EventType::tx_admitted)[20]},
      {"a BlockCommitted", seqs_of(events, EventType::block_committed)[2]},
      {"a BetResolved", seqs_of(events, EventType::bet_resolved)[7]},
      {"a BatchProved", seqs_of(events, EventType::batch_proved)[1]},
      {"the head", events.size()},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CAPTURE(row.seq);
    TempDir dir("croupier-replay");
    copy_log(s.dir.path(), dir.path());
    {
      RawLmdb raw(dir.path());
      std::size_t payload_size = raw.record(row.seq).size() - eventlog::kRecordHeaderSize;
      raw.flip_record_byte(row.seq, eventlog::kRecordHeaderSize + payload_size / 2);
    }
    for (bool verify : {false, true}) {
      CAPTURE(verify);
      auto r = replay_dir(dir.path(), 0, verify);
      REQUIRE_FALSE(r.problems.empty());
      CHECK(r.problems.front().seq == row.seq);
      CHECK(r.problems.front().kind == "corrupt_record");
      std::size_t corrupt = 0;
      for (const auto& p : r.problems) corrupt += p.kind == "corrupt_record";
      CHECK(corrupt == 1);
      CHECK(r.head == events.size());
    }
  }
}

TEST_CASE("AForgedOutcomeWithARehashedChainIsCaughtByVerify") {
  // Without the last flush, the bets after the last batch are in no batch: a forged
  // outcome there breaks no later rule, so only the VRF check can tell.
  auto history = make_history(50, false);
  const Seq target = seqs_of(history.events, EventType::bet_resolved).back();
  const auto original = std::get<BetResolved>(history.events[target - 1]);
  const Bet* bet = nullptr;
  for (const auto& e : history.events)
    if (auto* a = std::get_if<TxAdmitted>(&e); a && tx_id(a->tx) == original.tx_id) bet = &std::get<Bet>(a->tx);
  REQUIRE(bet);
  auto game = static_cast<Game>(bet->game);

  // A roll in range whose outcome differs from the real one.
  Outcome other{};
  for (std::uint8_t roll = 0; roll <= 100; ++roll) {
    if (roll == original.roll || (game == Game::coinflip ? roll > 1 : roll < 1)) continue;
    other = outcome_for_roll(game, bet->choice, bet->wager, roll);
    if (other.win != original.win) break;
  }
  REQUIRE(other.win != original.win);

  SUBCASE("a consistent roll and payout pass the rules but not the VRF check") {
    TempDir dir("croupier-replay");
    append_all(dir.path(), history.events);
    BetResolved forged = original;
    forged.roll = other.roll;
    forged.win = other.win;
    forged.payout = other.payout;
    forge(dir.path(), target, forged);

    // The chain is whole again: open's tail check and a full ChainVerifier pass.
    {
      auto log = EventLog::open(log_options(dir.path()));
      eventlog::ChainVerifier v;
      log->scan(0, [&](const eventlog::RecordView& r) {
        v.check(r);
        return true;
      });
      CHECK(v.seq() == history.events.size());
    }
    CHECK(render(replay_dir(dir.path(), 0, false)) == "");
    auto r = replay_dir(dir.path(), 0, true);
    CHECK(render(r) == std::to_string(target) + ":crypto ");
  }

  SUBCASE("a roll whose recorded payout no longer matches also breaks the rules") {
    TempDir dir("croupier-replay");
    append_all(dir.path(), history.events);
    BetResolved forged = original;
    forged.roll = other.roll;  // win and payout stay those of the real roll.
    forge(dir.path(), target, forged);

    auto plain = replay_dir(dir.path(), 0, false);
    CHECK(render(plain) == std::to_string(target) + ":rule ");
    auto verified = replay_dir(dir.path(), 0, true);
    CHECK(kinds_at(verified, target) == std::set<std::string>{"rule", "crypto"});
    CHECK(verified.problems.size() == 2);
  }
}

TEST_CASE("ReplayStartsFromTheSnapshotAndEndsWithIdenticalProjections") {
  TempDir dir("croupier-replay");
  tools::LedgerGenerator gen(small_ledger());
  std::vector<Event> first = gen.genesis();
  gen.bets(25, first);
  append_all(dir.path(), first);
  const Seq covered = first.size();
  {
    auto log = EventLog::open(log_options(dir.path()));
    REQUIRE(log->head_seq() == covered);
    CHECK(log->append_snapshot(covered, encode_snapshot(gen.state()), kTimeMs) == covered + 1);
  }
  std::vector<Event> second;
  gen.bets(25, second);
  gen.flush(second);
  append_all(dir.path(), second);
  const Seq head = covered + 1 + second.size();

  // The generator never saw SnapshotTaken: count it in, and its seq.
  Projections expected = gen.state();
  expected.event_counts[static_cast<std::size_t>(EventType::snapshot_taken) - 1] += 1;
  expected.last_seq = head;

  auto from_snapshot = replay_dir(dir.path(), std::nullopt, false);
  CHECK(render(from_snapshot) == "");
  CHECK(from_snapshot.head == head);
  CHECK(from_snapshot.snapshot_seq == covered);
  CHECK(from_snapshot.events_applied == head - covered);

  auto from_start = replay_dir(dir.path(), 0, false);
  CHECK(render(from_start) == "");
  CHECK(from_start.snapshot_seq == 0);
  CHECK(from_start.events_applied == head);

  CHECK(encode_snapshot(from_snapshot.projections) == encode_snapshot(from_start.projections));
  CHECK(encode_snapshot(from_start.projections) == encode_snapshot(expected));

  SUBCASE("from picks the newest snapshot at or below it") {
    CHECK(replay_dir(dir.path(), covered, false).snapshot_seq == covered);
    CHECK(replay_dir(dir.path(), head, false).snapshot_seq == covered);
    auto before = replay_dir(dir.path(), covered - 1, false);
    CHECK(before.snapshot_seq == 0);
    CHECK(before.events_applied == head);
    CHECK(render(before) == "");
  }

  SUBCASE("verify from the snapshot checks only what follows it") {
    auto r = replay_dir(dir.path(), std::nullopt, true);
    CHECK(render(r) == "");
    CHECK(r.snapshot_seq == covered);
    auto full = replay_dir(dir.path(), 0, true);
    CHECK(render(full) == "");
    CHECK(r.crypto_checks > 0);
    CHECK(r.crypto_checks < full.crypto_checks);
    CHECK(encode_snapshot(r.projections) == encode_snapshot(full.projections));
  }
}

TEST_CASE("ATamperedOrPlantedSnapshotIsReportedAndFromZeroIgnoresIt") {
  TempDir clean_dir("croupier-replay");
  tools::LedgerGenerator gen(small_ledger());
  std::vector<Event> first = gen.genesis();
  gen.bets(20, first);
  append_all(clean_dir.path(), first);
  const Seq covered = first.size();
  {
    auto log = EventLog::open(log_options(clean_dir.path()));
    log->append_snapshot(covered, encode_snapshot(gen.state()), kTimeMs);
  }
  std::vector<Event> second;
  gen.bets(20, second);
  gen.flush(second);
  append_all(clean_dir.path(), second);
  const Seq head = covered + 1 + second.size();
  const Bytes covered_key = RawLmdb::seq_key(covered);

  struct Row {
    std::string name;
    std::function<void(RawLmdb&)> tamper;
    std::optional<Seq> blamed;  // The seq the snapshot problem names, when it is certain.
  };
  const std::vector<Row> rows{
      {"a decodable blob of another state",
       [&](RawLmdb& raw) {
         auto p = decode_snapshot(*raw.get("snapshots", covered_key));
         p.house_result += 1;
         raw.put("snapshots", covered_key, encode_snapshot(p));
       },
       covered + 1},
      {"a byte of last_seq flipped (it claims to cover another seq)",
       [&](RawLmdb& raw) {
         Bytes b = *raw.get("snapshots", covered_key);
         b[b.size() - 25] ^= 0x01;  // last_seq's top byte: the blob ends last_seq, last_batch_id[16], accepted_txs.
         raw.put("snapshots", covered_key, b);
       },
       covered},
      {"a truncated blob",
       [&](RawLmdb& raw) {
         Bytes b = *raw.get("snapshots", covered_key);
         b.resize(b.size() / 2);
         raw.put("snapshots", covered_key, b);
       },
       covered},
      {"a planted snapshot no SnapshotTaken vouches for",
       [&](RawLmdb& raw) {
         Projections p = gen.state();
         p.last_seq = head;
         p.event_counts[static_cast<std::size_t>(EventType::snapshot_taken) - 1] += 1;
         raw.put("snapshots", RawLmdb::seq_key(head), encode_snapshot(p));
       },
       head},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    TempDir dir("croupier-replay");
    copy_log(clean_dir.path(), dir.path());
    {
      RawLmdb raw(dir.path());
      row.tamper(raw);
    }
    auto r = replay_dir(dir.path(), std::nullopt, false);
    CAPTURE(render(r));
    CHECK_FALSE(r.clean());
    if (row.blamed) CHECK(kinds_at(r, *row.blamed).count("snapshot") == 1);

    // from=0 starts from no snapshot, but still checks each stored blob against the digest
    // its SnapshotTaken carries: a tampered blob is reported there, a planted one (no
    // SnapshotTaken) is never looked at.
    auto full = replay_dir(dir.path(), 0, false);
    if (row.blamed != head)  // Every row but the planted snapshot tampers a stored blob.
      CHECK(render(full) == std::to_string(covered + 1) + ":snapshot ");
    else
      CHECK(render(full) == "");
    CHECK(full.snapshot_seq == 0);
    CHECK(full.events_applied == head);
  }
}

TEST_CASE("AFullReplayChecksASnapshotDigestAgainstTheReplayedState") {
  // A snapshot written from a wrong state is vouched for by its own SnapshotTaken; only
  // replaying from the first event shows the digest is not that of the true state.
  TempDir dir("croupier-replay");
  tools::LedgerGenerator gen(small_ledger());
  std::vector<Event> events = gen.genesis();
  gen.bets(15, events);
  append_all(dir.path(), events);
  Projections wrong = gen.state();
  wrong.house_result += 1;
  {
    auto log = EventLog::open(log_options(dir.path()));
    log->append_snapshot(events.size(), encode_snapshot(wrong), kTimeMs);
  }
  auto r = replay_dir(dir.path(), 0, false);
  CHECK(render(r) == std::to_string(events.size() + 1) + ":snapshot ");
}

TEST_CASE("ScanAndDecodeErrorsAreReportedAtTheirSeq") {
  const auto& s = shared();
  const auto& events = s.history.events;
  const Seq bet = seqs_of(events, EventType::tx_admitted)[15];
  const Seq resolved = seqs_of(events, EventType::bet_resolved)[3];
  struct Row {
    std::string name;
    Seq seq;
    std::function<void(const fs::path&)> damage;
    std::string kind;
  };
  const std::vector<Row> rows{
      {"an unknown record version byte", bet,
       [&](const fs::path& dir) {
         RawLmdb raw(dir);
         raw.flip_record_byte(bet, 0, 0x80);
       },
       "unknown_format"},
      {"a record shorter than its header", bet,
       [&](const fs::path& dir) {
         RawLmdb raw(dir);
         raw.set_record(bet, Bytes(10, 1));
       },
       "corrupt_record"},
      {"a missing record", bet,
       [&](const fs::path& dir) {
         RawLmdb raw(dir);
         raw.erase("events", RawLmdb::seq_key(bet));
       },
       "broken_chain"},
      {"a re-hashed payload that does not decode", resolved,
       [&](const fs::path& dir) {
         forge_raw(dir, resolved, static_cast<std::uint16_t>(EventType::bet_resolved), Bytes{1, 2, 3});
       },
       "decode"},
      {"a re-hashed record of an unknown type", resolved,
       [&](const fs::path& dir) { forge_raw(dir, resolved, 999, encode_event(events[resolved - 1])); }, "decode"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    TempDir dir("croupier-replay");
    copy_log(s.dir.path(), dir.path());
    row.damage(dir.path());
    auto r = replay_dir(dir.path(), 0, true);
    CAPTURE(render(r));
    REQUIRE_FALSE(r.problems.empty());
    CHECK(r.problems.front().seq == row.seq);
    CHECK(r.problems.front().kind == row.kind);
  }
}

namespace {

// 15 bets, a snapshot of them, 10 more bets; returns the snapshot's seq.
Seq write_log_with_a_snapshot(const fs::path& dir) {
  tools::LedgerGenerator gen(small_ledger());
  std::vector<Event> first = gen.genesis();
  gen.bets(15, first);
  append_all(dir, first);
  {
    auto log = EventLog::open(log_options(dir));
    log->append_snapshot(first.size(), encode_snapshot(gen.state()), kTimeMs);
  }
  std::vector<Event> second;
  gen.bets(10, second);
  append_all(dir, second);
  return first.size();
}

// As a node's start replays: from the newest snapshot, the chain checked from it on.
ReplayResult start_replay(const fs::path& dir) {
  auto options = log_options(dir);
  options.create_if_missing = false;
  options.audit = true;
  auto log = EventLog::open(options);
  ReplayOptions ro;
  ro.chain_from_snapshot = true;
  return eventlog::replay(*log, ro);
}

}  // namespace

TEST_CASE("DamageBeforeTheSnapshotIsStillFoundWhenStartingFromIt") {
  TempDir dir("croupier-replay");
  const Seq covered = write_log_with_a_snapshot(dir.path());
  const Seq damaged = covered / 2;
  test::flip_payload_byte(dir.path(), damaged, 4);

  auto r = replay_dir(dir.path(), std::nullopt, false);
  CHECK(r.snapshot_seq == covered);
  CHECK(render(r) == std::to_string(damaged) + ":corrupt_record ");

  SUBCASE("a node's start reads from its snapshot on, and leaves the rest to the audit") {
    auto start = start_replay(dir.path());
    CHECK(render(start) == "");
    CHECK(start.records_scanned == start.head - covered + 1);
    CHECK(encode_snapshot(start.projections) == encode_snapshot(r.projections));
  }
}

TEST_CASE("ANodesStartFindsDamageAfterItsSnapshot") {
  TempDir dir("croupier-replay");
  const Seq damaged = write_log_with_a_snapshot(dir.path()) + 5;
  test::flip_payload_byte(dir.path(), damaged, 4);
  CHECK(render(start_replay(dir.path())).find(std::to_string(damaged) + ":corrupt_record") != std::string::npos);
}

TEST_CASE("ALogStillOpenReplaysCleanAfterMoreAppends") {
  // The simulator audits the logs of live nodes: the head that meta recorded at open must
  // not be taken for the head of the last commit.
  const auto& s = shared();
  TempDir dir;
  const auto& events = s.history.events;
  const std::size_t half = events.size() / 2;
  append_all(dir.path(), std::vector<Event>(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(half)));
  auto log = EventLog::open(log_options(dir.path()));
  REQUIRE(log->recorded_head().has_value());
  CHECK(log->recorded_head()->first == half);
  log->append(std::span<const Event>(events.data() + half, events.size() - half), kTimeMs);
  CHECK(log->recorded_head()->first == events.size());
  CHECK(log->recorded_head()->second == log->head_hash());
  ReplayOptions ro;
  ro.from = 0;
  auto r = eventlog::replay(*log, ro);
  CHECK(render(r) == "");
  CHECK(r.head == events.size());
}

TEST_CASE("AnIdAdmittedAgainAfterMemoryForgotItIsStillReportedAsAdmittedTwice") {
  // The last bet's TxAdmitted replaced by the first bet's (chain rehashed): with a window of
  // two finished txs, the first bet has long left the replay's memory; the log's index still
  // names its first admission.
  auto history = make_history(30, true, false);
  const auto admitted = seqs_of(history.events, EventType::tx_admitted);
  Seq first = 0, last = 0;
  for (Seq s : admitted)
    if (std::holds_alternative<Bet>(std::get<TxAdmitted>(history.events[s - 1]).tx)) {
      if (!first) first = s;
      last = s;
    }
  REQUIRE(first < last);
  TempDir dir("croupier-replay");
  append_all(dir.path(), history.events);
  forge(dir.path(), last, history.events[first - 1]);
  for (std::size_t window : {std::size_t{2}, kRecentTxs}) {
    CAPTURE(window);
    auto options = log_options(dir.path());
    options.create_if_missing = false;
    options.audit = true;
    auto log = EventLog::open(options);
    ReplayOptions ro;
    ro.from = 0;
    ro.recent_txs = window;
    auto r = eventlog::replay(*log, ro);
    bool reported = false;
    for (const auto& p : r.problems)
      reported |= p.seq == last && p.kind == "rule" && p.message.find("admitted twice") != std::string::npos;
    CHECK_MESSAGE(reported, render(r));
  }
}
