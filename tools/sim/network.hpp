#pragma once
// The simulator's network: every message between two nodes goes through a link actor
// (one per direction and service) that asks the network how to carry it: delay it (drawn
// from the seed), drop it, deliver it twice; messages with different delays overtake each
// other, so order is not kept. A partition cuts the nodes on one side from the others
// (messages in flight between them are lost too); a paused node's messages wait until it
// resumes. A crashed node has no target: what is sent to it is lost.
//
// The links speak the protocols of what they stand for: to a validator
// (query_atom, VoteQueries) -> Votes; to a syncer (sync_atom, uint64, uint32) -> SyncChunk.
// A lost request or reply is never answered: the asker's own timeout handles it, as over a
// real network.
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>

namespace croupier::sim {

enum class Service : std::uint8_t { validator, syncer };

struct NetworkFaults {
  double drop = 0;         // Probability that a message (or its reply) is lost.
  double duplicate = 0;    // Probability that a message is delivered twice.
  std::uint32_t min_delay_ms = 1;
  std::uint32_t max_delay_ms = 15;
  double slow = 0.02;      // Probability that a message takes 20x the longest delay.
};

struct NetworkCounters {
  std::uint64_t sent = 0, dropped = 0, duplicated = 0, cut = 0, held = 0;
};

class SimNetwork {
 public:
  using time_point = caf::actor_clock::time_point;

  SimNetwork(std::uint64_t seed, NetworkFaults faults, std::size_t nodes);

  struct Hop {
    bool drop = false;
    bool duplicate = false;
    caf::timespan delay{0};
  };
  // How to carry one message from `from` to `to` (counts what it decides).
  Hop plan();

  // Whether a message may cross now (no partition between them, both have targets).
  bool connected(std::size_t from, std::size_t to) const;
  // When a message between them may be delivered: `now` unless one of them is paused.
  time_point held_until(std::size_t from, std::size_t to, time_point now) const;

  void set_target(std::size_t node, Service s, caf::actor target);
  void clear_targets(std::size_t node);  // The node crashed.
  caf::actor target(std::size_t node, Service s) const;

  // side[i] is node i's side; nodes on different sides cannot talk until heal().
  void partition(std::vector<std::uint8_t> side);
  void heal();
  bool partitioned() const { return !side_.empty(); }
  void pause(std::size_t node, time_point until);
  void resume_all();
  void calm();  // No more drops or duplicates (delays stay): the faults are over.

  const NetworkFaults& faults() const { return faults_; }
  NetworkCounters& counters() { return counters_; }
  std::size_t size() const { return targets_.size(); }

 private:
  std::mt19937_64 rng_;
  NetworkFaults faults_;
  std::vector<std::array<caf::actor, 2>> targets_;
  std::vector<std::uint8_t> side_;
  std::vector<time_point> paused_until_;
  NetworkCounters counters_;
};

// The link that carries `from`'s messages to `to`'s `service`.
caf::actor spawn_link(caf::actor_system& system, std::shared_ptr<SimNetwork> network, std::size_t from,
                      std::size_t to, Service service);

}  // namespace croupier::sim
