// Finality receipts end to end: bets placed on the real `croupier node` over HTTP come back
// final with a receipt that `croupier client verify-receipt` accepts offline, under the
// node key that GET /v1/health and the key file name; every single-field change to a saved
// answer (every leaf of its JSON but the settlement state) makes it exit 1; a batch's
// elements and a Croupier-Numbers: string answer check too; after a kill -9 and a restart the
// node gives the same receipt, byte for byte, for a bet its memory has forgotten.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node_process.hpp"
#include "player_support.hpp"
#include "readme_blocks.hpp"
#include "test_support.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace {

using namespace croupier;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kBinary = CROUPIER_BINARY;

// recent-txs = 1: a bet placed before the last one is read back from the log.
struct ReceiptNode : test::NodeProcess {
  explicit ReceiptNode(const fs::path& dir) : NodeProcess(dir, "recent-txs = 1\n") {}
};

test::ProcessResult verify(const fs::path& file, const std::string& node_key, std::vector<std::string> more = {}) {
  std::vector<std::string> argv{kBinary, "client", "verify-receipt", file.string(), "--node-key", node_key};
  argv.insert(argv.end(), more.begin(), more.end());
  return test::run_process(argv, 30s);
}

fs::path save(const fs::path& file, const json& answer) {
  std::ofstream(file) << answer.dump(2);
  return file;
}

// Every leaf of `j` with its JSON pointer.
void leaves(const json& j, const std::string& at, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) leaves(it.value(), at + "/" + it.key(), out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) leaves(j[i], at + "/" + std::to_string(i), out);
  } else {
    out.push_back(at);
  }
}

// A different value of the same kind: a hex string with its first digit changed, a number
// plus one, a bool negated, another game, another word.
json changed(const json& v) {
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() + 1;
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s == "dice") return "coinflip";
    if (s == "coinflip") return "dice";
    if (s == "final") return "pending";
    if (s == "node") return "validator";
    if (!s.empty() && std::isxdigit(static_cast<unsigned char>(s[0]))) {
      s[0] = s[0] == '0' ? '1' : '0';
      return s;
    }
    return s + "x";
  }
  return nullptr;
}

// Every integer of `j` as its decimal string (what Croupier-Numbers: string sends).
void integers_to_strings(json& j) {
  if (j.is_number_integer()) {
    j = j.dump();
  } else if (j.is_structured()) {
    for (auto& x : j) integers_to_strings(x);
  }
}

}  // namespace

