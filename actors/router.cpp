#include "actors/router.hpp"

#include <cassert>
#include <numeric>
#include <random>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

namespace croupier::actors {

namespace {

using flush_queries_atom = caf::atom_constant<caf::atom("flushq")>;

// The queries of one flush, shared by the replies of every validator asked.
struct Round {
  struct Slot {
    caf::response_promise promise;
    Votes votes;
    int outstanding = 0;  // Validators asked that have not answered (or failed) yet.
  };
  std::vector<Slot> slots;
};

struct RouterState {
  std::vector<std::pair<VoteQuery, caf::response_promise>> queued;
  bool flush_queued = false;
  std::mt19937_64 rng;
  std::vector<std::size_t> order;  // Scratch for sampling.
  static constexpr const char* name = "router";
};

using router_pointer = caf::stateful_actor<RouterState>*;

void settle(Round::Slot& slot) {
  if (--slot.outstanding == 0) slot.promise.deliver(std::move(slot.votes));
}

// One validator's share of a round: its queries, and the slots their votes go to.
struct Bundle {
  VoteQueries queries;
  std::vector<std::size_t> slots;
};

// Asks validator `v` for `bundle`, each ask waiting `each`; a silent answer is asked again
// while `asks_left` (see router.hpp). The slots settle once: with the votes, or empty.
void ask(router_pointer self, const RouterOptions& o, std::shared_ptr<Round> round, std::shared_ptr<Bundle> bundle,
         std::size_t v, int asks_left, std::chrono::milliseconds each) {
  self->request(o.validators[v], each, query_atom::value, bundle->queries)
      .then(
          [=](Votes& votes) {
            for (std::size_t i = 0; i < bundle->slots.size(); ++i) {
              auto& slot = round->slots[bundle->slots[i]];
              if (i < votes.size()) slot.votes.push_back(votes[i]);
              settle(slot);
            }
          },
          [=](caf::error&) {
            if (asks_left > 1) return ask(self, o, round, bundle, v, asks_left - 1, each);
            for (auto s : bundle->slots) settle(round->slots[s]);
          });
}

void flush(router_pointer self, const RouterOptions& o) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.queued.empty()) return;
  auto queued = std::exchange(st.queued, {});
  auto round = std::make_shared<Round>();
  round->slots.resize(queued.size());
  const std::size_t n = o.validators.size();
  std::vector<VoteQueries> bundles(n);
  std::vector<std::vector<std::size_t>> slots_of(n);
  for (std::size_t q = 0; q < queued.size(); ++q) {
    round->slots[q].promise = std::move(queued[q].second);
    round->slots[q].outstanding = o.k;
    // k of n validators: a partial Fisher-Yates shuffle driven by the node's PRNG.
    for (std::size_t i = 0; i < static_cast<std::size_t>(o.k); ++i) {
      std::size_t j = i;
      if (static_cast<std::size_t>(o.k) < n) j = i + static_cast<std::size_t>(st.rng() % (n - i));
      std::swap(st.order[i], st.order[j]);
      bundles[st.order[i]].push_back(queued[q].first);
      slots_of[st.order[i]].push_back(q);
    }
  }
  for (std::size_t v = 0; v < n; ++v) {
    if (bundles[v].empty()) continue;
    if (o.metrics) ++o.metrics->router_bundles;
    auto bundle = std::make_shared<Bundle>(Bundle{std::move(bundles[v]), std::move(slots_of[v])});
    const int asks = v < o.local ? 1 : std::max(o.asks, 1);
    ask(self, o, round, bundle, v, asks, o.timeout / asks);
  }
}

caf::behavior router_behavior(router_pointer self, RouterOptions o) {
  assert(o.k >= 1 && static_cast<std::size_t>(o.k) <= o.validators.size());
  self->state.rng.seed(o.seed);
  self->state.order.resize(o.validators.size());
  std::iota(self->state.order.begin(), self->state.order.end(), std::size_t{0});
  return {
      [=](query_atom, VoteQuery& q) -> caf::result<Votes> {
        auto& st = self->state;
        auto promise = self->make_response_promise();
        st.queued.emplace_back(std::move(q), promise);
        if (!st.flush_queued) {
          st.flush_queued = true;
          self->send(self, flush_queries_atom::value);  // Behind every query already queued.
        }
        return promise;
      },
      [=](flush_queries_atom) { flush(self, o); },
      [=](inspect_atom) {
        auto& st = self->state;
        return describe_actor(self, "router",
                              std::to_string(o.validators.size()) + " validators, k " + std::to_string(o.k) +
                                  ", queries queued " + std::to_string(st.queued.size()),
                              {{"validators", o.validators.size()}, {"k", o.k}, {"queries_queued", st.queued.size()},
                               {"timeout_ms", o.timeout.count()}});
      },
      [=](forget_atom, const Decided& decided) {
        for (std::size_t i = 0; i < o.validators.size() && i < o.local; ++i)
          self->send(o.validators[i], forget_atom::value, decided);
      },
  };
}

}  // namespace

caf::actor spawn_router(caf::actor_system& system, RouterOptions options) {
  return spawn_counted<caf::stateful_actor<RouterState>>(
      system, [o = std::move(options)](router_pointer self) { return router_behavior(self, o); });
}

}  // namespace croupier::actors
