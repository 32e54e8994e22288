#include "actors/journal.hpp"

#include <cassert>
#include <exception>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

namespace croupier::actors {

namespace {

struct JournalState {
  JournalOptions options;
  std::vector<Event> pending;  // Events of the group being gathered, in arrival order.
  // Each requester of the group and how many of `pending` are its events.
  std::vector<std::pair<caf::typed_response_promise<Seqs>, std::size_t>> requesters;
  bool flush_queued = false;
  static constexpr const char* name = "journal";
};

using journal_pointer = journal_actor::stateful_pointer<JournalState>;

// Delivers the error `message` to every requester in `requesters`.
void fail_all(std::vector<std::pair<caf::typed_response_promise<Seqs>, std::size_t>>& requesters,
              const std::string& message) {
  for (auto& [promise, count] : requesters) promise.deliver(caf::make_error(caf::sec::runtime_error, message));
}

void flush(journal_pointer self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty()) return;
  auto requesters = std::move(st.requesters);
  auto events = std::move(st.pending);
  st.requesters.clear();
  st.pending.clear();
  // Each attempt is one write transaction; a failed one writes nothing. An attempt refused
  // for a duplicate index key names the seq of the offending event: its requester alone is
  // refused and the rest of the group is tried again, so at most one attempt per requester.
  while (!requesters.empty()) {
    const eventlog::Seq first_seq = st.options.log->head_seq() + 1;  // Of the append below.
    try {
      auto seqs = st.options.log->append(events, st.options.clock_ms());
      assert(seqs.size() == events.size());
      std::size_t at = 0;
      for (auto& [promise, count] : requesters) {
        promise.deliver(Seqs(seqs.begin() + static_cast<std::ptrdiff_t>(at),
                             seqs.begin() + static_cast<std::ptrdiff_t>(at + count)));
        at += count;
      }
      return;
    } catch (const eventlog::LogError& e) {
      const auto seq = e.seq();
      if (e.kind() != eventlog::ErrorKind::duplicate_key || !seq || *seq < first_seq ||
          *seq - first_seq >= events.size()) {
        fail_all(requesters, e.what());
        return;
      }
      // The requester whose slice holds the offending event.
      const std::size_t index = static_cast<std::size_t>(*seq - first_seq);
      std::size_t begin = 0, r = 0;
      while (begin + requesters[r].second <= index) begin += requesters[r++].second;
      const std::size_t count = requesters[r].second;
      requesters[r].first.deliver(caf::make_error(
          caf::sec::runtime_error, std::string("append refused: ") + e.what() + " (event " +
                                       std::to_string(index - begin + 1) + " of " + std::to_string(count) +
                                       " in this request); none of its events was written"));
      events.erase(events.begin() + static_cast<std::ptrdiff_t>(begin),
                   events.begin() + static_cast<std::ptrdiff_t>(begin + count));
      requesters.erase(requesters.begin() + static_cast<std::ptrdiff_t>(r));
    } catch (const std::exception& e) {
      fail_all(requesters, e.what());
      return;
    }
  }
}

journal_actor::behavior_type journal_behavior(journal_pointer self, JournalOptions options) {
  self->state.options = std::move(options);
  return {
      [=](append_atom, std::vector<Event>& events) -> caf::result<Seqs> {
        auto& st = self->state;
        if (events.empty()) return Seqs{};
        auto promise = self->make_response_promise<Seqs>();
        st.requesters.emplace_back(promise, events.size());
        st.pending.insert(st.pending.end(), std::make_move_iterator(events.begin()),
                          std::make_move_iterator(events.end()));
        if (st.pending.size() >= st.options.max_group_events) {
          flush(self);
        } else if (!st.flush_queued) {
          st.flush_queued = true;
          self->send(self, flush_atom::value);  // Lands behind every append already queued.
        }
        return promise;
      },
      [=](flush_atom) { flush(self); },
  };
}

}  // namespace

journal_actor spawn_journal(caf::actor_system& system, JournalOptions options) {
  assert(options.log && options.clock_ms && options.max_group_events > 0);
  if (options.detached) return system.spawn<caf::detached>(journal_behavior, std::move(options));
  return system.spawn(journal_behavior, std::move(options));
}

}  // namespace croupier::actors
