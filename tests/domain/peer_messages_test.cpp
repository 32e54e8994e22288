#include "domain/peer_messages.hpp"

#include <doctest/doctest.h>

#include "domain/codec.hpp"

using namespace croupier;
using namespace croupier::peer;

namespace {
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

TEST_CASE("peer messages: the bytes are the u16 type and the fields in little-endian order, and each decodes to itself") {
  struct Case {
    Message message;
    Bytes bytes;
  };
  const std::vector<Case> cases{
      {Ping{0}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {Ping{0x0102030405060708}, {1, 0, 8, 7, 6, 5, 4, 3, 2, 1}},
      {Pong{7, 0x10}, {2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0}},
      {Pong{UINT64_MAX, UINT64_MAX}, cat({2, 0}, Bytes(16, 0xff))},
  };
  for (const auto& c : cases) {
    CHECK(encode_message(c.message) == c.bytes);
    CHECK(decode_message(c.bytes) == c.message);
  }
}

TEST_CASE("peer messages: an unknown type, a short message and trailing bytes are refused") {
  const std::vector<std::pair<Bytes, const char*>> bad{
      {{}, "shorter than its type"},
      {{1}, "shorter than its type"},
      {{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "unknown type 3"},
      {{0, 0}, "unknown type 0"},
      {{1, 0, 1, 2, 3}, "Ping"},                           // Short.
      {{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, "Ping"},         // Trailing byte.
      {cat({2, 0}, Bytes(8, 0)), "Pong"},                 // No height.
  };
  for (const auto& [bytes, what] : bad) {
    CAPTURE(what);
    try {
      (void)decode_message(bytes);
      FAIL("decoded");
    } catch (const DecodeError& e) {
      CHECK(std::string(e.what()).find(what) != std::string::npos);
    }
  }
}
