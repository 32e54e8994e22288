#include "actors/admin_door.hpp"

#include <sodium.h>

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

namespace croupier::actors {

namespace {

bool token_matches(const std::string& expected, const std::string& given) {
  if (expected.empty()) return true;
  // Equal lengths first (the length is no secret worth hiding), then constant time.
  return given.size() == expected.size() && sodium_memcmp(given.data(), expected.data(), given.size()) == 0;
}

}  // namespace

caf::actor spawn_admin_door(caf::actor_system& system, caf::actor inspector, std::string token) {
  return system.spawn([inspector, token](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {
        [=](shell_atom a, const std::string& given, std::vector<std::string>& words) -> caf::result<caf::message> {
          if (!token_matches(token, given))
            return caf::make_error(caf::sec::invalid_argument,
                                   "authentication failed: the admin token does not match the node's "
                                   "(croupier.admin-token; give it with --token or CROUPIER_ADMIN_TOKEN)");
          return self->delegate(inspector, a, std::move(words));
        },
    };
  });
}

}  // namespace croupier::actors
