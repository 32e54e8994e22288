// `croupier client` and its HTTP client, against a scripted HTTP server in the test (the
// node's gateway is not assembled yet): the client signs exactly the bytes the API spec
// names (checked byte for byte, not through domain/ alone), asks for the nonce when none is
// given, verifies a real VRF outcome and refuses tampered ones (exit 1), prints the node's
// error code and message, says how to poll a pending answer, refuses bad usage (exit 2) and
// says what to do when nothing listens. HttpClient keeps its connection alive, reconnects
// once when the server closed it, gives up after that one retry and honours its timeout;
// parse_endpoint names what is wrong with an address.
//
// Method: ScriptedServer is a synchronous Boost.Beast server on a thread (127.0.0.1, port
// 0) that records every request and answers with a handler's reply. The handler runs on the
// server thread and makes no doctest assertions; the test thread checks the recorded
// requests afterwards. Most runs call tools::run_client directly with std::cout/std::cerr
// captured; the main bet path and the refused connection run the croupier binary.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "domain/games.hpp"
#include "domain/transactions.hpp"
#include "domain/vrf.hpp"
#include "test_support.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace {

using namespace croupier;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace fs = std::filesystem;

// --- a scripted HTTP server -------------------------------------------------------------------

struct Seen {
  std::string method, target, body;
  std::size_t connection = 0;  // 1-based number of the connection it came on.
  std::size_t index = 0;       // 1-based number of the request on that connection.
};

struct Reply {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  bool close_after = false;  // Answer (saying keep-alive) and then close the connection.
  bool drop = false;         // Close the connection without answering.
};

class ScriptedServer {
 public:
  using Handler = std::function<Reply(const Seen&)>;

  explicit ScriptedServer(Handler handler)
      : handler_(std::move(handler)), acceptor_(ioc_, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // Wakes a blocked accept (Linux).
    {
      std::lock_guard lock(mutex_);
      if (conn_fd_ >= 0) ::shutdown(conn_fd_, SHUT_RDWR);  // Wakes a blocked read.
    }
    thread_.join();
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string node() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> requests() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t connections() const { return connections_; }
  std::size_t closed() const { return closed_; }

  // Waits until the server has closed `n` connections (false after a few seconds).
  bool wait_closed(std::size_t n) const {
    for (int i = 0; i < 500 && closed_ < n; ++i) std::this_thread::sleep_for(10ms);
    return closed_ >= n;
  }

 private:
  void serve() {
    while (!stop_) {
      tcp::socket sock(ioc_);
      beast::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      std::size_t conn = ++connections_;
      {
        std::lock_guard lock(mutex_);
        conn_fd_ = sock.native_handle();
      }
      beast::flat_buffer buffer;
      for (std::size_t index = 1;; ++index) {
        http::request<http::string_body> req;
        http::read(sock, buffer, req, ec);
        if (ec) break;
        Seen seen{std::string(req.method_string()), std::string(req.target()), req.body(), conn, index};
        {
          std::lock_guard lock(mutex_);
          seen_.push_back(seen);
        }
        Reply reply = handler_(seen);
        if (reply.drop) break;
        http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
        res.set(http::field::content_type, reply.content_type);
        for (const auto& [name, value] : reply.headers) res.set(name, value);
        res.body() = reply.body;
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        http::write(sock, res, ec);
        if (ec || reply.close_after || !req.keep_alive()) break;
      }
      {
        std::lock_guard lock(mutex_);
        conn_fd_ = -1;
      }
      sock.shutdown(tcp::socket::shutdown_both, ec);
      sock.close(ec);
      ++closed_;
    }
  }

  Handler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0}, closed_{0};
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  int conn_fd_ = -1;
};

Reply json_reply(unsigned status, const json& body) { return Reply{status, body.dump(), {}, "application/json"}; }

using test::free_port;

// --- running the client -----------------------------------------------------------------------

