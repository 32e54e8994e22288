// The croupier executable, as an operator runs it: `replay` reports a clean log as CLEAN
// (and as the documented JSON), names the seq of a damaged record with exit code 1 and
// refuses a missing directory or a bad option with exit code 2; checks the node keys
// against --operator-key/--house-key/--sequencer-key or DIR/keys and says when it could
// not; reports a data.mdb whose LMDB pages are damaged (which crashes LMDB) as
// corrupt_storage instead of crashing; `node` creates its log and keys, records one
// NodeStarted per start under one node id, exits 0 on SIGTERM and, over a file-size
// limit, fails with an error instead of dying of SIGXFSZ; raises its descriptor limit for its
// HTTP connections, or serves fewer and says so; `bench log` prints every figure and removes
// its logs.
//
// Method: fork/exec of CROUPIER_BINARY with stdout and stderr captured (test_support.hpp)
// on logs written in temp directories with LedgerGenerator + EventLog (real crypto,
// small). Damage is written with the LMDB C API, or as raw bytes over a page of data.mdb
// found through LMDB (a record's value points into the page that holds it).
#include <doctest/doctest.h>
#include <lmdb.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "eventlog/event_log.hpp"
#include "test_support.hpp"
#include "tools/ledger_generator.hpp"

namespace {

using namespace croupier;
using eventlog::EventLog;
using eventlog::Seq;
using test::ProcessResult;
using test::TempDir;
namespace fs = std::filesystem;

const std::string kBinary = CROUPIER_BINARY;

ProcessResult croupier_run(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_process(argv);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A small history in `dir` (`bets` bets, real crypto unless told otherwise, settled in
// batches unless `settle` is false); returns the generator's final state and the node's
// key seeds.
struct Built {
  std::vector<Event> events;
  Projections state;
  Seed operator_seed{}, house_seed{}, sequencer_seed{};
};
Built build_log(const fs::path& dir, std::size_t bets = 30, bool real_crypto = true, bool settle = true) {
  tools::LedgerOptions lo;
  lo.seed = 5;
  lo.accounts = 6;
  lo.block_size = 8;
  lo.batch_size = settle ? 15 : 1'000'000'000;
  lo.real_crypto = real_crypto;
  tools::LedgerGenerator gen(lo);
  Built b;
  b.events = gen.genesis();
  gen.bets(bets, b.events);
  if (settle) gen.flush(b.events);
  b.state = gen.state();
  b.operator_seed = gen.operator_key().seed();
  b.house_seed = gen.house_key().seed();
  b.sequencer_seed = gen.sequencer_key().seed();
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  auto log = EventLog::open(o);
  for (std::size_t at = 0; at < b.events.size(); at += 5)
    log->append(std::span<const Event>(b.events.data() + at, std::min<std::size_t>(5, b.events.size() - at)),
                lo.start_ms + at);
  return b;
}

using test::describe;

// Writes DIR/keys/<name> holding `seed` in hex, mode 0600, as `croupier node` does.
void write_seed_file(const fs::path& dir, const std::string& name, const Seed& seed) {
  fs::create_directories(dir / "keys");
  fs::path file = dir / "keys" / name;
  std::ofstream(file) << to_hex(seed) << "\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

// The number of the data.mdb page that holds record `seq` of the `events` database. The
// value LMDB returns points into its page-aligned memory map, inside the page that stores
// it, and every page starts with its own number (a u64).
std::uint64_t page_of_record(const fs::path& dir, Seq seq, std::uint64_t* page_size) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == MDB_SUCCESS);
  REQUIRE(mdb_env_set_maxdbs(env, 16) == MDB_SUCCESS);
  REQUIRE(mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0600) == MDB_SUCCESS);
  MDB_stat stat;
  REQUIRE(mdb_env_stat(env, &stat) == MDB_SUCCESS);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == MDB_SUCCESS);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, "events", 0, &dbi) == MDB_SUCCESS);
  Bytes key = test::RawLmdb::seq_key(seq);
  MDB_val k{key.size(), key.data()}, v;
  REQUIRE(mdb_get(txn, dbi, &k, &v) == MDB_SUCCESS);
  auto addr = reinterpret_cast<std::uintptr_t>(v.mv_data);
  std::uint64_t page = 0;
  std::memcpy(&page, reinterpret_cast<const void*>(addr - addr % stat.ms_psize), sizeof page);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  *page_size = stat.ms_psize;
  return page;
}

