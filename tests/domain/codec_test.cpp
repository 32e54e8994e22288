// The canonical encoding: our vector/span archives must produce exactly the bytes of
// cereal's own BinaryOutputArchive (the documented format), and refuse bad input.
#include <doctest/doctest.h>

#include <sstream>

#include <cereal/archives/binary.hpp>

#include "domain/codec.hpp"
#include "domain/events.hpp"

using namespace croupier;

namespace {
template <class T>
Bytes cereal_binary(const T& value) {
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive ar(os);
    ar(value);
  }
  auto s = os.str();
  return Bytes(s.begin(), s.end());
}

Event sample_event() {
  settlement::Item item{settlement::ItemKind::bet, Id128{1, 2}, Hash32{3}, PublicKey{4}, 500, 990};
  return BatchCreated{Id128{9, 9}, {item, item}, 5};
}
}  // namespace

TEST_CASE("vector archive writes exactly cereal's binary archive bytes") {
  Bet b;
  b.bet_id[0] = 7;
  b.nonce = 0x0102030405060708ull;
  b.wager = 12345;
  b.game = 2;
  b.choice = 50;
  Tx tx = b;
  CHECK(encode(tx) == cereal_binary(tx));
  std::visit([](const auto& ev) { CHECK(encode(ev) == cereal_binary(ev)); }, sample_event());
  std::string s = "hello";
  std::optional<std::uint64_t> o = 5;
  CHECK(encode(std::make_tuple(s, o)) == cereal_binary(std::make_tuple(s, o)));
}

TEST_CASE("span archive round trip and its errors") {
  auto bytes = encode_event(sample_event());
  auto back = decode_event(static_cast<std::uint16_t>(EventType::batch_created), bytes);
  CHECK(encode_event(back) == bytes);

  Bytes truncated(bytes.begin(), bytes.end() - 1);
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::batch_created), truncated),
                       doctest::Contains("truncated"), DecodeError);
  Bytes longer = bytes;
  longer.push_back(0);
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::batch_created), longer),
                       doctest::Contains("1 trailing bytes"), DecodeError);
  Bytes wrong_version = bytes;
  wrong_version[0] = 9;
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::batch_created), wrong_version),
                       doctest::Contains("unknown format version 9"), DecodeError);
}

TEST_CASE("a forged element count is refused before anything is allocated") {
  BlockCommitted b;
  b.tx_ids.resize(2);
  auto bytes = encode_event(b);
  // Layout: version u8 | height u64 | prev_hash[32] | hash[32] | count u64 | ids... | time u64
  std::size_t count_at = 1 + 8 + 32 + 32;
  REQUIRE(get_u64_le(bytes.data() + count_at) == 2);
  put_u64_le(bytes.data() + count_at, 1ull << 40);
  CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::block_committed), bytes),
                       doctest::Contains("exceeds the"), DecodeError);
}

TEST_CASE("a bool byte other than 0 or 1 is refused") {
  // Written as cereal writes it: one byte, 0 or 1.
  for (bool accepted : {false, true}) {
    TxFinalized e{Hash32{1}, accepted, 0, {}};
    CHECK(encode(e) == cereal_binary(e));
    Bytes bytes = encode_event(e);
    // Layout: version u8 | tx_id[32] | accepted u8 | block_height u64 | key kind u8 | key id[16]
    REQUIRE(bytes.size() == 59);
    CHECK(bytes[33] == (accepted ? 1 : 0));
    CHECK(std::get<TxFinalized>(decode_event(static_cast<std::uint16_t>(EventType::tx_finalized), bytes)).accepted ==
          accepted);
  }
  Bytes bytes = encode_event(TxFinalized{Hash32{1}, true, 1, {}});
  for (std::uint8_t bad : {std::uint8_t{2}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
    CAPTURE(int{bad});
    bytes[33] = bad;
    CHECK_THROWS_WITH_AS(decode_event(static_cast<std::uint16_t>(EventType::tx_finalized), bytes),
                         doctest::Contains(("TxFinalized: a bool byte of " + std::to_string(bad) + " is not 0 or 1").c_str()),
                         DecodeError);
  }

  // std::optional's presence flag is a bool too.
  std::optional<std::uint64_t> some = 7;
  Bytes opt = encode(some);
  REQUIRE(opt.size() == 9);
  CHECK(opt[0] == 0);  // cereal writes "nullopt": false.
  CHECK(decode<std::optional<std::uint64_t>>(opt, "optional") == some);
  opt[0] = 2;
  CHECK_THROWS_WITH_AS(decode<std::optional<std::uint64_t>>(opt, "optional"), doctest::Contains("bool byte of 2"),
                       DecodeError);
}
