#include "domain/bytes.hpp"
#include "domain/hex.hpp"

namespace croupier {

void append_hex(std::string& out, ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::size_t at = out.size();
  out.resize(at + bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[at + 2 * i] = kDigits[bytes[i] >> 4];
    out[at + 2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

std::string to_hex(ByteView bytes) {
  std::string out;
  append_hex(out, bytes);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Bytes bytes_from_hex(std::string_view hex, std::string_view what) {
  if (hex.size() % 2 != 0)
    throw InputError(std::string(what) + ": odd number of hex characters (" +
                     std::to_string(hex.size()) + ")");
  Bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      throw InputError(std::string(what) + ": not a hex character at position " +
                       std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

}  // namespace croupier
