#include "actors/sequencer.hpp"

#include <deque>
#include <random>
#include <shared_mutex>
#include <unordered_set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

#include "domain/blocks.hpp"

namespace croupier::actors {

namespace {

struct SequencerState {
  std::deque<settlement::Item> items;
  // The tx ids in `items`: an item is queued once. At start the sequencer takes the
  // unbatched items from the projections, which may already hold a block whose items the
  // committer sends once it is durable; queuing those twice made every batch refused.
  std::unordered_set<Hash32, BytesHash> queued;
  bool in_flight = false;
  bool paused = false;
  std::mt19937_64 rng;
  Id128 last_id{};
  static constexpr const char* name = "sequencer";
};

using sequencer_pointer = caf::stateful_actor<SequencerState>*;

void queue(SequencerState& st, const settlement::Item& item) {
  if (st.queued.insert(item.tx_id).second) st.items.push_back(item);
}

std::string summary(const SequencerState& st) {
  return std::string(st.paused ? "paused" : "running") + ", items waiting " + std::to_string(st.items.size()) +
         (st.in_flight ? ", a batch being recorded" : "");
}

// A time-ordered id greater than every id before it.
Id128 next_batch_id(sequencer_pointer self, const SequencerOptions& o) {
  auto& st = self->state;
  std::array<std::uint8_t, 10> random{};
  for (auto& b : random) b = static_cast<std::uint8_t>(st.rng());
  Id128 id = make_time_ordered_id(o.clock_ms(), random);
  if (!(st.last_id < id)) {
    id = st.last_id;
    for (int i = 15; i >= 0 && ++id[static_cast<std::size_t>(i)] == 0; --i) {
    }
  }
  st.last_id = id;
  return id;
}

void cut(sequencer_pointer self, const SequencerOptions& o) {
  auto& st = self->state;
  if (st.in_flight || st.paused || st.items.empty()) return;
  const std::size_t n = std::min(st.items.size(), o.batch_max);
  BatchCreated created{next_batch_id(self, o), {st.items.begin(), st.items.begin() + static_cast<std::ptrdiff_t>(n)},
                       o.submit_attempts};
  st.in_flight = true;
  self->request(o.journal, caf::infinite, append_atom::value, std::vector<Event>{created})
      .then(
          [=](const Seqs&) {
            auto& st = self->state;
            st.in_flight = false;
            for (std::size_t i = 0; i < n; ++i) st.queued.erase(st.items[i].tx_id);
            st.items.erase(st.items.begin(), st.items.begin() + static_cast<std::ptrdiff_t>(n));
            if (o.metrics) ++o.metrics->batches_created;
            self->send(o.prover, prove_atom::value, created.batch_id);
            if (st.items.size() >= o.batch_max) cut(self, o);
          },
          [=](caf::error& err) {
            self->state.in_flight = false;
            // The items stay and the next tick cuts them again (a new batch id).
            auto refusal = journal_error(err);
            if (refusal && refusal->reason == JournalRefusal::rule && o.alarm)
              o.alarm("sequencer ALARM: the journal refused batch " + to_hex(created.batch_id) + " of " +
                      std::to_string(n) + " items (" + refusal->message + "); tried again at the next interval");
          });
}

caf::behavior sequencer_behavior(sequencer_pointer self, SequencerOptions o) {
  auto& st = self->state;
  st.rng.seed(o.seed);
  {
    // Items committed before a restart and not yet in a batch; the last batch id.
    std::shared_lock lock(o.state->mutex);
    for (auto& item : unbatched_items(o.state->projections)) queue(st, item);
    st.last_id = o.state->projections.last_batch_id;  // Its batch may be forgotten; its id is not.
  }
  self->delayed_send(self, o.batch_interval, tick_atom::value);
  return {
      [=](items_atom, const std::vector<settlement::Item>& items) {
        auto& st = self->state;
        for (const auto& item : items) queue(st, item);
        if (st.items.size() >= o.batch_max) cut(self, o);
      },
      [=](tick_atom) {
        cut(self, o);
        self->delayed_send(self, o.batch_interval, tick_atom::value);
      },
      [=](pause_atom) {
        self->state.paused = true;
        return summary(self->state);
      },
      [=](resume_atom) {
        self->state.paused = false;
        cut(self, o);
        return summary(self->state);
      },
      [=](stats_atom) { return summary(self->state); },
      [=](inspect_atom) {
        auto& st = self->state;
        return describe_actor(self, "sequencer", summary(st),
                              {{"paused", st.paused},
                               {"items_waiting", st.items.size()},
                               {"batch_being_recorded", st.in_flight},
                               {"last_batch_id", to_hex(st.last_id)},
                               {"batch_interval_ms", o.batch_interval.count()},
                               {"batch_max", o.batch_max}});
      },
  };
}

}  // namespace

caf::actor spawn_sequencer(caf::actor_system& system, SequencerOptions options) {
  return spawn_counted<caf::stateful_actor<SequencerState>>(
      system, [o = std::move(options)](sequencer_pointer self) { return sequencer_behavior(self, o); });
}

}  // namespace croupier::actors