// Overwrites `bytes` at `offset` of page `page` of DIR/data.mdb.
void overwrite_page(const fs::path& dir, std::uint64_t page, std::uint64_t page_size, std::size_t offset,
                    const Bytes& bytes) {
  std::fstream f(dir / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekp(static_cast<std::streamoff>(page * page_size + offset));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.flush();
  REQUIRE(f);
}

}  // namespace

TEST_CASE("ReplayVerifyOfAGeneratedLogIsClean") {
  TempDir dir("croupier-cmd");
  auto built = build_log(dir.path());
  auto r = croupier_run({"replay", "--data", dir.path().string(), "--verify"});
  CAPTURE(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "result: CLEAN"));
  CHECK(contains(r.out, "problems: none"));
  CHECK(contains(r.out, "hash chain of all " + std::to_string(built.events.size()) + " records"));
  // No key options and no DIR/keys: the report says the keys were not checked.
  CHECK(contains(r.out, "NOT checked against any outside copy"));
}

TEST_CASE("ReplayJsonHasTheDocumentedFields") {
  TempDir dir("croupier-cmd");
  auto built = build_log(dir.path());
  auto r = croupier_run({"replay", "--data", dir.path().string(), "--verify", "--json"});
  CAPTURE(describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);  // Throws (fails the test) unless stdout is one JSON document.

  Hash32 head_hash{};
  {
    eventlog::Options o;
    o.dir = dir.path();
    o.create_if_missing = false;
    head_hash = EventLog::open(o)->head_hash();
  }
  const auto& log = j.at("log");
  CHECK(log.at("dir").get<std::string>() == dir.path().string());
  CHECK(log.at("head_seq").get<Seq>() == built.events.size());
  CHECK(log.at("head_hash").get<std::string>() == to_hex(head_hash));
  CHECK(log.at("snapshot_seq").get<Seq>() == 0);
  CHECK(log.at("events_applied").get<std::uint64_t>() == built.events.size());
  CHECK(log.at("verified").get<bool>() == true);
  CHECK(log.at("crypto_checks").get<std::uint64_t>() > 0);
  CHECK(log.at("seconds").is_number());
  CHECK(log.at("seconds").get<double>() >= 0);
  CHECK(log.at("keys_source").get<std::string>() == "log");  // No DIR/keys, no key options.
  CHECK(j.at("clean").get<bool>() == true);
  CHECK(j.at("problems").is_array());
  CHECK(j.at("problems").empty());

  const auto& counts = j.at("event_counts");
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    std::string name(event_type_name(static_cast<EventType>(i + 1)));
    CAPTURE(name);
    CHECK(counts.at(name).get<std::uint64_t>() == built.state.event_counts[i]);
  }

  const auto& accounts = j.at("accounts");
  REQUIRE(accounts.is_array());
  CHECK(accounts.size() == built.state.accounts.all().size());
  for (const auto& a : accounts) {
    auto key = fixed_from_hex<32>(a.at("account").get<std::string>());
    const Account* want = built.state.accounts.find(key);
    REQUIRE(want);
    CHECK(a.at("balance").get<Amount>() == want->balance);
    CHECK(a.at("reserved").get<Amount>() == want->reserved);
    CHECK(a.at("nonce").get<std::uint64_t>() == want->nonce);
    CHECK(a.at("pending_nonce").get<std::uint64_t>() == want->pending_nonce);
    CHECK(a.at("settled_balance").get<Amount>() == built.state.settled.balance(key).value_or(0));
  }

  const auto& totals = j.at("totals");
  CHECK(totals.at("deposits").get<Amount>() == built.state.deposits_total);
  REQUIRE(totals.at("balances").is_string());  // A decimal string: the sum may exceed 64 bits.
  CHECK(totals.at("balances").get<std::string>() == std::to_string(built.state.accounts.total_balance()));
  CHECK(totals.at("house_result").get<std::int64_t>() == built.state.house_result);
  CHECK(totals.at("settled_deposits").get<Amount>() == built.state.settled_deposits);
  CHECK(totals.at("settled_house_result").get<std::int64_t>() == built.state.settled_house_result);
  CHECK(j.at("batches").is_object());
  CHECK(j.at("batches").at("confirmed").get<std::size_t>() == built.state.batches.size());
  CHECK(j.at("blocks").at("height").get<std::uint64_t>() == built.state.block_height);
  CHECK(j.at("blocks").at("hash").get<std::string>() == to_hex(built.state.block_hash));
  CHECK(j.at("state_root").get<std::string>() == to_hex(built.state.settled.root()));
}

