// The event feed, GET /v1/events, against the real `croupier node` over real sockets: every
// durable event in log order with its seq as the SSE id, a resume with Last-Event-ID, the
// `types` filter, heartbeats, live events, 400s for a bad request, Croupier-Numbers; events
// served before a kill -9 are in the log after it, byte for byte, and `croupier client follow`
// rides through the restart without a gap or a repeat; a consumer that stops reading is
// disconnected with a reason in the node's log while bets stay final.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "node_process.hpp"
#include "player_support.hpp"
#include "readme_blocks.hpp"
#include "test_support.hpp"
#include "tools/event_stream.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace {

using namespace croupier;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kBinary = CROUPIER_BINARY;

// A node on a fresh data directory with `config` (a [croupier] section's lines).
struct FeedNode : test::NodeProcess {
  using NodeProcess::NodeProcess;
  std::uint64_t log_head() {
    tools::HttpClient http("127.0.0.1", port);
    return json::parse(http.request("GET", "/v1/health").body).at("log_head").get<std::uint64_t>();
  }
};

// `players` funded players, each with `bets` final bets (nonces 1..bets); the bets placed.
std::vector<Bet> place_bets(FeedNode& node, std::size_t players, std::uint64_t bets, std::mt19937_64& rng,
                            std::uint64_t first_nonce = 1, std::vector<KeyPair>* keys = nullptr) {
  tools::HttpClient http("127.0.0.1", node.port);
  const KeyPair op = tools::read_node_keys(node.data)->operator_key;
  std::vector<KeyPair> own;
  std::vector<KeyPair>& ps = keys ? *keys : own;
  while (ps.size() < players) {
    ps.push_back(test::random_key(rng));
    REQUIRE(test::fund(http, op, ps.back().public_key, 100000, rng) == 200);
  }
  std::vector<Bet> placed;
  for (std::uint64_t n = first_nonce; n < first_nonce + bets; ++n)
    for (const auto& p : ps) {
      placed.push_back(test::signed_bet(p, n, rng));
      json body = test::bet_json(placed.back());
      body["wait_ms"] = 10000;
      auto r = http.request("POST", "/v1/bets", body.dump(), 15s);
      REQUIRE(r.status == 200);
    }
  return placed;
}

