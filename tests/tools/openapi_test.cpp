// The OpenAPI description (actors/openapi.json, served at GET /v1/openapi.json) against the real
// `croupier node` over real sockets: every endpoint is called, and every answer of every status
// and error code it can give from outside (with and without Croupier-Numbers: string) must be
// a response the document lists for that operation and status, of its content type, with its
// required headers, and with a body its schema accepts. Then every (path, method, status) the
// document lists must have been seen, but for a short list that no outside client can bring
// about (a bug's 500, a stopping node's 503), each with its reason: so the description cannot
// drift from the code in either direction.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_schema.hpp"
#include "node_process.hpp"
#include "player_support.hpp"
#include "test_support.hpp"
#include "tools/event_stream.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace {

using namespace croupier;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;


// --- a raw HTTP/1.1 exchange, so that any header can be sent and every header read --------

struct Answer {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // Names in lower case.
  std::string body;
};

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // The server closed early (a 413 before the whole body): read its answer.
    sent += static_cast<std::size_t>(n);
  }
}

// Reads an answer: to the end of the connection, or only the status line and headers.
Answer read_answer(int fd, bool headers_only) {
  std::string in;
  char buf[65536];
  while (!headers_only || in.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  Answer a;
  const auto end = in.find("\r\n\r\n");
  REQUIRE_MESSAGE(end != std::string::npos, (std::string("no complete answer: ") + in.substr(0, 300)));
  std::istringstream head(in.substr(0, end));
  std::string line;
  std::getline(head, line);
  REQUIRE(line.rfind("HTTP/1.1 ", 0) == 0);
  a.status = static_cast<unsigned>(std::stoul(line.substr(9, 3)));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    a.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  a.body = in.substr(end + 4);
  return a;
}

Answer exchange(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
                const std::vector<std::string>& headers = {}, bool headers_only = false) {
  int fd = connect_to(port);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  send_all(fd, req + "\r\n" + body);
  return read_answer(fd, headers_only);
}

// --- the document and what was seen of it -----------------------------------------------

using Seen = std::tuple<std::string, std::string, std::string>;  // path template, method, status

struct Conformance {
  json doc;
  test::JsonSchema schemas{json::object()};
  std::set<Seen> seen;
  std::set<std::string> error_codes_seen;

  void load(const json& d) {
    doc = d;
    schemas = test::JsonSchema(d);
  }

  const json& follow(const json& j) const { return j.contains("$ref") ? schemas.resolve(j["$ref"]) : j; }

  // Checks `a` against `response` (an OpenAPI response object).
  void check_response(const json& response_in, const Answer& a) {
    const json& response = follow(response_in);
    const json headers = response.value("headers", json::object());
    for (const auto& [name, header] : headers.items()) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (follow(header).value("required", false)) CHECK_MESSAGE(a.headers.count(lower), (std::string("missing header ") + name));
    }
    if (!response.contains("content")) {
      CHECK(a.body.empty());
      return;
    }
    std::string type = a.headers.count("content-type") ? a.headers.at("content-type") : "";
    type = type.substr(0, type.find(';'));
    CAPTURE(type);
    REQUIRE_MESSAGE(response["content"].contains(type), (std::string("content type ") + type + " is not documented here"));
    if (type != "application/json") return;
    const json body = json::parse(a.body);
    const auto problems = schemas.check(response["content"][type]["schema"], body);
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    CHECK_MESSAGE(problems.empty(), all);
    if (a.status >= 400 && body.contains("error")) error_codes_seen.insert(body["error"].is_string() ? body["error"].get<std::string>() : body["error"].dump());
  }

  // `a` answered `method path_template` (e.g. "/v1/bets/{bet_id}"): must be documented there.
  void operation(const std::string& method, const std::string& path_template, const Answer& a) {
    CAPTURE(method);
    CAPTURE(path_template);
    CAPTURE(a.status);
    CAPTURE(a.body.substr(0, 600));
    REQUIRE(doc["paths"].contains(path_template));
    const json& op = doc["paths"][path_template][method];
    REQUIRE(op.is_object());
    const std::string status = std::to_string(a.status);
    REQUIRE_MESSAGE(op["responses"].contains(status), (std::string("status ") + status + " is not documented"));
    check_response(op["responses"][status], a);
    seen.insert({path_template, method, status});
  }

  // An answer any route may give (components.responses[name]).
  void generic(const std::string& name, unsigned status, const Answer& a) {
    CAPTURE(name);
    CAPTURE(a.body.substr(0, 600));
    CHECK(a.status == status);
    REQUIRE(doc["components"]["responses"].contains(name));
    check_response(doc["components"]["responses"][name], a);
  }
};

