// The HTTP gateway (actors/gateway.hpp) against a fake node: every route of the API spec with
// its status codes and bodies, keep-alive, Expect: 100-continue, size and idle limits, and
// 1000 clients waiting at once on two gateway threads.
// Method: FakeNode implements NodeApi over a hand-built real-crypto state (api_world.hpp); it
// answers submissions from a script, always on its own thread and possibly after a delay, and
// can hold every answer until N submissions wait at once. The gateway listens on a free port;
// the tests talk to it with small Beast clients (synchronous, or asynchronous for the
// many-clients test).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/gateway.hpp"
#include "actors/signed_blocks.hpp"
#include "api_world.hpp"

using namespace croupier;
using namespace croupier::actors;
using namespace std::chrono_literals;
using nlohmann::json;
using test::ApiWorld;

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// --- the fake node -------------------------------------------------------------------------

class FakeNode : public NodeApi {
 public:
  explicit FakeNode(const ApiWorld& w) : world_(w) {
    health_ = NodeHealth{true, "ok", world_.seq, world_.p.block_height, 0, node_key()};
    deliverer_ = std::thread([this] { deliver(); });
  }
  ~FakeNode() override {
    {
      std::lock_guard lock(mutex_);
      quitting_ = true;
    }
    cv_.notify_all();
    deliverer_.join();
  }

  // The next submission's answer (after the script runs out: admitted, final, its own tx id).
  void script(SubmitOutcome o) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(o));
  }
  // The next `n` submissions throw `error` instead of being taken (a node that is stopping
  // throws NodeUnavailable; anything else is a bug).
  void throw_next(std::size_t n, std::function<void()> error) {
    std::lock_guard lock(mutex_);
    throws_left_ = n;
    thrower_ = std::move(error);
  }
  // Answers come this long after their submission.
  void set_delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mutex_);
    delay_ = d;
  }
  // Holds every answer until `n` submissions wait at once (or `limit` passes), then releases
  // them all (each after the delay). 0: no holding.
  void hold_until(std::size_t n, std::chrono::milliseconds limit = 30s) {
    std::lock_guard lock(mutex_);
    hold_until_ = n;
    hold_limit_ = Clock::now() + limit;
  }
  // Releases every held answer now (as a stopping node answers its waiting clients), and
  // holds no more.
  void release_held() {
    std::lock_guard lock(mutex_);
    for (auto& h : held_) queue_.emplace(Clock::now() + delay_, std::move(h));
    held_.clear();
    hold_until_ = 0;
    cv_.notify_all();
  }
  void set_health(NodeHealth h) {
    std::lock_guard lock(mutex_);
    health_ = std::move(h);
  }
  // Every read() throws std::runtime_error(`what`) (a bug in the node); empty: none does.
  void fail_reads(std::string what) {
    std::lock_guard lock(mutex_);
    read_failure_ = std::move(what);
  }

  std::vector<Tx> submitted() const {
    std::lock_guard lock(mutex_);
    return submitted_;
  }
  std::vector<std::chrono::milliseconds> waits() const {
    std::lock_guard lock(mutex_);
    return waits_;
  }
  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  std::size_t max_in_flight() const {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }

  // --- NodeApi ---

  void submit(Tx tx, std::chrono::milliseconds wait, std::function<void(SubmitOutcome)> done) override {
    std::lock_guard lock(mutex_);
    if (throws_left_ > 0) {
      --throws_left_;
      thrower_();
    }
    SubmitOutcome o;
    if (!script_.empty()) {
      o = std::move(script_.front());
      script_.pop_front();
    } else {
      o.kind = SubmitOutcome::Kind::admitted;
      o.tx_id = tx_id(tx);
      o.final = true;
    }
    submitted_.push_back(std::move(tx));
    waits_.push_back(wait);
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    Job job = [this, done = std::move(done), o = std::move(o)] {
      done(o);
      std::lock_guard l(mutex_);
      --in_flight_;
    };
    if (hold_until_ != 0 && in_flight_ < hold_until_ && Clock::now() < hold_limit_) {
      held_.push_back(std::move(job));
    } else {
      for (auto& h : held_) queue_.emplace(Clock::now() + delay_, std::move(h));
      held_.clear();
      queue_.emplace(Clock::now() + delay_, std::move(job));
    }
    cv_.notify_all();
  }

  void read(const std::function<void(const Projections&)>& reader) const override {
    {
      std::lock_guard lock(mutex_);
      if (!read_failure_.empty()) throw std::runtime_error(read_failure_);
    }
    std::shared_lock lock(projections_mutex_);
    reader(world_.p);
  }

  void metrics(std::function<void(std::string)> done) override {
    std::lock_guard lock(mutex_);
    queue_.emplace(Clock::now(), [done = std::move(done)] { done("# TYPE croupier_up gauge\ncroupier_up 1\n"); });
    cv_.notify_all();
  }

  NodeHealth health() const override {
    std::lock_guard lock(mutex_);
    return health_;
  }

  std::optional<BlockCommitted> block(std::uint64_t height) const override {
    if (height == 0 || height > world_.blocks.size()) return std::nullopt;
    return world_.blocks[height - 1];
  }

  std::shared_ptr<const receipt::SignedBlock> signed_block(std::uint64_t height) const override {
    return signed_blocks_.get(height, [this](std::uint64_t h) { return block(h); });
  }
  PublicKey node_key() const override { return signed_blocks_.node_key(); }

  std::optional<BetProof> bet_proof(const Hash32& id, const Id128&) const override {
    auto it = world_.proofs.find(id);
    if (it == world_.proofs.end()) return std::nullopt;
    return BetProof{it->second, *vrf::proof_to_hash(it->second)};
  }

  // The fake's memory forgets nothing: there is no cold state (node_test covers it).
  std::optional<ColdTx> cold_tx(TxKind, const Id128&) const override { return std::nullopt; }
  std::optional<BatchRecord> cold_batch(const Id128&) const override { return std::nullopt; }
  std::optional<BatchStatus> cold_batch_status(const Id128&) const override { return std::nullopt; }
  // Nor a log: the event feed is tested against a real node (tools/event_feed_test.cpp).
  EventPage events_after(std::uint64_t after, EventTypeMask, std::size_t, std::size_t) const override {
    return EventPage{{}, after};
  }

 private:
  using Job = std::function<void()>;

  // Runs due jobs, never inside the caller's call (NodeApi's rule). On exit runs what is left,
  // so every callback runs exactly once.
  void deliver() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (quitting_) break;
      if (!held_.empty() && Clock::now() >= hold_limit_) {
        for (auto& h : held_) queue_.emplace(Clock::now() + delay_, std::move(h));
        held_.clear();
      }
      auto wake = Clock::now() + 50ms;  // Polls the hold limit.
      if (!queue_.empty()) wake = std::min(wake, queue_.begin()->first);
      if (!queue_.empty() && queue_.begin()->first <= Clock::now()) {
        Job job = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        lock.unlock();
        job();
        lock.lock();
        continue;
      }
      cv_.wait_until(lock, wake);
    }
    for (auto& h : held_) queue_.emplace(Clock::now(), std::move(h));
    held_.clear();
    while (!queue_.empty()) {
      Job job = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      lock.unlock();
      job();
      lock.lock();
    }
  }

  const ApiWorld& world_;
  mutable SignedBlocks signed_blocks_{keypair_from_seed(Seed{0x4e, 0x0d}), world_.p.keys.house_key};  // Signs the receipts.
  mutable std::shared_mutex projections_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<SubmitOutcome> script_;
  std::multimap<Clock::time_point, Job> queue_;
  std::vector<Job> held_;
  std::size_t hold_until_ = 0;
  Clock::time_point hold_limit_{};
  std::chrono::milliseconds delay_{0};
  std::size_t throws_left_ = 0;
  std::function<void()> thrower_;
  std::size_t in_flight_ = 0, max_in_flight_ = 0;
  std::vector<Tx> submitted_;
  std::vector<std::chrono::milliseconds> waits_;
  NodeHealth health_;
  std::string read_failure_;
  bool quitting_ = false;
  std::thread deliverer_;
};

