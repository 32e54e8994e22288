#include "actors/syncer.hpp"

#include <algorithm>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"
#include "eventlog/cold.hpp"

namespace croupier::actors {

SyncChunk read_blocks(const NodeState& state, const eventlog::EventLog& log, std::uint64_t from,
                      std::uint32_t max_blocks) {
  SyncChunk chunk;
  chunk.from = std::max<std::uint64_t>(from, 1);
  DurableRead lock(state);
  chunk.peer_height = state.durable_height.load();
  for (std::uint64_t h = chunk.from; h <= chunk.peer_height && h < chunk.from + max_blocks; ++h) {
    auto seq = log.find_block(h);
    auto block = seq ? eventlog::read_event_as<BlockCommitted>(log, *seq) : std::nullopt;
    if (!block) break;  // Cannot be: the height is durable. The peer asks again.
    auto& txs = chunk.blocks.emplace_back();
    std::set<Hash32> forgotten;  // Finished and out of the memory's window: read from the log.
    for (const auto& id : block->tx_ids)
      if (!state.projections.txs.contains(id)) forgotten.insert(id);
    auto cold = forgotten.empty() ? std::map<Hash32, Tx>{} : eventlog::read_block_txs(log, *seq, forgotten);
    for (const auto& id : block->tx_ids) {
      if (auto it = state.projections.txs.find(id); it != state.projections.txs.end()) {
        if (!std::holds_alternative<Settlement>(it->second.tx)) txs.push_back(it->second.tx);
      } else if (auto c = cold.find(id); c != cold.end()) {
        txs.push_back(c->second);
      }
    }
  }
  return chunk;
}

namespace {

struct SyncerState {
  std::vector<std::uint64_t> next_height;  // Per peer: the first of its blocks not fully known.
  std::size_t next_peer = 0;
  std::uint64_t pulls = 0, learned = 0;
  static constexpr const char* name = "syncer";
};

using syncer_pointer = caf::stateful_actor<SyncerState>*;

// Hands the chunk's unknown txs to the mempool, and passes the blocks fully known here.
void take(syncer_pointer self, const SyncerOptions& o, std::size_t peer, const SyncChunk& chunk) {
  auto& st = self->state;
  std::vector<Tx> unknown;
  std::uint64_t known_blocks = 0;
  {
    std::shared_lock lock(o.state->mutex);
    for (const auto& block : chunk.blocks) {
      for (const auto& tx : block)
        if (!o.state->projections.txs.contains(tx_id(tx)) && !eventlog::tx_id_held_in_log(*o.log, tx_key(tx)))
          unknown.push_back(tx);  // Neither in memory nor decided here and forgotten.
      if (!unknown.empty()) break;  // Later blocks may build on this one: next pull.
      ++known_blocks;
    }
  }
  st.next_height[peer] = std::max(st.next_height[peer], chunk.from + known_blocks);
  st.learned += unknown.size();
  for (auto& tx : unknown) self->send(o.mempool, learn_atom::value, std::move(tx));
}

caf::behavior syncer_behavior(syncer_pointer self, SyncerOptions o) {
  self->state.next_height.assign(o.peers.size(), 1);
  if (!o.peers.empty()) self->delayed_send(self, o.interval, tick_atom::value);
  return {
      [=](sync_atom, std::uint64_t from, std::uint32_t max_blocks) -> caf::result<SyncChunk> {
        try {
          return read_blocks(*o.state, *o.log, from, std::min(max_blocks, o.max_blocks));
        } catch (const NodeUnavailable& e) {
          return caf::make_error(caf::sec::runtime_error, e.what());
        } catch (const eventlog::LogError& e) {  // A damaged log: this peer serves nothing.
          return caf::make_error(caf::sec::runtime_error, e.what());
        }
      },
      [=](tick_atom) {
        auto& st = self->state;
        self->delayed_send(self, o.interval, tick_atom::value);
        const std::size_t peer = st.next_peer++ % o.peers.size();
        ++st.pulls;
        self->request(o.peers[peer], o.timeout, sync_atom::value, st.next_height[peer], o.max_blocks)
            .then([=](const SyncChunk& chunk) { take(self, o, peer, chunk); },
                  [](caf::error&) {});  // Down or cut off: the next tick asks another.
      },
      [=](inspect_atom) {
        auto& st = self->state;
        return describe_actor(self, "syncer",
                              std::to_string(o.peers.size()) + " peers, pulls " + std::to_string(st.pulls) +
                                  ", txs learned " + std::to_string(st.learned),
                              {{"peers", o.peers.size()}, {"pulls", st.pulls}, {"learned", st.learned},
                               {"next_height", st.next_height}, {"interval_ms", o.interval.count()}});
      },
  };
}

}  // namespace

caf::actor spawn_syncer(caf::actor_system& system, SyncerOptions options) {
  return spawn_counted<caf::stateful_actor<SyncerState>>(
      system, [o = std::move(options)](syncer_pointer self) { return syncer_behavior(self, o); });
}

}  // namespace croupier::actors
