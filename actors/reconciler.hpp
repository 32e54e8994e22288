#pragma once
// The reconciler: at start and every `interval`, compares the local books (the batches)
// with the ledger's finalized settlement txs (domain/reconcile.hpp). It appends a
// ReconciliationReport at start and whenever the comparison finds something orphaned or
// mismatched, or a batch missing from the ledger at two runs in a row (a batch in flight is
// missing for a moment at every run under load, and is not worth a report); tells the submitter to record settlements the ledger has and our
// books do not (confirm_atom) and to take up missing batches (settle_atom); and raises an
// alarm (a log line and the reconcile_alarms metric) for orphaned and mismatched ones. It
// never rewrites money.
//
// Protocol:
//   (reconcile_atom) -> std::string   run now (operator action); answers a one-line summary
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/journal.hpp"

namespace croupier::actors {

struct ReconcilerOptions {
  std::shared_ptr<NodeState> state;
  // For the batches the memory has forgotten (hot and cold state); none: all are in memory.
  std::shared_ptr<const eventlog::EventLog> log;
  Metrics* metrics = nullptr;
  journal_actor journal;
  caf::actor submitter;
  std::chrono::milliseconds interval{10'000};
  std::function<void(const std::string&)> alarm;  // Where alarms are written (stderr in a node).
};

caf::actor spawn_reconciler(caf::actor_system& system, ReconcilerOptions options);

}  // namespace croupier::actors
