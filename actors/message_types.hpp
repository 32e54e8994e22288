#pragma once
// Atoms and message types shared by the node's actors.
//
// Domain values travel between local actors as they are; CAF_ALLOW_UNSAFE_MESSAGE_TYPE
// says so (they are copyable values with no actor handles inside). Messages that cross
// the network will get CAF `inspect` functions when the io middleman carries them.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "domain/admission.hpp"
#include "domain/events.hpp"

namespace croupier::actors {

using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;      // A tx to the mempool.
using decided_atom = caf::atom_constant<caf::atom("decided")>;    // A voter's decision.
using query_atom = caf::atom_constant<caf::atom("query")>;        // Consensus queries.
using block_atom = caf::atom_constant<caf::atom("block")>;        // A block became durable.
using items_atom = caf::atom_constant<caf::atom("items")>;        // Settlement items to batch.
using prove_atom = caf::atom_constant<caf::atom("prove")>;        // A batch to prove.
using settle_atom = caf::atom_constant<caf::atom("settle")>;      // A proved batch to submit.
using settled_atom = caf::atom_constant<caf::atom("settled")>;    // A settlement tx was decided.
using retry_atom = caf::atom_constant<caf::atom("retry")>;        // A submitter timer.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;    // A submission's deadline.
using tick_atom = caf::atom_constant<caf::atom("tick")>;          // A periodic timer.
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using confirm_atom = caf::atom_constant<caf::atom("confirm")>;    // Record a settlement found on the ledger.
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using round_atom = caf::atom_constant<caf::atom("round")>;        // A voter's next poll.
using forget_atom = caf::atom_constant<caf::atom("forget")>;      // Decided conflict keys.
using follow_atom = caf::atom_constant<caf::atom("follow")>;      // A voter's preference, to its validator.
using learn_atom = caf::atom_constant<caf::atom("learn")>;        // A tx heard of from another node.
using sync_atom = caf::atom_constant<caf::atom("sync")>;          // Blocks a node missed, from a peer.

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

// The mempool's answer to a submitted transaction (see node_api.hpp SubmitOutcome).
struct SubmitReply {
  enum class Kind : std::uint8_t { admitted, duplicate, conflict, refused, busy, unavailable };
  Kind kind = Kind::refused;
  Hash32 tx_id{};
  bool final = false;  // admitted/duplicate: decided (and committed, when accepted) already.
  std::string code;
  std::string message;
};

// One consensus question: which tx does the validator prefer for this conflict key? The tx
// travels with the question (validators check it before they prefer it).
struct VoteQuery {
  Hash32 tx_id{};
  std::string conflict_key;
  std::shared_ptr<const Tx> tx;
};
using VoteQueries = std::vector<VoteQuery>;
// One answer per query, in order; nullopt: the validator prefers no tx for the key.
using Votes = std::vector<std::optional<Hash32>>;

// A committed block, as the committer reports it after it is durable.
struct BlockReport {
  std::uint64_t height = 0;
  std::vector<Hash32> accepted;   // In the block.
  std::vector<Hash32> rejected;   // Decided rejected alongside.
  std::vector<std::pair<Id128, Hash32>> settlements;  // Settlement txs in the block.
};

// A peer's accepted transactions, block by block from `from` (settlements left out: they
// are recorded by the node that sequences them). `peer_height` is the peer's block height.
struct SyncChunk {
  std::uint64_t from = 1;
  std::uint64_t peer_height = 0;
  std::vector<std::vector<Tx>> blocks;
};

struct ConsensusDecisionMsg {
  Hash32 tx_id{};
  bool accepted = false;
};

}  // namespace croupier::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::SubmitReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::VoteQuery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::VoteQueries)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::Votes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::BlockReport)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::SyncChunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::Tx)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::Prechecked)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::Id128)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<croupier::settlement::Item>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const croupier::Settlement>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<croupier::Event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::Hash32)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(croupier::actors::TxIds)
