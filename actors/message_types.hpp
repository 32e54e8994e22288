#pragma once
// Atoms and message types shared by the node's actors.
//
// Domain values travel between local actors as they are; CAF_ALLOW_UNSAFE_MESSAGE_TYPE
// says so (they are copyable values with no actor handles inside). Messages that cross
// the network will get CAF `inspect` functions when the io middleman carries them.

#include <cstdint>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "domain/events.hpp"

namespace croupier::actors {

using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

using Seqs = std::vector<std::uint64_t>;

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<croupier::Event>)