// Every event of the feed from `after` up to and including seq `to`.
std::vector<tools::StreamEvent> read_feed(const tools::Endpoint& node, tools::FeedQuery q, std::uint64_t to) {
  std::vector<tools::StreamEvent> out;
  tools::EventStream s(node, q);
  while (out.empty() || out.back().id < to) {
    auto e = s.next(10s);
    REQUIRE(e);
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace

TEST_CASE("TheFeedServesEveryDurableEventInLogOrderResumesFiltersAndBeatsTheHeart") {
  test::TempDir dir("croupier-feed");
  FeedNode node(dir.path(), "feed-heartbeat = 150ms\n");
  std::mt19937_64 rng(20261202);
  const auto bets = place_bets(node, 6, 3, rng);
  const std::uint64_t head = node.log_head();

  // From the start: seqs 1..head without a gap, each data object naming its own seq and type.
  const auto all = read_feed(node.endpoint(), {}, head);
  REQUIRE(all.size() == head);
  std::map<std::string, json> resolved;  // bet_id -> its BetResolved
  std::size_t bets_admitted = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(all[i].data);
    CHECK(all[i].id == i + 1);
    const json j = json::parse(all[i].data);
    CHECK(j.at("seq") == all[i].id);
    CHECK(j.at("type") == all[i].type);
    if (all[i].type == "TxAdmitted" && j.at("kind") == "bet") ++bets_admitted;
    if (all[i].type == "BetResolved") resolved[j.at("bet_id").get<std::string>()] = j;
  }
  CHECK(all.front().type == "NodeStarted");
  CHECK(bets_admitted == bets.size());
  REQUIRE(resolved.size() == bets.size());
  tools::HttpClient http("127.0.0.1", node.port);
  for (const auto& b : bets) {
    const json got = json::parse(http.request("GET", "/v1/bets/" + to_hex(b.bet_id)).body);
    const json& r = resolved.at(to_hex(b.bet_id));
    CHECK(r.at("payout") == got.at("payout"));
    CHECK(r.at("roll") == got.at("outcome").at("roll"));
    CHECK(r.at("vrf_proof") == got.at("vrf_proof"));
  }

  // Last-Event-ID resumes after it, with the same bytes.
  const auto resumed = read_feed(node.endpoint(), {10, "", false}, head);
  REQUIRE(resumed.size() == head - 10);
  CHECK(resumed.front().id == 11);
  CHECK(resumed.front().data == all[10].data);
  CHECK(resumed.back().data == all.back().data);

  // types: only those, in order.
  {
    tools::EventStream s(node.endpoint(), {0, "BetResolved,NodeStarted", false});
    std::vector<tools::StreamEvent> got;
    while (got.size() < bets.size() + 1) {
      auto e = s.next(10s);
      REQUIRE(e);
      got.push_back(std::move(*e));
    }
    CHECK(got.front().type == "NodeStarted");
    for (std::size_t i = 1; i < got.size(); ++i) {
      CHECK(got[i].type == "BetResolved");
      CHECK(got[i].id > got[i - 1].id);
    }
    // Caught up: heartbeats, then a new bet's events as they become durable.
    const auto comments = s.comments();
    std::vector<KeyPair> fresh;
    std::thread later([&] {
      std::this_thread::sleep_for(500ms);
      place_bets(node, 1, 1, rng, 1, &fresh);
    });
    auto live = s.next(10s);
    later.join();
    REQUIRE(live);
    CHECK(live->type == "BetResolved");
    CHECK(live->id > head);
    CHECK(s.comments() >= comments + 2);  // 500 ms of silence at a 150 ms heartbeat.
  }

  // Croupier-Numbers: string reaches the feed too.
  {
    tools::EventStream s(node.endpoint(), {0, "", true});
    auto e = s.next(10s);
    REQUIRE(e);
    const json first = json::parse(e->data);
    CHECK(first.at("seq") == "1");
  }

  // Bad requests are 400s with the API's error body.
  for (const std::string types : {"BetResolve", "BetResolved,", "%zz"}) {
    CAPTURE(types);
    try {
      tools::EventStream s(node.endpoint(), {0, types, false});
      FAIL("accepted");
    } catch (const tools::FeedRefused& e) {
      CHECK(e.status() == 400);
      CHECK(json::parse(e.body()).at("error") == "bad_request");
    }
  }
  {
    tools::HttpClient raw("127.0.0.1", node.port);
    CHECK(raw.request("GET", "/v1/events?after=x").status == 400);
    CHECK(raw.request("GET", "/v1/events?from=1").status == 400);
    CHECK(raw.request("POST", "/v1/events").status == 405);
  }

  // croupier client follow: JSON lines, --limit, and a refused request is exit 2.
  auto follow = test::run_process({kBinary, "client", "follow", "--node", "127.0.0.1:" + std::to_string(node.port),
                                   "--after", "3", "--limit", "4"});
  CHECK(follow.exit_code == 0);
  std::istringstream lines(follow.out);
  std::string line;
  for (std::uint64_t seq = 4; seq <= 7; ++seq) {
    REQUIRE(std::getline(lines, line));
    CHECK(line == all[seq - 1].data);
  }
  CHECK(!std::getline(lines, line));
  auto refused = test::run_process({kBinary, "client", "follow", "--node", "127.0.0.1:" + std::to_string(node.port),
                                    "--types", "Nope"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("Nope") != std::string::npos);

  node.process->send(SIGTERM);
  CHECK(node.process->wait(30s).exit_code == 0);
}

TEST_CASE("EventsServedBeforeAKillAreInTheLogAfterItAndFollowRidesThroughTheRestart") {
  test::TempDir dir("croupier-feed-kill");
  FeedNode node(dir.path(), "feed-heartbeat = 200ms\n");
  std::mt19937_64 rng(7);
  std::vector<KeyPair> players;
  place_bets(node, 4, 2, rng, 1, &players);
  test::Process follower({kBinary, "client", "follow", "--node", "127.0.0.1:" + std::to_string(node.port)});

  // Read the feed while bets are being placed (each event as it becomes durable), then kill
  // the node with the feed still open.
  std::vector<tools::StreamEvent> served;
  {
    const std::uint64_t head_at_open = node.log_head();
    tools::EventStream s(node.endpoint(), {});
    std::atomic<bool> placed{false};
    std::thread betting([&] {
      place_bets(node, 4, 3, rng, 3, &players);
      placed = true;
    });
    std::uint64_t read_while_betting = 0;
    for (;;) {
      auto e = s.next(10s);
      REQUIRE(e);
      served.push_back(std::move(*e));
      if (!placed) {
        read_while_betting += served.back().id > head_at_open;
      } else if (served.back().id >= node.log_head()) {
        break;
      }
    }
    betting.join();
    CHECK(read_while_betting > 0);  // Events that became durable while the feed was open.
    node.process->send(SIGKILL);
    node.process->wait(10s);
  }
  node.start();
  place_bets(node, 4, 1, rng, 6, &players);  // After the restart: the follower must see these too.
  const std::uint64_t head = node.log_head();
  const auto after = read_feed(node.endpoint(), {}, head);
  REQUIRE(after.size() >= served.size());
  for (std::size_t i = 0; i < served.size(); ++i) {
    CHECK(after[i].id == served[i].id);
    CHECK(after[i].data == served[i].data);  // Durable: the same event, byte for byte.
  }

  // The follower printed seqs 1..head exactly once each, across the restart.
  // Until its last line is whole (waiting for its start only, the line could be cut short).
  REQUIRE(follower.read_until(after[head - 1].data + "\n", 30s));
  std::istringstream lines(follower.out());
  std::string line;
  std::uint64_t expected = 1;
  while (std::getline(lines, line) && expected <= head) {
    CAPTURE(line);
    CHECK(json::parse(line).at("seq") == expected);
    CHECK(line == after[expected - 1].data);
    ++expected;
  }
  CHECK(expected == head + 1);
  CHECK(follower.err().find("reconnecting") != std::string::npos);
  node.process->send(SIGTERM);
  CHECK(node.process->wait(30s).exit_code == 0);
}

TEST_CASE("AConsumerThatStopsReadingIsDisconnectedWithAReasonAndBetsStayFinal") {
  test::TempDir dir("croupier-feed-stall");
  FeedNode node(dir.path(), "feed-stall-timeout = 300ms\n");
  std::mt19937_64 rng(11);
  std::vector<KeyPair> players;
  // About 1 MB of feed: more than the chunk, the node's send buffer and the consumer's receive
  // buffer together.
  place_bets(node, 30, 20, rng, 1, &players);

  // A consumer with a tiny receive buffer that sends its request and never reads.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  int tiny = 2048;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(node.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string request = "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));

  // Meanwhile bets are final as usual.
  const auto started = std::chrono::steady_clock::now();
  place_bets(node, 30, 1, rng, 21, &players);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK(node.process->read_err_until("event feed consumer disconnected after seq", 20s));
  CHECK(node.process->err().find("(croupier.feed-stall-timeout)") != std::string::npos);
  ::close(fd);

  // A consumer that reads crosses pages and chunks (this log is about 1 MB of feed) without a
  // gap; a filtered one gets exactly the matching subset; a position beyond the head is a 409.
  const std::uint64_t head = node.log_head();
  const auto all = read_feed(node.endpoint(), {}, head);
  REQUIRE(all.size() == head);
  std::vector<std::string> blocks;
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].id == i + 1);
    if (all[i].type == "BlockCommitted") blocks.push_back(all[i].data);
  }
  {
    tools::EventStream s(node.endpoint(), {0, "BlockCommitted", false});
    for (const auto& want : blocks) {
      auto e = s.next(10s);
      REQUIRE(e);
      CHECK(e->data == want);
    }
  }
  try {
    tools::EventStream s(node.endpoint(), {head + 1000, "", false});
    FAIL("a position beyond the head was accepted");
  } catch (const tools::FeedRefused& e) {
    CHECK(e.status() == 409);
    CHECK(json::parse(e.body()).at("error") == "beyond_head");
  }
  node.process->send(SIGTERM);
  CHECK(node.process->wait(30s).exit_code == 0);
}

