#include "actors/submitter.hpp"

#include <map>
#include <random>
#include <shared_mutex>
#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"
#include "domain/batch_step.hpp"

namespace croupier::actors {

namespace {

// A batch the submitter follows. What it does next is domain/batch_step.hpp's decision,
// made afresh from the projections at every turn; the job keeps only what they do not hold.
struct Job {
  std::shared_ptr<const Settlement> settlement;  // Loaded when first needed.
  Hash32 tx_id{};                 // Of the settlement, once known.
  std::uint32_t refusals = 0;     // Submissions the mempool refused (never admitted).
  std::string last_refusal;
  bool busy = false;              // A mempool or journal request is in flight.
  std::uint64_t generation = 0;   // Invalidates stale timers.
  std::string last_step;          // For the inspector.
};

struct SubmitterState {
  std::map<Id128, Job> jobs;
  std::mt19937_64 rng;
  static constexpr const char* name = "submitter";
};

using submitter_pointer = caf::stateful_actor<SubmitterState>*;

void advance(submitter_pointer self, const SubmitterOptions& o, const Id128& id);

// Appends `events` for batch `id`, then advances it. A refusal (a bug: the step was decided
// from the projections the journal applies to) is retried after the retry base, so the job
// never stays busy; a stopped journal stops the node, and a restart resumes the batch.
void append(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::vector<Event> events,
            std::function<void()> done) {
  self->state.jobs[id].busy = true;
  self->request(o.journal, caf::infinite, append_atom::value, std::move(events))
      .then(
          [=](const Seqs&) {
            auto it = self->state.jobs.find(id);
            if (it == self->state.jobs.end()) return;
            it->second.busy = false;
            done();
            advance(self, o, id);
          },
          [=](caf::error& err) {
            auto it = self->state.jobs.find(id);
            if (it == self->state.jobs.end()) return;
            it->second.busy = false;
            auto refusal = journal_error(err);
            if (!refusal || refusal->reason != JournalRefusal::rule) return;
            if (o.alarm)
              o.alarm("submitter ALARM: the journal refused an event of batch " + to_hex(id) + " (" +
                      refusal->message + "); tried again in " + std::to_string(o.retry.base.count()) + " ms");
            self->delayed_send(self, o.retry.base, timeout_atom::value, id, ++it->second.generation);
          });
}

// Sends the settlement to the mempool; once admitted (or known) records the attempt.
void submit(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::uint32_t attempt) {
  auto& job = self->state.jobs[id];
  job.busy = true;
  self->request(o.mempool, caf::infinite, submit_atom::value, Tx{*job.settlement})
      .then(
          [=](SubmitReply& r) {
            auto it = self->state.jobs.find(id);
            if (it == self->state.jobs.end()) return;
            auto& job = it->second;
            job.busy = false;
            using K = SubmitReply::Kind;
            if (r.kind == K::refused || r.kind == K::conflict) {
              ++job.refusals;
              job.last_refusal = r.code + ": " + r.message;
              return advance(self, o, id);  // The next attempt after its backoff, or failure.
            }
            if (r.kind == K::busy || r.kind == K::unavailable) {  // The same attempt, later.
              self->delayed_send(self, o.retry.base, timeout_atom::value, id, ++job.generation);
              return;
            }
            job.tx_id = r.tx_id;
            append(self, o, id, {BatchSubmitted{id, attempt, r.tx_id}}, [=] {
              if (o.metrics) ++o.metrics->batches_submitted;
            });
          },
          [=](caf::error&) {  // The mempool is gone (the node stops) or did not answer: later.
            if (auto it = self->state.jobs.find(id); it != self->state.jobs.end()) {
              it->second.busy = false;
              self->delayed_send(self, o.retry.base, timeout_atom::value, id, ++it->second.generation);
            }
          });
}

// The settlement of a proved batch, loaded from the log when the prover did not hand it over.
bool have_settlement(submitter_pointer self, const SubmitterOptions& o, const Id128& id) {
  auto& job = self->state.jobs[id];
  if (job.settlement) return true;
  auto loaded = o.load_settlement(id);
  if (!loaded) return false;
  job.settlement = std::make_shared<const Settlement>(std::move(*loaded));
  job.tx_id = tx_id(*job.settlement);
  return true;
}

// Does what next_batch_step says for batch `id`, unless a request of the job is in flight
// (its answer advances the job).
void advance(submitter_pointer self, const SubmitterOptions& o, const Id128& id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end() || it->second.busy) return;
  auto& job = it->second;
  std::optional<BatchProgress> progress;
  {
    std::shared_lock lock(o.state->mutex);
    progress = batch_progress(o.state->projections, id, job.refusals, job.last_refusal);
  }
  const BatchStep step = progress ? next_batch_step(*progress) : BatchStep{};
  std::ostringstream text;
  text << step;
  job.last_step = text.str();
  ++job.generation;  // Whatever timer was pending is stale now.
  switch (step.kind) {
    case BatchStep::Kind::none:
      st.jobs.erase(it);
      return;
    case BatchStep::Kind::wait:  // Alive: look again after the timeout (a block report comes sooner).
      self->delayed_send(self, o.submit_timeout, timeout_atom::value, id, job.generation);
      return;
    case BatchStep::Kind::submit: {
      // The projections may be ahead of the log by the group being committed: a batch they
      // say is proved has its BatchProved durable in a moment (or the journal fails and the
      // node stops), and the prover hands the settlement over too. Look again shortly.
      if (!have_settlement(self, o, id)) {
        self->delayed_send(self, o.retry.base, timeout_atom::value, id, job.generation);
        return;
      }
      if (step.submission > 1 && o.metrics) ++o.metrics->submit_retries;
      RetryPolicy policy = o.retry;
      policy.max_attempts = std::max(policy.max_attempts, step.submission);
      auto delay = delay_before(step.submission, policy, st.rng());
      self->delayed_send(self, *delay, retry_atom::value, id, step.attempt, job.generation);
      return;
    }
    case BatchStep::Kind::confirm: {
      std::vector<Event> events;
      if (step.attempt > 0) {  // A proved batch whose settlement the ledger took: its submission first.
        Hash32 tx{};
        {
          std::shared_lock lock(o.state->mutex);
          tx = o.state->projections.settlements.at(id);
        }
        events.push_back(BatchSubmitted{id, step.attempt, tx});
      }
      events.push_back(BatchConfirmed{id, step.height});
      return append(self, o, id, std::move(events), [=] {
        if (o.metrics) ++o.metrics->batches_confirmed;
      });
    }
    case BatchStep::Kind::fail:
      return append(self, o, id, {BatchFailed{id, step.reason}}, [=] {
        if (o.metrics) ++o.metrics->batches_failed;
        if (o.alarm) o.alarm("submitter ALARM: batch " + to_hex(id) + " failed: " + step.reason);
      });
  }
}

// Follows batch `id` from whatever state the projections hold.
void take_up(submitter_pointer self, const SubmitterOptions& o, const Id128& id,
             std::shared_ptr<const Settlement> settlement) {
  auto [it, fresh] = self->state.jobs.try_emplace(id);
  if (settlement && !it->second.settlement) {
    it->second.tx_id = tx_id(*settlement);
    it->second.settlement = std::move(settlement);
  }
  if (fresh) advance(self, o, id);
}

nlohmann::ordered_json describe_jobs(const SubmitterState& st) {
  nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
  for (const auto& [id, job] : st.jobs)
    jobs.push_back({{"batch_id", to_hex(id)},
                    {"settlement_tx_id", to_hex(job.tx_id)},
                    {"refusals", job.refusals},
                    {"last_refusal", job.last_refusal},
                    {"busy", job.busy},
                    {"step", job.last_step}});
  return jobs;
}

caf::behavior submitter_behavior(submitter_pointer self, SubmitterOptions o) {
  self->state.rng.seed(o.seed);
  return {
      [=](settle_atom, const Id128& id, std::shared_ptr<const Settlement> s) { take_up(self, o, id, std::move(s)); },
      [=](settle_atom, const Id128& id) { take_up(self, o, id, nullptr); },
      // The reconciler found the batch's settlement on the ledger: the projections say so too.
      [=](confirm_atom, const Id128& id, std::uint64_t) {
        take_up(self, o, id, nullptr);
        advance(self, o, id);
      },
      [=](retry_atom, const Id128& id, std::uint32_t attempt, std::uint64_t generation) {
        auto it = self->state.jobs.find(id);
        if (it == self->state.jobs.end() || it->second.generation != generation || it->second.busy) return;
        submit(self, o, id, attempt);
      },
      [=](timeout_atom, const Id128& id, std::uint64_t generation) {
        auto it = self->state.jobs.find(id);
        if (it == self->state.jobs.end() || it->second.generation != generation) return;
        advance(self, o, id);
      },
      [=](block_atom, const BlockReport& report) {
        // A settlement decided: the batch moves on now rather than at its next look.
        for (const auto& [batch_id, tx] : report.settlements) advance(self, o, batch_id);
        for (const auto& tx : report.rejected)
          for (auto& [batch_id, job] : self->state.jobs)
            if (job.tx_id == tx) {
              advance(self, o, batch_id);
              break;
            }
      },
      [=](stats_atom) { return "batches followed " + std::to_string(self->state.jobs.size()); },
      [=](inspect_atom) {
        return describe_actor(self, "submitter", "batches followed " + std::to_string(self->state.jobs.size()),
                              {{"jobs", describe_jobs(self->state)}});
      },
  };
}

}  // namespace

caf::actor spawn_submitter(caf::actor_system& system, SubmitterOptions options) {
  return spawn_counted<caf::stateful_actor<SubmitterState>>(
      system, [o = std::move(options)](submitter_pointer self) { return submitter_behavior(self, o); });
}

}  // namespace croupier::actors
