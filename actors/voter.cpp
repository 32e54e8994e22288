#include "actors/voter.hpp"

#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

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
  // The tx travels with the query: validators check it; another node's may not have seen it yet.
  const VoteQuery query{tx_id, conflict_key_string(*tx), tx};
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
                  if (poll.successful && !o.local_validators.empty()) {
                    std::optional<Hash32> preferred = tx_id;
                    if (st.instance->preference() != consensus::kAccept)
                      preferred = consensus::strongest_rival(tx_id, votes);
                    if (preferred)
                      for (const auto& v : o.local_validators)
                        self->send(v, follow_atom::value, query.conflict_key, *preferred);
                  }
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
                    if (o.round_interval.count() == 0) self->send(self, round_atom::value);
                    else self->delayed_send(self, o.round_interval, round_atom::value);
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
      [=](inspect_atom) {
        auto& st = self->state;
        auto choice = [&](snowball::Choice c) { return c == consensus::kAccept ? "accept" : "reject"; };
        nlohmann::ordered_json votes = nlohmann::ordered_json::array();
        for (const auto& v : st.last_votes) votes.push_back(!v ? "none" : *v == tx_id ? "yes" : "other:" + to_hex(*v));
        nlohmann::ordered_json terminations = nlohmann::ordered_json::array();
        for (const auto& t : o.parameters.terminations)
          terminations.push_back({{"alpha_confidence", t.alpha_confidence}, {"beta", t.beta}});
        const auto& sb = *st.instance;
        std::ostringstream summary;
        summary << "tx " << to_hex(tx_id).substr(0, 16) << ": prefers " << choice(sb.preference()) << ", confidence "
                << (sb.confidence().empty() ? 0 : sb.confidence().front()) << "/"
                << o.parameters.terminations.front().beta << ", polls " << st.polls;
        return describe_actor(self, "voter", summary.str(),
                              {{"tx_id", to_hex(tx_id)},
                               {"conflict_key", to_hex(ByteView{reinterpret_cast<const std::uint8_t*>(query.conflict_key.data()), query.conflict_key.size()})},
                               {"preference", choice(sb.preference())},
                               {"snowflake_preference", choice(sb.snowflake().preference())},
                               {"confidence", sb.confidence()},
                               {"strength_accept", sb.strength(consensus::kAccept)},
                               {"strength_reject", sb.strength(consensus::kReject)},
                               {"finalized", sb.finalized()},
                               {"polls", st.polls},
                               {"last_votes", std::move(votes)},
                               {"k", o.parameters.k},
                               {"alpha_preference", o.parameters.alpha_preference},
                               {"terminations", std::move(terminations)}});
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
  return spawn_counted<caf::stateful_actor<VoterState>>(
      system, [options, tx_id, tx = std::move(tx)](voter_pointer self) { return voter_behavior(self, options, tx_id, tx); });
}

}  // namespace croupier::actors