// --- a small synchronous client -------------------------------------------------------------

struct Response {
  unsigned status = 0;
  std::string body;
  std::string content_type, retry_after, allow;
  bool keep_alive = false;
  json body_json() const { return json::parse(body); }
};

class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::address_v4::loopback(), port));
    // A broken gateway must fail the test, not hang it.
    timeval tv{10, 0};
    ::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response send(http::verb verb, const std::string& target, const std::string& body = {}, unsigned version = 11,
                bool keep_alive = true, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> req{verb, target, version};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(keep_alive);
    if (verb == http::verb::post) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream_, req);
    return read();
  }
  Response get(const std::string& target) { return send(http::verb::get, target); }
  Response post(const std::string& target, const json& body) { return send(http::verb::post, target, body.dump()); }

  void write_raw(const std::string& bytes) { net::write(stream_.socket(), net::buffer(bytes)); }

  Response read() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(stream_, buffer_, parser);
    auto& res = parser.get();
    Response r;
    r.status = res.result_int();
    r.body = res.body();
    r.content_type = std::string(res[http::field::content_type]);
    r.retry_after = std::string(res[http::field::retry_after]);
    r.allow = std::string(res[http::field::allow]);
    r.keep_alive = res.keep_alive();
    return r;
  }

  // True when the server closed the connection (a read gets end of stream).
  bool closed_by_server() {
    beast::error_code ec;
    char c;
    stream_.socket().read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  tcp::socket& socket() { return stream_.socket(); }
  beast::flat_buffer& buffer() { return buffer_; }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// --- fixture --------------------------------------------------------------------------------

// What the gateway logged (GatewayOptions::log), thread-safe.
class LogLines {
 public:
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(line);
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

struct GatewayFixture {
  ApiWorld world;
  FakeNode node{world};
  LogLines log;
  std::unique_ptr<Gateway> gateway;

  explicit GatewayFixture(GatewayOptions o = {}) {
    o.port = 0;
    o.log = log.sink();
    gateway = std::make_unique<Gateway>(node, std::move(o));
    gateway->start();
  }
  ~GatewayFixture() { gateway.reset(); }  // Before the node.

  std::uint16_t port() const { return gateway->port(); }
  Response get(const std::string& target) { return Client(port()).get(target); }
  Response post(const std::string& target, const json& body) { return Client(port()).post(target, body); }
  Response post_raw(const std::string& target, const std::string& body) {
    return Client(port()).send(http::verb::post, target, body);
  }
};

void check_error(const Response& r, unsigned status, const std::string& code, const std::string& needle = {}) {
  CAPTURE(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  json j = r.body_json();
  CHECK(j["error"] == code);
  REQUIRE(j["message"].is_string());
  if (!needle.empty()) CHECK(j["message"].get<std::string>().find(needle) != std::string::npos);
}

// A 500: its body names an error id and not `detail`; the log has a line with both.
void check_internal_error(const Response& r, const LogLines& log, const std::string& detail) {
  CAPTURE(r.body);
  json j = r.body_json();
  REQUIRE(j.contains("error_id"));
  const std::string id = j["error_id"];
  CHECK(id.size() == 16);
  CHECK(j["message"].get<std::string>().find(id) != std::string::npos);
  CHECK(r.body.find(detail) == std::string::npos);
  auto lines = log.lines();
  CAPTURE(lines);
  CHECK(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(id) != std::string::npos && l.find(detail) != std::string::npos;
  }));
}

SubmitOutcome outcome(SubmitOutcome::Kind kind) {
  SubmitOutcome o;
  o.kind = kind;
  return o;
}

}  // namespace

TEST_CASE("POST a bet that becomes final answers 200 with its outcome and VRF proof") {
  GatewayFixture f;
  const Bet& bet = f.world.bet_final;
  json body = test::bet_json(bet);
  Response r = f.post("/v1/bets", body);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.keep_alive);
  json j = r.body_json();
  Hash32 id = tx_id(bet);
  CHECK(j["status"] == "final");
  CHECK(j["bet_id"] == to_hex(bet.bet_id));
  CHECK(j["tx_id"] == to_hex(id));
  CHECK(j["outcome"]["roll"] == f.world.outcome_final.roll);
  CHECK(j["payout"] == f.world.outcome_final.payout);
  CHECK(j["vrf_proof"] == to_hex(f.world.proofs.at(id)));
  CHECK(j["house_key"] == to_hex(f.world.house.public_key));
  CHECK(j["batch_status"] == "created");

  auto sent = f.node.submitted();
  REQUIRE(sent.size() == 1);
  CHECK(std::get<Bet>(sent[0]) == bet);
  CHECK(f.node.waits().at(0) == 2000ms);

  SUBCASE("wait_ms reaches the node, and a duplicate answers like the original") {
    body["wait_ms"] = 150;
    SubmitOutcome dup = outcome(SubmitOutcome::Kind::duplicate);
    dup.tx_id = id;
    dup.final = true;
    f.node.script(dup);
    Response again = f.post("/v1/bets", body);
    CHECK(again.status == 200);
    CHECK(again.body == r.body);
    CHECK(f.node.waits().at(1) == 150ms);
  }
  SUBCASE("GET /v1/bets/{bet_id} gives the same body") {
    Response g = f.get("/v1/bets/" + to_hex(bet.bet_id));
    CHECK(g.status == 200);
    CHECK(g.body == r.body);
    Response upper = f.get("/v1/bets/" + to_hex(bet.bet_id) + "?x=1");
    CHECK(upper.status == 200);
  }
}