struct Run {
  int code = -1;
  std::string out, err;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// tools::run_client in this process, with std::cout and std::cerr captured.
Run client(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  struct Restore {
    std::streambuf *o, *e;
    ~Restore() {
      std::cout.rdbuf(o);
      std::cerr.rdbuf(e);
    }
  } restore{std::cout.rdbuf(out.rdbuf()), std::cerr.rdbuf(err.rdbuf())};
  Run r;
  r.code = tools::run_client(args);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// The croupier binary's `client` subcommand.
Run client_binary(const std::vector<std::string>& args) {
  std::vector<std::string> argv{CROUPIER_BINARY, "client"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = test::run_process(argv);
  return Run{p.exit_code, p.out, p.err};
}

// --- the spec's signed bytes, written out independently of domain/ ------------------------

void append_hex(Bytes& out, const std::string& hex, std::size_t size) {
  Bytes b = bytes_from_hex(hex);
  REQUIRE(b.size() == size);
  out.insert(out.end(), b.begin(), b.end());
}
void append_u64_le(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// 0x01 | 0x02 | bet_id[16] | account[32] | nonce u64 LE | game u8 | wager u64 LE | choice u8 | client_seed[32]
Bytes spec_bet_bytes(const json& j) {
  Bytes m{0x01, 0x02};
  append_hex(m, j.at("bet_id"), 16);
  append_hex(m, j.at("account"), 32);
  append_u64_le(m, j.at("nonce").get<std::uint64_t>());
  m.push_back(j.at("game") == "coinflip" ? 1 : 2);
  append_u64_le(m, j.at("wager").get<std::uint64_t>());
  m.push_back(j.at("choice").get<std::uint8_t>());
  append_hex(m, j.at("client_seed"), 32);
  return m;
}

// 0x01 | 0x01 | deposit_id[16] | account[32] | amount u64 LE | operator_key[32]
Bytes spec_deposit_bytes(const json& j) {
  Bytes m{0x01, 0x01};
  append_hex(m, j.at("deposit_id"), 16);
  append_hex(m, j.at("account"), 32);
  append_u64_le(m, j.at("amount").get<std::uint64_t>());
  append_hex(m, j.at("operator_key"), 32);
  return m;
}

Bet bet_from_json(const json& j) {
  Bet b;
  b.bet_id = fixed_from_hex<16>(j.at("bet_id").get<std::string>());
  b.account = fixed_from_hex<32>(j.at("account").get<std::string>());
  b.nonce = j.at("nonce").get<std::uint64_t>();
  b.game = static_cast<std::uint8_t>(*game_from_name(j.at("game").get<std::string>()));
  b.wager = j.at("wager").get<std::uint64_t>();
  b.choice = j.at("choice").get<std::uint8_t>();
  b.client_seed = fixed_from_hex<32>(j.at("client_seed").get<std::string>());
  b.signature = fixed_from_hex<64>(j.at("signature").get<std::string>());
  return b;
}

// The node's final answer to `b`, with a real VRF proof by `house` over tx_id.
json final_bet_answer(const Bet& b, const KeyPair& house) {
  Hash32 id = tx_id(b);
  vrf::Proof proof = vrf::prove(house, ByteView{id.data(), id.size()});
  vrf::Output beta = *vrf::proof_to_hash(proof);
  Outcome o = resolve_game(static_cast<Game>(b.game), b.choice, b.wager, beta);
  return json{{"status", "final"},
              {"bet_id", to_hex(b.bet_id)},
              {"tx_id", to_hex(id)},
              {"account", to_hex(b.account)},
              {"nonce", b.nonce},
              {"game", std::string(game_name(static_cast<Game>(b.game)))},
              {"wager", b.wager},
              {"choice", b.choice},
              {"outcome", {{"roll", o.roll}, {"win", o.win}}},
              {"payout", o.payout},
              {"block_height", 3},
              {"vrf_proof", to_hex(proof)},
              {"vrf_output", to_hex(beta)},
              {"house_key", to_hex(house.public_key)},
              {"batch_id", nullptr},
              {"batch_status", nullptr}};
}

// A node that knows one account (pending_nonce given) and answers bets finally, after
// `tamper` had its way with the answer.
ScriptedServer::Handler betting_node(const KeyPair& house, std::uint64_t pending_nonce,
                                     std::function<void(json&)> tamper = {}) {
  return [house, pending_nonce, tamper](const Seen& s) -> Reply {
    if (s.method == "GET" && s.target.rfind("/v1/accounts/", 0) == 0)
      return json_reply(200, {{"account", s.target.substr(13)},
                              {"balance", 1000},
                              {"reserved", 0},
                              {"available", 1000},
                              {"nonce", pending_nonce},
                              {"pending_nonce", pending_nonce}});
    if (s.method == "POST" && s.target == "/v1/bets") {
      try {
        json answer = final_bet_answer(bet_from_json(json::parse(s.body)), house);
        if (tamper) tamper(answer);
        return json_reply(200, answer);
      } catch (const std::exception& e) {
        return json_reply(400, {{"error", "bad_request"}, {"message", e.what()}});
      }
    }
    return json_reply(404, {{"error", "not_found"}, {"message", "no route " + s.target}});
  };
}

struct Player {
  test::TempDir dir{"croupier-client"};
  KeyPair key = random_keypair();
  std::string seed_file = (dir / "player.seed").string();
  Player() { tools::write_seed_file(seed_file, key); }
  std::string account() const { return to_hex(key.public_key); }
};

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

// --- parse_endpoint ---------------------------------------------------------------------------

TEST_CASE("ParseEndpointAcceptsHostPortAndHttpUrls") {
  auto a = tools::parse_endpoint("127.0.0.1:8080");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 8080);
  auto b = tools::parse_endpoint("http://localhost:9000");
  CHECK(b.host == "localhost");
  CHECK(b.port == 9000);
  CHECK(tools::parse_endpoint("http://node.example:1/").to_string() == "node.example:1");
  auto c = tools::parse_endpoint("[::1]:65535");
  CHECK(c.host == "::1");
  CHECK(c.port == 65535);
  CHECK(c.to_string() == "[::1]:65535");
}

TEST_CASE("ParseEndpointNamesWhatIsWrong") {
  auto refused = [](const char* text, const char* why) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(tools::parse_endpoint(text), doctest::Contains(why), std::invalid_argument);
  };
  refused("", "empty node address");
  refused("localhost", "missing port in node address 'localhost'");
  refused("localhost:", "bad port '' in node address 'localhost:'");
  refused("localhost:0", "expected a number in 1..65535");
  refused("localhost:65536", "bad port '65536'");
  refused("localhost:80x", "bad port '80x'");
  refused("https://node:443", "only http:// is supported");
  refused("http://node:80/v1", "has a path");
  refused(":8080", "missing host");
  refused("::1:8080", "IPv6 address needs brackets");
  refused("[::1]8080", "missing port");
  refused("[::1:8080", "unclosed '['");
}

// --- HttpClient -------------------------------------------------------------------------------

TEST_CASE("HttpClientKeepsItsConnectionAndReconnectsAfterTheServerClosedIt") {
  // The first connection's first answer says keep-alive, then the server closes it while idle.
  ScriptedServer server([](const Seen& s) {
    Reply r = json_reply(200, {{"n", s.connection * 10 + s.index}});
    r.close_after = s.connection == 1;
    return r;
  });
  tools::HttpClient http("127.0.0.1", server.port());
  auto first = http.request("GET", "/v1/health");
  CHECK(first.status == 200);
  CHECK(first.body == R"({"n":11})");
  CHECK(first.content_type == "application/json");
  CHECK_FALSE(first.retry_after.has_value());
  REQUIRE(server.wait_closed(1));

  auto second = http.request("GET", "/v1/health");  // On a new connection.
  CHECK(second.body == R"({"n":21})");
  auto third = http.request("POST", "/v1/bets", R"({"x":1})");  // Same connection again.
  CHECK(third.body == R"({"n":22})");
  CHECK(http.connections_opened() == 2);
  CHECK(server.connections() == 2);
  auto seen = server.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].method == "POST");
  CHECK(seen[2].body == R"({"x":1})");
}

