#pragma once
// The journal: the only writer of the event log. Every other actor that changes state
// asks the journal to append its events and acts only on the durable reply.
//
// Group commit: an append request is queued, and the first request of a group sends the
// journal a flush message, which lands behind every request already in its mailbox. The
// flush writes everything queued in ONE write transaction and ONE commit, then answers
// every requester with the sequence numbers of its events. Under load groups grow by
// themselves; at low load a request costs one commit. A group is also flushed as soon as
// it holds `max_group_events`.
//
// Replies: `Seqs` (one sequence number per event, in order) once durable; otherwise a
// journal error (make_journal_error: a JournalRefusal and a message for people) and none
// of the requester's events is written:
// - duplicate_key: an event whose tx, bet or deposit id is already indexed (in the log,
//   earlier in its own request, or in an earlier request of the same group) refuses only the
//   request holding it; the rest of the group is appended without it, in order, and gets
//   contiguous seqs as usual (one commit more per refused request);
// - write_failed: any other failure of the append (disk_full, io, any other exception)
//   writes nothing of the group and every requester of the group gets it, with its message.
// With a state (JournalOptions::state) the reasons are `rule` and `stopped` (see there).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "actors/introspection.hpp"
#include "actors/message_types.hpp"
#include "actors/node_state.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::actors {

// Why the journal wrote none of a request's events: a closed set, carried by the error it
// answers with, so that the actors that ask it decide by the reason and never by a message.
enum class JournalRefusal : std::uint8_t {
  rule = 1,           // apply() refused the request's first event: nothing of it was applied or
                      // written; the requester's own concern (a key another admission took
                      // first, a decision already recorded). The journal goes on.
  duplicate_key = 2,  // (No state.) An id already indexed; the journal goes on.
  write_failed = 3,   // (No state.) The group's append failed: disk full, an I/O error.
  stopped = 4,        // The journal stopped for good after a failure it could not undo: nothing
                      // more is written, and the node is stopping (a restart recovers).
};
std::string_view journal_refusal_name(JournalRefusal r);  // "rule", "duplicate_key", ...

struct JournalError {
  JournalRefusal reason = JournalRefusal::stopped;
  std::string message;  // For people.
};
caf::error make_journal_error(JournalRefusal reason, std::string message);
// The journal's refusal in `e`, or nullopt when `e` is not one (a timeout, a journal gone).
std::optional<JournalError> journal_error(const caf::error& e);
// For logs and answers: the journal's message, else CAF's rendering of the error.
std::string describe_error(caf::actor_system& system, const caf::error& e);

using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;

// (append_atom, events) -> seqs   the group commit (below)
// (snapshot_atom) -> seq          a snapshot now (operator action; needs JournalOptions::state):
//                                 the SnapshotTaken's seq
// (inspect_atom) -> JSON text     for the inspector (actors/introspection.hpp)
using journal_actor = caf::typed_actor<caf::replies_to<append_atom, std::vector<Event>>::with<Seqs>,
                                       caf::reacts_to<flush_atom>, caf::replies_to<snapshot_atom>::with<std::uint64_t>,
                                       caf::replies_to<inspect_atom>::with<std::string>>;

struct JournalOptions {
  std::shared_ptr<eventlog::EventLog> log;
  std::function<std::uint64_t()> clock_ms;  // Record timestamps; handed in by the node.
  std::size_t max_group_events = 10000;     // Flush early once a group holds this many.
  bool detached = true;                     // Own thread in a real node; false under the simulator.

  // The node's state. When set, the journal is also the only writer of the projections:
  // under the state's write lock it applies each requester's events (domain apply(), with
  // the seqs they are about to get), appends the group, and releases the lock only after
  // the commit is durable. A requester whose FIRST event apply() refuses is refused alone
  // (JournalRefusal::rule), with nothing applied. Anything else (an event after the first
  // one refused, a failed commit) leaves the projections ahead of the log: the journal then
  // stops for good (that group and every later request get JournalRefusal::stopped) and
  // calls `on_failure`, and the node must stop; a restart rebuilds the state from the log.
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  std::function<void(const std::string&)> on_failure;
  // With `state`: store a snapshot of the projections (and SnapshotTaken) once this many
  // events were appended since the last one; 0 = never.
  std::uint64_t snapshot_every = 0;
};

journal_actor spawn_journal(caf::actor_system& system, JournalOptions options);

}  // namespace croupier::actors