struct Node : test::NodeProcess {
  explicit Node(const fs::path& dir)
      : NodeProcess(dir,
                    "batch-max-bets = 3\n"
                    "feed-max-consumers = 1\n"
                    "http-max-connections = 16\n"
                    "http-header-timeout = 1s\n"
                    "feed-heartbeat = 100ms\n") {}  // A closed consumer's slot frees soon.
};

const std::string kNumbersAsStrings = "Croupier-Numbers: string";

}  // namespace

TEST_CASE("the schema checker refuses what it should, so that a pass means something") {
  const json doc = {{"components",
                     {{"schemas",
                       {{"Hex", {{"type", "string"}, {"pattern", "^[0-9a-f]{4}$"}}},
                        {"Thing",
                         {{"type", "object"},
                          {"additionalProperties", false},
                          {"required", {"id", "n"}},
                          {"properties",
                           {{"id", {{"$ref", "#/components/schemas/Hex"}}},
                            {"n", {{"type", {"integer", "string"}}, {"minimum", 0}, {"maximum", 9}}},
                            {"kind", {{"enum", {"a", "b"}}}},
                            {"list", {{"type", "array"}, {"items", {{"type", "boolean"}}}, {"maxItems", 2}}},
                            {"either", {{"oneOf", {{{"type", "null"}}, {{"type", "integer"}}}}}}}}}}}}}}};
  test::JsonSchema s(doc);
  const json& thing = doc["components"]["schemas"]["Thing"];
  CHECK(s.check(thing, {{"id", "00ff"}, {"n", 3}, {"kind", "a"}, {"list", {true}}, {"either", nullptr}}).empty());
  CHECK(s.check(thing, {{"id", "00ff"}, {"n", "12"}}).empty());
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}}).empty());                       // required
  CHECK_FALSE(s.check(thing, {{"id", "00FF"}, {"n", 1}}).empty());             // pattern
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", 10}}).empty());            // maximum
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", true}}).empty());          // type
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", 1}, {"extra", 1}}).empty());  // additionalProperties
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", 1}, {"kind", "c"}}).empty());  // enum
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", 1}, {"list", {1}}}).empty());  // items
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", 1}, {"list", {true, true, true}}}).empty());  // maxItems
  CHECK_FALSE(s.check(thing, {{"id", "00ff"}, {"n", 1}, {"either", "x"}}).empty());  // oneOf
  CHECK_THROWS(s.check(json{{"unevaluatedProperties", false}}, json::object()));      // unknown keyword
}