TEST_CASE("FinalBetsCarryReceiptsThatVerifyOfflineAndNoChangedFieldDoes") {
  test::TempDir dir("croupier-receipt");
  ReceiptNode node(dir.path());
  tools::HttpClient http("127.0.0.1", node.port);
  const auto keys = tools::read_node_keys(node.data);
  REQUIRE(keys);
  REQUIRE(keys->node_key);
  const std::string node_key = to_hex(keys->node_key->public_key);
  CHECK(json::parse(http.request("GET", "/v1/health").body).at("node_key") == node_key);

  std::mt19937_64 rng(20261202);
  const KeyPair player = test::random_key(rng);
  REQUIRE(test::fund(http, keys->operator_key, player.public_key, 100000, rng) == 200);
  std::vector<Bet> bets;
  std::vector<json> answers;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    bets.push_back(test::signed_bet(player, n, rng));
    json body = test::bet_json(bets.back());
    body["wait_ms"] = 10000;
    auto r = http.request("POST", "/v1/bets", body.dump(), 15s);
    REQUIRE(r.status == 200);
    answers.push_back(json::parse(r.body));
  }
  const json& answer = answers.front();
  REQUIRE(answer.at("status") == "final");
  REQUIRE(answer.at("receipt").is_object());
  CHECK(answer["receipt"]["header"]["height"] == answer["block_height"]);
  CHECK(answer["receipt"]["signatures"][0]["key"] == node_key);

  const fs::path good = save(dir / "answer.json", answer);
  SUBCASE("the answer verifies, pinned to the house key or not; another key is refused") {
    auto r = verify(good, node_key);
    CAPTURE(test::describe(r));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("receipt ok: bet " + to_hex(bets[0].bet_id)) != std::string::npos);
    CHECK(r.out.find("not covered: batch_id, batch_status") != std::string::npos);
    CHECK(verify(good, node_key, {"--house-key", to_hex(keys->house_key.public_key)}).exit_code == 0);
    CHECK(verify(good, node_key, {"--house-key", to_hex(keys->operator_key.public_key)}).exit_code == 1);
    auto other = verify(good, to_hex(keys->operator_key.public_key));
    CHECK(other.exit_code == 1);
    CHECK(other.err.find("no valid node signature") != std::string::npos);
    for (const auto& a : answers) CHECK(verify(save(dir / "each.json", a), node_key).exit_code == 0);
  }
  SUBCASE("every single changed field fails, but the settlement state's") {
    std::vector<std::string> pointers;
    leaves(answer, "", pointers);
    REQUIRE(pointers.size() > 25);
    std::size_t refused = 0;
    for (const auto& p : pointers) {
      CAPTURE(p);
      json tampered = answer;
      const json::json_pointer at(p);
      tampered[at] = changed(answer[at]);
      auto r = verify(save(dir / "tampered.json", tampered), node_key);
      CAPTURE(test::describe(r));
      if (p == "/batch_id" || p == "/batch_status") {
        CHECK(r.exit_code == 0);
      } else {
        CHECK(r.exit_code == 1);
        refused += r.exit_code == 1;
      }
    }
    CHECK(refused + 2 >= pointers.size());
    json no_receipt = answer;
    no_receipt.erase("receipt");
    CHECK(verify(save(dir / "bare.json", no_receipt), node_key).exit_code == 1);
  }
  SUBCASE("integers as strings, a batch's elements, usage errors") {
    json as_strings = answer;
    integers_to_strings(as_strings);
    CHECK(verify(save(dir / "strings.json", as_strings), node_key).exit_code == 0);

    json batch{{"bets", json::array()}, {"wait_ms", 10000}};
    for (int i = 0; i < 3; ++i) {  // One bet per account in a batch (README).
      const KeyPair other = test::random_key(rng);
      REQUIRE(test::fund(http, keys->operator_key, other.public_key, 100000, rng) == 200);
      batch["bets"].push_back(test::bet_json(test::signed_bet(other, 1, rng)));
    }
    auto r = http.request("POST", "/v1/bets/batch", batch.dump(), 15s);
    REQUIRE(r.status == 200);
    for (const auto& element : json::parse(r.body).at("results")) {
      CAPTURE(element.dump());
      REQUIRE(element.at("status") == 200);
      CHECK(verify(save(dir / "element.json", element), node_key).exit_code == 0);
    }
    CHECK(verify(dir / "missing.json", node_key).exit_code == 2);
    CHECK(test::run_process({kBinary, "client", "verify-receipt", good.string()}).exit_code == 2);
    CHECK(verify(good, "beef").exit_code == 2);
  }
  SUBCASE("the README's Python checker, as printed: the header bytes it rebuilds carry the node's signature") {
    REQUIRE_MESSAGE(fs::exists("/usr/bin/python3"), "python3 is missing: tools/setup.sh installs it");
    const fs::path script = dir / "check_receipt.py";
    std::ofstream(script) << test::readme_code_block("<!-- recipe: check_receipt.py -->", "```python");
    json as_strings = answer;
    integers_to_strings(as_strings);
    for (const json& a : {answer, as_strings}) {
      auto r = test::run_process({"/usr/bin/python3", script.string(), save(dir / "py.json", a).string()}, 30s);
      CAPTURE(test::describe(r));
      REQUIRE(r.exit_code == 0);
      std::string hex = r.out.substr(0, r.out.find('\n'));
      const Bytes header = bytes_from_hex(hex);
      CHECK(header.size() == 170);
      const Signature sig = fixed_from_hex<64>(answer["receipt"]["signatures"][0]["signature"].get<std::string>());
      CHECK(croupier::verify(keys->node_key->public_key, header, sig));
    }
    json bad = answer;
    bad["receipt"]["tx_index"] = 1;
    CHECK(test::run_process({"/usr/bin/python3", script.string(), save(dir / "py.json", bad).string()}).exit_code != 0);
    bad = answer;
    bad["receipt"]["client_seed"] = std::string(64, '0');
    CHECK(test::run_process({"/usr/bin/python3", script.string(), save(dir / "py.json", bad).string()}).exit_code != 0);
  }
  SUBCASE("after a kill -9 and a restart: the same receipt, read from the log") {
    node.process->send(SIGKILL);
    node.process->wait();
    node.start();
    tools::HttpClient again("127.0.0.1", node.port);
    for (std::size_t i = 0; i < bets.size(); ++i) {
      CAPTURE(i);
      auto r = again.request("GET", "/v1/bets/" + to_hex(bets[i].bet_id));
      REQUIRE(r.status == 200);
      CHECK(json::parse(r.body).at("receipt") == answers[i].at("receipt"));
    }
  }
}
