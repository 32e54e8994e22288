#pragma once
// Fixed-size byte strings and their hex forms. Every id, key, hash and signature in
// Croupier is one of these; hex is lower-case on output and accepted in either case.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace croupier {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

template <std::size_t N>
using FixedBytes = std::array<std::uint8_t, N>;

using Hash32 = FixedBytes<32>;  // BLAKE2b-256 digests: tx ids, record hashes, roots.

// Thrown for malformed external input (hex of the wrong length or alphabet, ...).
// The message names what was wrong so a caller can show it to a person as is.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string to_hex(ByteView bytes);

template <std::size_t N>
std::string to_hex(const FixedBytes<N>& bytes) {
  return to_hex(ByteView{bytes.data(), N});
}

// Decodes hex of any even length. Throws InputError naming `what` on bad input.
Bytes bytes_from_hex(std::string_view hex, std::string_view what = "hex string");

// Decodes exactly N bytes of hex. Throws InputError naming `what` on bad input.
template <std::size_t N>
FixedBytes<N> fixed_from_hex(std::string_view hex, std::string_view what = "hex string") {
  if (hex.size() != 2 * N)
    throw InputError(std::string(what) + ": expected " + std::to_string(2 * N) +
                     " hex characters, got " + std::to_string(hex.size()));
  auto v = bytes_from_hex(hex, what);
  FixedBytes<N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

// Little-endian and big-endian fixed-width integer helpers for hand-written layouts.
inline void put_u64_be(std::uint8_t* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) { out[i] = static_cast<std::uint8_t>(v); v >>= 8; }
}
inline std::uint64_t get_u64_be(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}
inline void put_u64_le(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) { out[i] = static_cast<std::uint8_t>(v); v >>= 8; }
}
inline std::uint64_t get_u64_le(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}

}  // namespace croupier
