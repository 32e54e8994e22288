#include "tools/sim/byzantine.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/validator.hpp"

namespace croupier::sim {

std::string_view lie_name(Lie lie) {
  switch (lie) {
    case Lie::random: return "random";
    case Lie::conflicting: return "conflicting";
    case Lie::equivocating: return "equivocating";
    case Lie::agreeable: return "agreeable";
  }
  return "?";
}

namespace {

struct LiarState {
  std::mt19937_64 rng;
  std::map<std::string, std::vector<Hash32>> seen;  // Conflict key -> txs asked about.
  static constexpr const char* name = "byzantine-validator";
};

using liar_pointer = caf::stateful_actor<LiarState>*;

actors::Votes lie_to(liar_pointer self, Lie lie, const actors::VoteQueries& queries) {
  auto& st = self->state;
  actors::Votes votes;
  // The asker: a link from another node, or the node's own router.
  const bool favoured = self->current_sender() && self->current_sender()->id() % 2 == 0;
  for (const auto& q : queries) {
    auto& txs = st.seen[q.conflict_key];
    if (std::find(txs.begin(), txs.end(), q.tx_id) == txs.end()) txs.push_back(q.tx_id);
    std::optional<Hash32> rival;
    for (const auto& t : txs)
      if (t != q.tx_id) rival = t;
    switch (lie) {
      case Lie::random: {
        auto pick = st.rng() % 3;
        votes.push_back(pick == 0 ? std::optional<Hash32>{q.tx_id} : pick == 1 ? rival : std::nullopt);
        break;
      }
      case Lie::conflicting: votes.push_back(rival); break;
      case Lie::equivocating: votes.push_back(favoured ? std::optional<Hash32>{q.tx_id} : rival); break;
      case Lie::agreeable: votes.push_back(q.tx_id); break;
    }
  }
  return votes;
}

}  // namespace

caf::actor spawn_byzantine_validator(caf::actor_system& system, Lie lie, std::uint64_t seed) {
  return system.spawn([=](liar_pointer self) -> caf::behavior {
    self->state.rng.seed(seed);
    return {
        [=](actors::query_atom, const actors::VoteQueries& queries) { return lie_to(self, lie, queries); },
        // What its node tells a validator; ignored. (A default handler would answer these
        // with an error message, which ends the sender, a voter, by CAF's default.)
        [](actors::follow_atom, const std::string&, const Hash32&) {},
        [](actors::forget_atom, const actors::Decided&) {},
        [](caf::put_atom, const caf::actor&) {},
    };
  });
}

}  // namespace croupier::sim
