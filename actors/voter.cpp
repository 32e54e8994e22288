#include "actors/voter.hpp"

#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "domain/consensus.hpp"

namespace croupier::actors {

namespace {

struct VoterState {
  std::optional<snowball::Snowball> instance;
  std::uint64_t polls = 0;
  Votes last_votes;
  static constexpr const char* name = "voter";
};

using voter_pointer = caf::stateful_actor<VoterState>*;

caf::behavior voter_behavior(voter_pointer self, VoterOptions o, Hash32 tx_id, std::shared_ptr<const Tx> tx) {
  self->state.instance.emplace(o.parameters, consensus::kAccept);
  self->state.instance->add(consensus::kReject);
  VoteQuery query{tx_id, {}, {}};
  {
    Bytes key = conflict_key(*tx);
    query.conflict_key.assign(key.begin(), key.end());
  }
  // Only settlements need the validators to look inside (they verify the batch proof).
  if (std::holds_alternative<Settlement>(*tx)) query.tx = tx;
  self->send(self, round_atom::value);
  return {
      [=](round_atom) {
        self->request(o.router, o.round_timeout, query_atom::value, query)
            .then(
                [=](Votes& votes) {
                  auto& st = self->state;
                  ++st.polls;
                  if (o.metrics) ++o.metrics->consensus_polls;
                  auto poll = consensus::tally(tx_id, votes, o.parameters.alpha_preference);
                  consensus::record(*st.instance, poll);
                  st.last_votes = std::move(votes);
                  if (st.instance->finalized()) {
                    if (o.metrics) ++o.metrics->consensus_decided;
                    self->send(o.committer, decided_atom::value, tx_id,
                               st.instance->preference() == consensus::kAccept);
                    self->quit();
                    return;
                  }
                  if (poll.successful) {
                    if (o.metrics) ++o.metrics->consensus_rounds_successful;
                    self->send(self, round_atom::value);
                  } else {
                    self->delayed_send(self, o.backoff, round_atom::value);
                  }
                },
                [=](caf::error&) {
                  ++self->state.polls;
                  self->state.instance->record_unsuccessful_poll();
                  self->delayed_send(self, o.backoff, round_atom::value);
                });
      },
      [=](stats_atom) {
        std::ostringstream out;
        out << "tx " << to_hex(tx_id) << " polls " << self->state.polls << " " << *self->state.instance;
        return out.str();
      },
  };
}

}  // namespace

caf::actor spawn_voter(caf::actor_system& system, const VoterOptions& options, const Hash32& tx_id,
                       std::shared_ptr<const Tx> tx) {
  return system.spawn(voter_behavior, options, tx_id, std::move(tx));
}

}  // namespace croupier::actors
