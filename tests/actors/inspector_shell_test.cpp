// The inspector's shell commands and the admin door, against a whole node under CAF's
// deterministic test coordinator (tests/actors/node_world.hpp): what `croupier shell` shows
// is what these answers hold. The process-level tests (tests/tools/shell_command_test.cpp)
// drive the real binary over the io middleman.
#include <doctest/doctest.h>

#include <variant>

#include <nlohmann/json.hpp>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/admin_door.hpp"
#include "actors/inspector.hpp"
#include "node_world.hpp"

using namespace croupier;
using json = nlohmann::ordered_json;

namespace {

struct ShellWorld : test::NodeWorld {
  caf::scoped_actor client{*system, true};

  // The answer to `words` from `to` (the inspector unless given): JSON, or the error's text.
  std::variant<json, std::string> ask_actor(const caf::actor& to, caf::message msg) {
    client->send(to, std::move(msg));
    std::optional<std::variant<json, std::string>> got;
    REQUIRE(run_until([&] {
      client->receive([&](const std::string& text) { got = json::parse(text); },
                      [&](caf::error& e) { got = system->render(e); }, caf::after(std::chrono::seconds(0)) >> [] {});
      return got.has_value();
    }));
    return *got;
  }
  std::variant<json, std::string> ask(std::vector<std::string> words) {
    return ask_actor(node->actors().inspector, caf::make_message(actors::shell_atom::value, std::move(words)));
  }
  json ok(std::vector<std::string> words) {
    auto a = ask(words);
    if (auto* err = std::get_if<std::string>(&a)) FAIL("`" << words[0] << "` failed: " << *err);
    return std::get<json>(a);
  }
  std::string error(std::vector<std::string> words) {
    auto a = ask(words);
    if (auto* j = std::get_if<json>(&a)) FAIL("`" << words[0] << "` answered " << j->dump());
    return std::get<std::string>(a);
  }

