#pragma once
// A doctest-friendly stand-in for CAF's test DSL fixture (which needs the caf_test
// engine): an actor system on the deterministic `testing` scheduler, whose jobs and
// virtual clock the test drives by hand, one step or all at once.

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

namespace croupier::test {

struct CafFixture {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::scheduler::test_coordinator* scheduler = nullptr;

  CafFixture() {
    config.set("scheduler.policy", caf::atom("testing"));
    config.set("logger.verbosity", caf::atom("quiet"));
    system = std::make_unique<caf::actor_system>(config);
    scheduler = &dynamic_cast<caf::scheduler::test_coordinator&>(system->scheduler());
  }

  // Runs every queued job until none is left. Timers do not fire: virtual time stands
  // still until the test moves it with advance().
  std::size_t run() {
    std::size_t total = 0;
    while (std::size_t k = scheduler->run()) total += k;
    return total;
  }

  // Moves virtual time forward (firing the delayed messages that fall due) and runs.
  std::size_t advance(caf::timespan by) {
    scheduler->advance_time(by);
    return run();
  }
};

}  // namespace croupier::test
