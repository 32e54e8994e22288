// The cluster's peer sessions: a handshake between two nodes of the peer list gives each the
// other's proven node key and a pair of sealed directions; every way in without a key, or
// with the wrong cluster or protocol, is refused by name; and a session refuses any message
// but the peer's next one, intact.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "domain/peer_session.hpp"

using namespace croupier;
using namespace croupier::peer;
using Kind = HandshakeError::Kind;

namespace {

KeyPair key(std::uint8_t n) {
  Seed s{};
  s.fill(n);
  return keypair_from_seed(s);
}

// A seeded source, as the simulator hands one.
RandomSource seeded(std::uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](std::span<std::uint8_t> out) {
    for (auto& b : out) b = static_cast<std::uint8_t>((*rng)());
  };
}

const Id128 kCluster{0xc1};

Identity node(std::uint8_t n, std::vector<std::uint8_t> peers, Id128 cluster = kCluster) {
  Identity id{cluster, key(n), {}};
  for (auto p : peers) id.peers.push_back(key(p).public_key);
  return id;
}

struct Pair {
  Session dialer, acceptor;
};

// A whole handshake between node 1 (dialing) and node 2.
Pair handshake(std::uint64_t seed = 1) {
  Dialer d(node(1, {2, 3}), key(2).public_key, seeded(seed));
  Acceptor a(node(2, {1, 3}), seeded(seed + 1));
  a.proof(d.welcome(a.hello(d.hello())));
  return {d.session(), a.session()};
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

void expect_refused(const std::function<void()>& step, Kind kind, const std::string& part) {
  try {
    step();
    FAIL("accepted");
  } catch (const HandshakeError& e) {
    CHECK(e.kind() == kind);
    CHECK(std::string(e.what()).find(part) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("TwoNodesOfThePeerListHandshakeAndTalkBothWays") {
  auto [d, a] = handshake();
  CHECK(d.peer() == key(2).public_key);
  CHECK(a.peer() == key(1).public_key);
  for (int i = 0; i < 3; ++i) {
    CHECK(a.open(d.seal(text("query " + std::to_string(i)))) == text("query " + std::to_string(i)));
    CHECK(d.open(a.seal(text("answer " + std::to_string(i)))) == text("answer " + std::to_string(i)));
  }
  CHECK(a.open(d.seal({})).empty());
  // Confidential: the plaintext is not in the sealed bytes.
  const Bytes sealed = d.seal(text("a secret query"));
  CHECK(std::search(sealed.begin(), sealed.end(), text("secret").begin(), text("secret").end()) == sealed.end());
  // The same seeds give the same session (the simulator's determinism); others do not.
  CHECK(handshake(7).dialer.seal(text("x")) == handshake(7).dialer.seal(text("x")));
  CHECK(handshake(7).dialer.seal(text("x")) != handshake(8).dialer.seal(text("x")));
}

TEST_CASE("AHandshakeRefusesEveryoneWithoutAKeyTheWrongClusterAndOtherVersions") {
  const auto genuine_hello = Dialer(node(1, {2}), key(2).public_key, seeded(1)).hello();
  struct Row {
    const char* name;
    std::function<void()> step;
    Kind kind;
    const char* message;
  };
  const std::vector<Row> rows{
      {"a stranger's hello (its key is not in the peer list)",
       [] { Acceptor(node(2, {1}), seeded(2)).hello(Dialer(node(9, {2}), key(2).public_key, seeded(1)).hello()); },
       Kind::unknown_key, "which is not in the peer list"},
      {"a hello naming the acceptor's own key",
       [] { Acceptor(node(2, {1}), seeded(2)).hello(Dialer(node(2, {2}), key(2).public_key, seeded(1)).hello()); },
       Kind::unknown_key, "this node's own key"},
      {"a hello from another cluster",
       [] {
         Acceptor(node(2, {1}), seeded(2)).hello(Dialer(node(1, {2}, Id128{0xc2}), key(2).public_key, seeded(1)).hello());
       },
       Kind::cluster, "from cluster c2"},
      {"a hello of another protocol version",
       [&] {
         Bytes h = genuine_hello;
         h[0] = 2;
         Acceptor(node(2, {1}), seeded(2)).hello(h);
       },
       Kind::version, "protocol version 2; this node speaks version 1"},
      {"a truncated hello",
       [&] {
         Acceptor(node(2, {1}), seeded(2)).hello(ByteView(genuine_hello).first(genuine_hello.size() - 1));
       },
       Kind::malformed, "truncated"},
      {"a welcome from a node other than the one dialed",
       [] {
         Dialer d(node(1, {2, 3}), key(2).public_key, seeded(1));
         d.welcome(Acceptor(node(3, {1}), seeded(2)).hello(d.hello()));
       },
       Kind::wrong_key, "where the peer list names"},
      {"a welcome from a stranger",
       [] {
         Dialer d(node(1, {2}), key(2).public_key, seeded(1));
         d.welcome(Acceptor(node(9, {1}), seeded(2)).hello(d.hello()));
       },
       Kind::unknown_key, "not in the peer list"},
      {"a welcome signed over another hello (a replayed welcome)",
       [] {
         Dialer earlier(node(1, {2}), key(2).public_key, seeded(1));
         const Bytes replayed = Acceptor(node(2, {1}), seeded(2)).hello(earlier.hello());
         Dialer d(node(1, {2}), key(2).public_key, seeded(5));
         d.welcome(replayed);
       },
       Kind::bad_signature, "signature is not by node key"},
      {"a welcome whose session key was swapped",
       [] {
         Dialer d(node(1, {2}), key(2).public_key, seeded(1));
         Bytes w = Acceptor(node(2, {1}), seeded(2)).hello(d.hello());
         w[2 + 16 + 32] ^= 1;  // The first byte of kx_key.
         d.welcome(w);
       },
       Kind::bad_signature, "signature"},
      {"a proof signed by a key other than the hello's",
       [] {
         Dialer d(node(1, {2}), key(2).public_key, seeded(1));
         Acceptor a(node(2, {1}), seeded(2));
         const Bytes welcome = a.hello(d.hello());
         Dialer other(node(3, {2}), key(2).public_key, seeded(1));  // Another node's proof.
         Acceptor scratch(node(2, {3}), seeded(2));
         a.proof(other.welcome(scratch.hello(other.hello())));
         (void)welcome;
       },
       Kind::bad_signature, "a Proof whose signature is not by node key"},
      {"a proof before the hello", [] { Acceptor(node(2, {1}), seeded(2)).proof(Bytes(64)); }, Kind::out_of_order,
       "before the Hello"},
      {"a session asked for before the proof",
       [] {
         Dialer d(node(1, {2}), key(2).public_key, seeded(1));
         Acceptor a(node(2, {1}), seeded(2));
         d.welcome(a.hello(d.hello()));
         (void)a.session();
       },
       Kind::out_of_order, "before the Proof"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    expect_refused(row.step, row.kind, row.message);
  }
}

TEST_CASE("ASessionOpensOnlyThePeersNextMessageIntact") {
  auto [d, a] = handshake();
  const Bytes first = d.seal(text("first")), second = d.seal(text("second"));
  struct Row {
    const char* name;
    std::function<void(Session&)> step;
    const char* message;
  };
  const std::vector<Row> rows{
      {"a dropped message (the second before the first)", [&](Session& s) { s.open(second); }, "where 0 was expected"},
      {"an altered byte", [&](Session& s) {
         Bytes b = first;
         b.back() ^= 1;
         s.open(b);
       }, "failed authentication"},
      {"an altered number", [&](Session& s) {
         Bytes b = second;
         b[0] = 0;  // Claims to be message 0.
         s.open(b);
       }, "failed authentication"},
      {"a reflected message (its own, sent back)", [&](Session&) {
         Session mine = handshake(3).dialer;  // Nothing sent or opened yet: the numbers agree.
         mine.open(mine.seal(text("echo")));
       }, "failed authentication"},
      {"a message of another session", [&](Session& s) { s.open(handshake(9).dialer.seal(text("first"))); },
       "failed authentication"},
      {"a short message", [&](Session& s) { s.open(Bytes(10)); }, "too short"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    Session copy = a;
    try {
      row.step(copy);
      FAIL("opened");
    } catch (const SessionError& e) {
      CHECK(std::string(e.what()).find(row.message) != std::string::npos);
    }
  }
  // In order, each opens once; a replay of one already opened is refused.
  CHECK(a.open(first) == text("first"));
  CHECK(a.open(second) == text("second"));
  CHECK_THROWS_WITH_AS(a.open(first), doctest::Contains("message number 0 where 2 was expected"), SessionError);
}
