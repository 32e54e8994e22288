#include "domain/reconcile.hpp"

#include <algorithm>
#include <cassert>
#include <functional>

namespace croupier {

namespace {

enum class Verdict { none, confirmed, missing, orphaned, mismatched };

// The ledger's settlements of one batch id.
struct LedgerGroup {
  Id128 batch_id{};
  const settlement::PublicInputs* inputs = nullptr;  // Of the earliest entry.
  std::uint64_t height = 0;                          // The earliest height.
  bool inconsistent = false;                         // Entries with different public inputs.
};

// Groups the ledger by batch id, ascending. O(L log L).
std::vector<LedgerGroup> group_ledger(std::span<const LedgerSettlement> ledger) {
  std::vector<const LedgerSettlement*> sorted;
  sorted.reserve(ledger.size());
  for (const auto& s : ledger) sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(), [](const LedgerSettlement* x, const LedgerSettlement* y) {
    return x->batch_id != y->batch_id ? x->batch_id < y->batch_id : x->height < y->height;
  });
  std::vector<LedgerGroup> groups;
  for (const LedgerSettlement* s : sorted) {
    if (groups.empty() || groups.back().batch_id != s->batch_id) {
      groups.push_back(LedgerGroup{s->batch_id, &s->inputs, s->height, false});
      continue;
    }
    LedgerGroup& g = groups.back();
    assert(s->height >= g.height);  // Sorted by height within a batch: the first is the earliest.
    if (s->inputs != *g.inputs) g.inconsistent = true;
  }
  return groups;
}

Verdict local_only(const BatchRecord& b) {
  switch (b.lifecycle.status()) {
    case BatchStatus::proved:
    case BatchStatus::submitted: return Verdict::missing;
    case BatchStatus::confirmed: return Verdict::mismatched;  // Our books say settled; the ledger disagrees.
    case BatchStatus::created:
    case BatchStatus::failed: return Verdict::none;
  }
  assert(false && "unknown batch status");
  return Verdict::none;
}

Verdict on_both(const BatchRecord& b, const LedgerGroup& g) {
  // Our books gave the batch up, yet the ledger settled it: the two disagree about money.
  if (b.lifecycle.status() == BatchStatus::failed) return Verdict::mismatched;
  if (g.inconsistent || !b.inputs) return Verdict::mismatched;
  return *b.inputs == *g.inputs ? Verdict::confirmed : Verdict::mismatched;
}

// Merges the local batches (sorted: std::map) with the grouped ledger (sorted) and calls
// visit(batch_id, verdict, local record or nullptr, ledger group or nullptr) once per id.
template <class Visit>
void walk(const std::map<Id128, BatchRecord>& batches, std::span<const LedgerSettlement> ledger,
          const std::set<Id128>& settled_out_of_view, Visit&& visit) {
  const std::vector<LedgerGroup> groups = group_ledger(ledger);
  auto local = batches.begin();
  auto remote = groups.begin();
  while (local != batches.end() || remote != groups.end()) {
    const bool take_local = remote == groups.end() || (local != batches.end() && local->first <= remote->batch_id);
    const bool take_remote = local == batches.end() || (remote != groups.end() && remote->batch_id <= local->first);
    assert(take_local || take_remote);
    const BatchRecord* record = take_local ? &local->second : nullptr;
    const LedgerGroup* group = take_remote ? &*remote : nullptr;
    const Id128& id = take_local ? local->first : remote->batch_id;
    if (record) {
      // Projections' invariants: a proved (or later) batch has inputs that name it.
      assert(record->lifecycle.status() == BatchStatus::created || record->lifecycle.status() == BatchStatus::failed ||
             record->inputs.has_value());
      assert(!record->inputs || record->inputs->batch_id == id);
    }
    Verdict v = record && group ? on_both(*record, *group) : record ? local_only(*record) : Verdict::orphaned;
    if (record && !group && record->lifecycle.status() == BatchStatus::confirmed && settled_out_of_view.contains(id))
      v = Verdict::none;  // Its settlement left the view; it was reconciled when it was confirmed.
    visit(id, v, record, group);
    if (take_local) ++local;
    if (take_remote) ++remote;
  }
}

bool strictly_ascending(const std::vector<Id128>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

}  // namespace

ReconciliationReport reconcile(const std::map<Id128, BatchRecord>& batches, std::span<const LedgerSettlement> ledger,
                               const std::set<Id128>& settled_out_of_view) {
  ReconciliationReport report;
  walk(batches, ledger, settled_out_of_view, [&](const Id128& id, Verdict v, const BatchRecord*, const LedgerGroup*) {
    switch (v) {
      case Verdict::confirmed: report.confirmed.push_back(id); break;
      case Verdict::missing: report.missing.push_back(id); break;
      case Verdict::orphaned: report.orphaned.push_back(id); break;
      case Verdict::mismatched: report.mismatched.push_back(id); break;
      case Verdict::none: break;
    }
  });
  // The merge visits ids in ascending order, once each.
  assert(strictly_ascending(report.confirmed) && strictly_ascending(report.missing));
  assert(strictly_ascending(report.orphaned) && strictly_ascending(report.mismatched));
  return report;
}

std::vector<BatchConfirmation> pending_confirmations(const std::map<Id128, BatchRecord>& batches,
                                                     std::span<const LedgerSettlement> ledger) {
  std::vector<BatchConfirmation> out;
  walk(batches, ledger, {}, [&](const Id128& id, Verdict v, const BatchRecord* record, const LedgerGroup* group) {
    if (v != Verdict::confirmed) return;
    assert(record && group);
    BatchStatus s = record->lifecycle.status();
    if (s == BatchStatus::proved || s == BatchStatus::submitted) out.push_back({id, group->height});
  });
  return out;
}

}  // namespace croupier
