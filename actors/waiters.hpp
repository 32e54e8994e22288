#pragma once
// The finalization waiters: a client asks to wait for a transaction for at most a given
// time; it is answered final the moment the tx's block is committed, or pending at its
// deadline. The bookkeeping is domain/finalization_waiters.hpp (O(1) per waiter, one
// timer for the earliest deadline); the promises live in a hash map by token, never in
// `request(...).then(...)` (CAF searches pending `then` handlers linearly).
//
// Protocol:
//   (wait_atom, tx_id, max_wait)     -> WaitAnswer   register and wait; refused when full
//                                                     (answered pending at once)
//   (committed_atom, tx_ids, height)                  these txs are in block `height`
//                                                     (height 0: decided rejected)
//   (stats_atom)                     -> WaitersStats
// The committer must report a block only after BlockCommitted is durable. Register a
// waiter before the tx can commit (the gateway knows the tx id before it submits).
// On exit every waiting client is answered pending.

#include <functional>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/introspection.hpp"
#include "actors/message_types.hpp"

namespace croupier::actors {

using waiters_actor = caf::typed_actor<caf::replies_to<wait_atom, Hash32, caf::timespan>::with<WaitAnswer>,
                                       caf::reacts_to<committed_atom, TxIds, std::uint64_t>,
                                       caf::reacts_to<expire_atom, std::uint64_t>,
                                       caf::replies_to<stats_atom>::with<WaitersStats>,
                                       caf::replies_to<inspect_atom>::with<std::string>>;

struct WaitersOptions {
  std::size_t max_waiters = 100'000;
  // When set, asked as a client registers: a tx already final (its block durable, or
  // rejected) is answered at once, so that a commit between the client's admission and its
  // registration is never missed. The node hands in a lookup of its projections.
  std::function<std::optional<WaitAnswer>(const Hash32&)> already_final;
};

waiters_actor spawn_waiters(caf::actor_system& system, WaitersOptions options);

}  // namespace croupier::actors
