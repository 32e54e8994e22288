#pragma once
// The inspector: the node's window for operators. It renders the metrics (GET /metrics) and
// answers the debug shell's commands (tools/shell_command.cpp, through the admin door that
// the node publishes: actors/admin_door.hpp).
//
// Protocol:
//   (metrics_atom) -> std::string                          Prometheus text
//   (shell_atom, vector<string> words) -> std::string      JSON text; a bad command is a
//                                                          caf error whose message says why
// The commands (words[0]): status, actors, inspect NAME|ID, tx TX_ID|BET_ID, mempool,
// batches [STATUS] [N], batch ID, account ID, events tail [N], events since SEQ [MAX],
// metrics, config, sequencer pause|resume, reconcile now, snapshot now. `kShellCommands`
// lists them with their help (the shell prints it and completes from it).
//
// Projections are read under both locks (what the log holds), the log through its own read
// transactions; actors are asked with (inspect_atom) and a timeout, so a busy or dead actor
// delays an answer by at most that and never blocks the inspector.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"
#include "actors/node_state.hpp"
#include "actors/peer_table.hpp"
#include "actors/waiters.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::actors {

using shell_atom = caf::atom_constant<caf::atom("shell")>;

struct ShellCommandHelp {
  const char* name;
  const char* usage;
  const char* help;
};
// Every command the inspector answers, plus the shell's own (help, events follow, quit).
extern const std::vector<ShellCommandHelp> kShellCommands;

struct NamedActor {
  std::string name;  // As the shell shows it: "journal", "validator-0", ...
  caf::actor actor;
};

struct InspectorOptions {
  std::shared_ptr<NodeState> state;
  Metrics* metrics = nullptr;
  waiters_actor waiters;
  std::shared_ptr<const eventlog::EventLog> log;  // Null: `events` and `status` say unavailable.
  std::vector<NamedActor> actors;                 // The node's long-lived actors (not itself).
  caf::actor mempool, sequencer, reconciler;      // For voters and the operator actions.
  journal_actor journal;
  std::string node_id;                            // Hex.
  std::string version;
  std::vector<std::string> validators;            // Names of the local validators.
  std::string config_json = "{}";                 // The node's effective configuration.
  std::shared_ptr<PeerTable> peers;               // A cluster node's links; null for a single node.
};

caf::actor spawn_inspector(caf::actor_system& system, InspectorOptions options);

// The Prometheus text for these figures (pure; the inspector gathers them).
std::string render_metrics(const Metrics& m, const WaitersStats& waiters, const std::array<std::uint64_t, 5>& batches,
                           std::uint64_t log_head, std::uint64_t block_height);

}  // namespace croupier::actors
