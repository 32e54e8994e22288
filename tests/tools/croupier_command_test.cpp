// The croupier executable, as an operator runs it: `replay` reports a clean log as CLEAN
// (and as the documented JSON), names the seq of a damaged record with exit code 1 and
// refuses a missing directory or a bad option with exit code 2; `node` creates its log
// and keys, records one NodeStarted per start under one node id and exits 0 on SIGTERM.
//
// Method: fork/exec of CROUPIER_BINARY with stdout and stderr captured (test_support.hpp)
// on logs written in temp directories with LedgerGenerator + EventLog (real crypto,
// small). Damage is written with the LMDB C API.
#include <fstream>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
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

// A small real-crypto history in `dir`; returns the generator's final state.
struct Built {
  std::vector<Event> events;
  Projections state;
};
Built build_log(const fs::path& dir) {
  tools::LedgerOptions lo;
  lo.seed = 5;
  lo.accounts = 6;
  lo.block_size = 8;
  lo.batch_size = 15;
  tools::LedgerGenerator gen(lo);
  Built b;
  b.events = gen.genesis();
  gen.bets(30, b.events);
  gen.flush(b.events);
  b.state = gen.state();
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  auto log = EventLog::open(o);
  for (std::size_t at = 0; at < b.events.size(); at += 5)
    log->append(std::span<const Event>(b.events.data() + at, std::min<std::size_t>(5, b.events.size() - at)),
                lo.start_ms + at);
  return b;
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + " signal " + std::to_string(r.signal) + "\n--- stdout\n" + r.out +
         "--- stderr\n" + r.err;
}

}  // namespace

TEST_CASE("ReplayVerifyOfAGeneratedLogIsClean") {
  TempDir dir("croupier-cmd");
  build_log(dir.path());
  auto r = croupier_run({"replay", "--data", dir.path().string(), "--verify"});
  CAPTURE(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "result: CLEAN"));
  CHECK(contains(r.out, "problems: none"));
}

TEST_CASE("ReplayJsonHasTheDocumentedFields") {
  TempDir dir("croupier-cmd");
  auto built = build_log(dir.path());
  auto r = croupier_run({"replay", "--data", dir.path().string(), "--verify", "--json"});
  CAPTURE(describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);  // Throws (fails the test) unless stdout is one JSON document.

  CHECK(j.at("log").at("head_seq").get<Seq>() == built.events.size());
  CHECK(j.at("log").at("snapshot_seq").get<Seq>() == 0);
  CHECK(j.at("log").at("verified").get<bool>() == true);
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
  }

  CHECK(j.at("totals").at("deposits").get<Amount>() == built.state.deposits_total);
  CHECK(j.at("totals").at("house_result").get<std::int64_t>() == built.state.house_result);
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
  auto help = croupier_run({"replay", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--verify"));
}

TEST_CASE("NodeStartsRecordsNodeStartedAndStopsOnSigterm") {
  TempDir dir("croupier-cmd");
  const fs::path data = dir.path() / "node-data";
  const std::string kReady = "waiting for SIGINT/SIGTERM";

  // Starts the node, waits for it to be ready, stops it with `sig`; returns its stdout.
  auto start_stop = [&](int sig) {
    test::Process node({kBinary, "node", "--data", data.string()});
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
