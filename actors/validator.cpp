#include "actors/validator.hpp"

#include <shared_mutex>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "domain/consensus.hpp"

namespace croupier::actors {

namespace {

struct ValidatorState {
  consensus::ValidatorView view;
  std::uint64_t queries = 0;
  static constexpr const char* name = "validator";
};

using validator_pointer = caf::stateful_actor<ValidatorState>*;

bool valid_settlement(const NodeState& state, const Settlement& s) {
  PublicKey sequencer;
  {
    std::shared_lock lock(state.mutex);
    sequencer = state.projections.keys.sequencer_key;
  }
  return s.sequencer_key == sequencer && !settlement::verify(s.inputs, s.witness, s.proof, s.sequencer_key);
}

caf::behavior validator_behavior(validator_pointer self, ValidatorOptions o) {
  return {
      [=](query_atom, const VoteQueries& queries) {
        auto& st = self->state;
        Votes votes;
        votes.reserve(queries.size());
        for (const auto& q : queries) {
          ++st.queries;
          bool valid = true;
          if (q.tx)
            if (auto* s = std::get_if<Settlement>(q.tx.get())) valid = valid_settlement(*o.state, *s);
          votes.push_back(st.view.prefer(q.conflict_key, q.tx_id, valid));
        }
        return votes;
      },
      [=](forget_atom, const Decided& decided) {
        for (const auto& [key, winner] : decided) self->state.view.decided(key, winner);
      },
      [=](stats_atom) {
        return "queries " + std::to_string(self->state.queries) + ", conflict keys held " +
               std::to_string(self->state.view.size());
      },
  };
}

}  // namespace

caf::actor spawn_validator(caf::actor_system& system, ValidatorOptions options) {
  return system.spawn(validator_behavior, std::move(options));
}

}  // namespace croupier::actors
