#include "domain/peer_messages.hpp"

#include "domain/codec.hpp"

namespace croupier::peer {

namespace {

enum class Type : std::uint16_t { ping = 1, pong = 2 };

}  // namespace

Bytes encode_message(const Message& m) {
  return std::visit(
      [](const auto& x) -> Bytes {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Ping>)
          return encode(std::tuple{static_cast<std::uint16_t>(Type::ping), x.number});
        else
          return encode(std::tuple{static_cast<std::uint16_t>(Type::pong), x.number, x.block_height});
      },
      m);
}

Message decode_message(ByteView bytes) {
  if (bytes.size() < 2) throw DecodeError("peer message: shorter than its type");
  const auto type = static_cast<Type>(static_cast<std::uint16_t>(bytes[0] | (bytes[1] << 8)));
  switch (type) {
    case Type::ping: {
      auto [t, number] = decode<std::tuple<std::uint16_t, std::uint64_t>>(bytes, "peer Ping");
      (void)t;
      return Ping{number};
    }
    case Type::pong: {
      auto [t, number, height] = decode<std::tuple<std::uint16_t, std::uint64_t, std::uint64_t>>(bytes, "peer Pong");
      (void)t;
      return Pong{number, height};
    }
  }
  throw DecodeError("peer message: unknown type " + std::to_string(bytes[0] | (bytes[1] << 8)) +
                    " (a newer protocol than this build's?)");
}

}  // namespace croupier::peer
