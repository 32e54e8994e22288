#pragma once
// The simulator's own timeline: workload and fault events at virtual times, run in time
// order and, at equal times, in the order they were scheduled (so that a seed replays).
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>

namespace croupier::sim {

class Agenda {
 public:
  using time_point = caf::actor_clock::time_point;

  explicit Agenda(const caf::actor_clock& clock) : clock_(clock) {}

  time_point now() const { return clock_.now(); }
  void at(time_point t, std::function<void()> event) { events_.emplace(t, std::move(event)); }
  void after(caf::timespan d, std::function<void()> event) { at(now() + d, std::move(event)); }

  std::optional<time_point> next() const {
    if (events_.empty()) return std::nullopt;
    return events_.begin()->first;
  }
  // Runs the first event when it is due; false when none is.
  bool run_due() {
    if (events_.empty() || events_.begin()->first > now()) return false;
    auto event = std::move(events_.begin()->second);
    events_.erase(events_.begin());
    event();
    return true;
  }

 private:
  const caf::actor_clock& clock_;
  std::multimap<time_point, std::function<void()>> events_;
};

// What a check found: which of the invariants (1..6), and what exactly.
struct Finding {
  int invariant = 0;
  std::string detail;
};
using Report = std::function<void(Finding)>;

std::string_view invariant_name(int invariant);

}  // namespace croupier::sim
