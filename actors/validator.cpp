#include "actors/validator.hpp"

#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

#include "domain/admission.hpp"
#include "domain/consensus.hpp"
#include "domain/recent_map.hpp"
#include "eventlog/cold.hpp"

namespace croupier::actors {

namespace {

struct ValidatorState {
  consensus::ValidatorView view;
  std::uint64_t queries = 0;
  caf::actor mempool;                                  // For txs the node has not seen.
  RecentMap<Hash32, bool, BytesHash> verified;         // Recent peer txs whose id and signature hold.
  // Txs handed to the mempool to learn, with the node's block height then: handed again only
  // after a block (which may have made an unadmissible tx admissible).
  RecentMap<Hash32, std::uint64_t, BytesHash> learning;
  static constexpr const char* name = "validator";
};

using validator_pointer = caf::stateful_actor<ValidatorState>*;

std::string summary(const ValidatorState& st) {
  return "queries " + std::to_string(st.queries) + ", conflict keys held " + std::to_string(st.view.size());
}

bool valid_settlement(const NodeState& state, const Settlement& s) {
  PublicKey sequencer;
  {
    std::shared_lock lock(state.mutex);
    sequencer = state.projections.keys.sequencer_key;
  }
  return s.sequencer_key == sequencer && !settlement::verify(s.inputs, s.witness, s.proof, s.sequencer_key);
}

// A bet or deposit from another node: its id must be its content's and its signature valid.
bool valid_peer_tx(ValidatorState& st, const Hash32& tx_id, const Tx& tx) {
  if (st.verified.contains(tx_id)) return true;
  auto pre = precheck(tx);
  if (pre.tx_id != tx_id || !pre.signature_valid) return false;
  st.verified.try_emplace(tx_id, true);
  return true;
}

// Hands a tx the node does not know to its mempool (at most once per block height).
void learn(validator_pointer self, const ValidatorOptions& o, const Hash32& tx_id, const Tx& tx) {
  auto& st = self->state;
  std::uint64_t height = 0;
  {
    std::shared_lock lock(o.state->mutex);
    if (o.state->projections.txs.contains(tx_id)) return;
    height = o.state->projections.block_height;
  }
  // Decided here and forgotten since (the log's index names it): nothing to learn.
  if (o.log && !std::holds_alternative<Settlement>(tx) && eventlog::tx_id_held_in_log(*o.log, tx_key(tx)) == tx_id) return;
  auto [at, fresh] = st.learning.try_emplace(tx_id, height);
  if (!fresh && *at == height) return;
  *at = height;
  self->send(st.mempool, learn_atom::value, tx);
}

// For a key the view does not hold: the vote what the node decided implies, or nullopt when
// it decided neither the queried tx nor, for a bet, its account's nonce.
std::optional<consensus::Vote> decided_here(const ValidatorOptions& o, const VoteQuery& q) {
  {
    std::shared_lock lock(o.state->mutex);
    const auto& p = o.state->projections;
    if (auto it = p.txs.find(q.tx_id); it != p.txs.end()) {
      if (it->second.status == TxStatus::admitted) return std::nullopt;
      return it->second.status == TxStatus::accepted ? consensus::Vote{q.tx_id} : consensus::Vote{};
    }
    if (!q.tx) return std::nullopt;
    if (const auto* d = std::get_if<Deposit>(q.tx.get()))
      if (auto held = p.deposits.find(d->deposit_id); held != p.deposits.end())
        return consensus::Vote{held->second};  // What this node admitted for the key.
    if (const auto* b = std::get_if<Bet>(q.tx.get()))
      if (const Account* a = p.accounts.find(b->account); a && a->nonce >= b->nonce)
        if (!p.bets.contains(b->bet_id)) {
          // The slot is taken by a bet this node accepted; this one is either that bet (then
          // the log holds it) or a rival that lost.
          if (!o.log || !o.log->find_bet(b->bet_id)) return consensus::Vote{};
        }
  }
  if (!o.log || !q.tx || std::holds_alternative<Settlement>(*q.tx)) return std::nullopt;
  const TxKey key = tx_key(*q.tx);
  auto entry = key.kind == TxKind::bet ? o.log->find_bet(key.id) : o.log->find_deposit(key.id);
  if (!entry || entry->finalized == 0) return std::nullopt;
  if (entry->tx_id != q.tx_id) return consensus::Vote{entry->tx_id};  // The key's holder here.
  auto f = eventlog::read_event_as<TxFinalized>(*o.log, entry->finalized);
  if (!f) return std::nullopt;
  return f->accepted ? consensus::Vote{q.tx_id} : consensus::Vote{};
}

caf::behavior validator_behavior(validator_pointer self, ValidatorOptions o) {
  self->state.view = consensus::ValidatorView(o.capacity);
  self->state.verified = RecentMap<Hash32, bool, BytesHash>(o.capacity);
  self->state.learning = RecentMap<Hash32, std::uint64_t, BytesHash>(o.capacity);
  {
    // What the node decided before this validator started (a restart): its view answers with
    // those winners, as it did before. An empty view would prefer whichever tx it is asked
    // about first, and so vote against its own node's decision (two nodes could then accept
    // rival txs: the simulator found this).
    std::shared_lock lock(o.state->mutex);
    for (const auto& [id, r] : o.state->projections.txs)
      if (r.status == TxStatus::accepted) self->state.view.decided(conflict_key_string(r.tx), id);
  }
  return {
      [=](query_atom, const VoteQueries& queries) {
        auto& st = self->state;
        Votes votes;
        votes.reserve(queries.size());
        for (const auto& q : queries) {
          ++st.queries;
          bool valid = true;
          if (q.tx) {
            if (auto* s = std::get_if<Settlement>(q.tx.get())) {
              valid = valid_settlement(*o.state, *s);
            } else if (o.peers) {
              valid = valid_peer_tx(st, q.tx_id, *q.tx);
              if (valid && st.mempool) learn(self, o, q.tx_id, *q.tx);
            }
          }
          if (!st.view.holds(q.conflict_key))
            if (auto vote = decided_here(o, q)) {
              votes.push_back(*vote);
              continue;
            }
          votes.push_back(st.view.prefer(q.conflict_key, q.tx_id, valid));
        }
        return votes;
      },
      [=](follow_atom, const std::string& conflict_key, const Hash32& tx_id) {
        self->state.view.follow(conflict_key, tx_id);
      },
      [=](caf::put_atom, const caf::actor& mempool) { self->state.mempool = mempool; },
      [=](forget_atom, const Decided& decided) {
        for (const auto& [key, winner] : decided) self->state.view.decided(key, winner);
      },
      [=](stats_atom) { return summary(self->state); },
      [=](inspect_atom) {
        return describe_actor(self, "validator", summary(self->state),
                              {{"name", o.name}, {"queries", self->state.queries},
                               {"conflict_keys_held", self->state.view.size()}});
      },
  };
}

}  // namespace

caf::actor spawn_validator(caf::actor_system& system, ValidatorOptions options) {
  return spawn_counted<caf::stateful_actor<ValidatorState>>(
      system, [o = std::move(options)](validator_pointer self) { return validator_behavior(self, o); });
}

}  // namespace croupier::actors
