#include "actors/inspector.hpp"

#include <shared_mutex>
#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace croupier::actors {

namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << value << "\n";
}

struct InspectorState {
  static constexpr const char* name = "inspector";
};

}  // namespace

std::string render_metrics(const Metrics& m, const WaitersStats& w, const std::array<std::uint64_t, 5>& batches,
                           std::uint64_t log_head, std::uint64_t block_height) {
  std::ostringstream out;
  out << m.finalization_wait_duration_ms.render("finalization_wait_duration_ms",
                                                "Time from a bet's submission to its final answer, in ms.");
  metric(out, "finalization_timeouts_total", "counter", "Waiting clients answered pending at their deadline.",
         w.timeouts_total);
  metric(out, "finalization_success_total", "counter", "Waiting clients answered final.", w.finalized_total);
  metric(out, "pending_finalization_waiters", "gauge", "Clients waiting for finality now.", w.waiting);
  metric(out, "mempool_size", "gauge", "Transactions admitted and not yet decided.", m.mempool_size.load());
  metric(out, "mempool_admitted_total", "counter", "Transactions admitted.", m.txs_admitted.load());
  metric(out, "mempool_refused_total", "counter", "Transactions refused by admission.", m.txs_refused.load());
  metric(out, "mempool_duplicates_total", "counter", "Resent transactions answered from the existing one.",
         m.txs_duplicate.load());
  metric(out, "mempool_conflicts_total", "counter", "Idempotency keys reused with other content (409).",
         m.txs_conflict.load());
  metric(out, "mempool_full_total", "counter", "Submissions refused because the mempool was full (503).",
         m.mempool_full.load());
  metric(out, "events_appended_total", "counter", "Events appended to the log.", m.events_appended.load());
  metric(out, "log_commits_total", "counter", "Durable write transactions of the journal.", m.commits.load());
  metric(out, "log_head_seq", "gauge", "Sequence number of the log's last event.", log_head);
  out << m.group_commit_size.render("group_commit_size", "Events per journal commit.");
  out << m.journal_commit_duration_ms.render("journal_commit_duration_ms",
                                             "Milliseconds per journal commit (apply, append, fsync), during which the API's reads wait.");
  out << "# HELP batches Settlement batches by status.\n# TYPE batches gauge\n";
  const char* names[] = {"created", "proved", "submitted", "confirmed", "failed"};
  for (std::size_t i = 0; i < 5; ++i) out << "batches{status=\"" << names[i] << "\"} " << batches[i] << "\n";
  metric(out, "consensus_polls_total", "counter", "Polls of validators by voters.", m.consensus_polls.load());
  metric(out, "consensus_rounds_successful_total", "counter", "Polls that reached alpha.",
         m.consensus_rounds_successful.load());
  metric(out, "consensus_decided_total", "counter", "Transactions decided by consensus.", m.consensus_decided.load());
  metric(out, "router_bundles_total", "counter", "Bundled query messages sent to validators.", m.router_bundles.load());
  metric(out, "blocks_total", "counter", "Blocks committed since start.", m.blocks.load());
  metric(out, "block_height", "gauge", "Height of the last committed block.", block_height);
  metric(out, "bets_resolved_total", "counter", "Bets resolved since start.", m.bets_resolved.load());
  metric(out, "settlement_retries_total", "counter", "Settlement resubmissions.", m.submit_retries.load());
  metric(out, "reconciliations_total", "counter", "Reconciliation runs.", m.reconciliations.load());
  metric(out, "reconcile_alarms_total", "counter", "Orphaned or mismatched batches found.", m.reconcile_alarms.load());
  return out.str();
}

caf::actor spawn_inspector(caf::actor_system& system, InspectorOptions o) {
  return system.spawn([o](caf::stateful_actor<InspectorState>* self) -> caf::behavior {
    return {
        [=](metrics_atom) {
          auto promise = self->make_response_promise<std::string>();
          self->request(o.waiters, std::chrono::seconds(5), stats_atom::value)
              .then(
                  [=](const WaitersStats& w) mutable {
                    std::array<std::uint64_t, 5> batches{};
                    std::uint64_t height = 0;
                    {
                      std::shared_lock lock(o.state->mutex);
                      for (const auto& [id, b] : o.state->projections.batches)
                        ++batches[static_cast<std::size_t>(b.lifecycle.status()) - 1];
                      height = o.state->projections.block_height;
                    }
                    promise.deliver(render_metrics(*o.metrics, w, batches, o.state->log_head.load(), height));
                  },
                  [=](caf::error& e) mutable { promise.deliver(e); });
          return promise;
        },
    };
  });
}

}  // namespace croupier::actors