TEST_CASE("ReplayOfAFlippedByteExitsOneAndNamesTheSeq") {
  TempDir dir("croupier-cmd");
  auto built = build_log(dir.path());
  Seq target = 0;
  for (std::size_t i = 0; i < built.events.size(); ++i)
    if (std::holds_alternative<BetResolved>(built.events[i])) target = i + 1;  // The last one.
  REQUIRE(target > 0);
  test::flip_payload_byte(dir.path(), target, 20);

  for (bool verify : {false, true}) {
    CAPTURE(verify);
    std::vector<std::string> args{"replay", "--data", dir.path().string()};
    if (verify) args.push_back("--verify");
    auto r = croupier_run(args);
    CAPTURE(describe(r));
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "seq " + std::to_string(target) + " [corrupt_record]"));
    CHECK(contains(r.out, "result: NOT CLEAN"));
    CHECK(contains(r.out, "the first at seq " + std::to_string(target) + ")"));
  }

  auto j = croupier_run({"replay", "--data", dir.path().string(), "--json"});
  CHECK(j.exit_code == 1);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc.at("clean").get<bool>() == false);
  REQUIRE_FALSE(doc.at("problems").empty());
  CHECK(doc.at("problems").at(0).at("seq").get<Seq>() == target);
  CHECK(doc.at("problems").at(0).at("kind").get<std::string>() == "corrupt_record");
}

TEST_CASE("ReplayOfADamagedHeadRecordReportsItInsteadOfRefusingToOpen") {
  TempDir dir("croupier-cmd");
  auto built = build_log(dir.path());
  Seq head = built.events.size();
  {
    test::RawLmdb raw(dir.path());
    auto record = raw.record(head);
    record.resize(10);  // Shorter than a record header.
    raw.set_record(head, record);
  }
  auto r = croupier_run({"replay", "--data", dir.path().string()});
  CAPTURE(describe(r));
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "seq " + std::to_string(head) + " [corrupt_record]"));
  // The damaged record's hash could not be checked: the report does not say "all".
  CHECK(contains(r.out, "hash chain of " + std::to_string(head - 1) + " of " + std::to_string(head) + " records"));
}

TEST_CASE("ReplayOfAMissingDirectoryExitsTwoNamingIt") {
  TempDir dir("croupier-cmd");
  for (auto target : {dir.path() / "nowhere", dir.path()}) {
    CAPTURE(target.string());
    auto r = croupier_run({"replay", "--data", target.string()});
    CAPTURE(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, target.string()));
    CHECK(r.out == "");
  }
  // Looking did not create anything.
  CHECK_FALSE(fs::exists(dir.path() / "nowhere"));
  CHECK_FALSE(fs::exists(dir.path() / "data.mdb"));
}