TEST_CASE("EveryAnswerOfTheRealNodeIsWhatItsOpenApiDescriptionSays") {
  test::TempDir dir("croupier-openapi");
  Node node(dir.path());
  const auto port = node.port;
  Conformance c;

  // The document: served by the node, the same as the repository's file, OpenAPI 3.1.
  {
    Answer a = exchange(port, "GET", "/v1/openapi.json");
    REQUIRE(a.status == 200);
    std::ifstream file(std::string(CROUPIER_SOURCE_DIR) + "/actors/openapi.json");
    REQUIRE(file);
    const json from_file = json::parse(file);
    const json served = json::parse(a.body);
    CHECK(served == from_file);
    CHECK(served.at("openapi").get<std::string>().rfind("3.1", 0) == 0);
    c.load(served);
    c.operation("get", "/v1/openapi.json", a);
  }

  const auto keys = tools::read_node_keys(node.data);
  REQUIRE(keys);
  tools::HttpClient http("127.0.0.1", port);
  std::mt19937_64 rng(20261203);
  auto deposit = [&](const PublicKey& account, Amount amount) {
    Deposit d;
    d.deposit_id = test::random_id(rng);
    d.account = account;
    d.amount = amount;
    d.operator_key = keys->operator_key.public_key;
    sign_tx(d, keys->operator_key);
    return d;
  };
  auto with_wait = [](json body, int wait_ms) {
    body["wait_ms"] = wait_ms;
    return body.dump();
  };

  // --- POST /v1/deposits and GET /v1/deposits/{deposit_id} ---
  const KeyPair player = test::random_key(rng);
  const Deposit funded = deposit(player.public_key, 1000);
  for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}}) {
    c.operation("post", "/v1/deposits",
                exchange(port, "POST", "/v1/deposits", with_wait(test::deposit_json(funded), 10000), numbers));
  }
  // Pending (202): a deposit answered at once is usually not final yet; one that is (200) is
  // checked too, and another is sent.
  for (int i = 0; i < 50 && !c.seen.count({"/v1/deposits", "post", "202"}); ++i)
    c.operation("post", "/v1/deposits",
                exchange(port, "POST", "/v1/deposits", with_wait(test::deposit_json(deposit(player.public_key, 5)), 0)));
  {
    Deposit changed = funded;
    changed.amount += 1;
    sign_tx(changed, keys->operator_key);
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", test::deposit_json(changed).dump()));
    Deposit forged = deposit(player.public_key, 7);
    forged.signature[0] ^= 1;
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", test::deposit_json(forged).dump()));
    const KeyPair stranger = test::random_key(rng);
    Deposit not_operator = deposit(player.public_key, 7);
    not_operator.operator_key = stranger.public_key;
    sign_tx(not_operator, stranger);
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", test::deposit_json(not_operator).dump()));
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", test::deposit_json(deposit(player.public_key, 0)).dump()));
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", "{\"deposit_id\": "));
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", "{\"deposit_id\": \"00\"}"));
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", std::string(70000, ' ')));
  }
  for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}})
    c.operation("get", "/v1/deposits/{deposit_id}",
                exchange(port, "GET", "/v1/deposits/" + to_hex(funded.deposit_id), "", numbers));
  c.operation("get", "/v1/deposits/{deposit_id}", exchange(port, "GET", "/v1/deposits/zz"));
  c.operation("get", "/v1/deposits/{deposit_id}", exchange(port, "GET", "/v1/deposits/" + std::string(32, '0')));

  // --- POST /v1/bets and GET /v1/bets/{bet_id} ---
  const Bet first = test::signed_bet(player, 1, rng);
  Answer final_bet = exchange(port, "POST", "/v1/bets", with_wait(test::bet_json(first), 10000));
  REQUIRE(final_bet.status == 200);
  c.operation("post", "/v1/bets", final_bet);
  c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", with_wait(test::bet_json(first), 10000), {kNumbersAsStrings}));
  for (std::uint64_t nonce = 2; nonce < 52 && !c.seen.count({"/v1/bets", "post", "202"}); ++nonce)
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", with_wait(test::bet_json(test::signed_bet(player, nonce, rng)), 0)));
  {
    Bet conflict = first;
    conflict.wager += 1;
    sign_tx(conflict, player);
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", test::bet_json(conflict).dump()));
    Bet forged = test::signed_bet(player, 3, rng);
    forged.signature[0] ^= 1;
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", test::bet_json(forged).dump()));
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", test::bet_json(test::signed_bet(player, 1000, rng)).dump()));
    json bad_game = test::bet_json(test::signed_bet(player, 3, rng));
    bad_game["game"] = "roulette";
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", bad_game.dump()));
    const KeyPair poor = test::random_key(rng);
    c.operation("post", "/v1/deposits", exchange(port, "POST", "/v1/deposits", with_wait(test::deposit_json(deposit(poor.public_key, 5)), 10000)));
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", test::bet_json(test::signed_bet(poor, 1, rng)).dump()));
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", "[1, 2]"));
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", "{\"bet_id\": 1}"));
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", std::string(70000, ' ')));
    c.operation("post", "/v1/bets", exchange(port, "POST", "/v1/bets", test::bet_json(first).dump(), {"Croupier-Numbers: octal"}));
  }
  for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}})
    c.operation("get", "/v1/bets/{bet_id}", exchange(port, "GET", "/v1/bets/" + to_hex(first.bet_id), "", numbers));
  c.operation("get", "/v1/bets/{bet_id}", exchange(port, "GET", "/v1/bets/12"));
  c.operation("get", "/v1/bets/{bet_id}", exchange(port, "GET", "/v1/bets/" + std::string(32, '0')));

  // --- POST /v1/bets/batch ---
  {
    json batch{{"bets", json::array()}, {"wait_ms", 10000}};
    for (int i = 0; i < 2; ++i) {
      const KeyPair p = test::random_key(rng);
      REQUIRE(test::fund(http, keys->operator_key, p.public_key, 1000, rng) == 200);
      batch["bets"].push_back(test::bet_json(test::signed_bet(p, 1, rng)));
    }
    batch["bets"].push_back(json{{"bet_id", "not hex"}});
    for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}})
      c.operation("post", "/v1/bets/batch", exchange(port, "POST", "/v1/bets/batch", batch.dump(), numbers));
    json too_many = batch;
    too_many["bets"].push_back(batch["bets"][0]);
    c.operation("post", "/v1/bets/batch", exchange(port, "POST", "/v1/bets/batch", too_many.dump()));
    c.operation("post", "/v1/bets/batch", exchange(port, "POST", "/v1/bets/batch", "{\"bets\": []}"));
    c.operation("post", "/v1/bets/batch", exchange(port, "POST", "/v1/bets/batch", "{\"bets\": "));
  }

  // --- accounts, blocks, batches ---
  for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}}) {
    c.operation("get", "/v1/accounts/{account}", exchange(port, "GET", "/v1/accounts/" + to_hex(player.public_key), "", numbers));
    c.operation("get", "/v1/blocks/{height}", exchange(port, "GET", "/v1/blocks/1", "", numbers));
  }
  c.operation("get", "/v1/accounts/{account}", exchange(port, "GET", "/v1/accounts/xyz"));
  c.operation("get", "/v1/accounts/{account}", exchange(port, "GET", "/v1/accounts/" + std::string(64, '0')));
  c.operation("get", "/v1/blocks/{height}", exchange(port, "GET", "/v1/blocks/two"));
  c.operation("get", "/v1/blocks/{height}", exchange(port, "GET", "/v1/blocks/999999"));
  {
    // The first bet's batch, once the sequencer has cut it (100 ms by default).
    std::string batch_id;
    for (int i = 0; i < 200 && batch_id.empty(); ++i) {
      json bet = json::parse(exchange(port, "GET", "/v1/bets/" + to_hex(first.bet_id)).body);
      if (bet.at("batch_id").is_string()) batch_id = bet["batch_id"];
      else std::this_thread::sleep_for(50ms);
    }
    REQUIRE_FALSE(batch_id.empty());
    for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}})
      c.operation("get", "/v1/batches/{batch_id}", exchange(port, "GET", "/v1/batches/" + batch_id, "", numbers));
    c.operation("get", "/v1/batches/{batch_id}", exchange(port, "GET", "/v1/batches/nope"));
    c.operation("get", "/v1/batches/{batch_id}", exchange(port, "GET", "/v1/batches/" + std::string(32, '0')));
  }

  // --- health, metrics, the event feed ---
  for (const auto& numbers : {std::vector<std::string>{}, std::vector<std::string>{kNumbersAsStrings}})
    c.operation("get", "/v1/health", exchange(port, "GET", "/v1/health", "", numbers));
  c.operation("get", "/metrics", exchange(port, "GET", "/metrics"));
  // Croupier-Numbers is read before the route: a bad value is a 400 on any path.
  for (const char* path : {"/v1/health", "/metrics", "/v1/openapi.json"})
    c.operation("get", path, exchange(port, "GET", path, "", {"Croupier-Numbers: octal"}));
  c.operation("get", "/v1/events", exchange(port, "GET", "/v1/events?types=Nonsense"));
  c.operation("get", "/v1/events", exchange(port, "GET", "/v1/events?after=99999999"));
  {
    tools::EventStream holder(tools::Endpoint{"127.0.0.1", port}, tools::FeedQuery{});  // The one consumer allowed.
    REQUIRE(holder.next(10s));
    c.operation("get", "/v1/events", exchange(port, "GET", "/v1/events", "", {}));
  }
  // The held feed's session ends at its next heartbeat's failed write.
  Answer feed;
  for (int i = 0; i < 50 && feed.status != 200; ++i) {
    std::this_thread::sleep_for(100ms);
    feed = exchange(port, "GET", "/v1/events?after=0", "", {"Last-Event-ID: 2"}, true);
  }
  c.operation("get", "/v1/events", feed);

  // --- what any route may answer ---
  c.generic("MethodNotAllowed", 405, exchange(port, "DELETE", "/v1/bets"));
  c.generic("NoRoute", 404, exchange(port, "GET", "/v2/nothing"));
  c.generic("TooLarge", 413, exchange(port, "POST", "/v1/deposits", std::string(70000, ' ')));
  {
    int fd = connect_to(port);
    send_all(fd, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // Headers never finished.
    c.generic("RequestTimeout", 408, read_answer(fd, false));
  }
  {
    std::vector<int> held;
    for (int i = 0; i < 16; ++i) held.push_back(connect_to(port));
    std::this_thread::sleep_for(200ms);
    c.generic("ConnectionLimit", 503, read_answer(connect_to(port), false));
    for (int fd : held) ::close(fd);
  }

  // --- every documented answer was seen, but those no outside client can cause ---
  const std::map<Seen, std::string> unreachable = {
      {{"/v1/bets", "post", "500"}, "a bug (tests/actors/gateway_test.cpp: a fake node that throws)"},
      {{"/v1/bets/batch", "post", "500"}, "a bug"},
      {{"/v1/deposits", "post", "500"}, "a bug"},
      {{"/v1/bets/{bet_id}", "get", "500"}, "a bug"},
      {{"/v1/deposits/{deposit_id}", "get", "500"}, "a bug"},
      {{"/v1/accounts/{account}", "get", "500"}, "a bug"},
      {{"/v1/batches/{batch_id}", "get", "500"}, "a bug"},
      {{"/v1/blocks/{height}", "get", "500"}, "a bug"},
      {{"/v1/events", "get", "500"}, "a bug"},
      {{"/metrics", "get", "500"}, "a bug"},
      {{"/v1/health", "get", "500"}, "a bug"},
      {{"/v1/bets", "post", "503"}, "a full mempool or a stopping node (tests/tools/node_shutdown_test.cpp)"},
      {{"/v1/deposits", "post", "503"}, "a full mempool or a stopping node"},
      {{"/v1/bets/batch", "post", "503"}, "a stopping node"},
      {{"/v1/bets/{bet_id}", "get", "503"}, "a node whose journal failed"},
      {{"/v1/deposits/{deposit_id}", "get", "503"}, "a node whose journal failed"},
      {{"/v1/accounts/{account}", "get", "503"}, "a node whose journal failed"},
      {{"/v1/batches/{batch_id}", "get", "503"}, "a node whose journal failed"},
      {{"/v1/blocks/{height}", "get", "503"}, "a node whose journal failed"},
      {{"/v1/health", "get", "503"}, "a stopping node"},
      {{"/metrics", "get", "503"}, "a stopping node"},
      {{"/v1/openapi.json", "get", "503"}, "a stopping node"},
  };
  std::vector<std::string> unseen;
  for (const auto& [path, item] : c.doc["paths"].items())
    for (const auto& [method, op] : item.items())
      for (const auto& [status, response] : op["responses"].items()) {
        Seen s{path, method, status};
        if (!c.seen.count(s) && !unreachable.count(s)) unseen.push_back(method + " " + path + " " + status);
      }
  std::string list;
  for (const auto& u : unseen) list += "\n  " + u;
  CHECK_MESSAGE(unseen.empty(), (std::string("documented but never seen:") + list));
  std::vector<std::string> stale;
  for (const auto& [s, why] : unreachable) {
    const auto& [path, method, status] = s;
    if (!c.doc["paths"].contains(path) || !c.doc["paths"][path].contains(method) ||
        !c.doc["paths"][path][method]["responses"].contains(status))
      stale.push_back(method + " " + path + " " + status);
  }
  CHECK(stale.empty());
  // Error codes: every refusal a client can cause here was seen and is in the document.
  for (const char* code : {"bad_json", "bad_request", "bad_terms", "bad_signature", "wrong_nonce", "insufficient_funds",
                           "conflict", "not_operator", "zero_amount", "not_found", "too_large", "beyond_head", "busy",
                           "method_not_allowed", "request_timeout"}) {
    CAPTURE(code);
    CHECK(c.error_codes_seen.count(code));
  }
}
