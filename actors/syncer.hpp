#pragma once
// The syncer: how a node of a cluster catches up with the txs it missed while it was down,
// cut off, or simply late to hear of a tx whose voters elsewhere had already finished (no
// one asks its validator about a decided tx any more). Every `interval` it asks the next
// peer, in turn, for that peer's accepted txs block by block after the last block it fully
// knows from that peer, and hands each tx it does not know to its mempool to learn; the
// node then votes on it and records it like any other. A block is passed only when all its
// txs are known here, so a tx that is not admissible yet (it spends a deposit still being
// decided here) is asked for again on the next pull.
//
// Heights are the peer's own: every node cuts its own blocks. What the nodes agree on is
// which txs are accepted, not how they are grouped into blocks. Settlement txs are left
// out: the node that sequences a batch records its settlement (see the README's design).
//
// Protocol:
//   (sync_atom, uint64 from, uint32 max_blocks) -> SyncChunk   this node's blocks from `from`
//   (tick_atom)                                                 pull from the next peer
//   (inspect_atom)                                -> JSON text
#include <chrono>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/message_types.hpp"
#include "actors/node_state.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::actors {

struct SyncerOptions {
  std::shared_ptr<NodeState> state;
  std::shared_ptr<const eventlog::EventLog> log;
  caf::actor mempool;
  std::vector<caf::actor> peers;  // Other nodes' syncers (none: serve only).
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{2000};
  std::uint32_t max_blocks = 64;  // Per pull.
};

caf::actor spawn_syncer(caf::actor_system& system, SyncerOptions options);

// This node's accepted txs (settlements left out) in blocks [from, from + max_blocks), read
// under the durable lock: only blocks already on disk. Throws NodeUnavailable after a
// journal failure.
SyncChunk read_blocks(const NodeState& state, const eventlog::EventLog& log, std::uint64_t from,
                      std::uint32_t max_blocks);

}  // namespace croupier::actors