TEST_CASE("HttpClientResendsOnceWhenAReusedConnectionClosesWithoutAnAnswer") {
  // The server reads the second request of the first connection and closes without answering
  // (it had decided to close the idle connection just as the request arrived).
  ScriptedServer server([](const Seen& s) {
    Reply r = json_reply(200, {{"n", s.connection * 10 + s.index}});
    r.drop = s.connection == 1 && s.index == 2;
    return r;
  });
  tools::HttpClient http("127.0.0.1", server.port());
  CHECK(http.request("GET", "/a").body == R"({"n":11})");
  CHECK(http.request("GET", "/b").body == R"({"n":21})");
  CHECK(server.connections() == 2);
  auto seen = server.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].target == "/b");
  CHECK(seen[2].target == "/b");
}

TEST_CASE("HttpClientRetriesOnlyOnceAndNeverOnAFreshConnection") {
  ScriptedServer server([](const Seen& s) {
    Reply r = json_reply(200, {{"ok", true}});
    r.drop = !(s.connection == 1 && s.index == 1);  // Only the very first request is answered.
    return r;
  });
  tools::HttpClient http("127.0.0.1", server.port());
  CHECK(http.request("GET", "/first").status == 200);
  // Reused connection dropped, one new connection dropped too: then it gives up.
  CHECK_THROWS_WITH_AS(http.request("GET", "/second"),
                       doctest::Contains("closed the connection without answering GET /second"), tools::HttpError);
  CHECK(server.connections() == 2);
  // A fresh connection that is dropped is not retried.
  CHECK_THROWS_AS(http.request("GET", "/third"), tools::HttpError);
  CHECK(server.connections() == 3);
}

