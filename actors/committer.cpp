#include "actors/committer.hpp"

#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"
#include "actors/validator.hpp"
#include "domain/blocks.hpp"
#include "domain/vrf.hpp"

namespace croupier::actors::committer_detail {
// A bet's outcome as a resolver made it, with the ECVRF output that decided it (kept for
// RecentProofs, so that answering the bet does not compute it again).
struct ReadyOutcome {
  BetResolved event;
  vrf::Output output{};
};
}  // namespace croupier::actors::committer_detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::committer_detail::ReadyOutcome)

namespace croupier::actors {

namespace {

using committer_detail::ReadyOutcome;
using resolved_atom = caf::atom_constant<caf::atom("resolved")>;

struct CommitterState {
  CommitterState() = default;  // Not an aggregate: see ReconcilerState in reconciler.cpp.
  CommitterPeers peers;
  std::vector<ConsensusDecision> waiting;  // In decision order.
  std::unordered_map<Hash32, Tx, BytesHash> txs;  // Copies of the waiting decisions' txs.
  // The txs of the block in flight: the projections still say admitted until it is durable,
  // so a second decision about one of them must be recognised here.
  std::unordered_set<Hash32, BytesHash> in_block;
  std::unordered_set<Hash32, BytesHash> resolving;  // Accepted bets whose outcome is being computed.
  std::unordered_map<Hash32, ReadyOutcome, BytesHash> resolved;  // Outcomes ready.
  // After a refused block: how many of the next blocks carry a single decision, and the
  // decisions refused on their own, tried again every retry_refused.
  std::size_t single = 0;
  std::vector<ConsensusDecision> held;
  bool in_flight = false;
  bool timer_armed = false;
  std::uint64_t timer_generation = 0;
  std::uint64_t height = 0;
  Hash32 head{};
  static constexpr const char* name = "committer";
};

using committer_pointer = caf::stateful_actor<CommitterState>*;

std::string summary(const CommitterState& st) {
  return "height " + std::to_string(st.height) + ", decisions waiting " + std::to_string(st.waiting.size()) +
         (st.in_flight ? ", a block in flight" : "");
}

void cut(committer_pointer self, const CommitterOptions& o);
void take_back(committer_pointer self, const CommitterOptions& o, const std::vector<ConsensusDecision>& decisions,
               const std::unordered_map<Hash32, Tx, BytesHash>& txs,
               const std::vector<std::pair<Hash32, ReadyOutcome>>& outcomes, const std::string& why);

void arm(committer_pointer self, const CommitterOptions& o) {
  auto& st = self->state;
  if (st.timer_armed || st.waiting.empty()) return;
  st.timer_armed = true;
  if (o.block_interval.count() == 0)
    self->send(self, tick_atom::value, ++st.timer_generation);  // Behind every decision already queued.
  else
    self->delayed_send(self, o.block_interval, tick_atom::value, ++st.timer_generation);
}

void cut(committer_pointer self, const CommitterOptions& o) {
  auto& st = self->state;
  if (st.in_flight || st.waiting.empty()) return;
  st.timer_armed = false;
  ++st.timer_generation;
  // The decisions that are ready (every accepted bet's outcome computed), in order, up to
  // block_max; the others wait for their outcome.
  const std::size_t max = st.single > 0 ? 1 : o.block_max;
  std::vector<ConsensusDecision> decisions, later;
  for (const auto& d : st.waiting)
    (decisions.size() < max && !st.resolving.contains(d.tx_id) ? decisions : later).push_back(d);
  if (decisions.empty()) return;
  if (st.single > 0) --st.single;
  st.waiting = std::move(later);
  auto txs_held = std::make_shared<std::unordered_map<Hash32, Tx, BytesHash>>();
  auto& txs = *txs_held;
  std::unordered_map<Hash32, ReadyOutcome, BytesHash> outcomes;
  for (const auto& d : decisions) {
    txs.insert(st.txs.extract(d.tx_id));
    if (auto node = st.resolved.extract(d.tx_id)) outcomes.insert(std::move(node));
  }
  auto plan = std::make_shared<BlockPlan>(plan_block(
      decisions, st.height, st.head, o.clock_ms(),
      [&](const Hash32& id) -> const Tx* {
        auto it = txs.find(id);
        return it == txs.end() ? nullptr : &it->second;
      },
      o.house_key,
      [&](const Hash32& id) -> const BetResolved* {
        auto it = outcomes.find(id);
        return it == outcomes.end() ? nullptr : &it->second.event;
      }));
  // Every bet of the block had its outcome ready (cut takes only those), so every proof and
  // output is here for RecentProofs.
  auto proofs = std::make_shared<std::vector<std::pair<Hash32, ReadyOutcome>>>(
      std::make_move_iterator(outcomes.begin()), std::make_move_iterator(outcomes.end()));
  Decided decided;
  for (const auto& d : decisions)
    if (d.accepted) decided.emplace_back(conflict_key_string(txs.at(d.tx_id)), d.tx_id);
  st.in_flight = true;
  for (const auto& d : decisions) st.in_block.insert(d.tx_id);
  auto events = plan->events;
  self->request(o.journal, caf::infinite, append_atom::value, std::move(events))
      .then(
          [=](const Seqs&) {
            auto& st = self->state;
            st.in_flight = false;
            st.in_block.clear();
            for (const auto& [tx_id, ready] : *proofs)
              o.state->recent_proofs.put(tx_id, ready.event.vrf_proof, ready.output);
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
            if (st.waiting.size() - st.resolving.size() >= o.block_max) cut(self, o);
            else arm(self, o);
          },
          [=](caf::error& err) {
            self->state.in_flight = false;
            self->state.in_block.clear();
            auto refusal = journal_error(err);
            // The journal stopped (it told the node, which is stopping): nothing more can be
            // recorded; the decisions are redone from the log after a restart.
            if (!refusal || refusal->reason != JournalRefusal::rule) return;
            take_back(self, o, decisions, *txs_held, *proofs, refusal->message);
          });
}

// The journal refused a block: see the header comment.
void take_back(committer_pointer self, const CommitterOptions& o, const std::vector<ConsensusDecision>& decisions,
               const std::unordered_map<Hash32, Tx, BytesHash>& txs,
               const std::vector<std::pair<Hash32, ReadyOutcome>>& outcomes, const std::string& why) {
  auto& st = self->state;
  st.txs.insert(txs.begin(), txs.end());
  st.resolved.insert(outcomes.begin(), outcomes.end());
  if (decisions.size() == 1) {
    if (o.alarm)
      o.alarm("committer ALARM: the journal refused the decision about tx " + to_hex(decisions.front().tx_id) +
              " (" + why + "); it is kept and tried again in " + std::to_string(o.retry_refused.count()) + " ms");
    if (st.held.empty()) self->delayed_send(self, o.retry_refused, retry_atom::value);
    st.held.push_back(decisions.front());
  } else {
    if (o.alarm)
      o.alarm("committer ALARM: the journal refused a block of " + std::to_string(decisions.size()) +
              " decisions (" + why + "); they are committed one by one to find the refused one");
    st.waiting.insert(st.waiting.begin(), decisions.begin(), decisions.end());
    st.single = decisions.size();
  }
  arm(self, o);
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
        std::optional<Tx> tx;
        {
          std::shared_lock lock(o.state->mutex);
          auto it = o.state->projections.txs.find(tx_id);
          if (it != o.state->projections.txs.end() && it->second.status == TxStatus::admitted) tx = it->second.tx;
        }
        // A decision about a tx that is not admitted and undecided is a bug upstream (or a
        // duplicate decision): dropped rather than have a whole block refused.
        if (!tx || st.txs.contains(tx_id) || st.in_block.contains(tx_id)) return;
        if (auto* bet = std::get_if<Bet>(&*tx); bet && accepted) {
          // The outcome's ECVRF proof is the costly part of a bet: computed by a short-lived
          // actor, so that the proofs of a block run on every scheduler thread.
          st.resolving.insert(tx_id);
          self->system().spawn([committer = caf::actor{self}, tx_id, b = *bet, house = o.house_key](
                                   caf::event_based_actor* resolver) {
            ReadyOutcome ready;
            ready.event = resolve_bet(tx_id, b, house, &ready.output);
            resolver->send(committer, resolved_atom::value, std::move(ready));
            resolver->quit();
          });
        }
        st.txs.emplace(tx_id, std::move(*tx));
        st.waiting.push_back({tx_id, accepted});
        if (st.waiting.size() - st.resolving.size() >= o.block_max) cut(self, o);
        else arm(self, o);
      },
      [=](resolved_atom, ReadyOutcome& r) {
        auto& st = self->state;
        st.resolving.erase(r.event.tx_id);
        const Hash32 tx_id = r.event.tx_id;
        st.resolved.emplace(tx_id, std::move(r));
        if (st.waiting.size() - st.resolving.size() >= o.block_max) cut(self, o);
        else arm(self, o);
      },
      [=](retry_atom) {
        auto& st = self->state;
        st.waiting.insert(st.waiting.begin(), st.held.begin(), st.held.end());
        st.single += st.held.size();
        st.held.clear();
        arm(self, o);
      },
      [=](tick_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.timer_generation) return;
        st.timer_armed = false;
        cut(self, o);
      },
      [=](stats_atom) { return summary(self->state); },
      [=](inspect_atom) {
        auto& st = self->state;
        nlohmann::ordered_json state{{"height", st.height},
                             {"head", to_hex(st.head)},
                             {"decisions_waiting", st.waiting.size()},
                             {"resolving", st.resolving.size()},
                             {"outcomes_ready", st.resolved.size()},
                             {"block_in_flight", st.in_flight},
                             {"block_in_flight_txs", st.in_block.size()},
                             {"decisions_refused_held", st.held.size()},
                             {"block_interval_ms", o.block_interval.count()},
                             {"block_max", o.block_max}};
        return describe_actor(self, "committer", summary(st), std::move(state));
      },
  };
}

}  // namespace

caf::actor spawn_committer(caf::actor_system& system, CommitterOptions options) {
  return spawn_counted<caf::stateful_actor<CommitterState>>(
      system, [o = std::move(options)](committer_pointer self) { return committer_behavior(self, o); });
}

}  // namespace croupier::actors