TEST_CASE("ReplayUsageErrorsExitTwoPointingAtHelp") {
  TempDir dir("croupier-cmd"), log_dir("croupier-cmd");
  build_log(log_dir.path());  // So that a malformed value, not a missing log, is what is refused.
  struct Row {
    std::string name;
    std::vector<std::string> args;
  };
  const std::vector<Row> rows{
      {"unknown option", {"replay", "--data", dir.path().string(), "--bogus"}},
      {"no --data", {"replay"}},
      {"--from not a number", {"replay", "--data", log_dir.path().string(), "--from", "abc"}},
      {"stray argument", {"replay", "--data", dir.path().string(), "extra"}},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto r = croupier_run(row.args);
    CAPTURE(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "--help"));
  }
  // The key options: all three or none, each 32 bytes of hex; the error names the option.
  const std::string k(64, 'a');
  const std::vector<std::pair<std::vector<std::string>, std::string>> key_rows{
      {{"--operator-key", k, "--house-key", k}, "missing --sequencer-key"},
      {{"--sequencer-key", k}, "missing --operator-key, --house-key"},
      {{"--operator-key", k, "--house-key", "xyz", "--sequencer-key", k}, "--house-key"},
      {{"--operator-key", k, "--house-key", k, "--sequencer-key", k + "aa"}, "--sequencer-key"},
  };
  for (const auto& [extra, named] : key_rows) {
    std::vector<std::string> args{"replay", "--data", log_dir.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = croupier_run(args);
    CAPTURE(named);
    CAPTURE(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, named));
    CHECK(contains(r.err, "--help"));
    CHECK(r.out == "");
  }
  auto help = croupier_run({"replay", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--verify"));
}

TEST_CASE("ReplayChecksTheNodeKeysAgainstTheOptionsOrTheKeyFiles") {
  TempDir dir("croupier-cmd");
  auto built = build_log(dir.path());
  const std::string data = dir.path().string();
  auto pub = [](const Seed& s) { return to_hex(keypair_from_seed(s).public_key); };
  const Seed other = fixed_from_hex<32>(std::string(64, '7'));
  auto run_json = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"replay", "--data", data, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = croupier_run(args);
    CAPTURE(describe(r));
    REQUIRE((r.exit_code == 0 || r.exit_code == 1));
    auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("clean").get<bool>() == (r.exit_code == 0));
    return j;
  };
  auto has_keys_problem = [](const nlohmann::json& j) {
    for (const auto& p : j.at("problems"))
      if (p.at("kind") == "keys") return true;
    return false;
  };

  SUBCASE("from the log when there is nothing outside it") {
    auto j = run_json({});
    CHECK(j.at("clean").get<bool>());
    CHECK(j.at("log").at("keys_source") == "log");
  }
  SUBCASE("the right keys as options") {
    auto j = run_json({"--operator-key", pub(built.operator_seed), "--house-key", pub(built.house_seed),
                       "--sequencer-key", pub(built.sequencer_seed)});
    CHECK(j.at("clean").get<bool>());
    CHECK(j.at("log").at("keys_source") == "options");
    auto text = croupier_run({"replay", "--data", data, "--operator-key", pub(built.operator_seed), "--house-key",
                              pub(built.house_seed), "--sequencer-key", pub(built.sequencer_seed)});
    CAPTURE(describe(text));
    CHECK(text.exit_code == 0);
    CHECK(contains(text.out, "checked against --operator-key"));
    CHECK_FALSE(contains(text.out, "NOT checked against"));
  }
  SUBCASE("a wrong key as an option") {
    auto j = run_json({"--operator-key", pub(built.operator_seed), "--house-key", pub(other), "--sequencer-key",
                       pub(built.sequencer_seed)});
    CHECK_FALSE(j.at("clean").get<bool>());
    CHECK(has_keys_problem(j));
    CHECK(j.at("log").at("keys_source") == "options");
  }
  SUBCASE("the right seeds in DIR/keys") {
    write_seed_file(dir.path(), "operator.seed", built.operator_seed);
    write_seed_file(dir.path(), "house.seed", built.house_seed);
    write_seed_file(dir.path(), "sequencer.seed", built.sequencer_seed);
    auto j = run_json({});
    CHECK(j.at("clean").get<bool>());
    CHECK(j.at("log").at("keys_source") == "key files");
  }
  SUBCASE("a wrong seed in DIR/keys") {
    write_seed_file(dir.path(), "operator.seed", built.operator_seed);
    write_seed_file(dir.path(), "house.seed", built.house_seed);
    write_seed_file(dir.path(), "sequencer.seed", other);
    auto j = run_json({});
    CHECK_FALSE(j.at("clean").get<bool>());
    CHECK(has_keys_problem(j));
    CHECK(j.at("log").at("keys_source") == "key files");
  }
  SUBCASE("options win over DIR/keys") {
    write_seed_file(dir.path(), "operator.seed", other);
    write_seed_file(dir.path(), "house.seed", other);
    write_seed_file(dir.path(), "sequencer.seed", other);
    auto j = run_json({"--operator-key", pub(built.operator_seed), "--house-key", pub(built.house_seed),
                       "--sequencer-key", pub(built.sequencer_seed)});
    CHECK(j.at("clean").get<bool>());
    CHECK(j.at("log").at("keys_source") == "options");
  }
  SUBCASE("only some seed files: the log's keys, said so") {
    write_seed_file(dir.path(), "operator.seed", other);
    auto j = run_json({});
    CHECK(j.at("clean").get<bool>());
    CHECK(j.at("log").at("keys_source") == "log");
  }
  SUBCASE("a malformed seed file is an error naming it") {
    write_seed_file(dir.path(), "operator.seed", built.operator_seed);
    write_seed_file(dir.path(), "house.seed", built.house_seed);
    write_seed_file(dir.path(), "sequencer.seed", built.sequencer_seed);
    std::ofstream(dir.path() / "keys" / "house.seed") << "not-hex\n";
    auto r = croupier_run({"replay", "--data", data});
    CAPTURE(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "house.seed"));
  }
}