TEST_CASE("HttpClientReturnsErrorAnswersWithRetryAfter") {
  ScriptedServer server([](const Seen&) {
    Reply r = json_reply(503, {{"error", "busy"}, {"message", "mempool full"}});
    r.headers.emplace_back("Retry-After", "3");
    return r;
  });
  tools::HttpClient http(tools::parse_endpoint(server.node()));
  auto r = http.request("POST", "/v1/bets", "{}");
  CHECK(r.status == 503);
  CHECK(r.retry_after == std::optional<std::string>("3"));
  CHECK(json::parse(r.body)["error"] == "busy");
}

TEST_CASE("HttpClientGivesUpAtItsTimeout") {
  ScriptedServer server([](const Seen&) {
    std::this_thread::sleep_for(600ms);
    return json_reply(200, {{"late", true}});
  });
  tools::HttpClient http("127.0.0.1", server.port());
  auto start = std::chrono::steady_clock::now();
  try {
    http.request("GET", "/v1/health", {}, 150ms);
    FAIL("no timeout");
  } catch (const tools::HttpError& e) {
    CHECK(e.kind() == tools::HttpError::Kind::timeout);
    CHECK(contains(e.what(), "no answer from " + server.node() + " to GET /v1/health within 150 ms"));
  }
  CHECK(std::chrono::steady_clock::now() - start < 550ms);
}

TEST_CASE("ARefusedConnectionSaysToStartTheNode") {
  std::uint16_t port = free_port();
  tools::HttpClient http("127.0.0.1", port);
  try {
    http.request("GET", "/v1/health");
    FAIL("connected to a closed port");
  } catch (const tools::HttpError& e) {
    CHECK(e.kind() == tools::HttpError::Kind::connect);
    CHECK(std::string(e.what()) ==
          "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused (is `croupier node` running?)");
  }
  // Through the binary: exit code 1 and the same message.
  Player p;
  auto r = client_binary({"bet", "--key", p.seed_file, "--game", "dice", "--choice", "50", "--wager", "10", "--node",
                          "127.0.0.1:" + std::to_string(port)});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "croupier client bet: cannot connect to 127.0.0.1:" + std::to_string(port) +
                            ": Connection refused (is `croupier node` running?)"));
}

// --- client bet -------------------------------------------------------------------------------

TEST_CASE("BetAsksForTheNonceSignsTheSpecBytesAndVerifiesTheOutcome") {
  Player p;
  KeyPair house = random_keypair();
  ScriptedServer server(betting_node(house, 6));
  auto r = client_binary({"bet", "--key", p.seed_file, "--game", "dice", "--choice", "50", "--wager", "250",
                          "--house-key", to_hex(house.public_key), "--node", "http://" + server.node()});
  INFO(r.out, r.err);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "final: "));
  CHECK(contains(r.out, "outcome verified"));
  CHECK(contains(r.out, "(dice, target 50, roll "));

  auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target == "/v1/accounts/" + p.account());
  CHECK(seen[1].method == "POST");
  CHECK(seen[1].target == "/v1/bets");
  CHECK(seen[0].connection == seen[1].connection);  // One keep-alive connection.

  json posted = json::parse(seen[1].body);
  std::vector<std::string> names;
  for (auto it = posted.begin(); it != posted.end(); ++it) names.push_back(it.key());
  std::sort(names.begin(), names.end());
  CHECK(names ==
        std::vector<std::string>{"account", "bet_id", "choice", "client_seed", "game", "nonce", "signature", "wager"});
  CHECK(posted["account"] == p.account());
  CHECK(posted["nonce"] == 7);  // pending_nonce + 1
  CHECK(posted["game"] == "dice");
  CHECK(posted["choice"] == 50);
  CHECK(posted["wager"] == 250);

  // The signature is over exactly the spec's 100 bytes; tx_id = BLAKE2b-256(bytes || signature).
  Bytes msg = spec_bet_bytes(posted);
  REQUIRE(msg.size() == 100);
  Signature sig = fixed_from_hex<64>(posted["signature"].get<std::string>());
  CHECK(verify(p.key.public_key, msg, sig));
  Bet bet = bet_from_json(posted);
  CHECK(signing_bytes(bet) == msg);
  CHECK(verify_tx_signature(Tx{bet}));
  Bytes with_sig = msg;
  with_sig.insert(with_sig.end(), sig.begin(), sig.end());
  CHECK(blake2b256(with_sig) == tx_id(bet));
  CHECK(contains(r.out, to_hex(tx_id(bet))));
  // The bet id is time-ordered: its first 48 bits are the wall clock in milliseconds.
  std::uint64_t t = id_time_ms(bet.bet_id);
  CHECK(t <= now_ms());
  CHECK(t + 60'000 > now_ms());
}

