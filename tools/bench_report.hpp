#pragma once
// How the benchmarks print a figure: aligned text, or one JSON line per figure
// ({"metric": ..., "value": ..., "unit": ...}) with --json.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

namespace croupier::tools {

using BenchClock = std::chrono::steady_clock;
inline double seconds_since(BenchClock::time_point t0) {
  return std::chrono::duration<double>(BenchClock::now() - t0).count();
}

struct Reporter {
  bool json;
  void figure(const std::string& metric, double value, const std::string& unit, const std::string& note = "") {
    if (json) {
      nlohmann::json j{{"metric", metric}, {"value", value}, {"unit", unit}};
      std::cout << j.dump() << std::endl;
    } else {
      std::printf("%-44s %14.*f %s%s%s\n", metric.c_str(), value < 100 ? 2 : 0, value, unit.c_str(),
                  note.empty() ? "" : "  ", note.c_str());
      std::fflush(stdout);
    }
  }
};

}  // namespace croupier::tools
