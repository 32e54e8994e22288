#pragma once
// The sequencer: cuts the committed settlement items (accepted deposits, resolved bets)
// into batches, every `batch_interval` or as soon as `batch_max` items wait, and appends
// BatchCreated before any work on the batch (the crash-safe queue); then hands the batch
// to the prover. Batch ids are time-ordered (clock + seeded PRNG) and strictly increasing,
// so the batches' order in the projections is their creation order. One BatchCreated is
// in flight at a time. Paused, it keeps collecting but cuts nothing.
//
// Protocol:
//   (items_atom, vector<Item>)     items to batch, in commit order
//   (pause_atom) / (resume_atom) -> std::string   operator actions; answer the new state (not
//                                  recorded in the log: a restarted node's sequencer runs)
//   (stats_atom) -> std::string
#include <chrono>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"

namespace croupier::actors {

struct SequencerOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  journal_actor journal;
  caf::actor prover;
  std::function<std::uint64_t()> clock_ms;
  std::uint64_t seed = 1;
  std::chrono::milliseconds batch_interval{100};
  std::size_t batch_max = 1000;
  std::uint32_t submit_attempts = 5;  // BatchCreated::max_attempts.
  std::function<void(const std::string&)> alarm;  // Lines for the operator; may be empty.
};

caf::actor spawn_sequencer(caf::actor_system& system, SequencerOptions options);

}  // namespace croupier::actors
