#include "actors/submitter.hpp"

#include <map>
#include <random>
#include <shared_mutex>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

namespace croupier::actors {

namespace {

struct Job {
  std::shared_ptr<const Settlement> settlement;
  Hash32 tx_id{};
  std::uint32_t attempt = 0;       // Of the submission in progress or last recorded.
  bool recorded = false;           // BatchSubmitted{attempt} is durable.
  bool busy = false;               // A mempool or journal request is in flight.
  std::optional<std::uint64_t> committed_height;  // Its tx is in a block.
  std::uint64_t generation = 0;    // Invalidates stale timers.
};

struct SubmitterState {
  std::map<Id128, Job> jobs;
  std::mt19937_64 rng;
  static constexpr const char* name = "submitter";
};

using submitter_pointer = caf::stateful_actor<SubmitterState>*;

void schedule(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::uint32_t attempt);

struct Snapshot {
  bool found = false;
  BatchStatus status = BatchStatus::created;
  std::uint32_t attempts = 0, max_attempts = 0;
  std::optional<TxRecord> settlement_tx;  // Of the latest submission.
};

Snapshot look(const SubmitterOptions& o, const Id128& id) {
  Snapshot s;
  std::shared_lock lock(o.state->mutex);
  auto& p = o.state->projections;
  auto it = p.batches.find(id);
  if (it == p.batches.end()) return s;
  s.found = true;
  s.status = it->second.lifecycle.status();
  s.attempts = it->second.lifecycle.attempts();
  s.max_attempts = it->second.lifecycle.max_attempts();
  if (s.status == BatchStatus::submitted)
    if (auto t = p.txs.find(it->second.settlement_tx_id); t != p.txs.end()) s.settlement_tx = t->second;
  return s;
}

void append(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::vector<Event> events,
            std::function<void()> then) {
  self->state.jobs[id].busy = true;
  self->request(o.journal, caf::infinite, append_atom::value, std::move(events))
      .then(
          [=](const Seqs&) {
            if (auto it = self->state.jobs.find(id); it != self->state.jobs.end()) it->second.busy = false;
            then();
          },
          [=](caf::error&) {});  // The journal stopped: the node stops; a restart resumes the batch.
}

void fail(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::string reason) {
  append(self, o, id, {BatchFailed{id, std::move(reason)}}, [=] {
    self->state.jobs.erase(id);
    if (o.metrics) ++o.metrics->batches_failed;
  });
}

void confirm(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::uint64_t height) {
  append(self, o, id, {BatchConfirmed{id, height}}, [=] {
    self->state.jobs.erase(id);
    if (o.metrics) ++o.metrics->batches_confirmed;
  });
}

// The submission's deadline passed, or its tx was rejected: the next attempt or failure.
void retry(submitter_pointer self, const SubmitterOptions& o, const Id128& id, const std::string& why) {
  auto s = look(o, id);
  if (!s.found || s.status != BatchStatus::submitted) return;
  if (s.attempts >= s.max_attempts) return fail(self, o, id, why + " after " + std::to_string(s.attempts) + " attempts");
  if (o.metrics) ++o.metrics->submit_retries;
  schedule(self, o, id, s.attempts + 1);
}

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
            if (r.kind == K::refused || r.kind == K::conflict)
              return fail(self, o, id, "settlement refused: " + r.code + ": " + r.message);
            if (r.kind == K::busy || r.kind == K::unavailable) {
              self->delayed_send(self, o.retry.base, retry_atom::value, id, attempt, ++job.generation);
              return;
            }
            job.tx_id = r.tx_id;
            append(self, o, id, {BatchSubmitted{id, attempt, r.tx_id}}, [=] {
              auto it = self->state.jobs.find(id);
              if (it == self->state.jobs.end()) return;
              auto& job = it->second;
              job.attempt = attempt;
              job.recorded = true;
              if (o.metrics) ++o.metrics->batches_submitted;
              auto s = look(o, id);
              if (s.settlement_tx && s.settlement_tx->status == TxStatus::accepted && s.settlement_tx->block_height > 0)
                return confirm(self, o, id, s.settlement_tx->block_height);
              if (s.settlement_tx && s.settlement_tx->status == TxStatus::rejected)
                return retry(self, o, id, "settlement tx rejected by consensus");
              self->delayed_send(self, o.submit_timeout, timeout_atom::value, id, ++job.generation);
            });
          },
          [=](caf::error&) {
            if (auto it = self->state.jobs.find(id); it != self->state.jobs.end()) {
              it->second.busy = false;
              self->delayed_send(self, o.retry.base, retry_atom::value, id, attempt, ++it->second.generation);
            }
          });
}

void schedule(submitter_pointer self, const SubmitterOptions& o, const Id128& id, std::uint32_t attempt) {
  auto& job = self->state.jobs[id];
  RetryPolicy policy = o.retry;
  policy.max_attempts = std::max(policy.max_attempts, attempt);
  auto delay = delay_before(attempt, policy, self->state.rng());
  self->delayed_send(self, *delay, retry_atom::value, id, attempt, ++job.generation);
}

