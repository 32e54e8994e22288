#include "actors/admin_door.hpp"

#include <sodium.h>

#include <stdexcept>

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/typed_response_promise.hpp>

namespace croupier::actors {

namespace {

bool token_matches(const std::string& expected, const std::string& given) {
  // Equal lengths first (the length is no secret worth hiding), then constant time.
  return given.size() == expected.size() && sodium_memcmp(given.data(), expected.data(), given.size()) == 0;
}

// Longer than any request the inspector makes (a snapshot may take minutes on a big node).
constexpr auto kInspectorTimeout = std::chrono::minutes(6);

}  // namespace

caf::actor spawn_admin_door(caf::actor_system& system, caf::actor inspector, std::string token) {
  if (token.empty()) throw std::invalid_argument("the admin door needs a token: it is never open to anyone");
  return system.spawn([inspector, token](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {
        [=](shell_atom, const std::string& given, std::vector<std::string>& words) -> caf::result<std::string> {
          if (!token_matches(token, given))
            return caf::make_error(caf::sec::invalid_argument,
                                   "authentication failed: the admin token does not match the node's (the "
                                   "node's DATA/keys/admin.token, which `croupier shell --data DATA` reads, or "
                                   "croupier.admin-token when its config sets one: give that with "
                                   "CROUPIER_ADMIN_TOKEN)");
          // Asked and answered by the door itself, not delegated: an actor that answers a peer
          // becomes addressable by that peer (CAF's BASP registers it by id), so only the door
          // may ever send to the network.
          auto promise = self->make_response_promise<std::string>();
          self->request(inspector, kInspectorTimeout, shell_atom::value, std::move(words))
              .then([=](std::string& answer) mutable { promise.deliver(std::move(answer)); },
                    [=](caf::error& e) mutable { promise.deliver(std::move(e)); });
          return promise;
        },
    };
  });
}

}  // namespace croupier::actors
