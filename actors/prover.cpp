#include "actors/prover.hpp"

#include <deque>
#include <shared_mutex>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

namespace croupier::actors {

namespace {

struct ProverState {
  std::deque<Id128> queue;
  bool busy = false;
  static constexpr const char* name = "prover";
};

using prover_pointer = caf::stateful_actor<ProverState>*;

std::string summary(const ProverState& st) {
  return "batches queued " + std::to_string(st.queue.size()) + (st.busy ? ", proving" : "");
}

void next(prover_pointer self, const ProverOptions& o) {
  auto& st = self->state;
  while (!st.busy && !st.queue.empty()) {
    Id128 id = st.queue.front();
    st.queue.pop_front();
    Event event;
    {
      std::shared_lock lock(o.state->mutex);
      auto& p = o.state->projections;
      auto it = p.batches.find(id);
      if (it == p.batches.end() || it->second.lifecycle.status() != BatchStatus::created) continue;
      try {
        auto proved = settlement::prove(id, it->second.items, p.settled, o.sequencer_key);
        event = BatchProved{id, proved.inputs, proved.witness, o.sequencer_key.public_key, proved.proof};
      } catch (const std::exception& e) {
        event = BatchFailed{id, std::string("cannot prove: ") + e.what()};
      }
    }
    st.busy = true;
    self->request(o.journal, caf::infinite, append_atom::value, std::vector<Event>{event})
        .then(
            [=](const Seqs&) {
              self->state.busy = false;
              if (auto* proved = std::get_if<BatchProved>(&event)) {
                if (o.metrics) ++o.metrics->batches_proved;
                auto s = std::make_shared<const Settlement>(
                    Settlement{proved->inputs, proved->sequencer_key, proved->proof, proved->witness});
                self->send(o.submitter, settle_atom::value, id, s);
              } else if (o.metrics) {
                ++o.metrics->batches_failed;
              }
              next(self, o);
            },
            [=](caf::error& err) {
              self->state.busy = false;
              auto refusal = journal_error(err);
              if (!refusal || refusal->reason != JournalRefusal::rule) return;  // Stopped: the node stops.
              if (o.alarm)
                o.alarm("prover ALARM: the journal refused " + std::string(event_type_name(event_type(event))) +
                        " of batch " + to_hex(id) + " (" + refusal->message + "); tried again in " +
                        std::to_string(o.retry_refused.count()) + " ms");
              self->state.queue.push_front(id);  // Still first: later batches build on it.
              self->delayed_send(self, o.retry_refused, retry_atom::value);
            });
  }
}

caf::behavior prover_behavior(prover_pointer self, ProverOptions o) {
  return {
      [=](prove_atom, const Id128& batch_id) {
        self->state.queue.push_back(batch_id);
        next(self, o);
      },
      [=](retry_atom) { next(self, o); },
      [=](stats_atom) { return summary(self->state); },
      [=](inspect_atom) {
        nlohmann::ordered_json queued = nlohmann::ordered_json::array();
        for (const auto& id : self->state.queue) queued.push_back(to_hex(id));
        return describe_actor(self, "prover", summary(self->state),
                              {{"proving", self->state.busy}, {"queued_batches", std::move(queued)}});
      },
  };
}

}  // namespace

caf::actor spawn_prover(caf::actor_system& system, ProverOptions options) {
  return spawn_counted<caf::stateful_actor<ProverState>>(
      system, [o = std::move(options)](prover_pointer self) { return prover_behavior(self, o); });
}

}  // namespace croupier::actors