// Takes up batch `id` from whatever state the projections hold.
void take_up(submitter_pointer self, const SubmitterOptions& o, const Id128& id,
             std::shared_ptr<const Settlement> settlement) {
  auto& st = self->state;
  if (st.jobs.contains(id)) return;  // Already followed.
  auto s = look(o, id);
  if (!s.found || (s.status != BatchStatus::proved && s.status != BatchStatus::submitted)) return;
  if (!settlement) {
    auto loaded = o.load_settlement(id);
    if (!loaded) return fail(self, o, id, "no BatchProved found in the log for a proved batch");
    settlement = std::make_shared<const Settlement>(std::move(*loaded));
  }
  auto& job = st.jobs[id];
  job.settlement = settlement;
  job.tx_id = tx_id(*settlement);
  job.attempt = s.attempts;
  if (s.status == BatchStatus::proved) return schedule(self, o, id, 1);
  job.recorded = true;
  if (s.settlement_tx && s.settlement_tx->status == TxStatus::accepted && s.settlement_tx->block_height > 0)
    return confirm(self, o, id, s.settlement_tx->block_height);
  if (s.settlement_tx && s.settlement_tx->status == TxStatus::rejected)
    return retry(self, o, id, "settlement tx rejected by consensus");
  // Still undecided: its voter runs again (the mempool respawned it); wait for the block.
  self->delayed_send(self, o.submit_timeout, timeout_atom::value, id, ++job.generation);
}

caf::behavior submitter_behavior(submitter_pointer self, SubmitterOptions o) {
  self->state.rng.seed(o.seed);
  return {
      [=](settle_atom, const Id128& id, std::shared_ptr<const Settlement> s) { take_up(self, o, id, std::move(s)); },
      [=](settle_atom, const Id128& id) { take_up(self, o, id, nullptr); },
      [=](retry_atom, const Id128& id, std::uint32_t attempt, std::uint64_t generation) {
        auto it = self->state.jobs.find(id);
        if (it == self->state.jobs.end() || it->second.generation != generation) return;
        submit(self, o, id, attempt);
      },
      [=](timeout_atom, const Id128& id, std::uint64_t generation) {
        auto it = self->state.jobs.find(id);
        if (it == self->state.jobs.end() || it->second.generation != generation || it->second.busy) return;
        retry(self, o, id, "settlement not committed within " + std::to_string(o.submit_timeout.count()) + " ms");
      },
      [=](block_atom, const BlockReport& report) {
        for (const auto& [batch_id, tx] : report.settlements) {
          auto it = self->state.jobs.find(batch_id);
          if (it == self->state.jobs.end() || it->second.tx_id != tx) continue;
          auto& job = it->second;
          ++job.generation;  // Cancels its timeout.
          if (job.recorded && !job.busy) confirm(self, o, batch_id, report.height);
          // Otherwise BatchSubmitted is still being recorded; its reply confirms.
        }
        for (const auto& tx : report.rejected)
          for (auto& [batch_id, job] : self->state.jobs)
            if (job.tx_id == tx && job.recorded && !job.busy) {
              ++job.generation;
              retry(self, o, batch_id, "settlement tx rejected by consensus");
              break;
            }
      },
      [=](confirm_atom, const Id128& id, std::uint64_t height) {
        auto s = look(o, id);
        auto job = self->state.jobs.find(id);
        if (!s.found || (job != self->state.jobs.end() && job->second.busy)) return;
        if (s.status == BatchStatus::submitted) return confirm(self, o, id, height);
        if (s.status == BatchStatus::proved) {
          // Only a submitted batch can be confirmed: record the submission it evidently had.
          Hash32 tx{};
          {
            std::shared_lock lock(o.state->mutex);
            auto it = o.state->projections.settlements.find(id);
            if (it == o.state->projections.settlements.end()) return;
            tx = it->second;
          }
          append(self, o, id, {BatchSubmitted{id, 1, tx}, BatchConfirmed{id, height}}, [=] {
            self->state.jobs.erase(id);
            if (o.metrics) ++o.metrics->batches_confirmed;
          });
        }
      },
      [=](stats_atom) { return "batches followed " + std::to_string(self->state.jobs.size()); },
      [=](inspect_atom) {
        nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
        for (const auto& [id, job] : self->state.jobs) {
          jobs.push_back({{"batch_id", to_hex(id)},
                          {"settlement_tx_id", to_hex(job.tx_id)},
                          {"attempt", job.attempt},
                          {"recorded", job.recorded},
                          {"busy", job.busy},
                          {"committed_height", job.committed_height ? nlohmann::ordered_json(*job.committed_height)
                                                                    : nlohmann::ordered_json(nullptr)}});
        }
        return describe_actor(self, "submitter", "batches followed " + std::to_string(self->state.jobs.size()),
                              {{"jobs", std::move(jobs)}});
      },
  };
}

}  // namespace

caf::actor spawn_submitter(caf::actor_system& system, SubmitterOptions options) {
  return spawn_counted<caf::stateful_actor<SubmitterState>>(
      system, [o = std::move(options)](submitter_pointer self) { return submitter_behavior(self, o); });
}

}  // namespace croupier::actors
