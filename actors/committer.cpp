#include "actors/committer.hpp"

#include <shared_mutex>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/validator.hpp"
#include "domain/blocks.hpp"

namespace croupier::actors {

namespace {

struct CommitterState {
  CommitterState() = default;  // Not an aggregate: see ReconcilerState in reconciler.cpp.
  CommitterPeers peers;
  std::vector<ConsensusDecision> waiting;
  bool in_flight = false;
  bool timer_armed = false;
  std::uint64_t timer_generation = 0;
  std::uint64_t height = 0;
  Hash32 head{};
  static constexpr const char* name = "committer";
};

using committer_pointer = caf::stateful_actor<CommitterState>*;

void cut(committer_pointer self, const CommitterOptions& o);

void arm(committer_pointer self, const CommitterOptions& o) {
  auto& st = self->state;
  if (st.timer_armed || st.waiting.empty()) return;
  st.timer_armed = true;
  self->delayed_send(self, o.block_interval, tick_atom::value, ++st.timer_generation);
}

void cut(committer_pointer self, const CommitterOptions& o) {
  auto& st = self->state;
  if (st.in_flight || st.waiting.empty()) return;
  st.timer_armed = false;
  ++st.timer_generation;
  const std::size_t n = std::min(st.waiting.size(), o.block_max);
  std::vector<ConsensusDecision> decisions(st.waiting.begin(), st.waiting.begin() + static_cast<std::ptrdiff_t>(n));
  st.waiting.erase(st.waiting.begin(), st.waiting.begin() + static_cast<std::ptrdiff_t>(n));
  // Copies of the txs, so that the VRF proofs below run without holding the read lock.
  std::unordered_map<Hash32, Tx, BytesHash> txs;
  {
    std::shared_lock lock(o.state->mutex);
    for (const auto& d : decisions) {
      auto it = o.state->projections.txs.find(d.tx_id);
      if (it != o.state->projections.txs.end()) txs.emplace(d.tx_id, it->second.tx);
    }
  }
  // A decision about a tx the projections do not hold as admitted is a bug upstream: drop
  // it rather than have the whole block refused.
  std::erase_if(decisions, [&](const ConsensusDecision& d) { return !txs.contains(d.tx_id); });
  if (decisions.empty()) return;
  auto plan = std::make_shared<BlockPlan>(plan_block(
      decisions, st.height, st.head, o.clock_ms(),
      [&](const Hash32& id) -> const Tx* {
        auto it = txs.find(id);
        return it == txs.end() ? nullptr : &it->second;
      },
      o.house_key));
  Decided decided;
  for (const auto& d : decisions)
    if (d.accepted) {
      Bytes key = conflict_key(txs.at(d.tx_id));
      decided.emplace_back(std::string(key.begin(), key.end()), d.tx_id);
    }
  st.in_flight = true;
  auto events = plan->events;
  self->request(o.journal, caf::infinite, append_atom::value, std::move(events))
      .then(
          [=](const Seqs&) {
            auto& st = self->state;
            st.in_flight = false;
            BlockReport report;
            if (plan->block) {
              st.height = plan->block->height;
              st.head = plan->block->hash;
              report.height = st.height;
              report.accepted = plan->block->tx_ids;
              if (o.metrics) {
                ++o.metrics->blocks;
                o.metrics->bets_resolved += plan->events.size() - decisions.size() - 1;
              }
            }
            report.rejected = plan->rejected;
            report.settlements = plan->settlements;
            if (!report.accepted.empty()) self->send(o.waiters, committed_atom::value, report.accepted, report.height);
            if (!report.rejected.empty()) self->send(o.waiters, committed_atom::value, report.rejected, std::uint64_t{0});
            if (st.peers.mempool) self->send(st.peers.mempool, block_atom::value, report);
            if (st.peers.submitter && !report.settlements.empty()) self->send(st.peers.submitter, block_atom::value, report);
            if (st.peers.sequencer && !plan->items.empty()) self->send(st.peers.sequencer, items_atom::value, plan->items);
            if (st.peers.router && !decided.empty()) self->send(st.peers.router, forget_atom::value, decided);
            if (st.waiting.size() >= o.block_max) cut(self, o);
            else arm(self, o);
          },
          [=](caf::error&) {
            // The journal stopped (it told the node, which is stopping): nothing more can be
            // recorded; the decisions are redone from the log after a restart.
            self->state.in_flight = false;
          });
}

caf::behavior committer_behavior(committer_pointer self, CommitterOptions o) {
  {
    std::shared_lock lock(o.state->mutex);
    self->state.height = o.state->projections.block_height;
    self->state.head = o.state->projections.block_hash;
  }
  return {
      [=](caf::put_atom, const CommitterPeers& peers) { self->state.peers = peers; },
      [=](decided_atom, const Hash32& tx_id, bool accepted) {
        auto& st = self->state;
        st.waiting.push_back({tx_id, accepted});
        if (st.waiting.size() >= o.block_max) cut(self, o);
        else arm(self, o);
      },
      [=](tick_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.timer_generation) return;
        st.timer_armed = false;
        cut(self, o);
      },
      [=](stats_atom) {
        auto& st = self->state;
        return "height " + std::to_string(st.height) + ", decisions waiting " + std::to_string(st.waiting.size()) +
               (st.in_flight ? ", a block in flight" : "");
      },
  };
}

}  // namespace

caf::actor spawn_committer(caf::actor_system& system, CommitterOptions options) {
  return system.spawn(committer_behavior, std::move(options));
}

}  // namespace croupier::actors
