#pragma once
// What the benchmarks share besides printing (bench_report.hpp): the wall clock, ids for the
// transactions they make, and their scratch directory's removal.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>

#include "domain/ids.hpp"

namespace croupier::tools {

inline std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// A time-ordered id, distinct for each `n` (and, by its pid byte, between concurrent runs).
inline Id128 fresh_id(std::uint64_t n) {
  std::array<std::uint8_t, 10> r{};
  put_u64_le(r.data(), n);
  r[8] = static_cast<std::uint8_t>(::getpid());
  return make_time_ordered_id(wall_ms(), r);
}

// Removes a benchmark's directory when it goes out of scope; an empty path keeps it.
struct RemovedOnExit {
  std::filesystem::path path;
  ~RemovedOnExit() {
    if (!path.empty()) std::filesystem::remove_all(path);
  }
};

}  // namespace croupier::tools
