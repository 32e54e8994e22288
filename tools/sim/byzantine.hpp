#pragma once
// Byzantine validators for the simulator: they answer consensus queries with lies.
//   random:       each vote is drawn at random: the tx asked about, another tx seen for the
//                 key, or none.
//   conflicting:  always a rival of the tx asked about (another tx seen for its conflict
//                 key), none when it knows no rival.
//   equivocating: tells half of its askers (by asker) the tx they asked about, and the
//                 other half a rival or none: different answers to different nodes.
//   agreeable:    yes to every tx (not a Byzantine mode: the tests' broken validator).
// They ignore what their node tells them (forget, follow, put) and never learn txs.
#include <cstdint>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace croupier::sim {

enum class Lie : std::uint8_t { random, conflicting, equivocating, agreeable };
std::string_view lie_name(Lie lie);

caf::actor spawn_byzantine_validator(caf::actor_system& system, Lie lie, std::uint64_t seed);

}  // namespace croupier::sim