TEST_CASE("a bet still pending at the deadline answers 202 with a poll URL") {
  GatewayFixture f;
  const Bet& bet = f.world.bet_pending;
  SubmitOutcome o = outcome(SubmitOutcome::Kind::admitted);
  o.tx_id = tx_id(bet);
  o.final = false;
  f.node.script(o);
  Response r = f.post("/v1/bets", test::bet_json(bet));
  CHECK(r.status == 202);
  json j = r.body_json();
  std::string poll = "/v1/bets/" + to_hex(bet.bet_id);
  CHECK(j == json{{"status", "pending"}, {"bet_id", to_hex(bet.bet_id)}, {"tx_id", to_hex(tx_id(bet))}, {"poll", poll}});
  Response g = f.get(poll);
  CHECK(g.status == 200);  // GET never waits, and pending is not an error.
  CHECK(g.body_json()["status"] == "pending");

  Response rej = f.get("/v1/bets/" + to_hex(f.world.bet_rejected.bet_id));
  CHECK(rej.status == 200);
  CHECK(rej.body_json()["status"] == "rejected");
  check_error(f.get("/v1/bets/" + to_hex(test::small_id(0x55))), 404, "not_found");
}

TEST_CASE("the node's refusals become the spec's statuses") {
  GatewayFixture f;
  json body = test::bet_json(f.world.bet_final);

  SUBCASE("conflict is 409 with the existing tx id") {
    SubmitOutcome o = outcome(SubmitOutcome::Kind::conflict);
    o.tx_id = tx_id(f.world.bet_pending);
    f.node.script(o);
    Response r = f.post("/v1/bets", body);
    check_error(r, 409, "conflict");
    CHECK(r.body_json()["existing_tx_id"] == to_hex(o.tx_id));
  }
  SUBCASE("wrong_nonce is 400") {
    SubmitOutcome o = outcome(SubmitOutcome::Kind::refused);
    o.code = "wrong_nonce";
    o.message = "nonce 1 is not the next nonce 3";
    f.node.script(o);
    Response r = f.post("/v1/bets", body);
    check_error(r, 400, "wrong_nonce", "nonce 1");
    CHECK(r.keep_alive);
  }
  SUBCASE("insufficient_funds is 402") {
    SubmitOutcome o = outcome(SubmitOutcome::Kind::refused);
    o.code = "insufficient_funds";
    o.message = "wager 100 exceeds the available 5";
    f.node.script(o);
    check_error(f.post("/v1/bets", body), 402, "insufficient_funds");
  }
  SUBCASE("busy is 503 with Retry-After in whole seconds") {
    SubmitOutcome o = outcome(SubmitOutcome::Kind::busy);
    o.retry_after_ms = 1200;
    f.node.script(o);
    Response r = f.post("/v1/bets", body);
    check_error(r, 503, "busy");
    CHECK(r.retry_after == "2");
    o.retry_after_ms = 0;
    f.node.script(o);
    CHECK(f.post("/v1/bets", body).retry_after == "1");
  }
  SUBCASE("unavailable is 503 without Retry-After") {
    SubmitOutcome o = outcome(SubmitOutcome::Kind::unavailable);
    o.code = "unavailable";
    o.message = "the node is stopping";
    f.node.script(o);
    Response r = f.post("/v1/bets", body);
    check_error(r, 503, "unavailable", "stopping");
    CHECK(r.retry_after.empty());
  }
  SUBCASE("an answer naming a tx the projections lack is 500 internal") {
    SubmitOutcome o = outcome(SubmitOutcome::Kind::admitted);
    o.tx_id[0] = 0x99;
    f.node.script(o);
    Response r = f.post("/v1/bets", body);
    check_error(r, 500, "internal");
    check_internal_error(r, f.log, "neither its memory nor its log holds");
  }
}

TEST_CASE("a 500 carries an error id and no detail, and the log has both") {
  GatewayFixture f;
  f.node.fail_reads("secret detail: the index at 0x7ffd is corrupt");
  Response r = f.get("/v1/accounts/" + to_hex(f.world.player.public_key));
  check_error(r, 500, "internal");
  check_internal_error(r, f.log, "secret detail: the index at 0x7ffd is corrupt");
  Response again = f.get("/v1/bets/" + to_hex(f.world.bet_final.bet_id));
  check_error(again, 500, "internal");
  CHECK(again.body_json()["error_id"] != r.body_json()["error_id"]);  // One id per error.
  f.node.fail_reads("");
  CHECK(f.get("/v1/accounts/" + to_hex(f.world.player.public_key)).status == 200);
}

TEST_CASE("POST /v1/bets/batch answers each bet as POST /v1/bets would, in order, after one wait") {
  GatewayFixture f;
  // What single requests answer, for comparison (the fake answers the same again).
  const json final_alone = f.post("/v1/bets", test::bet_json(f.world.bet_final)).body_json();
  SubmitOutcome pending = outcome(SubmitOutcome::Kind::admitted);
  pending.tx_id = tx_id(f.world.bet_pending);
  pending.final = false;
  f.node.script(pending);
  const json pending_alone = f.post("/v1/bets", test::bet_json(f.world.bet_pending)).body_json();
  const auto before = f.node.submitted().size();

  json missing = test::bet_json(f.world.bet_final);
  missing.erase("signature");
  json with_wait = test::bet_json(f.world.bet_final);
  with_wait["wait_ms"] = 5;
  SubmitOutcome conflict = outcome(SubmitOutcome::Kind::conflict);
  conflict.tx_id = tx_id(f.world.bet_pending);
  SubmitOutcome busy = outcome(SubmitOutcome::Kind::busy);
  busy.retry_after_ms = 2000;
  // All four well-formed bets are one account's, so they are admitted one after another in
  // nonce order, without waiting: elements 0, 4 (nonce 1), 1, 6 (nonce 2); then the one
  // admitted and not final (element 1) waits, resubmitted. Scripted answers go in that order.
  SubmitOutcome final_again = outcome(SubmitOutcome::Kind::duplicate);
  final_again.tx_id = tx_id(f.world.bet_final);
  final_again.final = true;
  f.node.script(final_again);
  f.node.script(conflict);
  f.node.script(pending);
  f.node.script(busy);
  SubmitOutcome still_pending = pending;
  still_pending.kind = SubmitOutcome::Kind::duplicate;
  f.node.script(still_pending);
  f.node.set_delay(100ms);  // The answers come later and in any order; the reply keeps the batch's.
  const json batch{{"bets",
                    {test::bet_json(f.world.bet_final), test::bet_json(f.world.bet_pending), missing, "not a bet",
                     test::bet_json(f.world.bet_final), with_wait, test::bet_json(f.world.bet_pending)}},
                   {"wait_ms", 1500}};
  Response r = f.post("/v1/bets/batch", batch);
  CAPTURE(r.body);
  REQUIRE(r.status == 200);
  const json results = r.body_json().at("results");
  REQUIRE(results.size() == 7);
  CHECK(results[0] == json{{"status", 200}, {"body", final_alone}});
  CHECK(results[1] == json{{"status", 202}, {"body", pending_alone}});
  CHECK(results[2]["status"] == 400);
  CHECK(results[2]["body"]["error"] == "bad_request");
  CHECK(results[2]["body"]["message"] == "missing field \"signature\"");
  CHECK(results[3]["status"] == 400);
  CHECK(results[3]["body"]["message"] == "a bet must be a JSON object");
  CHECK(results[4]["status"] == 409);
  CHECK(results[4]["body"]["existing_tx_id"] == to_hex(conflict.tx_id));
  CHECK(results[5]["status"] == 400);  // The wait is the batch's.
  CHECK(results[5]["body"]["message"] == "unknown field \"wait_ms\"");
  CHECK(results[6]["status"] == 503);
  CHECK(results[6]["body"]["error"] == "busy");
  CHECK(results[6]["retry_after_s"] == 2);
  // Only the four well-formed bets reached the node, each admitted without a wait, and the
  // pending one again with what was left of the batch's wait.
  const auto sent = f.node.submitted();
  REQUIRE(sent.size() == before + 5);
  for (std::size_t i = before; i < before + 4; ++i) CHECK(f.node.waits().at(i) == 0ms);
  CHECK(std::get<Bet>(sent[before + 1]) == f.world.bet_final);
  CHECK(std::get<Bet>(sent[before + 4]) == f.world.bet_pending);
  CHECK(f.node.waits().at(before + 4) > 0ms);
  CHECK(f.node.waits().at(before + 4) <= 1500ms);
}

