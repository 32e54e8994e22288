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
#include <caf/meta/type_name.hpp>

#include "domain/events.hpp"

namespace croupier::actors {

using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;

using Seqs = std::vector<std::uint64_t>;
using TxIds = std::vector<Hash32>;

// A waiting client's answer: final (its tx is in block `height`) or still pending.
struct WaitAnswer {
  bool final = false;
  std::uint64_t height = 0;  // Block height when final, else 0.
  friend bool operator==(const WaitAnswer&, const WaitAnswer&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WaitAnswer& x) {
  return f(caf::meta::type_name("WaitAnswer"), x.final, x.height);
}

struct WaitersStats {
  std::uint64_t waiting = 0;         // Clients waiting now.
  std::uint64_t finalized_total = 0; // Answered final since start.
  std::uint64_t timeouts_total = 0;  // Answered pending at their deadline (or refused when full).
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WaitersStats& x) {
  return f(caf::meta::type_name("WaitersStats"), x.waiting, x.finalized_total, x.timeouts_total);
}

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<croupier::Event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::Hash32)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::TxIds)