// LMDB keeps no checksums: a damaged page header makes it read outside the page and crash
// the process (or, for some damage, it hands back garbage records). `croupier replay`
// audits in a child process, so either way the result is a NOT CLEAN report, exit 1.
TEST_CASE("ReplayOfADamagedLmdbPageReportsItAndNeverCrashes") {
  TempDir base("croupier-cmd");
  // More than 1024 records, so that the child can report progress before it meets the
  // damage. Unsigned and unsettled: the records only need to be many.
  auto built = build_log(base.path(), 600, /*real_crypto=*/false, /*settle=*/false);
  const Seq head = built.events.size();
  REQUIRE(head > 1800);
  std::uint64_t page_size = 0;
  // A leaf page of the events database after the first progress report and before the
  // last page (opening the log reads the head record): the scan meets the damage.
  const Seq target = 1500;
  const std::uint64_t page = page_of_record(base.path(), target, &page_size);
  REQUIRE(page >= 2);  // Pages 0 and 1 are LMDB's meta pages.
  REQUIRE(page != page_of_record(base.path(), head, &page_size));
  REQUIRE(page != page_of_record(base.path(), 1024, &page_size));

  struct Damage {
    std::string name;
    std::size_t offset;  // In the page: pgno u64, pad u16, flags u16, lower u16, upper u16, node offsets u16...
    Bytes bytes;
    std::string kind;  // The problem reported.
  };
  const std::vector<Damage> damages{
      // The page claims ~32k nodes: LMDB walks off the page, and either the audit crashes
      // or the scan ends there as if the log did (which one depends on what lies beyond the
      // page): both are reported.
      {"lower and upper 0xffff", 12, Bytes{0xff, 0xff, 0xff, 0xff}, "corrupt_storage|io|broken_chain"},
      // Not a leaf any more: an assertion in LMDB aborts the audit.
      {"flags 0", 10, Bytes{0x00, 0x00}, "corrupt_storage"},
      // Node offsets pointing at the page header: LMDB returns garbage records.
      {"node offsets 0", 16, Bytes(32, 0x00), "corrupt_record"},
  };
  for (const auto& d : damages) {
    CAPTURE(d.name);
    TempDir dir("croupier-cmd");
    fs::copy(base.path(), dir.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    overwrite_page(dir.path(), page, page_size, d.offset, d.bytes);

    auto text = croupier_run({"replay", "--data", dir.path().string()});
    CAPTURE(describe(text));
    CHECK(text.signal == 0);  // Never a crash of the croupier process itself.
    CHECK(text.exit_code == 1);
    CHECK(contains(text.out, "result: NOT CLEAN"));
    // d.kind may name two kinds ("a|b"): either is the right report.
    auto named = [&](const std::string& kind) { return ("|" + d.kind + "|").find("|" + kind + "|") != std::string::npos; };

    auto json = croupier_run({"replay", "--data", dir.path().string(), "--json"});
    CAPTURE(describe(json));
    CHECK(json.signal == 0);
    REQUIRE(json.exit_code == 1);
    auto j = nlohmann::json::parse(json.out);  // One JSON document, crash or not.
    CHECK(j.at("clean").get<bool>() == false);
    CHECK(j.at("log").at("dir").get<std::string>() == dir.path().string());
    CHECK(j.at("log").at("head_seq").get<Seq>() == head);
    CHECK(j.at("log").at("keys_source").get<std::string>() == "log");
    REQUIRE_FALSE(j.at("problems").empty());
    const auto& p = j.at("problems").at(0);
    const std::string kind = p.at("kind").get<std::string>();
    CHECK_MESSAGE(named(kind), kind);
    CHECK(contains(text.out, "[" + kind + "]"));
    if (kind == "io" || kind == "broken_chain") {
      // The scan ended at the damaged page: the records after it are named, and the indexes
      // were not judged against events that were never read.
      CHECK(contains(json.out, "could not be read: the scan ended at seq"));
      // Where the damaged page is: a 4 KiB page holds a few dozen records.
      CHECK(p.at("seq").get<Seq>() + 64 >= target);
      CHECK(p.at("seq").get<Seq>() <= target + 64);
      CHECK(contains(text.out, "indexes NOT checked (damaged records)"));
    }
    for (const auto& other : j.at("problems")) CHECK(other.at("kind").get<std::string>() != "index");
    if (kind == "corrupt_storage") {
      CHECK(contains(text.out, "LMDB page structure"));
      CHECK(j.at("problems").size() == 1);
      // The last progress the child reported (every 1024 records), before the damage. The
      // records are read ahead of the checks, so the crash may come before the report at 1024.
      CHECK(p.at("seq").get<Seq>() % 1024 == 0);
      CHECK(p.at("seq").get<Seq>() < target);
      CHECK(contains(p.at("message").get<std::string>(), "SIG"));
    }
  }
}

TEST_CASE("NodeStartsServesHttpRecordsNodeStartedAndStopsOnSigterm") {
  TempDir dir("croupier-cmd");
  const fs::path data = dir.path() / "node-data";
  const std::string kReady = "ready; SIGINT/SIGTERM stops";

  // Starts the node, waits for it to be ready, stops it with `sig`; returns its stdout.
  auto start_stop = [&](int sig) {
    test::Process node({kBinary, "node", "--data", data.string(), "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0"});
    bool ready = node.read_until(kReady);
    CAPTURE(node.out());
    CAPTURE(node.err());
    REQUIRE(ready);
    node.send(sig);
    auto r = node.wait();
    CAPTURE(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(r.signal == 0);
    CHECK(contains(r.out, sig == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM"));
    return r.out;
  };
  // The node id is the hex after "croupier node " on the first line.
  auto node_id_in = [](const std::string& out) {
    auto line = out.substr(0, out.find('\n'));
    return line.substr(std::string("croupier node ").size());
  };
  auto node_started_count = [&] {
    auto r = croupier_run({"replay", "--data", data.string(), "--json"});
    CAPTURE(describe(r));
    CHECK(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("clean").get<bool>());
    return j.at("event_counts").at("NodeStarted").get<int>();
  };

  std::string first = start_stop(SIGTERM);
  CHECK(node_started_count() == 1);
  // The start-up lines, in the format the README documents for tooling.
  {
    std::istringstream lines(first);
    const std::vector<std::string> formats{
        "croupier node [0-9a-f]{32}",
        "  http:      http://127\\.0\\.0\\.1:[0-9]+",
        "  admin:     127\\.0\\.0\\.1:[0-9]+ \\(croupier shell --connect 127\\.0\\.0\\.1:[0-9]+ --data /.*node-data\\)",
        "  data:      /.*node-data \\(log head seq [0-9]+, block height [0-9]+\\)",
        "  operator:  [0-9a-f]{64}",
        "  house:     [0-9a-f]{64}",
        "  sequencer: [0-9a-f]{64}",
        "  node key:  [0-9a-f]{64} \\(signs receipts\\)",
        "  validators: [0-9]+, undecided txs resumed: [0-9]+",
        "ready; SIGINT/SIGTERM stops"};
    for (const auto& format : formats) {
      std::string line;
      std::getline(lines, line);
      CAPTURE(line);
      CHECK(std::regex_match(line, std::regex(format)));
    }
  }
  auto plain = croupier_run({"replay", "--data", data.string()});
  CHECK(plain.exit_code == 0);
  CHECK(contains(plain.out, "result: CLEAN"));

  std::string second = start_stop(SIGINT);
  CHECK(node_started_count() == 2);
  CHECK(node_id_in(first).size() == 32);
  CHECK(node_id_in(first) == node_id_in(second));

  for (std::string name : {"operator.seed", "house.seed", "sequencer.seed"}) {
    CAPTURE(name);
    fs::path key = data / "keys" / name;
    struct stat st {};
    REQUIRE(::stat(key.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }

  // The log agrees: two NodeStarted, both naming the log's node id, with the same keys.
  eventlog::Options o;
  o.dir = data;
  o.create_if_missing = false;
  auto log = EventLog::open(o);
  CHECK(to_hex(log->node_id()) == node_id_in(first));
  std::vector<NodeStarted> starts;
  log->scan(1, [&](const eventlog::RecordView& r) {
    Event e = decode_event(r.type, r.payload);
    if (auto* s = std::get_if<NodeStarted>(&e)) starts.push_back(*s);
    return true;
  });
  REQUIRE(starts.size() == 2);
  CHECK(starts[0].node_id == log->node_id());
  CHECK(starts[1].node_id == log->node_id());
  CHECK(starts[0].house_key == starts[1].house_key);
  CHECK(starts[0].operator_key == starts[1].operator_key);
  CHECK(starts[0].sequencer_key == starts[1].sequencer_key);
}

// Past a file-size limit the kernel sends SIGXFSZ, which by default kills the process in
// the middle of an LMDB write; croupier ignores it, so the write fails and is reported.
TEST_CASE("NodeOverAFileSizeLimitFailsWithAnErrorInsteadOfDying") {
  TempDir dir("croupier-cmd");
  const fs::path data = dir.path() / "node-data";
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  REQUIRE((old.rlim_max == RLIM_INFINITY || old.rlim_max > 16384));
  std::optional<test::Process> node;
  {
    // Only the child inherits the limit: it is set around the fork and restored at once.
    rlimit small = old;
    small.rlim_cur = 16384;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    try {
      node.emplace(std::vector<std::string>{kBinary, "node", "--data", data.string(), "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0"});
    } catch (...) {
      ::setrlimit(RLIMIT_FSIZE, &old);
      throw;
    }
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
  }
  // A node that somehow started is stopped; the one expected here has already failed.
  if (node->read_until("ready; SIGINT/SIGTERM stops", std::chrono::seconds(10))) node->send(SIGTERM);
  auto r = node->wait();
  CAPTURE(describe(r));
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 2);
  CHECK((contains(r.err, "file size limit") || contains(r.err, "no space")));
}

// Each HTTP connection is a descriptor: a node whose soft limit is too low for
// croupier.http-max-connections raises it towards the hard limit, and when even the hard
// limit is too low says so and serves fewer connections (rather than failing accepts once
// the descriptors run out).
TEST_CASE("NodeRaisesItsDescriptorLimitToFitTheConnectionLimitOrServesFewerAndSaysSo") {
  TempDir dir("croupier-cmd");
  rlimit lim{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  REQUIRE((lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= 10256));  // Room for the defaults.
  // Runs the node under `ulimits` (shell commands) until ready, then stops it; returns its
  // soft descriptor limit while it ran, and its stderr.
  auto run_under = [&](const std::string& name, const std::string& ulimits) {
    const fs::path data = dir.path() / name;
    test::Process node({"/bin/sh", "-c", ulimits + "; exec '" + kBinary + "' node --data '" + data.string() +
                                             "' --http 127.0.0.1:0 --admin off"});
    bool ready = node.read_until("ready; SIGINT/SIGTERM stops");
    CAPTURE(node.err());
    REQUIRE(ready);
    std::ifstream limits("/proc/" + std::to_string(node.pid()) + "/limits");
    std::string line;
    unsigned long long soft = 0;
    while (std::getline(limits, line))
      if (line.rfind("Max open files", 0) == 0) std::istringstream(line.substr(14)) >> soft;
    node.send(SIGTERM);
    auto r = node.wait();
    CAPTURE(describe(r));
    CHECK(r.exit_code == 0);
    return std::pair{soft, r.err};
  };
  auto [raised, quiet] = run_under("raised", "ulimit -Sn 512");
  CHECK(raised >= 10256);
  CHECK_FALSE(contains(quiet, "descriptor limit"));
  auto [capped, said] = run_under("capped", "ulimit -Sn 512 && ulimit -Hn 1024");
  CHECK(capped == 1024);
  CHECK(contains(said, "croupier.http-max-connections 10000 does not fit the descriptor limit"));
  CHECK(contains(said, "serving at most 768 connections"));
}

namespace {

// A benchmark's --json output: metric -> value; each line {"metric", "value", "unit"}.
std::map<std::string, double> figures_of(const std::string& out) {
  std::map<std::string, double> figures;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    REQUIRE(j.size() == 3);
    REQUIRE(j["unit"].is_string());
    figures[j["metric"].get<std::string>()] = j["value"].get<double>();
  }
  return figures;
}

}  // namespace

// Not a measurement (the figures are machine-dependent): every documented figure is
// printed as a JSON line with a positive value, the ceilings next to what they bound, and
// the benchmark's logs are gone afterwards.
TEST_CASE("BenchLogPrintsEveryFigureAndCleansUp") {
  TempDir dir("croupier-bench");
  auto where = dir.path() / "logs";
  auto r = croupier_run({"bench", "log", "--json", "--dir", where.string(), "--seconds", "1", "--replay-events", "3000",
                         "--verify-bets", "10"});
  CAPTURE(describe(r));
  REQUIRE(r.exit_code == 0);
  auto figures = figures_of(r.out);
  for (const char* metric :
       {"log_append_events_per_s_group_1", "log_append_events_per_s_group_1000", "log_append_events_per_s_group_10000",
        "disk_durable_write_mb_per_s", "log_append_bytes_written_per_event_group_1000",
        "log_append_disk_ceiling_events_per_s_group_1000", "log_append_cpu_ceiling_events_per_s_group_1000",
        "log_append_fraction_of_ceiling_pct_group_1000", "log_append_events_per_s_group_1000_bet_lifecycle",
        "replay_events_per_s", "replay_payload_bytes_per_event", "replay_hashing_ceiling_events_per_s",
        "verify_ceiling_events_per_s", "replay_verify_events_per_s", "replay_verify_fraction_of_ceiling_pct"}) {
    CAPTURE(metric);
    REQUIRE(figures.contains(metric));
    CHECK(figures[metric] > 0);
  }
  // A group of 1000 bets writes at least their records (about 245 bytes each).
  CHECK(figures["log_append_bytes_written_per_event_group_1000"] > 200);
  CHECK(figures["replay_events"] >= 3000);
  CHECK_FALSE(fs::exists(where));
}

// Not a measurement either: a short soak prints RSS at every tenth, the slopes, the snapshot,
// log and restart figures, and leaves nothing behind (the node it started is stopped).
TEST_CASE("BenchSoakPrintsEveryFigureAndCleansUp") {
  TempDir dir("croupier-soak");
  auto where = dir.path() / "soak";
  auto r = croupier_run({"bench", "soak", "--json", "--dir", where.string(), "--bets", "400", "--clients", "8",
                         "--recent-txs", "50"});
  CAPTURE(describe(r));
  REQUIRE(r.exit_code == 0);
  auto figures = figures_of(r.out);
  for (int pct = 10; pct <= 100; pct += 10) {
    CAPTURE(pct);
    CHECK(figures["rss_at_" + std::to_string(pct) + "pct_bytes"] > 1e6);
    CHECK(figures["rss_anon_at_" + std::to_string(pct) + "pct_bytes"] > 0);
  }
  for (const char* metric : {"rss_slope_bytes_per_bet", "rss_anon_slope_bytes_per_bet", "snapshots_taken",
                             "snapshot_longest_encode_ms", "snapshot_longest_journal_ms", "snapshot_bytes"}) {
    CAPTURE(metric);
    CHECK(figures.contains(metric));
  }
  CHECK(figures["bets_finalized_per_s"] > 0);
  CHECK(figures["log_bytes_per_bet"] > 200);  // At least its TxAdmitted.
  CHECK(figures["restart_seconds"] > 0);
  CHECK(figures["rss_after_restart_bytes"] > 1e6);
  CHECK_FALSE(fs::exists(where));
  auto bad = croupier_run({"bench", "soak", "--bets", "5"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "--bets must be at least 100"));
}

// Not a measurement: bench node with --batch sends its throughput phase's bets through POST
// /v1/bets/batch (one bet of each of its players per batch), and every one must be final.
TEST_CASE("BenchNodeWithBatchesFinalizesEveryBetOfEveryBatch") {
  TempDir dir("croupier-bench-node");
  auto where = dir.path() / "node";
  auto r = croupier_run({"bench", "node", "--json", "--dir", where.string(), "--batch", "5", "--clients", "4",
                         "--latency-clients", "2", "--seconds", "1"});
  CAPTURE(describe(r));
  REQUIRE(r.exit_code == 0);
  auto figures = figures_of(r.out);
  CHECK(figures["bets_finalized_per_s"] > 0);
  CHECK(figures["crypto_ceiling_bets_per_s"] > 0);
  CHECK(contains(r.err, "funding 24 players"));
  CHECK(contains(r.err, "5 bets a request"));
  CHECK_FALSE(fs::exists(where));
  auto bad = croupier_run({"bench", "node", "--batch", "0"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "--batch must be 1..1000"));
}

TEST_CASE("OtherSubcommandsHelpAndUnknownCommand") {
  auto help = croupier_run({"snowball", "--help"});
  CAPTURE(describe(help));
  CHECK(help.exit_code == 0);
  CHECK_FALSE(help.out.empty());

  auto bogus = croupier_run({"bogus"});
  CAPTURE(describe(bogus));
  CHECK(bogus.exit_code == 2);
  CHECK(contains(bogus.err, "unknown command 'bogus'"));

  auto none = croupier_run({});
  CHECK(none.exit_code == 2);
}

TEST_CASE("KeygenWritesAPrivateSeedFileAndNeverOverwritesOne") {
  TempDir dir("croupier-keygen");
  auto file = (dir.path() / "player.seed").string();
  auto r = croupier_run({"keygen", "--out", file, "--json"});
  CAPTURE(describe(r));
  REQUIRE(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out);
  auto account = doc.at("account").get<std::string>();
  CHECK(account.size() == 64);
  auto mode = fs::status(file).permissions() & fs::perms::all;
  CHECK(mode == (fs::perms::owner_read | fs::perms::owner_write));
  // The seed in the file derives the printed account.
  std::ifstream in(file);
  std::string seed_hex;
  in >> seed_hex;
  CHECK(to_hex(keypair_from_seed(fixed_from_hex<32>(seed_hex)).public_key) == account);
  auto again = croupier_run({"keygen", "--out", file});
  CHECK(again.exit_code == 2);
  CHECK(contains(again.err, "refusing to overwrite"));
  std::ifstream still(file);
  std::string unchanged;
  still >> unchanged;
  CHECK(unchanged == seed_hex);
}