namespace {

// One value of a query on the consumer's SQLite file (through Python's sqlite3, as the recipe).
std::string sqlite_value(const fs::path& db, const std::string& sql) {
  auto r = test::run_process({"/usr/bin/python3", "-c",
                              "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\n"
                              "try:\n  print(c.execute(sys.argv[2]).fetchone()[0])\n"
                              "except sqlite3.OperationalError:\n  print('none')",
                              db.string(), sql});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

bool wait_for_value(const fs::path& db, const std::string& sql, const std::string& want, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (sqlite_value(db, sql) == want) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST_CASE("TheReadmeSqliteRecipeLoadsEveryBetExactlyOnceThroughKillsAndRestarts") {
  REQUIRE_MESSAGE(fs::exists("/usr/bin/python3"), "python3 is missing: tools/setup.sh installs it");
  test::TempDir dir("croupier-feed-sqlite");
  const fs::path script = dir / "feed_to_sqlite.py";
  std::ofstream(script) << test::readme_code_block("<!-- recipe: feed_to_sqlite.py -->", "```python");
  const fs::path db = dir / "bets.sqlite";
  FeedNode node(dir.path(), "feed-heartbeat = 1s\n");
  const std::string where = "127.0.0.1:" + std::to_string(node.port);
  std::mt19937_64 rng(99);
  std::vector<KeyPair> players;
  std::vector<Bet> bets = place_bets(node, 5, 4, rng, 1, &players);
  const std::string loaded = "SELECT count(*) FROM bets WHERE payout IS NOT NULL";
  const auto consumer = [&] { return std::make_unique<test::Process>(std::vector<std::string>{"/usr/bin/python3", script.string(), where, db.string()}); };

  // Loaded, then killed; more bets while it is down.
  auto c = consumer();
  REQUIRE(wait_for_value(db, loaded, "20", 60s));
  c->send(SIGKILL);
  c->wait(10s);
  for (const auto& b : place_bets(node, 5, 4, rng, 5, &players)) bets.push_back(b);

  // Restarted, killed again as soon as it has made progress (midway, or just after the end).
  c = consumer();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::stoi(sqlite_value(db, "SELECT count(*) FROM bets")) <= 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  c->send(SIGKILL);
  c->wait(10s);

  // Restarted once more; once it has caught up, the node is killed under it and restarted: it
  // sees the feed go and reconnects by itself.
  c = consumer();
  REQUIRE(wait_for_value(db, loaded, std::to_string(bets.size()), 60s));
  node.process->send(SIGKILL);
  node.process->wait(10s);
  CHECK(c->read_err_until("; resuming after seq", 10s));
  node.start();
  for (const auto& b : place_bets(node, 5, 2, rng, 9, &players)) bets.push_back(b);
  REQUIRE(wait_for_value(db, loaded, std::to_string(bets.size()), 60s));
  CHECK(sqlite_value(db, "SELECT count(*) FROM bets") == std::to_string(bets.size()));
  CHECK(std::stoull(sqlite_value(db, "SELECT seq FROM feed_position")) <= node.log_head());

  tools::HttpClient http("127.0.0.1", node.port);
  for (const auto& b : bets) {
    const json got = json::parse(http.request("GET", "/v1/bets/" + to_hex(b.bet_id)).body);
    const std::string row = "FROM bets WHERE bet_id = '" + to_hex(b.bet_id) + "'";
    CHECK(sqlite_value(db, "SELECT payout " + row) == std::to_string(got.at("payout").get<std::uint64_t>()));
    CHECK(sqlite_value(db, "SELECT roll " + row) == std::to_string(got.at("outcome").at("roll").get<int>()));
    CHECK(sqlite_value(db, "SELECT wager " + row) == "10");
  }
  c->send(SIGKILL);
  const auto result = c->wait(10s);
  CAPTURE(result.err);
  CHECK(result.err.find("IntegrityError") == std::string::npos);
  node.process->send(SIGTERM);
  CHECK(node.process->wait(30s).exit_code == 0);
}

TEST_CASE("FeedsBeyondFeedMaxConsumersAre503BusyUntilOneEnds") {
  test::TempDir dir("croupier-feed-max");
  FeedNode node(dir.path(), "feed-max-consumers = 2\nfeed-heartbeat = 100ms\n");
  auto first = std::make_unique<tools::EventStream>(node.endpoint(), tools::FeedQuery{});
  tools::EventStream second(node.endpoint(), tools::FeedQuery{});
  try {
    tools::EventStream third(node.endpoint(), tools::FeedQuery{});
    FAIL("a third feed was served");
  } catch (const tools::FeedRefused& e) {
    CHECK(e.status() == 503);
    CHECK(json::parse(e.body()).at("error") == "busy");
    CHECK(e.body().find("croupier.feed-max-consumers") != std::string::npos);
  }
  // Other requests are served as usual meanwhile.
  CHECK(tools::HttpClient("127.0.0.1", node.port).request("GET", "/v1/health").status == 200);
  // One consumer goes: its session ends at its next heartbeat's write, and a new feed is served.
  first.reset();
  bool served = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; !served && std::chrono::steady_clock::now() < deadline;) {
    try {
      tools::EventStream again(node.endpoint(), tools::FeedQuery{});
      served = true;
    } catch (const tools::FeedRefused& e) {
      CHECK(e.status() == 503);
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(served);
  node.process->send(SIGTERM);
  CHECK(node.process->wait(30s).exit_code == 0);
}
