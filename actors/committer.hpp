#pragma once
// The committer: turns the voters' decisions into blocks. Decisions gather until
// `block_interval` has passed since the first of them (0: until the decisions already in its
// mailbox are in, so a block is cut as soon as the previous one is durable and blocks grow
// with the load, as the journal's groups do) or `block_max` are waiting; then one
// journal request appends TxFinalized for each, BlockCommitted over the accepted ones and
// BetResolved for each accepted bet (its outcome by ECVRF with the house key; plan in
// domain/blocks.hpp). The ECVRF proofs, a bet's costliest step, are made as decisions arrive
// by short-lived resolver actors, so they run on every scheduler thread; a block takes the
// decisions whose outcomes are ready. One block is in flight at a time, so heights chain.
// A block the journal refuses (JournalRefusal::rule: it cannot happen when admission did its
// work, since every admitted tx can be decided; see domain/exposure.hpp) loses no decision:
// they go back to the front of the queue, and the next blocks carry one decision each until
// the refused one is found; that one is held aside and tried again every `retry_refused`,
// with a line to `alarm` each time, so that the decisions behind it are not held up.
// Once the block is durable it tells: the waiters (committed_atom: accepted at the height,
// rejected at 0), the mempool and the submitter (block_atom, BlockReport), the sequencer
// (items_atom, the block's settlement items) and the router (forget_atom, decided keys).
//
// Protocol:
//   (decided_atom, Hash32 tx_id, bool accepted)   from a voter
//   (stats_atom) -> std::string                   one line for the inspector
#include <chrono>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"
#include "actors/waiters.hpp"

namespace croupier::actors {

struct CommitterOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  journal_actor journal;
  waiters_actor waiters;
  KeyPair house_key;
  std::function<std::uint64_t()> clock_ms;  // Block timestamps.
  std::chrono::milliseconds block_interval{0};
  std::size_t block_max = 1000;
  std::chrono::milliseconds retry_refused{1000};
  std::function<void(const std::string&)> alarm;  // Lines for the operator; may be empty.
};

// The peers the committer reports to, spawned after it (they need its handle).
struct CommitterPeers {
  caf::actor mempool, sequencer, submitter, router;
};

caf::actor spawn_committer(caf::actor_system& system, CommitterOptions options);

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::CommitterPeers)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::BetResolved)
