#pragma once
// The projections: everything a node knows, rebuilt by applying events in log order.
// `apply` is the single place where an event takes effect, for the live node and for
// the audit alike. It checks every structural rule (ids unique, transitions legal,
// money conserved, outcomes consistent with their rolls, a settlement tx naming a proved
// batch with its exact public inputs, submissions and confirmations naming that tx and
// the block that committed it) and throws ApplyError without changing anything when one
// fails. Cryptographic checks (signatures, VRF proofs,
// batch proofs) are separate (see audit.hpp) so that they can run on all cores.

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/accounts.hpp"
#include "domain/events.hpp"
#include "domain/exposure.hpp"
#include "domain/games.hpp"

namespace croupier {

class ApplyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class TxStatus : std::uint8_t { admitted = 1, accepted = 2, rejected = 3 };
std::string_view tx_status_name(TxStatus s);

struct TxRecord {
  Tx tx;                                 // A settlement's without its witness (see TxAdmitted).
  TxStatus status = TxStatus::admitted;
  std::uint64_t block_height = 0;        // 0 until committed in a block.
  std::optional<Outcome> outcome;        // Bets, once resolved.
  std::optional<Id128> batch_id;         // Bets and deposits, once in a batch.
  std::uint64_t finalized_height = 0;    // Accepted: the height its TxFinalized named.
  template <class A> void serialize(A& ar) { ar(tx, status, block_height, outcome, batch_id, finalized_height); }
};

// Final: decided, and when accepted, committed (a bet also resolved, which the committer
// records in the same commit as its block).
inline bool is_final(const TxRecord& r) {
  return r.status == TxStatus::rejected || (r.status == TxStatus::accepted && r.block_height > 0);
}

struct BatchRecord {
  BatchLifecycle lifecycle;
  std::vector<settlement::Item> items;
  std::optional<settlement::PublicInputs> inputs;  // Once proved.
  Hash32 settlement_tx_id{};                       // Of the latest submission (an admitted
                                                   // Settlement tx for this batch).
  template <class A> void serialize(A& ar) { ar(lifecycle, items, inputs, settlement_tx_id); }
};

struct NodeKeys {
  Id128 node_id{};
  PublicKey operator_key{}, house_key{}, sequencer_key{};
  bool known = false;  // False until the first NodeStarted.
  bool settles = true;  // NodeStarted::settles: whether this node cuts and settles batches.
  template <class A> void serialize(A& ar) { ar(node_id, operator_key, house_key, sequencer_key, known, settles); }
};

// Hot and cold state. The projections hold what the rules need: every account, every
// undecided tx, every accepted bet or deposit not yet in a batch, every open batch with its
// settlement tx. A tx the rules need no more is *finished*: rejected, or batched, or the
// settlement of a batch that ended (and the batch itself, once it ended). On a node that does
// not settle (NodeStarted::settles), nothing is ever batched, so a tx is finished once it is
// decided and, if accepted, committed in a block and (a bet) resolved. The last
// `recent_txs` finished txs stay (and as many ended batches as recent_batches), so that recent
// answers cost no log read; older ones are forgotten, and whoever needs them reads them from
// the log through its indexes (eventlog/cold.hpp). So memory is bounded by what is live and by
// those two windows, not by history. Snapshots hold only what the rules need, so they do not
// depend on the windows, and neither does any rule: a forgotten key is checked against the
// log's index by the journal before it applies (actors/journal.cpp).
inline constexpr std::size_t kRecentTxs = 100'000;
inline constexpr std::size_t kRecentBatches = 64;

struct Projections {
  NodeKeys keys;
  Accounts accounts;
  std::unordered_map<Hash32, TxRecord, BytesHash> txs;
  std::unordered_map<Id128, Hash32, BytesHash> bets;      // bet_id -> tx_id
  std::unordered_map<Id128, Hash32, BytesHash> deposits;  // deposit_id -> tx_id
  std::unordered_map<Id128, Hash32, BytesHash> settlements;  // batch_id -> its settlement tx_id
  std::uint64_t block_height = 0;
  Hash32 block_hash{};
  std::map<Id128, BatchRecord> batches;
  Id128 last_batch_id{};             // The newest batch created (it may be forgotten).
  std::uint64_t accepted_txs = 0;    // Bets and deposits ever accepted (a count forgetting keeps).
  // The windows (not in snapshots): finished txs and ended batches, oldest first.
  std::size_t recent_txs = kRecentTxs, recent_batches = kRecentBatches;
  std::deque<Hash32> finished_txs;
  std::deque<Id128> ended_batches;
  settlement::SettledState settled;  // Balances after every proved batch.
  Exposure exposure;                 // What the pending txs may still move (exposure.hpp);
                                     // not in snapshots: it follows from their txs.
  Amount deposits_total = 0;         // Accepted deposits.
  std::int64_t house_result = 0;     // Wagers taken minus payouts made.
  Amount settled_deposits = 0;       // The same two, over confirmed-or-proved batches.
  std::int64_t settled_house_result = 0;
  std::optional<ReconciliationReport> last_reconciliation;
  std::array<std::uint64_t, kEventTypeCount> event_counts{};
  std::uint64_t last_seq = 0;        // Sequence number of the last applied event.

  template <class A> void save(A& ar) const;
  template <class A> void load(A& ar);
};

// Applies one event (sequence number `seq`). Throws ApplyError naming the rule broken.
void apply(Projections& p, std::uint64_t seq, const Event& e);
// The same, moving the event's transaction into the projections. `known_tx_id`, when
// given, must be tx_id() of a TxAdmitted's tx (the replay computes it on another core).
void apply(Projections& p, std::uint64_t seq, Event&& e, const std::optional<Hash32>& known_tx_id = std::nullopt);

// Sets the windows and forgets what is beyond them now.
void set_windows(Projections& p, std::size_t recent_txs, std::size_t recent_batches);

// Whether the rules need `r` no more (see Projections): rejected, batched, or the settlement
// of a batch that ended or is forgotten; on a node that does not settle, decided and done.
bool is_finished(const Projections& p, const TxRecord& r);

// Conservation checks over the whole state; returns every violation found.
std::vector<std::string> check_invariants(const Projections& p);

// Snapshots of the projections (cereal binary, versioned).
Bytes encode_snapshot(const Projections& p);
Projections decode_snapshot(ByteView blob);  // Throws DecodeError.

}  // namespace croupier