  json row_of(const json& actors, const std::string& name) {
    for (const auto& row : actors)
      if (row.at("name") == name) return row;
    FAIL("no actor " << name << " in " << actors.dump());
    return {};
  }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("ActorsListsEveryActorOfTheNodeWithItsKindMailboxAndMessagesHandled") {
  ShellWorld w;
  auto o = w.options();
  o.local_validators = 3;
  w.start(o);
  json listing = w.ok({"actors"});
  CHECK(listing.at("voters") == 0);
  json actors = listing.at("actors");
  for (const char* name : {"journal", "waiters", "mempool", "router", "committer", "sequencer", "prover", "submitter",
                           "reconciler", "inspector", "validator-0", "validator-1", "validator-2"}) {
    json row = w.row_of(actors, name);
    CAPTURE(row.dump());
    CHECK(row.at("kind") != "?");  // It answered.
    CHECK(row.at("mailbox").get<std::uint64_t>() == 0);
    CHECK(row.at("handled").get<std::uint64_t>() >= 1);  // At least the inspect request.
    CHECK_FALSE(row.at("summary").get<std::string>().empty());
  }
  CHECK(w.row_of(actors, "validator-1").at("kind") == "validator");
  CHECK(w.row_of(actors, "journal").at("kind") == "journal");

  // Messages handled count up: a deposit goes through the mempool and the journal.
  const auto journal_before = w.row_of(actors, "journal").at("handled").get<std::uint64_t>();
  const auto mempool_before = w.row_of(actors, "mempool").at("handled").get<std::uint64_t>();
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  REQUIRE(w.submit(w.deposit(player.public_key, 1000)).final);
  actors = w.ok({"actors"}).at("actors");
  CHECK(w.row_of(actors, "journal").at("handled").get<std::uint64_t>() > journal_before + 1);
  CHECK(w.row_of(actors, "mempool").at("handled").get<std::uint64_t>() > mempool_before + 1);
  // Sorted by actor id.
  for (std::size_t i = 1; i < actors.size(); ++i)
    CHECK(actors[i - 1].at("id").get<std::uint64_t>() < actors[i].at("id").get<std::uint64_t>());

  // inspect by name and by id: the full state.
  json sequencer = w.ok({"inspect", "sequencer"});
  CHECK(sequencer.at("state").at("paused") == false);
  const std::string id = std::to_string(w.row_of(actors, "committer").at("id").get<std::uint64_t>());
  json committer = w.ok({"inspect", id});
  CHECK(committer.at("name") == "committer");
  CHECK(committer.at("state").at("height").get<std::uint64_t>() == 1);
}

TEST_CASE("TxShowsTheVotersSnowballStateWhileUndecidedAndTheRecordOnceDecided") {
  ShellWorld w;
  auto o = w.options();
  o.local_validators = 3;  // k = alpha = 3, beta = 20: twenty successful rounds.
  o.round_interval = std::chrono::milliseconds(100);
  w.start(o);
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  Deposit d = w.deposit(player.public_key, 1000);
  auto out = w.submit(d, std::chrono::milliseconds(0));
  REQUIRE(out.kind == actors::SubmitOutcome::Kind::admitted);
  w.advance(std::chrono::milliseconds(250));  // Two or three rounds.

  json tx = w.ok({"tx", to_hex(out.tx_id)});
  CAPTURE(tx.dump());
  CHECK(tx.at("status") == "admitted");
  CHECK(tx.at("final") == false);
  CHECK(tx.at("deposit_id") == to_hex(d.deposit_id));
  const json& voter = tx.at("voter");
  REQUIRE(voter.is_object());
  CHECK(voter.at("preference") == "accept");
  CHECK(voter.at("polls").get<int>() >= 2);
  CHECK(voter.at("polls").get<int>() < 20);
  CHECK(voter.at("confidence").at(0).get<int>() == voter.at("polls").get<int>());
  CHECK(voter.at("finalized") == false);
  CHECK(voter.at("k") == 3);
  CHECK(voter.at("alpha_preference") == 3);
  CHECK(voter.at("terminations").at(0).at("beta") == 20);
  CHECK(voter.at("last_votes") == json::array({"yes", "yes", "yes"}));
  // The voter is in the actor list and in the mempool.
  json listing = w.ok({"actors"});
  CHECK(listing.at("voters") == 1);
  CHECK(listing.at("voters_listed") == 1);
  CHECK(w.row_of(listing.at("actors"), voter.at("actor").at("name").get<std::string>()).at("kind") == "voter");
  json names = w.ok({"names"});
  CHECK(std::find(names.begin(), names.end(), voter.at("actor").at("name")) != names.end());
  CHECK(std::find(names.begin(), names.end(), "journal") != names.end());
  json mempool = w.ok({"mempool"});
  CHECK(mempool.at("state").at("undecided") == 1);
  CHECK(mempool.at("state").at("undecided_txs").at(0) == to_hex(out.tx_id));
  // The same by deposit id.
  CHECK(w.ok({"tx", to_hex(d.deposit_id)}).at("tx_id") == to_hex(out.tx_id));

  REQUIRE(w.run_until([&] { return w.with_state([&](const Projections& p) { return is_final(p.txs.at(out.tx_id)); }); }));
  tx = w.ok({"tx", to_hex(out.tx_id)});
  CHECK(tx.at("status") == "accepted");
  CHECK(tx.at("final") == true);
  CHECK(tx.at("block_height") == 1);
  CHECK(tx.at("voter").is_null());
}

TEST_CASE("SequencerPauseStopsNewBatchesUntilResume") {
  ShellWorld w;
  w.start();
  CHECK(w.ok({"sequencer", "pause"}).at("sequencer").get<std::string>().rfind("paused", 0) == 0);
  KeyPair player = keypair_from_seed(test::NodeWorld::seed_of(9));
  REQUIRE(w.submit(w.deposit(player.public_key, 1000)).final);
  w.advance(std::chrono::seconds(1));  // Ten batch intervals.
  json batches = w.ok({"batches"});
  CHECK(batches.at("total") == 0);
  CHECK(w.ok({"inspect", "sequencer"}).at("state").at("items_waiting") == 1);

  CHECK(w.ok({"sequencer", "resume"}).at("sequencer").get<std::string>().rfind("running", 0) == 0);
  REQUIRE(w.run_until([&] { return w.ok({"batches", "confirmed"}).at("total") == 1; }));
  batches = w.ok({"batches"});
  CHECK(batches.at("total") == 1);
  const std::string id = batches.at("batches").at(0).at("batch_id");
  CHECK(w.ok({"batch", id}).at("status") == "confirmed");
  CHECK(w.ok({"batches", "failed"}).at("total") == 0);
  CHECK(w.ok({"account", to_hex(player.public_key)}).at("balance") == 1000);
}

TEST_CASE("SnapshotNowAndReconcileNowAreRecordedAndEventsShowThem") {
  ShellWorld w;
  w.start();
  const auto head = w.ok({"status"}).at("log_head_seq").get<std::uint64_t>();
  const auto seq = w.ok({"snapshot", "now"}).at("snapshot_seq").get<std::uint64_t>();
  CHECK(seq == head + 1);
  json tail = w.ok({"events", "tail", "1"});
  CHECK(tail.at("head") == seq);
  REQUIRE(tail.at("events").size() == 1);
  CHECK(tail.at("events").at(0).at("type") == "SnapshotTaken");
  CHECK(contains(tail.at("events").at(0).at("summary"), "snapshot of events 1.." + std::to_string(head)));

  CHECK(contains(w.ok({"reconcile", "now"}).at("reconciliation"), "confirmed 0, missing 0"));
  // From the start: NodeStarted with this build's version.
  json all = w.ok({"events", "since", "0", "1"});
  REQUIRE(all.at("events").size() == 1);
  CHECK(all.at("events").at(0).at("type") == "NodeStarted");
  json since = w.ok({"events", "since", std::to_string(seq)});
  CHECK(since.at("events").empty());

  json status = w.ok({"status"});
  CHECK(status.at("node_id") == to_hex(w.node->log().node_id()));
  CHECK(status.at("log_head_seq") == seq);
  CHECK(status.at("log_head_hash") == to_hex(w.node->log().head_hash()));
  CHECK(status.at("validators") == json::array({"validator-0"}));
  CHECK(status.at("journal_failed") == false);
}

TEST_CASE("BadShellCommandsAreErrorsThatSayWhy") {
  ShellWorld w;
  w.start();
  CHECK(contains(w.error({"bogus"}), "unknown command 'bogus'"));
  CHECK(contains(w.error({"inspect", "nobody"}), "no live actor named or numbered 'nobody'"));
  CHECK(contains(w.error({"inspect"}), "usage: inspect NAME|ID"));
  CHECK(contains(w.error({"tx", "xyz"}), "expected a tx id"));
  CHECK(contains(w.error({"tx", std::string(64, 'a')}), "no tx"));
  CHECK(contains(w.error({"batches", "lost"}), "unknown batch status 'lost'"));
  CHECK(contains(w.error({"batches", "confirmed", "x"}), "N must be a non-negative integer"));
  CHECK(contains(w.error({"batch", std::string(32, '0')}), "no batch"));
  CHECK(contains(w.error({"account", std::string(64, '1')}), "no account"));
  CHECK(contains(w.error({"events", "head"}), "usage: events tail"));
  CHECK(contains(w.error({"sequencer", "stop"}), "usage: sequencer pause|resume"));
  CHECK(contains(w.error({"snapshot"}), "usage: snapshot now"));
  CHECK(contains(w.error({}), "empty command"));
}

TEST_CASE("TheAdminDoorChecksTheTokenAndPassesOnlyShellCommands") {
  ShellWorld w;
  w.start();
  const std::string token = "0123456789abcdef-secret";
  caf::actor door = actors::spawn_admin_door(*w.system, w.node->actors().inspector, token);
  using words = std::vector<std::string>;
  auto wrong = w.ask_actor(door, caf::make_message(actors::shell_atom::value, std::string("0123456789abcdef-secreT"),
                                                   words{"status"}));
  REQUIRE(std::holds_alternative<std::string>(wrong));
  CHECK(contains(std::get<std::string>(wrong), "authentication failed"));
  auto right = w.ask_actor(door, caf::make_message(actors::shell_atom::value, token, words{"status"}));
  REQUIRE(std::holds_alternative<json>(right));
  CHECK(std::get<json>(right).at("node_id") == to_hex(w.node->log().node_id()));
  // The inspector's other messages are not reachable through the door.
  auto metrics = w.ask_actor(door, caf::make_message(actors::metrics_atom::value));
  CHECK(std::holds_alternative<std::string>(metrics));

  // There is no open door: an empty token is refused when the door is made.
  CHECK_THROWS_AS(actors::spawn_admin_door(*w.system, w.node->actors().inspector, ""), std::invalid_argument);
  auto empty = w.ask_actor(door, caf::make_message(actors::shell_atom::value, std::string(), words{"status"}));
  CHECK(std::holds_alternative<std::string>(empty));
  caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
  w.run();
}
