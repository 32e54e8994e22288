#pragma once
// The reconciler's comparison of the local books (the batches of the projections) with the
// ledger's finalized settlement transactions.
//
// For each batch id met on either side, exactly one of these holds (or none, see below):
//   confirmed   we know the batch, have proved it, have not failed it, and the ledger
//               settles it with public inputs identical to ours. A Proved or Submitted batch
//               listed here is one whose confirmation we have not recorded yet (see
//               pending_confirmations).
//   missing     our batch is Proved or Submitted and the ledger has no settlement for it:
//               it must be (re)submitted.
//   orphaned    the ledger settles a batch id we do not know: alarm.
//   mismatched  the ledger and our books disagree about a batch we know: the ledger's public
//               inputs differ from ours (or we have none: the batch is still Created), the
//               ledger holds several different settlements for it, our batch is Confirmed but
//               the ledger has no settlement for it, or our batch is Failed and the ledger
//               settled it anyway (our books gave up on money the ledger moved; the
//               submitter never fails a batch whose settlement is alive, and apply() refuses
//               it, so this needs an operator). Alarm; nothing is rewritten.
//   (none)      a Created batch not on the ledger (the prover's work), or a Failed batch
//               not on the ledger (kept for the operator, never resubmitted).
// Each list is sorted ascending by id and holds each id at most once; an id appears in at
// most one list. Entries of `ledger` repeating a batch with identical public inputs count as
// one settlement (the earliest height).
//
// Precondition: `ledger` holds every finalized settlement of the ledger that concerns a batch
// in `batches` (a partial view would make confirmed batches look mismatched), except for the
// Confirmed batches named in `settled_out_of_view`: the memory forgot their settlement tx
// (hot and cold state, projections.hpp), and each was reconciled when it was confirmed
// (BatchConfirmed names the block that settled it); they count as none. A ledger entry of a
// batch the books have forgotten is the caller's to leave out (the log knows that batch).
// Entries may come in any order.
// Costs O(B + L log L) for B local batches and L ledger entries. Pure and deterministic.

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "domain/events.hpp"
#include "domain/projections.hpp"

namespace croupier {

// A settlement as committed on the ledger. batch_id is the settlement tx's conflict key
// (normally inputs.batch_id; an entry where they differ cannot match our inputs).
struct LedgerSettlement {
  Id128 batch_id{};
  settlement::PublicInputs inputs;
  std::uint64_t height = 0;  // Block height that committed it; >= 1.
  friend bool operator==(const LedgerSettlement&, const LedgerSettlement&) = default;
};

// See the header comment. `batches` is Projections::batches.
[[nodiscard]] ReconciliationReport reconcile(const std::map<Id128, BatchRecord>& batches,
                                             std::span<const LedgerSettlement> ledger,
                                             const std::set<Id128>& settled_out_of_view = {});

// A confirmation the reconciler should record: a batch we proved whose settlement is on the
// ledger with our public inputs, at `height`, while our books still say Proved or Submitted
// (the node crashed or timed out before it heard of the commit). For a Proved batch the
// caller appends BatchSubmitted first, since only a Submitted batch can be confirmed.
struct BatchConfirmation {
  Id128 batch_id{};
  std::uint64_t height = 0;
  friend bool operator==(const BatchConfirmation&, const BatchConfirmation&) = default;
};

// The confirmed batches of reconcile() whose local status is Proved or Submitted, with the
// height of their settlement, sorted by batch id. Same preconditions and costs.
[[nodiscard]] std::vector<BatchConfirmation> pending_confirmations(const std::map<Id128, BatchRecord>& batches,
                                                                   std::span<const LedgerSettlement> ledger);

}  // namespace croupier