TEST_CASE("POST /v1/bets/batch answers a bet whose submission throws as POST /v1/bets would") {
  GatewayFixture f;
  // A single POST: a node that is stopping is 503 unavailable; a bug is 500 internal.
  f.node.throw_next(1, [] { throw NodeUnavailable("the node is stopping"); });
  const Response unavailable = f.post("/v1/bets", test::bet_json(f.world.bet_final));
  CHECK(unavailable.status == 503);
  f.node.throw_next(1, [] { throw std::logic_error("a bug"); });
  const Response internal = f.post("/v1/bets", test::bet_json(f.world.bet_final));
  CHECK(internal.status == 500);
  // The same inside a batch, element by element; the third bet is taken as usual.
  f.node.throw_next(1, [] { throw NodeUnavailable("the node is stopping"); });
  const json batch{{"bets", {test::bet_json(f.world.bet_final), test::bet_json(f.world.bet_final)}}, {"wait_ms", 500}};
  Response r = f.post("/v1/bets/batch", batch);
  REQUIRE(r.status == 200);
  json results = r.body_json().at("results");
  CHECK(results[0]["status"] == unavailable.status);
  CHECK(results[0]["body"]["error"] == unavailable.body_json()["error"]);
  CHECK(results[1]["status"] == 200);
  f.node.throw_next(1, [] { throw std::logic_error("a bug"); });
  r = f.post("/v1/bets/batch", batch);
  REQUIRE(r.status == 200);
  results = r.body_json().at("results");
  CHECK(results[0]["status"] == 500);
  CHECK(results[0]["body"]["error"] == "internal");
  CHECK(results[0]["body"]["error_id"].get<std::string>().size() == 16);
  CHECK(results[0]["body"]["message"].get<std::string>().find("a bug") == std::string::npos);  // No detail.
  CHECK(results[1]["status"] == 200);
}

TEST_CASE("POST /v1/bets/batch refuses a body that is not a batch, and its size is its own") {
  GatewayOptions o;
  o.batch_max_bets = 300;
  GatewayFixture f(o);
  check_error(f.post_raw("/v1/bets/batch", "[1, 2]"), 400, "bad_json", "must be a JSON object");
  check_error(f.post("/v1/bets/batch", json{{"wait_ms", 5}}), 400, "bad_request", "missing field \"bets\"");
  check_error(f.post("/v1/bets/batch", json{{"bets", json::array()}}), 400, "bad_request", "empty");
  check_error(f.post("/v1/bets/batch", json{{"bets", json::object()}}), 400, "bad_request", "expected an array");
  check_error(f.post("/v1/bets/batch", json{{"bets", {test::bet_json(f.world.bet_final)}}, {"extra", 1}}), 400,
              "bad_request", "unknown field \"extra\"");
  check_error(f.get("/v1/bets/batch"), 405, "method_not_allowed");
  CHECK(f.node.submitted().empty());
  // 300 bets (about 140 KB, more than max_body_bytes) are one batch; 301 are too many.
  json bets = json::array();
  for (int i = 0; i < 300; ++i) bets.push_back(test::bet_json(f.world.bet_final));
  const json full{{"bets", bets}, {"wait_ms", 0}};
  REQUIRE(full.dump().size() > o.max_body_bytes);
  Response r = f.post("/v1/bets/batch", full);
  CHECK(r.status == 200);
  CHECK(r.body_json()["results"].size() == 300);
  bets.push_back(test::bet_json(f.world.bet_final));
  check_error(f.post("/v1/bets/batch", json{{"bets", bets}}), 413, "too_large", "more than the 300");
  // The larger limit is the batch route's alone.
  check_error(f.post_raw("/v1/bets", full.dump()), 413, "too_large", "over 65536 bytes");
}

TEST_CASE("Croupier-Numbers: string gives every integer of an answer as a decimal string") {
  GatewayFixture f;
  const std::vector<std::pair<std::string, std::string>> strings{{"Croupier-Numbers", "String"}};
  const json bet = test::bet_json(f.world.bet_final);
  const json as_numbers = f.post("/v1/bets", bet).body_json();
  REQUIRE(as_numbers["payout"].is_number_unsigned());
  Response r = Client(f.port()).send(http::verb::post, "/v1/bets", bet.dump(), 11, true, strings);
  CHECK(r.status == 200);
  const json as_strings = r.body_json();
  CHECK(as_strings["payout"] == std::to_string(as_numbers["payout"].get<std::uint64_t>()));
  CHECK(as_strings["nonce"] == std::to_string(as_numbers["nonce"].get<std::uint64_t>()));
  CHECK(as_strings["outcome"]["roll"] == std::to_string(as_numbers["outcome"]["roll"].get<std::uint64_t>()));
  CHECK(as_strings["outcome"]["win"] == as_numbers["outcome"]["win"]);  // Not a number: unchanged.
  CHECK(as_strings["tx_id"] == as_numbers["tx_id"]);
  // An account's balance, and a batch's elements, alike.
  const std::string account = "/v1/accounts/" + to_hex(f.world.bet_final.account);
  const json balance = Client(f.port()).send(http::verb::get, account, {}, 11, true, strings).body_json();
  CHECK(balance["balance"] == std::to_string(f.get(account).body_json()["balance"].get<std::uint64_t>()));
  const json batch{{"bets", {bet}}};
  const json results = Client(f.port()).send(http::verb::post, "/v1/bets/batch", batch.dump(), 11, true, strings)
                           .body_json()["results"];
  CHECK(results[0]["status"] == "200");
  CHECK(results[0]["body"]["payout"] == as_strings["payout"]);
  // "number" (or no header) is the default; anything else is refused, naming the header.
  CHECK(Client(f.port()).send(http::verb::get, account, {}, 11, true, {{"Croupier-Numbers", "number"}})
            .body_json()["balance"]
            .is_number_unsigned());
  check_error(Client(f.port()).send(http::verb::get, account, {}, 11, true, {{"Croupier-Numbers", "bigint"}}), 400,
              "bad_request", "Croupier-Numbers: \"bigint\"");
}

