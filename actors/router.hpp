#pragma once
// The router: bundles the consensus queries of all voters. A query is answered with the
// votes of k validators sampled by the node's seeded PRNG (all of them when k equals the
// validator count). Queries that reach the router before its flush message are sent to
// each validator as ONE message, as avalanchego polls blocks rather than single txs; at
// low load a query goes out at once, under load bundles grow by themselves.
//
// A bundle to another node's validator whose answer has not come within timeout / asks is
// asked again (up to `asks` times in all, within `timeout`): over a lossy network a lost
// query or answer then costs a fraction of the timeout, not the poll. Nothing is lost
// between actors of one process, so the node's own validators are asked once.
//
// Protocol:
//   (query_atom, VoteQuery)    -> Votes    the answers that arrived within `timeout`
//                                          (a silent validator is left out)
//   (forget_atom, Decided)                 forwarded to the node's own validators
#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/validator.hpp"

namespace croupier::actors {

struct RouterOptions {
  std::vector<caf::actor> validators;        // The node's own first, then other nodes'.
  int k = 1;                                 // Validators sampled per query; <= validators.
  std::uint64_t seed = 1;                    // The node's PRNG seed for sampling.
  std::chrono::milliseconds timeout{500};    // Per bundle.
  Metrics* metrics = nullptr;
  std::size_t local = std::numeric_limits<std::size_t>::max();  // How many validators are the node's own.
  int asks = 5;                              // Per bundle to another node's validator; >= 1.
};

caf::actor spawn_router(caf::actor_system& system, RouterOptions options);

}  // namespace croupier::actors
