#include "actors/reconciler.hpp"

#include <algorithm>
#include <iterator>
#include <shared_mutex>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

#include "domain/reconcile.hpp"
#include "eventlog/cold.hpp"

namespace croupier::actors {

namespace {

struct ReconcilerState {
  // Declared so that the state is no aggregate: CAF 0.17 constructs a state from the actor
  // pointer when it can, and in C++20 an aggregate is "constructible" from anything its
  // first member converts from (here a pointer to bool: reported_once would start true).
  ReconcilerState() = default;
  bool reported_once = false;
  std::uint64_t runs = 0;
  std::vector<Id128> missing_before;  // Missing at the previous run (sorted).
  std::string last_summary;           // Of the latest run, for the inspector.
  static constexpr const char* name = "reconciler";
};

using reconciler_pointer = caf::stateful_actor<ReconcilerState>*;

// The ledger as this node's memory sees it: every settlement tx it holds finalized as
// accepted in a block, but those of batches the books have forgotten and the log says
// confirmed (hot and cold state: an ended batch leaves memory before its settlement tx may).
std::vector<LedgerSettlement> ledger_of(const Projections& p, const eventlog::EventLog* log) {
  std::vector<LedgerSettlement> ledger;
  for (const auto& [batch_id, tx_id] : p.settlements) {
    auto it = p.txs.find(tx_id);
    if (it == p.txs.end() || it->second.status != TxStatus::accepted || it->second.block_height == 0) continue;
    if (log && !p.batches.contains(batch_id) && eventlog::read_batch_status(*log, batch_id) == BatchStatus::confirmed)
      continue;
    const auto& s = std::get<Settlement>(it->second.tx);
    ledger.push_back({batch_id, s.inputs, it->second.block_height});
  }
  return ledger;
}

// The Confirmed batches the books hold whose settlement tx the memory has forgotten.
std::set<Id128> settled_out_of_view(const Projections& p) {
  std::set<Id128> ids;
  for (const auto& [id, b] : p.batches)
    if (b.lifecycle.status() == BatchStatus::confirmed && !p.txs.contains(b.settlement_tx_id)) ids.insert(id);
  return ids;
}

std::string run(reconciler_pointer self, const ReconcilerOptions& o) {
  auto& st = self->state;
  ++st.runs;
  ReconciliationReport report;
  std::vector<BatchConfirmation> confirmations;
  std::vector<std::string> books_say;  // Of each mismatched batch: its status in our books.
  {
    std::shared_lock lock(o.state->mutex);
    const auto& p = o.state->projections;
    auto ledger = ledger_of(p, o.log.get());
    report = reconcile(p.batches, ledger, settled_out_of_view(p));
    confirmations = pending_confirmations(p.batches, ledger);
    for (const auto& id : report.mismatched) {
      auto b = p.batches.find(id);
      books_say.emplace_back(b == p.batches.end() ? "unknown" : batch_status_name(b->second.lifecycle.status()));
    }
  }
  if (o.metrics) ++o.metrics->reconciliations;
  // A batch in flight (proved, its settlement not yet committed) is "missing" for a moment
  // at every run under load; one still missing a whole interval later is stuck.
  std::vector<Id128> stuck;
  std::set_intersection(report.missing.begin(), report.missing.end(), st.missing_before.begin(),
                        st.missing_before.end(), std::back_inserter(stuck));
  st.missing_before = report.missing;
  const bool problems = !stuck.empty() || !report.orphaned.empty() || !report.mismatched.empty();
  for (const auto& id : stuck)
    if (o.alarm) o.alarm("reconciliation: batch " + to_hex(id) + " is still not on the ledger after an interval; resubmitting");
  for (const auto& id : report.orphaned) {
    if (o.metrics) ++o.metrics->reconcile_alarms;
    if (o.alarm) o.alarm("reconciliation ALARM: the ledger settles batch " + to_hex(id) + ", which our books do not know");
  }
  for (std::size_t i = 0; i < report.mismatched.size(); ++i) {
    if (o.metrics) ++o.metrics->reconcile_alarms;
    if (o.alarm)
      o.alarm("reconciliation ALARM: batch " + to_hex(report.mismatched[i]) +
              " differs between the ledger and our books (" + books_say[i] + " in our books)");
  }
  for (const auto& c : confirmations) self->send(o.submitter, confirm_atom::value, c.batch_id, c.height);
  for (const auto& id : report.missing) self->send(o.submitter, settle_atom::value, id);
  std::string summary = "confirmed " + std::to_string(report.confirmed.size()) + ", missing " +
                        std::to_string(report.missing.size()) + ", orphaned " + std::to_string(report.orphaned.size()) +
                        ", mismatched " + std::to_string(report.mismatched.size());
  st.last_summary = summary;
  if (!st.reported_once || problems) {
    st.reported_once = true;
    self->request(o.journal, caf::infinite, append_atom::value, std::vector<Event>{std::move(report)})
        .then([](const Seqs&) {},
              [=](caf::error& err) {
                auto refusal = journal_error(err);
                if (!refusal || refusal->reason != JournalRefusal::rule) return;  // Stopped: the node stops.
                // Not recorded: the next run records its report, whatever it finds.
                self->state.reported_once = false;
                if (o.alarm)
                  o.alarm("reconciliation ALARM: the journal refused the report (" + refusal->message +
                          "); the next run records it again");
              });
  }
  return summary;
}

caf::behavior reconciler_behavior(reconciler_pointer self, ReconcilerOptions o) {
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        run(self, o);
        self->delayed_send(self, o.interval, tick_atom::value);
      },
      [=](reconcile_atom) { return run(self, o); },
      [=](stats_atom) { return "runs " + std::to_string(self->state.runs); },
      [=](inspect_atom) {
        auto& st = self->state;
        nlohmann::ordered_json missing = nlohmann::ordered_json::array();
        for (const auto& id : st.missing_before) missing.push_back(to_hex(id));
        return describe_actor(self, "reconciler", "runs " + std::to_string(st.runs) + "; last: " + st.last_summary,
                              {{"runs", st.runs},
                               {"last_run", st.last_summary},
                               {"missing_at_last_run", std::move(missing)},
                               {"interval_ms", o.interval.count()}});
      },
  };
}

}  // namespace

caf::actor spawn_reconciler(caf::actor_system& system, ReconcilerOptions options) {
  return spawn_counted<caf::stateful_actor<ReconcilerState>>(
      system, [o = std::move(options)](reconciler_pointer self) { return reconciler_behavior(self, o); });
}

}  // namespace croupier::actors
