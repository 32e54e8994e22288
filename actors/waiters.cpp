#include "actors/waiters.hpp"

#include <algorithm>
#include <cassert>
#include <unordered_map>

#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "domain/finalization_waiters.hpp"

namespace croupier::actors {

namespace {

using Deadline = FinalizationWaiters::Deadline;

struct WaitersState {
  FinalizationWaiters waiters{1};  // Replaced with the configured bound at spawn.
  std::unordered_map<FinalizationWaiters::Token, caf::typed_response_promise<WaitAnswer>> promises;
  FinalizationWaiters::Token next_token = 1;
  std::optional<Deadline> armed;  // Deadline of the expire message in flight, if any.
  std::uint64_t timer_generation = 0;  // delayed_send cannot be cancelled: stale ticks are ignored.
  WaitersStats stats;
  static constexpr const char* name = "waiters";
};

using waiters_pointer = waiters_actor::stateful_pointer<WaitersState>;

Deadline now_of(waiters_pointer self) {
  return std::chrono::duration_cast<Deadline>(self->clock().now().time_since_epoch());
}

void answer(waiters_pointer self, FinalizationWaiters::Token token, WaitAnswer a) {
  auto it = self->state.promises.find(token);
  assert(it != self->state.promises.end());
  it->second.deliver(a);
  self->state.promises.erase(it);
  ++(a.final ? self->state.stats.finalized_total : self->state.stats.timeouts_total);
}

// Keeps exactly one expire message armed, for the earliest deadline.
void arm_timer(waiters_pointer self) {
  auto& st = self->state;
  auto next = st.waiters.next_deadline();
  if (!next || (st.armed && *st.armed <= *next)) return;
  st.armed = next;
  auto delay = std::max(Deadline{0}, *next - now_of(self));
  self->delayed_send(self, delay, expire_atom::value, ++st.timer_generation);
}

}  // namespace

waiters_actor spawn_waiters(caf::actor_system& system, WaitersOptions options) {
  using Base = caf::stateful_actor<WaitersState, waiters_actor::base>;
  return spawn_counted<Base>(system, [options](waiters_pointer self) -> waiters_actor::behavior_type {
    self->state.waiters = FinalizationWaiters(options.max_waiters);
    self->set_exit_handler([self](caf::exit_msg& msg) {
      for (auto& [token, promise] : self->state.promises) promise.deliver(WaitAnswer{false, 0});
      self->state.promises.clear();
      self->quit(msg.reason);
    });
    return {
        [self, options](wait_atom, const Hash32& tx_id, caf::timespan max_wait) -> caf::result<WaitAnswer> {
          auto& st = self->state;
          if (options.already_final)
            if (auto answer = options.already_final(tx_id)) {
              ++st.stats.finalized_total;
              return *answer;
            }
          auto deadline = now_of(self) + std::chrono::duration_cast<Deadline>(max_wait);
          auto token = st.next_token++;
          if (!st.waiters.add(tx_id, token, deadline)) {
            ++st.stats.timeouts_total;
            return WaitAnswer{false, 0};  // Full: the client polls instead.
          }
          auto promise = self->make_response_promise<WaitAnswer>();
          st.promises.emplace(token, promise);
          arm_timer(self);
          return promise;
        },
        [self](committed_atom, const TxIds& tx_ids, std::uint64_t height) {
          for (const auto& id : tx_ids)
            for (auto token : self->state.waiters.committed(id)) answer(self, token, WaitAnswer{true, height});
        },
        [self](expire_atom, std::uint64_t generation) {
          auto& st = self->state;
          if (generation != st.timer_generation) return;  // Superseded by an earlier deadline.
          st.armed.reset();
          for (auto token : st.waiters.expire(now_of(self))) answer(self, token, WaitAnswer{false, 0});
          arm_timer(self);
        },
        [self](stats_atom) {
          auto s = self->state.stats;
          s.waiting = self->state.waiters.size();
          return s;
        },
        [self, options](inspect_atom) {
          auto& st = self->state;
          return describe_actor(self, "waiters",
                                "clients waiting " + std::to_string(st.waiters.size()) + ", answered final " +
                                    std::to_string(st.stats.finalized_total) + ", pending at deadline " +
                                    std::to_string(st.stats.timeouts_total),
                                {{"waiting", st.waiters.size()},
                                 {"max_waiters", options.max_waiters},
                                 {"answered_final_total", st.stats.finalized_total},
                                 {"answered_pending_total", st.stats.timeouts_total},
                                 {"deadline_timer_armed", st.armed.has_value()}});
        },
    };
  });
}

}  // namespace croupier::actors