TEST_CASE("BetWithGivenNonceIdsAndSeedSendsThemAndPrintsTheAnswerAsJson") {
  Player p;
  KeyPair house = random_keypair();
  ScriptedServer server(betting_node(house, 0));
  const std::string bet_id = "0123456789abcdef0123456789ABCDEF";
  const std::string seed(64, 'a');
  auto r = client({"bet",     "--key",     p.seed_file, "--game", "coinflip", "--choice",   "1",
                   "--wager", "100",       "--nonce",   "42",     "--bet-id", bet_id,       "--client-seed",
                   seed,      "--wait-ms", "500",       "--json", "--node",   server.node()});
  INFO(r.out, r.err);
  CHECK(r.code == 0);
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);  // No account lookup with --nonce.
  json posted = json::parse(seen[0].body);
  CHECK(posted["nonce"] == 42);
  CHECK(posted["bet_id"] == "0123456789abcdef0123456789abcdef");
  CHECK(posted["client_seed"] == seed);
  CHECK(posted["wait_ms"] == 500);
  CHECK(verify(p.key.public_key, spec_bet_bytes(posted), fixed_from_hex<64>(posted["signature"].get<std::string>())));
  // --json: the node's body as is, on one line.
  json expected = final_bet_answer(bet_from_json(posted), house);
  CHECK(r.out == expected.dump() + "\n");
}

TEST_CASE("ATamperedOutcomeFailsVerification") {
  Player p;
  KeyPair house = random_keypair();
  KeyPair other = random_keypair();
  struct Case {
    const char* name;
    std::function<void(json&)> tamper;
    const char* why;
  };
  std::vector<Case> cases{
      {"payout", [](json& a) { a["payout"] = a["payout"].get<std::uint64_t>() + 1; }, "the VRF output gives roll"},
      {"win", [](json& a) { a["outcome"]["win"] = !a["outcome"]["win"].get<bool>(); }, "the VRF output gives roll"},
      {"roll", [](json& a) { a["outcome"]["roll"] = a["outcome"]["roll"].get<int>() ^ 1; },
       "the VRF output gives roll"},
      {"proof for another tx",
       [&](json& a) {
         Hash32 elsewhere = blake2b256(ByteView{});
         vrf::Proof pi = vrf::prove(house, ByteView{elsewhere.data(), elsewhere.size()});
         a["vrf_proof"] = to_hex(pi);
         a["vrf_output"] = to_hex(*vrf::proof_to_hash(pi));
       },
       "the VRF proof does not verify for tx"},
      {"proof by another key",
       [&](json& a) {
         Hash32 id = fixed_from_hex<32>(a["tx_id"].get<std::string>());
         vrf::Proof pi = vrf::prove(other, ByteView{id.data(), id.size()});
         a["vrf_proof"] = to_hex(pi);
         a["vrf_output"] = to_hex(*vrf::proof_to_hash(pi));
       },
       "the VRF proof does not verify for tx"},
      {"output", [](json& a) { a["vrf_output"] = std::string(128, '0'); }, "vrf_output is not the output"},
      {"tx id", [](json& a) { a["tx_id"] = std::string(64, 'e'); }, "but its signed bytes give"},
      {"missing proof", [](json& a) { a.erase("vrf_proof"); },
       "cannot verify the outcome: the node's answer lacks \"vrf_proof\""},
      {"null proof", [](json& a) { a["vrf_proof"] = nullptr; },
       "cannot verify the outcome: the node's answer has no \"vrf_proof\" (null)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ScriptedServer server(betting_node(house, 0, c.tamper));
    auto r = client({"bet", "--key", p.seed_file, "--game", "coinflip", "--choice", "0", "--wager", "100", "--nonce",
                     "1", "--node", server.node()});
    INFO(r.out, r.err);
    CHECK(r.code == 1);
    CHECK(contains(r.err, c.why));
    CHECK_FALSE(contains(r.out, "outcome verified"));
  }
  // A correct proof under a house key other than the expected one.
  ScriptedServer server(betting_node(other, 0));
  auto r = client({"bet", "--key", p.seed_file, "--game", "coinflip", "--choice", "0", "--wager", "100", "--nonce", "1",
                   "--house-key", to_hex(house.public_key), "--node", server.node(), "--json"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "outcome failed verification: the outcome is proved under house key " +
                            to_hex(other.public_key) + ", not the expected " + to_hex(house.public_key)));
  CHECK(r.out.empty());
}

TEST_CASE("BetOnAnUnknownAccountSaysItHasNoFunds") {
  Player p;
  ScriptedServer server([](const Seen&) {
    return json_reply(404, {{"error", "not_found"}, {"message", "unknown account"}});
  });
  auto r =
      client({"bet", "--key", p.seed_file, "--game", "dice", "--choice", "2", "--wager", "1", "--node", server.node()});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "account " + p.account() + " is unknown to the node: it has no funds yet"));
  CHECK(server.requests().size() == 1);  // Nothing was posted.
}

