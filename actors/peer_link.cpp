#include "actors/peer_link.hpp"

#include <optional>
#include <random>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/peer_door.hpp"
#include "actors/tcp_probe.hpp"
#include "domain/codec.hpp"
#include "domain/peer_messages.hpp"
#include "domain/retry.hpp"

namespace croupier::actors {

namespace {

using attempt_atom = caf::atom_constant<caf::atom("lattempt")>;
using beat_atom = caf::atom_constant<caf::atom("lbeat")>;

constexpr auto kProbeTimeout = std::chrono::milliseconds(1000);
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kHandshakeStepTimeout = std::chrono::seconds(2);
const RetryPolicy kBackoff{UINT32_MAX, std::chrono::milliseconds(200), std::chrono::seconds(10), 0.5};

struct LinkState {
  std::uint64_t epoch = 0;  // Bumped by every drop: answers of an older attempt are ignored.
  caf::actor door;
  std::unique_ptr<peer::Dialer> dialer;
  std::optional<peer::Session> session;
  std::uint64_t next_ping = 0;
  std::uint32_t failures = 0;  // In a row, for the backoff.
  std::string last_logged;
  std::mt19937_64 rng;
  static constexpr const char* name = "peer-link";
};

using link_pointer = caf::stateful_actor<LinkState>*;


std::string peer_name(const PeerLinkOptions& o) { return to_hex(o.peer_key).substr(0, 16) + " at " + o.host + ":" + std::to_string(o.port); }

bool own_timer(link_pointer self) { return self->current_sender().get() == self->ctrl(); }

void schedule_attempt(link_pointer self) {
  auto& st = self->state;
  const auto wait = *delay_before(std::min<std::uint32_t>(st.failures, 30) + 1, kBackoff, st.rng());
  self->delayed_send(self, wait, attempt_atom::value, st.epoch);
}

// Drops whatever the link had and tries again after the backoff.
void fail(link_pointer self, const PeerLinkOptions& o, const std::string& why) {
  auto& st = self->state;
  const bool was_linked = st.session.has_value();
  ++st.epoch;
  ++st.failures;
  if (st.door) self->demonitor(st.door);
  st.door = nullptr;
  st.dialer.reset();
  st.session.reset();
  o.table->update(o.row, [&](PeerRow& r) {
    r.linked = false;
    r.benched = r.benched || was_linked;
    r.last_error = why;
  });
  if (why != st.last_logged) {
    o.log_line("cluster: peer " + peer_name(o) + ": " + why + (was_linked ? " (link dropped)" : "") + "; trying again");
    st.last_logged = why;
  }
  schedule_attempt(self);
}

void beat(link_pointer self, const PeerLinkOptions& o) {
  auto& st = self->state;
  const std::uint64_t epoch = st.epoch, number = st.next_ping++;
  const Bytes sealed = st.session->seal(peer::encode_message(peer::Ping{number}));
  o.table->update(o.row, [](PeerRow& r) { ++r.pings; });
  self->request(st.door, 2 * o.heartbeat, peer_msg_atom::value, to_wire(sealed))
      .then(
          [=](const std::string& answer) {
            auto& s = self->state;
            if (s.epoch != epoch) return;
            try {
              auto m = peer::decode_message(s.session->open(from_wire(answer)));
              const auto* pong = std::get_if<peer::Pong>(&m);
              if (!pong || pong->number != number) throw DecodeError("an answer that is not the Pong of Ping " + std::to_string(number));
              const auto now = self->clock().now();
              o.table->update(o.row, [&](PeerRow& r) {
                ++r.pongs;
                r.last_heard = now;
                r.height = pong->block_height;
              });
              self->delayed_send(self, o.heartbeat, beat_atom::value, epoch);
            } catch (const std::exception& e) {
              fail(self, o, std::string("bad answer to a heartbeat: ") + e.what());
            }
          },
          [=](caf::error& e) {
            if (self->state.epoch != epoch) return;
            o.table->update(o.row, [](PeerRow& r) { ++r.ping_failures; });
            fail(self, o, "heartbeat unanswered: " + self->system().render(e));
          });
}

void linked(link_pointer self, const PeerLinkOptions& o) {
  auto& st = self->state;
  if (!st.dialer) return fail(self, o, "a handshake answer without a handshake in progress");
  try {
    st.session = st.dialer->session();
  } catch (const std::exception& e) {  // Never out of a handler: the link would end for good.
    return fail(self, o, std::string("handshake out of order: ") + e.what());
  }
  st.dialer.reset();
  st.failures = 0;
  st.last_logged.clear();
  const auto now = self->clock().now();
  o.table->update(o.row, [&](PeerRow& r) {
    r.linked = true;
    r.benched = false;
    r.last_error.clear();
    r.last_heard = now;
    ++r.handshakes;
  });
  o.log_line("cluster: linked to peer " + peer_name(o) + " (authenticated session)");
  beat(self, o);
}

void shake_hands(link_pointer self, const PeerLinkOptions& o) {
  auto& st = self->state;
  const std::uint64_t epoch = st.epoch;
  st.dialer = std::make_unique<peer::Dialer>(o.identity, o.peer_key, o.random);
  self->request(st.door, kHandshakeStepTimeout, peer_hello_atom::value, to_wire(st.dialer->hello()))
      .then(
          [=](const std::string& welcome) {
            if (self->state.epoch != epoch) return;
            Bytes proof;
            try {
              proof = self->state.dialer->welcome(from_wire(welcome));
            } catch (const peer::HandshakeError& e) {
              o.table->update(o.row, [](PeerRow& r) { ++r.handshake_failures; });
              return fail(self, o, std::string("refused its welcome: ") + e.what());
            }
            self->request(self->state.door, kHandshakeStepTimeout, peer_proof_atom::value, to_wire(proof))
                .then(
                    [=](caf::ok_atom) {
                      if (self->state.epoch == epoch) linked(self, o);
                    },
                    [=](caf::error& e) {
                      if (self->state.epoch != epoch) return;
                      o.table->update(o.row, [](PeerRow& r) { ++r.handshake_failures; });
                      fail(self, o, "it refused our proof: " + self->system().render(e));
                    });
          },
          [=](caf::error& e) {
            if (self->state.epoch != epoch) return;
            o.table->update(o.row, [](PeerRow& r) { ++r.handshake_failures; });
            fail(self, o, "it refused our hello: " + self->system().render(e));
          });
}

void attempt(link_pointer self, const PeerLinkOptions& o) {
  if (self->state.door || self->state.dialer || self->state.session) return;  // Already connecting or linked.
  if (auto why = tcp_probe(o.host, o.port, kProbeTimeout)) return fail(self, o, "unreachable: " + *why);
  auto& st = self->state;
  const std::uint64_t epoch = st.epoch;
  o.table->update(o.row, [](PeerRow& r) { ++r.connects; });
  self->request(self->system().middleman().actor_handle(), kConnectTimeout, caf::connect_atom::value, o.host, o.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& door, const std::set<std::string>&) {
            if (self->state.epoch != epoch) return;
            if (!door) return fail(self, o, "nothing is published on that port");
            self->state.door = caf::actor_cast<caf::actor>(door);
            self->monitor(self->state.door);
            shake_hands(self, o);
          },
          [=](caf::error& e) {
            if (self->state.epoch == epoch) fail(self, o, "cannot connect: " + self->system().render(e));
          });
}

}  // namespace

caf::actor spawn_peer_link(caf::actor_system& system, PeerLinkOptions options) {
  return system.spawn<caf::detached>([o = std::move(options)](link_pointer self) -> caf::behavior {
    self->state.rng.seed(o.seed);
    self->set_default_handler(caf::drop);
    self->set_down_handler([=](caf::down_msg& dm) {
      if (dm.source == self->state.door) fail(self, o, "its node went down (" + self->system().render(dm.reason) + ")");
    });
    self->send(self, attempt_atom::value, self->state.epoch);
    return {
        [=](attempt_atom, std::uint64_t epoch) {
          if (own_timer(self) && epoch == self->state.epoch) attempt(self, o);
        },
        [=](beat_atom, std::uint64_t epoch) {
          if (own_timer(self) && epoch == self->state.epoch && self->state.session) beat(self, o);
        },
    };
  });
}

}  // namespace croupier::actors
