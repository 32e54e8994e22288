#include "actors/validator.hpp"

#include <shared_mutex>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

#include "domain/consensus.hpp"

namespace croupier::actors {

namespace {

struct ValidatorState {
  consensus::ValidatorView view;
  std::uint64_t queries = 0;
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