TEST_CASE("APendingBetSaysHowToPoll") {
  Player p;
  ScriptedServer server([](const Seen& s) {
    json posted = json::parse(s.body);
    Bet b = bet_from_json(posted);
    std::string id = posted["bet_id"];
    return json_reply(202,
                      {{"status", "pending"}, {"bet_id", id}, {"tx_id", to_hex(tx_id(b))}, {"poll", "/v1/bets/" + id}});
  });
  auto r = client({"bet", "--key", p.seed_file, "--game", "dice", "--choice", "99", "--wager", "5", "--nonce", "3",
                   "--bet-id", std::string(32, '1'), "--node", server.node()});
  INFO(r.out, r.err);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "bet " + std::string(32, '1') + " pending"));
  CHECK(contains(r.err, "poll with: croupier client get bet " + std::string(32, '1') + " --node " + server.node()));
}

TEST_CASE("RefusalsPrintTheNodesErrorCodeAndMessage") {
  Player p;
  std::vector<std::string> bet{"bet", "--key",   p.seed_file, "--game",  "dice", "--choice",
                               "50",  "--wager", "10",        "--nonce", "1"};
  {
    ScriptedServer server([](const Seen&) {
      return json_reply(402, {{"error", "insufficient_funds"}, {"message", "available 5 < wager 10"}});
    });
    auto args = bet;
    args.insert(args.end(), {"--node", server.node()});
    auto r = client(args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "the node refused the bet: insufficient_funds (HTTP 402): available 5 < wager 10"));
    args.push_back("--json");
    r = client(args);
    CHECK(r.code == 1);
    CHECK(json::parse(r.out)["error"] == "insufficient_funds");  // --json: the error body for scripts
  }
  {
    ScriptedServer server([](const Seen&) {
      Reply r = json_reply(503, {{"error", "busy"}, {"message", "mempool full"}});
      r.headers.emplace_back("Retry-After", "2");
      return r;
    });
    auto args = bet;
    args.insert(args.end(), {"--node", server.node()});
    auto r = client(args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "busy (HTTP 503): mempool full; retry after 2 s"));
  }
  {
    ScriptedServer server([](const Seen&) {
      return json_reply(409, {{"error", "conflict"}, {"message", "bet id reused"}, {"existing_tx_id", "ab"}});
    });
    auto args = bet;
    args.insert(args.end(), {"--node", server.node()});
    auto r = client(args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "conflict (HTTP 409): bet id reused (existing tx ab)"));
  }
  {
    ScriptedServer server([](const Seen&) { return Reply{502, "<html>bad gateway</html>", {}, "text/html"}; });
    auto args = bet;
    args.insert(args.end(), {"--node", server.node()});
    auto r = client(args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "the node answered the bet with HTTP 502: <html>bad gateway</html>"));
  }
}

TEST_CASE("ARejectedBetIsExitCode1") {
  Player p;
  KeyPair house = random_keypair();
  ScriptedServer server(betting_node(house, 0, [](json& a) {
    json r{{"status", "rejected"}};
    for (const char* f : {"bet_id", "tx_id", "account", "nonce", "game", "wager", "choice"}) r[f] = a[f];
    a = r;
  }));
  auto r = client({"bet", "--key", p.seed_file, "--game", "dice", "--choice", "50", "--wager", "10", "--nonce", "1",
                   "--node", server.node()});
  CHECK(r.code == 1);
  CHECK(contains(r.out, "rejected by consensus"));
  CHECK(contains(r.err, "was rejected by consensus"));
}

// --- client deposit ---------------------------------------------------------------------------

