#pragma once
// What every actor of the node tells the inspector about itself (the debug shell's
// `actors` and `inspect ACTOR`).
//
// CAF 0.17 keeps no count of the messages an actor handled and has no actor profiler in
// Debian's build (CAF_ENABLE_ACTOR_PROFILER is off), so the node's actors are spawned as
// `Counted<...>`: the actor class CAF would use, plus a counter bumped in `consume`, the
// virtual every mailbox element goes through. The count and the mailbox length are read by
// the actor itself while it answers (inspect_atom), so no other thread touches either.
//
// Protocol every node actor answers:
//   (inspect_atom) -> std::string   JSON {"kind", "summary", "mailbox", "handled", "state"}
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/spawn_options.hpp>

namespace croupier::actors {

using inspect_atom = caf::atom_constant<caf::atom("inspect")>;

// The counter, as a separate base so that code holding only a `local_actor*` finds it.
struct HandledCounter {
  std::uint64_t handled = 0;
};

template <class Base>
class Counted final : public Base, public HandledCounter {
 public:
  using Behavior = typename Base::behavior_type;
  using Init = std::function<Behavior(Base*)>;

  Counted(caf::actor_config& cfg, Init init) : Base(cfg), init_(std::move(init)) {}

  Behavior make_behavior() override { return init_(this); }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    ++handled;
    return Base::consume(x);
  }

 private:
  Init init_;
};

// Spawns `init(self)` as a Counted actor of class `Base` (a stateful_actor<State> or a
// typed actor's stateful_impl<State>); returns the handle CAF's own spawn would.
template <class Base, caf::spawn_options Os = caf::no_spawn_options, class F>
auto spawn_counted(caf::actor_system& system, F&& init) {
  return system.spawn<Counted<Base>, Os>(typename Counted<Base>::Init(std::forward<F>(init)));
}

// The inspect_atom answer for `self`: kind, one-line summary and full state as JSON text.
template <class Self>
std::string describe_actor(Self* self, std::string_view kind, std::string summary, nlohmann::ordered_json state) {
  auto* counted = dynamic_cast<HandledCounter*>(self);
  nlohmann::ordered_json j{{"kind", kind},
                   {"summary", std::move(summary)},
                   // The inspect request being handled has left the mailbox already.
                   {"mailbox", self->mailbox().size()},
                   {"handled", counted ? counted->handled : 0},
                   {"state", std::move(state)}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace croupier::actors
