#include "tools/cluster_config.hpp"

#include <doctest/doctest.h>

#include "domain/bytes.hpp"

using namespace croupier;
using namespace croupier::tools;

namespace {
const std::string kKey(64, 'a');
const std::string kOther(64, 'b');
const std::string kId = "00112233445566778899aabbccddeeff";
}  // namespace

TEST_CASE("a peer is NODEKEY@HOST:PORT, and formats back to the same text") {
  auto p = parse_peer(kKey + "@127.0.0.1:7105");
  CHECK(to_hex(p.node_key) == kKey);
  CHECK(p.door.host == "127.0.0.1");
  CHECK(p.door.port == 7105);
  CHECK(format_peer(p) == kKey + "@127.0.0.1:7105");
  auto v6 = parse_peer(kKey + "@[::1]:9");
  CHECK(v6.door.host == "::1");
  CHECK(format_peer(v6) == kKey + "@[::1]:9");
  for (const auto& bad : {std::string("127.0.0.1:7105"), kKey.substr(2) + "@127.0.0.1:1", "zz" + kKey.substr(2) + "@h:1",
                          kKey + "@", kKey + "@host", kKey + "@host:0", kKey + "@host:70000"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_peer(bad), std::invalid_argument);
  }
}

TEST_CASE("the cluster keys: none set is a single node, all three a cluster, anything else is refused naming the key") {
  CHECK_FALSE(parse_cluster_config("", "", {}));
  auto c = parse_cluster_config(kId, "127.0.0.1:0", {kKey + "@127.0.0.1:1", kOther + "@127.0.0.1:2"});
  REQUIRE(c);
  CHECK(to_hex(c->id) == kId);
  CHECK(c->peers.size() == 2);
  struct Case {
    std::string id, listen;
    std::vector<std::string> peers;
    const char* message;
  };
  const std::vector<Case> cases{
      {"", "127.0.0.1:0", {kKey + "@h:1"}, "cluster.id is not set"},
      {kId, "", {kKey + "@h:1"}, "cluster.listen is not set"},
      {kId, "127.0.0.1:0", {}, "cluster.peers is not set"},
      {"0011", "127.0.0.1:0", {kKey + "@h:1"}, "cluster.id must be 32 hex digits"},
      {kId, "nowhere", {kKey + "@h:1"}, "cluster.listen"},
      {kId, "127.0.0.1:0", {"h:1"}, "cluster.peers"},
      {kId, "127.0.0.1:0", {kKey + "@h:1", kKey + "@h:2"}, "names the node key"},
      {kId, "127.0.0.1:0", {kKey + "@h:1", kOther + "@h:1"}, "names the door h:1 twice"},
  };
  for (const auto& k : cases) {
    CAPTURE(k.message);
    try {
      (void)parse_cluster_config(k.id, k.listen, k.peers);
      FAIL("accepted");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(k.message) != std::string::npos);
    }
  }
  CHECK_THROWS_WITH_AS(check_not_own_peer(*c, fixed_from_hex<32>(kOther)),
                       doctest::Contains("names this node's own key"), std::runtime_error);
  CHECK_NOTHROW(check_not_own_peer(*c, PublicKey{}));
}