TEST_CASE("DepositSignsTheSpecBytesWithTheOperatorKey") {
  test::TempDir dir("croupier-client");
  KeyPair op = random_keypair();
  std::string op_file = (dir / "operator.seed").string();
  tools::write_seed_file(op_file, op);
  KeyPair player = random_keypair();
  ScriptedServer server([](const Seen& s) {
    json posted = json::parse(s.body);
    Deposit d;
    d.deposit_id = fixed_from_hex<16>(posted["deposit_id"].get<std::string>());
    d.account = fixed_from_hex<32>(posted["account"].get<std::string>());
    d.amount = posted["amount"];
    d.operator_key = fixed_from_hex<32>(posted["operator_key"].get<std::string>());
    d.signature = fixed_from_hex<64>(posted["signature"].get<std::string>());
    return json_reply(200, {{"status", "final"},
                            {"deposit_id", posted["deposit_id"]},
                            {"tx_id", to_hex(tx_id(d))},
                            {"account", posted["account"]},
                            {"amount", d.amount},
                            {"block_height", 9}});
  });
  auto r = client({"deposit", "--operator-key", op_file, "--account", to_hex(player.public_key), "--amount", "1000000",
                   "--node", server.node()});
  INFO(r.out, r.err);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "final: 1000000 credited to " + to_hex(player.public_key)));
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/v1/deposits");
  json posted = json::parse(seen[0].body);
  CHECK(posted["operator_key"] == to_hex(op.public_key));
  CHECK(posted["amount"] == 1000000);
  CHECK_FALSE(posted.contains("wait_ms"));
  Bytes msg = spec_deposit_bytes(posted);
  REQUIRE(msg.size() == 90);
  Signature sig = fixed_from_hex<64>(posted["signature"].get<std::string>());
  CHECK(verify(op.public_key, msg, sig));
  Deposit d{fixed_from_hex<16>(posted["deposit_id"].get<std::string>()), player.public_key, 1000000, op.public_key,
            sig};
  CHECK(signing_bytes(d) == msg);
  CHECK(verify_tx_signature(Tx{d}));
  CHECK(id_time_ms(d.deposit_id) + 60'000 > now_ms());

  // A given deposit id is used as is; a key file readable by others is refused (exit 2).
  r = client({"deposit", "--operator-key", op_file, "--account", to_hex(player.public_key), "--amount", "5",
              "--deposit-id", std::string(32, 'f'), "--wait-ms", "0", "--json", "--node", server.node()});
  CHECK(r.code == 0);
  json answer = json::parse(r.out);
  CHECK(answer["deposit_id"] == std::string(32, 'f'));
  CHECK(json::parse(server.requests().back().body)["wait_ms"] == 0);
  fs::permissions(op_file, fs::perms::group_read, fs::perm_options::add);
  r = client({"deposit", "--operator-key", op_file, "--account", to_hex(player.public_key), "--amount", "5", "--node",
              server.node()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "readable by others"));
  CHECK(server.requests().size() == 2);
}

// --- client get, health, metrics --------------------------------------------------------------

TEST_CASE("GetAsksForTheRightThingAndVerifiesAFinalBet") {
  KeyPair house = random_keypair();
  Player p;
  Bet b;
  b.bet_id = fixed_from_hex<16>(std::string(32, '2'));
  b.account = p.key.public_key;
  b.nonce = 1;
  b.game = static_cast<std::uint8_t>(Game::dice);
  b.wager = 40;
  b.choice = 30;
  sign_tx(b, p.key);
  json final_answer = final_bet_answer(b, house);
  ScriptedServer server([&](const Seen& s) {
    if (s.target == "/v1/bets/" + std::string(32, '2')) return json_reply(200, final_answer);
    if (s.target == "/v1/bets/" + std::string(32, '3')) {
      json tampered = final_answer;
      tampered["payout"] = 123456;
      return json_reply(200, tampered);
    }
    if (s.target.rfind("/v1/blocks/7", 0) == 0)
      return json_reply(
          200,
          {{"height", 7}, {"hash", "aa"}, {"prev_hash", "bb"}, {"time_ms", 1}, {"tx_ids", json::array({"cc", "dd"})}});
    return json_reply(404, {{"error", "not_found"}, {"message", "nothing at " + s.target}});
  });
  auto r = client({"get", "bet", std::string(32, '2'), "--node", server.node()});
  INFO(r.out, r.err);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "outcome verified for tx " + to_hex(tx_id(b))));
  r = client({"get", "bet", std::string(32, '3'), "--node", server.node()});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "outcome failed verification"));
  r = client({"get", "block", "7", "--node", server.node()});
  CHECK(r.code == 0);
  CHECK(contains(r.out, "tx_ids (2):"));
  r = client({"get", "batch", std::string(32, 'A'), "--node", server.node()});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "the node has no batch"));
  r = client({"get", "deposit", std::string(32, '4'), "--node", server.node()});
  CHECK(r.code == 1);
  r = client({"get", "account", p.account(), "--node", server.node(), "--json"});
  CHECK(r.code == 1);
  CHECK(json::parse(r.out)["error"] == "not_found");

  std::vector<std::string> targets;
  for (const auto& s : server.requests()) targets.push_back(s.target);
  CHECK(targets == std::vector<std::string>{"/v1/bets/" + std::string(32, '2'), "/v1/bets/" + std::string(32, '3'),
                                            "/v1/blocks/7", "/v1/batches/" + std::string(32, 'a'),
                                            "/v1/deposits/" + std::string(32, '4'), "/v1/accounts/" + p.account()});

  // Malformed requests are refused before anything is sent.
  for (const auto& args : std::vector<std::vector<std::string>>{{"get", "bet", "abc"},
                                                                {"get", "account", std::string(32, '1')},
                                                                {"get", "block", "-1"},
                                                                {"get", "block", "x7"},
                                                                {"get", "ticket", "1"},
                                                                {"get", "bet"},
                                                                {"get"}}) {
    auto with_node = args;
    with_node.insert(with_node.end(), {"--node", server.node()});
    auto u = client(with_node);
    CAPTURE(u.err);
    CHECK(u.code == 2);
    CHECK(contains(u.err, "(see croupier client get --help)"));
  }
  CHECK(server.requests().size() == 6);
}

