#pragma once
// A voter: one actor per transaction, the unit of consensus. It runs the domain's Snowball
// (domain/consensus.hpp) over the tx's conflict set: each round it asks the router for k
// validators' preferences, tallies them, and once finalized tells the committer
// (decided_atom, tx_id, accepted) and stops. A round that fails (no answer in
// `round_timeout`) or is unsuccessful counts as an unsuccessful poll; the next round then
// waits `backoff` so that an unreachable validator set is not polled in a hot loop.
//
// Protocol (what it sends): router (query_atom, VoteQuery) -> Votes;
// committer (decided_atom, Hash32 tx_id, bool accepted); after each successful poll, the
// node's own validators (follow_atom, conflict key, Hash32 preferred tx), so that they answer
// other nodes with this node's preference (the tx itself, or the rival that won the poll).
// Every query carries the tx, for validators of other nodes that have not seen it. It answers (stats_atom) with a
// one-line summary of its Snowball state, and (inspect_atom) with all of it (introspection.hpp).
#include <chrono>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/message_types.hpp"
#include "actors/node_state.hpp"
#include "domain/snowball.hpp"

namespace croupier::actors {

struct VoterOptions {
  caf::actor router;
  caf::actor committer;
  snowball::Parameters parameters{1, 1, {{1, 1}}};
  std::chrono::milliseconds round_timeout{1000};
  std::chrono::milliseconds backoff{10};
  Metrics* metrics = nullptr;
  // Pause between a successful round and the next; 0 = at once. Spaces out the queries of a
  // long vote (and lets an operator watch one in the debug shell).
  std::chrono::milliseconds round_interval{0};
  std::vector<caf::actor> local_validators;  // Told the voter's preference (follow_atom).
};

caf::actor spawn_voter(caf::actor_system& system, const VoterOptions& options, const Hash32& tx_id,
                       std::shared_ptr<const Tx> tx);

}  // namespace croupier::actors