TEST_CASE("deposits: POST and GET") {
  GatewayFixture f;
  const Deposit& d = f.world.deposit_final;
  Response r = f.post("/v1/deposits", test::deposit_json(d));
  REQUIRE(r.status == 200);
  CHECK(r.body_json() == json{{"status", "final"},
                              {"deposit_id", to_hex(d.deposit_id)},
                              {"tx_id", to_hex(tx_id(d))},
                              {"account", to_hex(d.account)},
                              {"amount", 1000},
                              {"block_height", 1}});
  CHECK(std::get<Deposit>(f.node.submitted().at(0)) == d);
  CHECK(f.get("/v1/deposits/" + to_hex(d.deposit_id)).body == r.body);

  const Deposit& p = f.world.deposit_pending;
  Response pending = f.post("/v1/deposits", test::deposit_json(p));
  CHECK(pending.status == 202);
  CHECK(pending.body_json()["poll"] == "/v1/deposits/" + to_hex(p.deposit_id));
  Response gp = f.get("/v1/deposits/" + to_hex(p.deposit_id));
  CHECK(gp.status == 200);
  CHECK(gp.body_json()["status"] == "pending");
  CHECK(f.get("/v1/deposits/" + to_hex(f.world.deposit_rejected.deposit_id)).body_json()["status"] == "rejected");
  check_error(f.get("/v1/deposits/" + to_hex(test::small_id(0x42))), 404, "not_found");
  check_error(f.get("/v1/deposits/1234"), 400, "bad_request", "deposit_id");
}

TEST_CASE("bad request bodies never reach the node") {
  GatewayOptions o;
  o.max_body_bytes = 4096;
  GatewayFixture f(o);
  json body = test::bet_json(f.world.bet_final);

  check_error(f.post_raw("/v1/bets", "{not json"), 400, "bad_json");
  check_error(f.post_raw("/v1/bets", "[]"), 400, "bad_json");
  check_error(f.post_raw("/v1/deposits", ""), 400, "bad_json");
  json typo = body;
  typo["wagr"] = 1;
  check_error(f.post("/v1/bets", typo), 400, "bad_request", "wagr");
  json bad_hex = body;
  bad_hex["client_seed"] = "xyz";
  check_error(f.post("/v1/bets", bad_hex), 400, "bad_request", "client_seed");
  json missing = body;
  missing.erase("signature");
  check_error(f.post("/v1/bets", missing), 400, "bad_request", "signature");
  json game = body;
  game["game"] = "poker";
  check_error(f.post("/v1/bets", game), 400, "bad_terms", "game");
  json wait = body;
  wait["wait_ms"] = 30001;
  check_error(f.post("/v1/bets", wait), 400, "bad_request", "wait_ms");
  wait["wait_ms"] = nullptr;
  check_error(f.post("/v1/bets", wait), 400, "bad_request", "wait_ms");
  const std::string text = body.dump();  // Signed for its wager: the last key would win.
  check_error(f.post_raw("/v1/bets", "{\"wager\":1," + text.substr(1)), 400, "bad_json", "duplicate key \"wager\"");
  check_error(f.post_raw("/v1/bets", text + std::string("\0garbage{[", 10)), 400, "bad_json", "NUL");
  check_error(f.post_raw("/v1/bets", text + "{}"), 400, "bad_json", "end of input");
  std::string overflow = text;
  overflow.replace(overflow.find("\"wager\":100"), 11, "\"wager\":1e400");
  check_error(f.post_raw("/v1/bets", overflow), 400, "bad_request", "wager");

  SUBCASE("an oversize body is 413 and the connection closes") {
    json big = body;
    big["client_seed"] = std::string(5000, 'a');
    Client c(f.port());
    Response r = c.post("/v1/bets", big);
    check_error(r, 413, "too_large", "4096");
    CHECK_FALSE(r.keep_alive);
    CHECK(c.closed_by_server());
  }
  SUBCASE("an oversize chunked body is 413 too") {
    Client c(f.port());
    std::string chunk(3000, ' ');
    c.write_raw("POST /v1/bets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::ostringstream req;
    for (int i = 0; i < 2; ++i) req << std::hex << chunk.size() << "\r\n" << chunk << "\r\n";
    req << "0\r\n\r\n";
    c.write_raw(req.str());
    check_error(c.read(), 413, "too_large");
  }
  SUBCASE("malformed HTTP is 400") {
    Client c(f.port());
    c.write_raw("GARBAGE\r\n\r\n");
    check_error(c.read(), 400, "bad_request", "HTTP");
  }
  CHECK(f.node.submitted().empty());
}

TEST_CASE("routes, methods and the read-only resources") {
  GatewayFixture f;
  const ApiWorld& w = f.world;

  check_error(f.get("/"), 404, "not_found");
  check_error(f.get("/v1/nothing"), 404, "not_found");
  check_error(f.get("/v1/bets/"), 404, "not_found");
  check_error(f.get("/v1/bets/" + to_hex(w.bet_final.bet_id) + "/x"), 404, "not_found");
  check_error(f.get("/v1/bets/nothex"), 400, "bad_request", "bet_id");

  Response r = f.get("/v1/bets");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.allow == "POST");
  Client c(f.port());
  r = c.send(http::verb::delete_, "/v1/accounts/" + to_hex(w.player.public_key));
  check_error(r, 405, "method_not_allowed");
  CHECK(r.allow == "GET");
  CHECK(c.send(http::verb::post, "/metrics", "{}").status == 405);
  CHECK(c.send(http::verb::put, "/v1/deposits", "{}").status == 405);

  SUBCASE("accounts") {
    Response a = f.get("/v1/accounts/" + to_hex(w.player.public_key));
    REQUIRE(a.status == 200);
    const Account* acc = w.p.accounts.find(w.player.public_key);
    CHECK(a.body_json() == json{{"account", to_hex(w.player.public_key)},
                                {"balance", acc->balance},
                                {"reserved", acc->reserved},
                                {"available", acc->available()},
                                {"nonce", acc->nonce},
                                {"pending_nonce", acc->pending_nonce}});
    check_error(f.get("/v1/accounts/" + to_hex(w.op.public_key)), 404, "not_found");
    check_error(f.get("/v1/accounts/abcd"), 400, "bad_request", "account");
  }
  SUBCASE("batches") {
    Response b = f.get("/v1/batches/" + to_hex(w.batch_id));
    REQUIRE(b.status == 200);
    json j = b.body_json();
    CHECK(j["status"] == "created");
    CHECK(j["items"] == 2);
    CHECK(j["totals"].is_null());
    check_error(f.get("/v1/batches/" + to_hex(test::small_id(3))), 404, "not_found");
  }
  SUBCASE("blocks") {
    Response b = f.get("/v1/blocks/2");
    REQUIRE(b.status == 200);
    json j = b.body_json();
    CHECK(j["height"] == 2);
    CHECK(j["hash"] == to_hex(w.blocks[1].hash));
    CHECK(j["prev_hash"] == to_hex(w.blocks[0].hash));
    CHECK(j["tx_ids"] == json::array({to_hex(tx_id(w.bet_final))}));
    CHECK(f.get("/v1/blocks/1").status == 200);
    check_error(f.get("/v1/blocks/3"), 404, "not_found");
    check_error(f.get("/v1/blocks/0"), 404, "not_found");
    check_error(f.get("/v1/blocks/two"), 400, "bad_request", "height");
  }
  SUBCASE("health") {
    Response h = f.get("/v1/health");
    CHECK(h.status == 200);
    CHECK(h.body_json() == json{{"status", "ok"},         {"ready", true},        {"log_head", w.seq},
                                {"block_height", 2},      {"mempool_size", 0},
                                {"node_key", to_hex(f.node.node_key())}});
    f.node.set_health(NodeHealth{false, "starting", 0, 0, 0});
    h = f.get("/v1/health");
    CHECK(h.status == 503);
    CHECK(h.body_json()["status"] == "starting");
    CHECK(h.body_json()["ready"] == false);
  }
  SUBCASE("metrics") {
    Response m = f.get("/metrics");
    CHECK(m.status == 200);
    CHECK(m.content_type == "text/plain; version=0.0.4");
    CHECK(m.body == "# TYPE croupier_up gauge\ncroupier_up 1\n");
  }
}

