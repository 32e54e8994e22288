#include "domain/ids.hpp"

#include <algorithm>

namespace croupier {

Id128 make_time_ordered_id(std::uint64_t unix_ms, std::span<const std::uint8_t, 10> random) {
  Id128 id{};
  for (int i = 5; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(unix_ms);
    unix_ms >>= 8;
  }
  std::copy(random.begin(), random.end(), id.begin() + 6);
  return id;
}

std::uint64_t id_time_ms(const Id128& id) {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id[static_cast<std::size_t>(i)];
  return ms;
}

}  // namespace croupier
