// The README's Node.js signing example, run as printed (extracted from README.md) where `node` is
// installed: the bet it signs parses as a POST /v1/bets body, names the seed's account, keeps a
// nonce of 2^53 + 1 exact, and carries the very signature the node's own code makes over the same
// bet (Ed25519 is deterministic: the same key and the same 100 bytes, or a different signature).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "actors/api_json.hpp"
#include "domain/crypto.hpp"
#include "domain/transactions.hpp"
#include "readme_blocks.hpp"
#include "test_support.hpp"

namespace {

using namespace croupier;
namespace fs = std::filesystem;

std::string find_node() {
  for (const char* p : {"/usr/bin/node", "/usr/bin/nodejs", "/usr/local/bin/node"})
    if (fs::exists(p)) return p;
  return {};
}

}  // namespace

TEST_CASE("TheReadmesNodeJsExampleSignsExactlyTheBytesTheNodeChecks") {
  const std::string node = find_node();
  if (node.empty()) {
    MESSAGE("node is not installed: the README's JavaScript example is not run");
    return;
  }
  test::TempDir dir("croupier-js-example");
  const fs::path script = dir / "sign_bet.js";
  std::ofstream(script) << test::readme_code_block("<!-- example: sign_bet.js -->", "```js");
  Seed seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(7 * i + 3);
  const KeyPair player = keypair_from_seed(seed);

  for (const std::string nonce : {"1", "9007199254740993", "18446744073709551615"}) {
    CAPTURE(nonce);
    auto r = test::run_process({node, script.string(), to_hex(seed), nonce, "1000000000000000", "50"});
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    const auto request = actors::api::parse_bet_request(r.out);
    const Bet& signed_by_js = request.bet;
    CHECK(signed_by_js.account == player.public_key);
    CHECK(std::to_string(signed_by_js.nonce) == nonce);
    CHECK(signed_by_js.wager == 1'000'000'000'000'000ULL);
    CHECK(signed_by_js.choice == 50);
    Bet ours = signed_by_js;
    ours.signature = {};
    sign_tx(ours, player);
    CHECK(to_hex(ours.signature) == to_hex(signed_by_js.signature));
  }
}