TEST_CASE("HealthAndMetrics") {
  std::atomic<bool> ready{true};
  ScriptedServer server([&ready](const Seen& s) {
    if (s.target == "/metrics") return Reply{200, "croupier_bets_total 3\n", {}, "text/plain; version=0.0.4"};
    json body{{"status", "ok"}, {"ready", ready.load()}, {"log_head", 12}, {"block_height", 4}, {"mempool_size", 0}};
    return json_reply(ready ? 200 : 503, body);
  });
  auto r = client({"health", "--node", server.node()});
  CHECK(r.code == 0);
  CHECK(contains(r.out, "ready"));
  CHECK(contains(r.out, "log_head"));
  r = client({"metrics", "--node", server.node()});
  CHECK(r.code == 0);
  CHECK(r.out == "croupier_bets_total 3\n");
  ready = false;
  r = client({"health", "--node", server.node(), "--json"});
  CHECK(r.code == 1);
  CHECK(json::parse(r.out)["ready"] == false);
  CHECK(contains(r.err, "is not ready"));
}

// --- usage --------------------------------------------------------------------------------------

TEST_CASE("BadUsageIsExitCode2AndHelpIsExitCode0") {
  Player p;
  const std::string port = std::to_string(free_port());  // Nothing must be contacted.
  auto bet = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"bet", "--key", p.seed_file, "--node", "127.0.0.1:" + port};
    args.insert(args.end(), extra.begin(), extra.end());
    return client(args);
  };
  struct Case {
    std::vector<std::string> extra;
    const char* why;
  };
  for (const auto& c : std::vector<Case>{
           {{"--game", "roulette", "--choice", "1", "--wager", "1"}, "--game must be coinflip or dice"},
           {{"--game", "dice", "--choice", "1", "--wager", "1"}, "dice target must be in 2..99"},
           {{"--game", "coinflip", "--choice", "2", "--wager", "1"}, "coinflip choice must be 0"},
           {{"--game", "coinflip", "--choice", "0", "--wager", "0"}, "wager 0 out of range"},
           {{"--game", "coinflip", "--choice", "0"}, "--wager is required"},
           {{"--game", "coinflip", "--choice", "0", "--wager", "1", "--wait-ms", "30001"},
            "--wait-ms must be in 0..30000"},
           {{"--game", "coinflip", "--choice", "0", "--wager", "1", "--bet-id", "zz"}, "--bet-id: expected 32 hex"},
           {{"--game", "coinflip", "--choice", "0", "--wager", "1", "--node", "nohost"}, "--node: missing port"},
       }) {
    auto r = bet(c.extra);
    CAPTURE(r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, c.why));
    CHECK(contains(r.err, "(see croupier client bet --help)"));
  }
  auto r = client({"bet", "--game", "dice"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--key is required"));
  r = client({"bet", "--key", (p.dir / "missing.seed").string(), "--game", "dice", "--choice", "2", "--wager", "1"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "missing.seed"));
  r = client({"deposit", "--operator-key", p.seed_file, "--account", p.account(), "--amount", "0"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--amount must be at least 1"));
  r = client({"teleport"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "unknown subcommand 'teleport'"));
  r = client({});
  CHECK(r.code == 2);

  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                {"deposit", "--help"},
                                                                {"bet", "--help"},
                                                                {"get", "--help"},
                                                                {"get", "bet", "--help"},
                                                                {"health", "--help"},
                                                                {"metrics", "--help"}}) {
    auto h = client(args);
    CAPTURE(args[0]);
    CHECK(h.code == 0);
    CHECK(contains(h.out, "usage: croupier client"));
  }
  auto h = client_binary({"bet", "--help"});
  CHECK(h.code == 0);
  CHECK(contains(h.out, "--client-seed HEX"));
}