TEST_CASE("keep-alive: several requests on one connection") {
  GatewayFixture f;
  Client c(f.port());
  Response h = c.get("/v1/health");
  CHECK(h.status == 200);
  CHECK(h.keep_alive);
  Response b = c.post("/v1/bets", test::bet_json(f.world.bet_final));
  CHECK(b.status == 200);
  CHECK(b.body_json()["status"] == "final");
  check_error(c.get("/nowhere"), 404, "not_found");  // An error does not close the connection.
  CHECK(c.get("/metrics").status == 200);
  CHECK(c.get("/v1/blocks/1").status == 200);

  SUBCASE("two requests sent back to back (pipelined) are answered in order") {
    c.write_raw("GET /v1/blocks/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/blocks/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.read().body_json()["height"] == 1);
    CHECK(c.read().body_json()["height"] == 2);
  }
  SUBCASE("Connection: close is honoured") {
    Response last = c.send(http::verb::get, "/v1/health", {}, 11, false);
    CHECK(last.status == 200);
    CHECK_FALSE(last.keep_alive);
    CHECK(c.closed_by_server());
  }
  SUBCASE("HTTP/1.0 closes unless asked to keep alive") {
    Client old(f.port());
    Response r = old.send(http::verb::get, "/v1/health", {}, 10, false);
    CHECK(r.status == 200);
    CHECK(old.closed_by_server());
  }
}

TEST_CASE("Expect: 100-continue gets its interim answer") {
  GatewayFixture f;
  Client c(f.port());
  std::string body = test::bet_json(f.world.bet_final).dump();
  c.write_raw("POST /v1/bets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
              "Content-Length: " +
              std::to_string(body.size()) + "\r\n\r\n");
  std::string interim;
  net::read_until(c.socket(), net::dynamic_buffer(interim), "\r\n\r\n");
  CHECK(interim.rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
  c.write_raw(body);
  Response r = c.read();
  CHECK(r.status == 200);
  CHECK(r.body_json()["status"] == "final");
}

TEST_CASE("an idle connection is closed after the idle timeout") {
  GatewayOptions o;
  o.idle_timeout = 200ms;
  o.header_timeout = 200ms;
  GatewayFixture f(o);
  Client c(f.port());
  auto start = Clock::now();
  CHECK(c.closed_by_server());
  CHECK(Clock::now() - start < 5s);
  // A half-sent request is past the idle wait: its headers time out, with an answer.
  Client d(f.port());
  d.write_raw("GET /v1/health HTTP/1.1\r\nHost: x\r\n");
  check_error(d.read(), 408, "request_timeout", "headers");
  CHECK(d.closed_by_server());
}

TEST_CASE("binding a port in use fails with a message naming it") {
  GatewayFixture f;
  GatewayOptions o;
  o.port = f.port();
  try {
    Gateway second(f.node, o);
    FAIL("a second gateway bound the same port");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find("cannot listen on 127.0.0.1:" + std::to_string(f.port())) != std::string::npos);
  }
  o.host = "192.0.2.1";  // TEST-NET-1: an address no local interface has.
  o.port = 0;
  CHECK_THROWS_WITH_AS(Gateway(f.node, o), doctest::Contains("cannot listen on 192.0.2.1:0"), std::runtime_error);
}

TEST_CASE("stopping with clients waiting is safe, even when the node answers later") {
  ApiWorld world;
  FakeNode node(world);
  node.hold_until(1000, 2s);  // Answers only after 2 s: well after the gateway is gone.
  node.set_delay(0ms);
  std::string body = test::bet_json(world.bet_final).dump();
  bool closed = false;
  {
    GatewayOptions o;
    o.port = 0;
    o.drain_timeout = 300ms;  // The answer comes later: stop() gives up on it.
    Gateway gateway(node, o);
    gateway.start();
    gateway.start();  // Once only.
    Client c(gateway.port());
    http::request<http::string_body> req{http::verb::post, "/v1/bets", 11};
    req.set(http::field::host, "x");
    req.body() = body;
    req.prepare_payload();
    http::write(c.socket(), req);
    auto deadline = Clock::now() + 5s;
    while (node.submitted().empty() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    REQUIRE(node.submitted().size() == 1);
    auto start = Clock::now();
    gateway.stop();
    gateway.stop();  // Idempotent.
    CHECK(Clock::now() - start < 1500ms);  // The drain deadline, not the node, bounds it.
    closed = c.closed_by_server();
  }
  CHECK(closed);
  std::this_thread::sleep_for(2500ms);  // The held answer is delivered to a gateway that is gone.
  CHECK(node.max_in_flight() == 1);
}

namespace {

// One asynchronous client call: connect, POST, read the answer; records the status (0 and
// the error on failure).
struct AsyncCall : std::enable_shared_from_this<AsyncCall> {
  AsyncCall(net::io_context& ioc, const std::string& body, unsigned& status, std::string& error)
      : stream(ioc), status(status), error(error) {
    req = {http::verb::post, "/v1/bets", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  void start(const tcp::endpoint& ep) {
    stream.expires_after(60s);
    stream.async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail("connect", ec);
      http::async_write(self->stream, self->req, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->fail("write", ec);
        http::async_read(self->stream, self->buffer, self->res, [self](beast::error_code ec, std::size_t) {
          if (ec) return self->fail("read", ec);
          self->status = self->res.result_int();
          if (self->status != 200) self->error = self->res.body();
        });
      });
    });
  }
  void fail(const char* what, beast::error_code ec) { error = std::string(what) + ": " + ec.message(); }

  beast::tcp_stream stream;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  unsigned& status;
  std::string& error;
};

}  // namespace

TEST_CASE("1000 clients wait at once on two gateway threads") {
  constexpr std::size_t kClients = 1000;
  GatewayOptions o;
  o.threads = 2;
  GatewayFixture f(o);
  // Every answer is held until all 1000 submissions wait at the same time, then comes 200 ms
  // later: a gateway that kept a thread per waiting client could never get there.
  f.node.hold_until(kClients, 30s);
  f.node.set_delay(200ms);

  std::string body = test::bet_json(f.world.bet_final).dump();
  std::vector<unsigned> statuses(kClients, 0);
  std::vector<std::string> errors(kClients);
  net::io_context ioc;
  tcp::endpoint ep(net::ip::address_v4::loopback(), f.port());
  for (std::size_t i = 0; i < kClients; ++i) std::make_shared<AsyncCall>(ioc, body, statuses[i], errors[i])->start(ep);
  auto start = Clock::now();
  ioc.run();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  MESSAGE("1000 waiting clients answered in " << took.count() << " ms");

  std::size_t ok = 0, shown = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    if (statuses[i] == 200)
      ++ok;
    else if (shown++ < 10)
      MESSAGE("client " << i << ": status " << statuses[i] << " " << errors[i]);
  }
  CHECK(ok == kClients);
  CHECK(f.node.max_in_flight() == kClients);
  CHECK(f.node.submitted().size() == kClients);
  CHECK(took < 20s);
}

