#include "actors/validator.hpp"

#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

#include "domain/admission.hpp"
#include "domain/consensus.hpp"

namespace croupier::actors {

namespace {

struct ValidatorState {
  consensus::ValidatorView view;
  std::uint64_t queries = 0;
  caf::actor mempool;                                  // For txs the node has not seen.
  std::unordered_set<Hash32, BytesHash> verified;      // Peer txs whose id and signature hold.
  // Txs handed to the mempool to learn, with the node's block height then: handed again only
  // after a block (which may have made an unadmissible tx admissible).
  std::unordered_map<Hash32, std::uint64_t, BytesHash> learning;
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
  st.verified.insert(tx_id);
  return true;
}

// Hands a tx the node does not know to its mempool (at most once per block height).
void learn(validator_pointer self, const ValidatorOptions& o, const Hash32& tx_id, const Tx& tx) {
  auto& st = self->state;
  std::uint64_t height = 0;
  {
    std::shared_lock lock(o.state->mutex);
    if (o.state->projections.txs.contains(tx_id)) {
      st.learning.erase(tx_id);
      return;
    }
    height = o.state->projections.block_height;
  }
  auto [it, fresh] = st.learning.try_emplace(tx_id, height);
  if (!fresh && it->second == height) return;
  it->second = height;
  self->send(st.mempool, learn_atom::value, tx);
}

caf::behavior validator_behavior(validator_pointer self, ValidatorOptions o) {
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
