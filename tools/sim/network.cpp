#include "tools/sim/network.hpp"

#include <functional>
#include <map>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/message_types.hpp"

namespace croupier::sim {

namespace {

double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

SimNetwork::SimNetwork(std::uint64_t seed, NetworkFaults faults, std::size_t nodes)
    : rng_(seed), faults_(faults), targets_(nodes), paused_until_(nodes) {}

SimNetwork::Hop SimNetwork::plan() {
  Hop hop;
  ++counters_.sent;
  // Draw every number every time, so that one fault rate does not shift the others' draws.
  const double lost = uniform(rng_), twice = uniform(rng_), slow = uniform(rng_);
  const auto spread = faults_.max_delay_ms - faults_.min_delay_ms + 1;
  std::uint64_t ms = faults_.min_delay_ms + rng_() % spread;
  if (slow < faults_.slow) ms *= 20;
  hop.delay = std::chrono::milliseconds(ms);
  hop.drop = lost < faults_.drop;
  hop.duplicate = !hop.drop && twice < faults_.duplicate;
  counters_.dropped += hop.drop;
  counters_.duplicated += hop.duplicate;
  return hop;
}

bool SimNetwork::connected(std::size_t from, std::size_t to) const {
  if (!side_.empty() && side_[from] != side_[to]) return false;
  return static_cast<bool>(targets_[to][0]) && static_cast<bool>(targets_[from][0]);
}

SimNetwork::time_point SimNetwork::held_until(std::size_t from, std::size_t to, time_point now) const {
  return std::max({now, paused_until_[from], paused_until_[to]});
}

void SimNetwork::set_target(std::size_t node, Service s, caf::actor target) {
  targets_[node][static_cast<std::size_t>(s)] = std::move(target);
}

void SimNetwork::clear_targets(std::size_t node) { targets_[node] = {}; }

caf::actor SimNetwork::target(std::size_t node, Service s) const { return targets_[node][static_cast<std::size_t>(s)]; }

void SimNetwork::partition(std::vector<std::uint8_t> side) { side_ = std::move(side); }
void SimNetwork::heal() { side_.clear(); }
void SimNetwork::pause(std::size_t node, time_point until) { paused_until_[node] = until; }
void SimNetwork::resume_all() { std::fill(paused_until_.begin(), paused_until_.end(), time_point{}); }
void SimNetwork::calm() {
  faults_.drop = 0;
  faults_.duplicate = 0;
}

namespace {

using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

struct LinkState {
  std::map<std::uint64_t, std::function<void()>> due;  // Deliveries waiting for their time.
  std::uint64_t next = 0;
  static constexpr const char* name = "sim-link";
};

using link_pointer = caf::stateful_actor<LinkState>*;

struct Link {
  link_pointer self;
  std::shared_ptr<SimNetwork> net;
  std::size_t from, to;
  Service service;

  // Runs `deliver` after `delay`, and later still while either end is paused.
  void after(caf::timespan delay, std::function<void()> deliver) const {
    auto no = self->state.next++;
    self->state.due.emplace(no, std::move(deliver));
    self->delayed_send(self, delay, deliver_atom::value, no);
  }

  void fire(std::uint64_t no) const {
    auto it = self->state.due.find(no);
    if (it == self->state.due.end()) return;
    auto now = self->clock().now();
    if (auto until = net->held_until(from, to, now); until > now) {
      ++net->counters().held;
      self->delayed_send(self, until - now, deliver_atom::value, no);
      return;
    }
    auto deliver = std::move(it->second);
    self->state.due.erase(it);
    if (!net->connected(from, to)) {
      ++net->counters().cut;
      return;
    }
    deliver();
  }

  // Carries one request there and its reply back, each hop planned on its own.
  template <class Reply, class... Ts>
  caf::result<Reply> relay(Ts... xs) const {
    auto promise = self->make_response_promise<Reply>();
    auto out = net->plan();
    if (out.drop) return promise;
    auto answered = std::make_shared<bool>(false);
    auto link = *this;
    for (int copy = 0; copy < (out.duplicate ? 2 : 1); ++copy)
      after(out.delay + std::chrono::milliseconds(copy), [=]() mutable {
        auto target = link.net->target(link.to, link.service);
        if (!target) return;
        link.self->request(target, std::chrono::seconds(60), xs...)
            .then(
                [=](Reply& reply) mutable {
                  auto back = link.net->plan();
                  if (back.drop) return;
                  link.after(back.delay, [=]() mutable {
                    if (*answered) return;  // The duplicate's reply.
                    *answered = true;
                    promise.deliver(std::move(reply));
                  });
                },
                [](caf::error&) {});  // The node went down meanwhile: the asker times out.
      });
    return promise;
  }
};

caf::behavior link_behavior(link_pointer self, std::shared_ptr<SimNetwork> net, std::size_t from, std::size_t to,
                            Service service) {
  Link link{self, std::move(net), from, to, service};
  return {
      [=](actors::query_atom a, const actors::VoteQueries& queries) -> caf::result<actors::Votes> {
        return link.relay<actors::Votes>(a, queries);
      },
      [=](actors::sync_atom a, std::uint64_t from_height, std::uint32_t max_blocks) -> caf::result<actors::SyncChunk> {
        return link.relay<actors::SyncChunk>(a, from_height, max_blocks);
      },
      [=](deliver_atom, std::uint64_t no) { link.fire(no); },
  };
}

}  // namespace

caf::actor spawn_link(caf::actor_system& system, std::shared_ptr<SimNetwork> network, std::size_t from,
                      std::size_t to, Service service) {
  return system.spawn(
      [=](link_pointer self) { return link_behavior(self, network, from, to, service); });
}

}  // namespace croupier::sim
