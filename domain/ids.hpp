#pragma once
// 128-bit client-chosen ids (bet ids, deposit ids, batch ids).
//
// Ids are opaque to the engine, but clients should make them time-ordered like ULID:
// the first 48 bits are milliseconds since the Unix epoch (big-endian), the remaining
// 80 bits random. Indexes keyed by such ids grow near-append; random ids still work,
// only their index inserts are slower.

#include <cstdint>
#include <functional>
#include <span>

#include "domain/bytes.hpp"

namespace croupier {

using Id128 = FixedBytes<16>;

// Builds a time-ordered id from a timestamp the caller read and 10 random bytes the
// caller drew (domain/ never reads clocks or entropy itself).
Id128 make_time_ordered_id(std::uint64_t unix_ms, std::span<const std::uint8_t, 10> random);

// The millisecond prefix of a time-ordered id (meaningless for random ids).
std::uint64_t id_time_ms(const Id128& id);

// Hash functor for unordered containers keyed by ids, keys and hashes, which are already
// uniformly distributed (public keys and BLAKE2b outputs); time-ordered ids are mixed.
struct BytesHash {
  template <std::size_t N>
  std::size_t operator()(const FixedBytes<N>& b) const noexcept {
    static_assert(N >= 16);
    std::uint64_t a = get_u64_le(b.data() + N - 8), c = get_u64_le(b.data() + N - 16);
    return static_cast<std::size_t>((a ^ (c * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull);
  }
};

}  // namespace croupier
