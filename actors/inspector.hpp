#pragma once
// The inspector: the node's window for operators. Minimal for now: it renders the node's
// metrics in Prometheus text format (GET /metrics), from the shared counters, the waiters'
// statistics and the batches in the projections.
//
// Protocol:
//   (metrics_atom) -> std::string
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/node_state.hpp"
#include "actors/waiters.hpp"

namespace croupier::actors {

struct InspectorOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  waiters_actor waiters;
};

caf::actor spawn_inspector(caf::actor_system& system, InspectorOptions options);

// The Prometheus text for these figures (pure; the inspector gathers them).
std::string render_metrics(const Metrics& m, const WaitersStats& waiters, const std::array<std::uint64_t, 5>& batches,
                           std::uint64_t log_head, std::uint64_t block_height);

}  // namespace croupier::actors
