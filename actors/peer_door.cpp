#include "actors/peer_door.hpp"

#include <map>
#include <optional>

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>

#include "domain/codec.hpp"
#include "domain/peer_messages.hpp"

namespace croupier::actors {

namespace {

using tick_atom = caf::atom_constant<caf::atom("doortick")>;

constexpr auto kHandshakeTimeout = std::chrono::seconds(5);
// Callers at once: one session per peer, plus this many more (handshakes in progress, a
// restarted peer's new session before its old one is seen down): more than an honest
// cluster ever needs.
constexpr std::size_t kMaxPending = 64;


struct Caller {
  std::unique_ptr<peer::Acceptor> acceptor;  // Until the proof.
  std::optional<peer::Session> session;      // After it.
  caf::actor_clock::time_point since;
};

struct DoorState {
  std::map<caf::actor_addr, Caller> callers;
  std::string last_refusal;  // Logged once: a process retrying the same refused hello is one line.
  static constexpr const char* name = "peer-door";
};

using door_pointer = caf::stateful_actor<DoorState>*;

caf::error refused(const std::string& why) { return caf::make_error(caf::sec::invalid_argument, why); }

std::string who(door_pointer self) {
  auto s = self->current_sender();
  return s ? "a process on node " + caf::to_string(s->node()) : "an unknown sender";
}

// Counts every refusal; logs one unless it is the same as the one logged last (a refused
// process retries, and so does a restarted one: its CAF node id then differs).
void refuse_logged(door_pointer self, const PeerDoorOptions& o, const std::string& what, const std::string& why) {
  o.table->refused();
  std::string line = "cluster: refused " + what + " from " + who(self) + ": " + why;
  if (line == self->state.last_refusal) return;
  o.log_line(line);
  self->state.last_refusal = std::move(line);
}

caf::result<std::string> on_hello(door_pointer self, const PeerDoorOptions& o, const std::string& hello) {
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (!sender) return refused("anonymous hello");
  auto& callers = self->state.callers;
  if (!callers.contains(sender) && callers.size() >= kMaxPending + o.identity.peers.size()) {
    refuse_logged(self, o, "a hello", std::to_string(kMaxPending) + " handshakes already in progress");
    return refused("too many handshakes in progress at this door");
  }
  auto acceptor = std::make_unique<peer::Acceptor>(o.identity, o.random);
  try {
    Bytes welcome = acceptor->hello(from_wire(hello));
    if (!callers.contains(sender)) self->monitor(sender);
    callers[sender] = Caller{std::move(acceptor), std::nullopt, self->clock().now()};
    return to_wire(welcome);
  } catch (const peer::HandshakeError& e) {
    refuse_logged(self, o, "a hello", e.what());
    return refused(e.what());
  }
}

caf::result<caf::ok_atom> on_proof(door_pointer self, const PeerDoorOptions& o, const std::string& proof) {
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto it = self->state.callers.find(sender);
  if (it == self->state.callers.end() || !it->second.acceptor) return refused("a proof without a hello");
  try {
    it->second.acceptor->proof(from_wire(proof));
    it->second.session = it->second.acceptor->session();
    it->second.acceptor.reset();
    o.table->inbound(it->second.session->peer());
    o.log_line("cluster: peer " + to_hex(it->second.session->peer()) + " opened a session to this door");
    return caf::ok_atom::value;
  } catch (const peer::HandshakeError& e) {
    refuse_logged(self, o, "a proof", e.what());
    self->demonitor(it->first);
    self->state.callers.erase(it);
    return refused(e.what());
  }
}

// Opens the message, answers it, seals the answer. Any failure drops the session: the
// caller must shake hands again.
caf::result<std::string> on_message(door_pointer self, const PeerDoorOptions& o, const std::string& sealed) {
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto it = self->state.callers.find(sender);
  if (it == self->state.callers.end() || !it->second.session) return refused("no session: shake hands first");
  auto& session = *it->second.session;
  try {
    auto message = peer::decode_message(session.open(from_wire(sealed)));
    if (const auto* ping = std::get_if<peer::Ping>(&message))
      return to_wire(session.seal(peer::encode_message(peer::Pong{ping->number, o.block_height()})));
    throw DecodeError("a Pong sent to a door (only links receive Pongs)");
  } catch (const std::exception& e) {  // SessionError or DecodeError.
    o.log_line("cluster: dropped the session of peer " + to_hex(session.peer()) + ": " + e.what());
    self->demonitor(it->first);
    self->state.callers.erase(it);
    return refused(std::string("session dropped: ") + e.what());
  }
}

}  // namespace

caf::actor spawn_peer_door(caf::actor_system& system, PeerDoorOptions options) {
  return system.spawn([o = std::move(options)](door_pointer self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    self->set_down_handler([=](caf::down_msg& dm) { self->state.callers.erase(dm.source); });
    self->delayed_send(self, kHandshakeTimeout, tick_atom::value);
    return {
        [=](peer_hello_atom, const std::string& hello) { return on_hello(self, o, hello); },
        [=](peer_proof_atom, const std::string& proof) { return on_proof(self, o, proof); },
        [=](peer_msg_atom, const std::string& sealed) { return on_message(self, o, sealed); },
        [=](tick_atom) {
          if (self->current_sender().get() != self->ctrl()) return;  // Our own timer only (no remote can add timers).
          const auto now = self->clock().now();
          for (auto it = self->state.callers.begin(); it != self->state.callers.end();)
            if (it->second.acceptor && now - it->second.since > kHandshakeTimeout) {
              self->demonitor(it->first);  // Else every expired handshake leaves a monitor behind.
              it = self->state.callers.erase(it);
            } else {
              ++it;
            }
          self->delayed_send(self, kHandshakeTimeout, tick_atom::value);
        },
    };
  });
}

}  // namespace croupier::actors