TEST_CASE("stopping while the node's answers stream in writes every one of them") {
  // Answers to 100 waiting clients are released at about the moment the gateway stops, a
  // little before or after it in each round: stop() waits until each is written.
  constexpr std::size_t kClients = 100;
  ApiWorld world;
  FakeNode node(world);
  std::string body = test::bet_json(world.bet_final).dump();
  for (int round = 0; round < 6; ++round) {
    CAPTURE(round);
    auto idle = Clock::now() + 10s;
    while (node.in_flight() != 0 && Clock::now() < idle) std::this_thread::sleep_for(1ms);  // The last round's.
    GatewayOptions o;
    o.port = 0;
    auto gateway = std::make_unique<Gateway>(node, o);
    gateway->start();
    node.hold_until(kClients, 30s);
    std::vector<unsigned> statuses(kClients, 0);
    std::vector<std::string> errors(kClients);
    net::io_context ioc;
    tcp::endpoint ep(net::ip::address_v4::loopback(), gateway->port());
    for (std::size_t i = 0; i < kClients; ++i)
      std::make_shared<AsyncCall>(ioc, body, statuses[i], errors[i])->start(ep);
    std::thread client([&] { ioc.run(); });
    auto deadline = Clock::now() + 10s;
    while (node.submitted().size() < kClients * static_cast<std::size_t>(round + 1) && Clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(std::chrono::microseconds(round * 150));
    gateway->stop();
    gateway.reset();
    client.join();
    for (std::size_t i = 0; i < kClients; ++i) {
      CAPTURE(errors[i]);
      CHECK(statuses[i] == 200);  // Answered in full: a lost answer (status 0) fails.
    }
  }
}

namespace {

// --- raw sockets, for many connections at once (an io_context per Client costs descriptors) -

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // False when the peer is gone (no SIGPIPE: MSG_NOSIGNAL).
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Everything the server sends until it closes (true) or `limit` passes (false).
  bool read_to_close(std::string& out, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;  // End of stream, or reset.
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// The status of a raw response ("HTTP/1.1 408 ..." -> 408), 0 when there is none.
unsigned raw_status(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return static_cast<unsigned>(std::stoul(response.substr(9, 3)));
}

// Room for `n` descriptors: raises the soft limit towards the hard one.
void require_descriptors(rlim_t n) {
  rlimit lim{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < n) {
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? n : std::min(n, lim.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &lim);
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  }
  REQUIRE_MESSAGE((lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= n), "this test needs ", n, " descriptors");
}

// GET /v1/health on a new connection: its status, and how long the exchange took.
std::pair<unsigned, std::chrono::milliseconds> timed_health(std::uint16_t port) {
  auto start = Clock::now();
  RawConnection c(port);
  std::string out;
  if (c.connected() && c.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    c.read_to_close(out, 5s);
  return {raw_status(out), std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)};
}

}  // namespace

TEST_CASE("a request slower than its read deadlines gets 408 and its connection closes") {
  GatewayOptions o;
  o.idle_timeout = 5s;
  o.header_timeout = 300ms;
  o.body_timeout = 300ms;
  GatewayFixture f(o);

  SUBCASE("headers that do not end") {
    Client c(f.port());
    auto start = Clock::now();
    c.write_raw("GET /v1/health HTTP/1.1\r\nHost: x\r\n");
    Response r = c.read();
    check_error(r, 408, "request_timeout", "headers");
    CHECK_FALSE(r.keep_alive);
    CHECK(c.closed_by_server());
    CHECK(Clock::now() - start >= 250ms);
    CHECK(Clock::now() - start < 5s);
  }
  SUBCASE("headers dribbled a byte at a time are cut at the deadline, progress or not") {
    RawConnection c(f.port());
    const std::string slow = "GET /v1/health HTTP/1.1\r\nX-Slow: " + std::string(100, 'a');
    auto start = Clock::now();
    for (std::size_t i = 0; i < 10; ++i) {  // One byte every 20 ms: 200 ms of the 300.
      REQUIRE(c.send(slow.substr(i, 1)));
      std::this_thread::sleep_for(20ms);
    }
    std::string out;
    CHECK(c.read_to_close(out, 5s));
    CHECK(raw_status(out) == 408);
    CHECK(out.find("\"request_timeout\"") != std::string::npos);
    CHECK(Clock::now() - start < 3s);
  }
  SUBCASE("a Content-Length beyond the bytes sent") {
    Client c(f.port());
    c.write_raw("POST /v1/bets HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"bet_id\":");
    Response r = c.read();
    check_error(r, 408, "request_timeout", "body");
    CHECK(c.closed_by_server());
  }
  SUBCASE("Expect: 100-continue and then no body") {
    Client c(f.port());
    c.write_raw("POST /v1/bets HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
    std::string interim;
    net::read_until(c.socket(), net::dynamic_buffer(interim), "\r\n\r\n");
    CHECK(interim.rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
    check_error(c.read(), 408, "request_timeout", "body");
  }
  SUBCASE("the header deadline counts from the request's first byte, not from the last answer") {
    Client c(f.port());
    CHECK(c.get("/v1/health").status == 200);
    std::this_thread::sleep_for(600ms);  // Idle, within the idle timeout, past the header timeout.
    CHECK(c.get("/v1/health").status == 200);
  }
  CHECK(f.node.submitted().empty());
}

TEST_CASE("beyond max_connections a new connection gets 503 busy at once and is closed") {
  GatewayOptions o;
  o.max_connections = 3;
  GatewayFixture f(o);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(f.port()));
    CHECK(held.back()->get("/v1/health").status == 200);  // Each is accepted and served.
  }
  RawConnection extra(f.port());
  REQUIRE(extra.connected());
  extra.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out;
  CHECK(extra.read_to_close(out, 5s));
  CAPTURE(out);
  CHECK(raw_status(out) == 503);
  CHECK(out.find("Retry-After: 1\r\n") != std::string::npos);
  CHECK(out.find("\"error\":\"busy\"") != std::string::npos);
  auto lines = f.log.lines();
  CHECK(std::any_of(lines.begin(), lines.end(),
                    [](const std::string& l) { return l.find("3 connections") != std::string::npos; }));
  // The held connections still work, and once one closes a new one is served.
  CHECK(held[0]->get("/v1/blocks/1").status == 200);
  held.pop_back();
  unsigned status = 0;
  auto deadline = Clock::now() + 5s;
  while (status != 200 && Clock::now() < deadline) {
    status = timed_health(f.port()).first;
    if (status != 200) std::this_thread::sleep_for(10ms);
  }
  CHECK(status == 200);
}

TEST_CASE("health answers within 1 s under 2000 idle, 200 slowloris and oversize Content-Length connections") {
  constexpr std::size_t kIdle = 2000, kSlow = 200, kShort = 20;
  require_descriptors(2 * (kIdle + kSlow + kShort) + 500);  // Both ends live in this process.
  GatewayOptions o;
  o.idle_timeout = 5s;
  o.header_timeout = 3s;
  o.body_timeout = 3s;
  GatewayFixture f(o);
  auto open = [&](std::size_t n) {
    std::vector<std::unique_ptr<RawConnection>> v;
    for (std::size_t i = 0; i < n; ++i) {
      v.push_back(std::make_unique<RawConnection>(f.port()));
      REQUIRE(v.back()->connected());
    }
    return v;
  };
  auto idle = open(kIdle), slow = open(kSlow), short_body = open(kShort);
  const auto opened = Clock::now();
  for (auto& c : short_body) REQUIRE(c->send("POST /v1/bets HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{"));
  // The slowloris: one byte a second on each, for 2 s of the 3 s header deadline.
  std::atomic<bool> dribbling{true};
  std::thread dribbler([&] {
    const std::string slow_request = "GET /v1/health HTTP/1.1\r\nX-Slow: aaaaaaaa";
    for (std::size_t i = 0; i < 3 && dribbling; ++i) {
      for (auto& c : slow) c->send(slow_request.substr(i, 1));
      std::this_thread::sleep_for(1s);
    }
  });
  // While all of them are held (before the first deadline), health keeps answering.
  std::size_t checks = 0;
  std::chrono::milliseconds worst{0};
  while (Clock::now() - opened < 2500ms) {
    auto [status, took] = timed_health(f.port());
    CHECK(status == 200);
    worst = std::max(worst, took);
    ++checks;
    std::this_thread::sleep_for(50ms);
  }
  dribbling = false;
  dribbler.join();
  MESSAGE(checks << " health checks under load, the slowest " << worst.count() << " ms");
  CHECK(checks >= 10);
  CHECK(worst < 1s);
  // Then the deadlines: every slowloris and every short body gets 408 and is closed, and
  // every idle connection is closed.
  auto expect_408 = [](std::vector<std::unique_ptr<RawConnection>>& conns, const char* what) {
    std::size_t answered = 0;
    for (auto& c : conns) {
      std::string out;
      if (c->read_to_close(out, 10s) && raw_status(out) == 408) ++answered;
    }
    CAPTURE(what);
    CHECK(answered == conns.size());
  };
  expect_408(slow, "slowloris");
  expect_408(short_body, "short bodies");
  std::size_t closed = 0;
  for (auto& c : idle) {
    std::string out;
    if (c->read_to_close(out, 10s) && out.empty()) ++closed;
  }
  CHECK(closed == kIdle);
  CHECK(Clock::now() - opened < 15s);
  CHECK(timed_health(f.port()).first == 200);
}

TEST_CASE("stop_accepting, then stop: no new connection or request, and every waiting client answered") {
  constexpr std::size_t kClients = 200;
  GatewayFixture f;
  f.node.hold_until(1'000'000, 60s);  // Like a node's waiters: answers only when told.
  std::string body = test::bet_json(f.world.bet_final).dump();
  std::vector<unsigned> statuses(kClients, 0);
  std::vector<std::string> errors(kClients);
  net::io_context ioc;
  tcp::endpoint ep(net::ip::address_v4::loopback(), f.port());
  for (std::size_t i = 0; i < kClients; ++i) std::make_shared<AsyncCall>(ioc, body, statuses[i], errors[i])->start(ep);
  std::thread clients([&] { ioc.run(); });
  auto deadline = Clock::now() + 20s;
  while (f.node.in_flight() < kClients && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  REQUIRE(f.node.in_flight() == kClients);
  RawConnection idle(f.port()), arriving(f.port());
  Client keep_alive(f.port());
  CHECK(keep_alive.get("/v1/health").status == 200);
  REQUIRE(arriving.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n"));  // Half a request.
  std::this_thread::sleep_for(100ms);

  f.gateway->stop_accepting();
  std::string out;
  CHECK(idle.read_to_close(out, 5s));  // Closed between requests, without an answer.
  CHECK(out.empty());
  CHECK(keep_alive.closed_by_server());
  out.clear();
  CHECK(arriving.read_to_close(out, 5s));  // Still arriving: refused, then closed.
  CHECK(raw_status(out) == 503);
  CHECK(out.find("\"unavailable\"") != std::string::npos);
  bool refused = false;
  for (auto until = Clock::now() + 5s; !refused && Clock::now() < until; std::this_thread::sleep_for(10ms))
    refused = !RawConnection(f.port()).connected();
  CHECK(refused);  // The listening socket is closed.

  f.node.release_held();  // The node stops: its waiters answer.
  auto start = Clock::now();
  f.gateway->stop();
  MESSAGE("stop() took " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
                         << " ms after the answers were released");
  clients.join();
  std::size_t answered = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    if (statuses[i] == 200) ++answered;
    else if (!errors[i].empty()) MESSAGE("client " << i << ": " << errors[i]);
  }
  CHECK(answered == kClients);
}
