// Reconciliation: reconcile() puts each batch in the one category its local status and the
// ledger's settlements call for (confirmed, missing, orphaned, mismatched, or none), lists
// are sorted and disjoint, and the ledger's order does not matter; pending_confirmations()
// names the confirmed batches whose confirmation the books still lack, with their height.
// Method: a table of named single-batch rows (status, our inputs, the ledger's entries), a
// hand-checked mix of many batches, and a seeded sweep that shuffles the ledger and checks
// the report against a per-id model. Reports are compared as compact strings such as
// "confirmed[1 2] missing[] orphaned[9] mismatched[]" (ids by their last byte).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "domain/reconcile.hpp"

using namespace croupier;

namespace {

Id128 batch(std::uint8_t n) {
  Id128 i{};
  i[0] = 0xba;
  i[15] = n;
  return i;
}

// Public inputs of batch n; `variant` makes different but well-formed inputs.
settlement::PublicInputs inputs(std::uint8_t n, std::uint8_t variant = 0) {
  settlement::PublicInputs in;
  in.batch_id = batch(n);
  in.pre_root[0] = n;
  in.post_root[0] = static_cast<std::uint8_t>(n + 1);
  in.post_root[1] = variant;
  in.items_digest[0] = 0xd1;
  in.totals = {1, 10, 0, 0};
  return in;
}

// A local batch record in `status`; batches past Created carry inputs(n).
BatchRecord record(std::uint8_t n, BatchStatus status, bool proved_before_failing = true) {
  BatchRecord r{BatchLifecycle(5), {}, std::nullopt, Hash32{}};
  if (status == BatchStatus::created) return r;
  if (status == BatchStatus::failed && !proved_before_failing) {
    r.lifecycle.fail();
    return r;
  }
  r.lifecycle.prove();
  r.inputs = inputs(n);
  if (status == BatchStatus::proved) return r;
  r.lifecycle.submit(1);
  if (status == BatchStatus::submitted) return r;
  if (status == BatchStatus::confirmed)
    r.lifecycle.confirm(7);
  else
    r.lifecycle.fail();
  return r;
}

LedgerSettlement on_ledger(std::uint8_t n, std::uint64_t height, std::uint8_t variant = 0) {
  return {batch(n), inputs(n, variant), height};
}

std::string render(const ReconciliationReport& r) {
  std::ostringstream os;
  auto list = [&](const char* name, const std::vector<Id128>& ids) {
    os << name << "[";
    for (std::size_t i = 0; i < ids.size(); ++i) os << (i ? " " : "") << int(ids[i][15]);
    os << "]";
  };
  list("confirmed", r.confirmed);
  list(" missing", r.missing);
  list(" orphaned", r.orphaned);
  list(" mismatched", r.mismatched);
  return os.str();
}

std::string render(const std::vector<BatchConfirmation>& cs) {
  std::ostringstream os;
  for (std::size_t i = 0; i < cs.size(); ++i) os << (i ? " " : "") << int(cs[i].batch_id[15]) << "@" << cs[i].height;
  return os.str();
}

}  // namespace

TEST_CASE("NoBatchesAndAnEmptyLedgerReportNothing") {
  std::map<Id128, BatchRecord> none;
  CHECK(render(reconcile(none, {})) == "confirmed[] missing[] orphaned[] mismatched[]");
  CHECK(pending_confirmations(none, {}).empty());
}

TEST_CASE("EachBatchFallsInTheCategoryItsStatusAndTheLedgerCallFor") {
  struct Row {
    const char* name;
    std::optional<BatchRecord> local;  // Batch 1, if we know it.
    std::vector<LedgerSettlement> ledger;
    const char* expected;
    const char* pending;               // pending_confirmations.
  };
  const char* confirmed = "confirmed[1] missing[] orphaned[] mismatched[]";
  const char* missing = "confirmed[] missing[1] orphaned[] mismatched[]";
  const char* orphaned = "confirmed[] missing[] orphaned[1] mismatched[]";
  const char* mismatched = "confirmed[] missing[] orphaned[] mismatched[1]";
  const char* nothing = "confirmed[] missing[] orphaned[] mismatched[]";
  LedgerSettlement misnamed = on_ledger(1, 3);
  misnamed.inputs.batch_id = batch(2);  // Conflict key 1, inputs naming batch 2.
  LedgerSettlement other_pre = on_ledger(1, 3), other_digest = on_ledger(1, 3), other_totals = on_ledger(1, 3);
  other_pre.inputs.pre_root[5] ^= 1;
  other_digest.inputs.items_digest[5] ^= 1;
  other_totals.inputs.totals.payouts += 1;
  std::vector<Row> rows{
      {"submitted, on the ledger as proved", record(1, BatchStatus::submitted), {on_ledger(1, 3)}, confirmed, "1@3"},
      {"proved, on the ledger (crash before BatchSubmitted)", record(1, BatchStatus::proved), {on_ledger(1, 4)}, confirmed, "1@4"},
      {"confirmed, on the ledger", record(1, BatchStatus::confirmed), {on_ledger(1, 7)}, confirmed, ""},
      {"failed after proving, landed late: the books gave up on money the ledger moved",
       record(1, BatchStatus::failed), {on_ledger(1, 9)}, mismatched, ""},
      {"proved, not on the ledger", record(1, BatchStatus::proved), {}, missing, ""},
      {"submitted, not on the ledger", record(1, BatchStatus::submitted), {}, missing, ""},
      {"created, not on the ledger", record(1, BatchStatus::created), {}, nothing, ""},
      {"failed, not on the ledger", record(1, BatchStatus::failed), {}, nothing, ""},
      {"failed before proving, not on the ledger", record(1, BatchStatus::failed, false), {}, nothing, ""},
      {"unknown batch on the ledger", std::nullopt, {on_ledger(1, 3)}, orphaned, ""},
      {"unknown batch on the ledger twice, differently", std::nullopt, {on_ledger(1, 3), on_ledger(1, 5, 1)}, orphaned, ""},
      {"confirmed locally, absent from the ledger", record(1, BatchStatus::confirmed), {}, mismatched, ""},
      {"submitted, ledger has another post_root", record(1, BatchStatus::submitted), {on_ledger(1, 3, 1)}, mismatched, ""},
      {"confirmed, ledger has another post_root", record(1, BatchStatus::confirmed), {on_ledger(1, 3, 1)}, mismatched, ""},
      {"submitted, ledger has another pre_root", record(1, BatchStatus::submitted), {other_pre}, mismatched, ""},
      {"submitted, ledger has another items_digest", record(1, BatchStatus::submitted), {other_digest}, mismatched, ""},
      {"submitted, ledger has other totals", record(1, BatchStatus::submitted), {other_totals}, mismatched, ""},
      {"ledger's inputs name another batch", record(1, BatchStatus::submitted), {misnamed}, mismatched, ""},
      {"created, yet settled on the ledger", record(1, BatchStatus::created), {on_ledger(1, 3)}, mismatched, ""},
      {"failed before proving, yet settled", record(1, BatchStatus::failed, false), {on_ledger(1, 3)}, mismatched, ""},
      {"the same settlement listed twice", record(1, BatchStatus::submitted), {on_ledger(1, 6), on_ledger(1, 5)}, confirmed, "1@5"},
      {"two different settlements, one ours", record(1, BatchStatus::submitted), {on_ledger(1, 3), on_ledger(1, 4, 1)}, mismatched, ""},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    std::map<Id128, BatchRecord> books;
    if (row.local) books.emplace(batch(1), *row.local);
    CHECK(render(reconcile(books, row.ledger)) == row.expected);
    CHECK(render(pending_confirmations(books, row.ledger)) == row.pending);
  }
}

TEST_CASE("AMixOfBatchesGivesSortedDisjointLists") {
  std::map<Id128, BatchRecord> books;
  books.emplace(batch(1), record(1, BatchStatus::confirmed));  // confirmed
  books.emplace(batch(2), record(2, BatchStatus::submitted));  // missing
  books.emplace(batch(3), record(3, BatchStatus::created));    // nothing
  books.emplace(batch(4), record(4, BatchStatus::submitted));  // mismatched
  books.emplace(batch(5), record(5, BatchStatus::proved));     // missing
  books.emplace(batch(6), record(6, BatchStatus::submitted));  // confirmed, pending
  books.emplace(batch(8), record(8, BatchStatus::failed));     // nothing
  books.emplace(batch(10), record(10, BatchStatus::proved));   // confirmed, pending
  // Out of order on purpose; 0, 7 and 12 are unknown to us.
  std::vector<LedgerSettlement> ledger{on_ledger(12, 20), on_ledger(10, 11), on_ledger(4, 5, 2), on_ledger(6, 9),
                                       on_ledger(0, 1),   on_ledger(1, 2),   on_ledger(7, 8)};
  CHECK(render(reconcile(books, ledger)) == "confirmed[1 6 10] missing[2 5] orphaned[0 7 12] mismatched[4]");
  CHECK(render(pending_confirmations(books, ledger)) == "6@9 10@11");
}

TEST_CASE("TheReportDependsOnlyOnTheBooksAndTheSetOfLedgerEntries") {
  // Seeded sweep: random books and ledgers; every shuffle of the ledger gives the same report,
  // and each id lands where a per-id model says.
  std::mt19937_64 rng(99);
  const BatchStatus statuses[] = {BatchStatus::created, BatchStatus::proved, BatchStatus::submitted,
                                  BatchStatus::confirmed, BatchStatus::failed};
  for (int round = 0; round < 200; ++round) {
    CAPTURE(round);
    std::map<Id128, BatchRecord> books;
    std::vector<LedgerSettlement> ledger;
    std::map<std::uint8_t, std::string> model;  // id -> expected category ("" = none)
    for (std::uint8_t n = 0; n < 40; ++n) {
      const bool known = rng() % 3 != 0;
      const BatchStatus status = statuses[rng() % 5];
      const bool proved = status != BatchStatus::created && !(status == BatchStatus::failed && rng() % 2);
      const int entries = static_cast<int>(rng() % 3);  // 0, 1 or 2 settlements on the ledger.
      bool ours = true, consistent = true;
      std::optional<std::uint8_t> first_variant;
      for (int e = 0; e < entries; ++e) {
        auto variant = static_cast<std::uint8_t>(rng() % 4 == 0 ? 1 + rng() % 2 : 0);
        if (first_variant && *first_variant != variant) consistent = false;
        if (!first_variant) first_variant = variant;
        if (variant != 0) ours = false;
        ledger.push_back(on_ledger(n, 1 + rng() % 50, variant));
      }
      if (known) books.emplace(batch(n), record(n, status, proved));
      std::string expected;
      if (!known) {
        expected = entries ? "orphaned" : "";
      } else if (entries == 0) {
        if (status == BatchStatus::proved || status == BatchStatus::submitted) expected = "missing";
        if (status == BatchStatus::confirmed) expected = "mismatched";
      } else {
        expected = consistent && ours && proved && status != BatchStatus::failed ? "confirmed" : "mismatched";
      }
      model[n] = expected;
    }
    const ReconciliationReport report = reconcile(books, ledger);
    std::map<std::uint8_t, std::string> got;
    for (auto [name, list] : {std::pair{"confirmed", &report.confirmed}, std::pair{"missing", &report.missing},
                              std::pair{"orphaned", &report.orphaned}, std::pair{"mismatched", &report.mismatched}}) {
      CHECK(std::is_sorted(list->begin(), list->end()));
      for (const auto& id : *list) {
        CHECK_FALSE(got.count(id[15]));  // In one list only, once.
        got[id[15]] = name;
      }
    }
    for (const auto& entry : model) {
      const int n = entry.first;  // Not a structured binding: CAPTURE's lambda captures it.
      CAPTURE(n);
      CHECK((got.count(entry.first) ? got[entry.first] : std::string()) == entry.second);
    }
    const std::string rendered = render(report);
    const std::string pending = render(pending_confirmations(books, ledger));
    for (int shuffle = 0; shuffle < 3; ++shuffle) {
      std::shuffle(ledger.begin(), ledger.end(), rng);
      CHECK(render(reconcile(books, ledger)) == rendered);
      CHECK(render(pending_confirmations(books, ledger)) == pending);
    }
  }
}

TEST_CASE("AConfirmedBatchWhoseSettlementLeftTheViewIsNotMismatchedButOthersStillAre") {
  // Hot and cold state: a confirmed batch may outlive its settlement tx in memory.
  std::map<Id128, BatchRecord> books;
  books.emplace(batch(1), record(1, BatchStatus::confirmed));  // Settlement forgotten.
  books.emplace(batch(2), record(2, BatchStatus::confirmed));  // Settlement not on the ledger at all.
  books.emplace(batch(3), record(3, BatchStatus::submitted));  // Missing, whatever the set says.
  const std::set<Id128> out_of_view{batch(1), batch(3)};
  auto r = reconcile(books, {}, out_of_view);
  CHECK(r.confirmed.empty());
  CHECK(r.mismatched == std::vector<Id128>{batch(2)});
  CHECK(r.missing == std::vector<Id128>{batch(3)});
  CHECK(r.orphaned.empty());
  // Without the set, the forgotten one is mismatched: the precondition is the caller's.
  CHECK(reconcile(books, {}).mismatched == std::vector<Id128>{batch(1), batch(2)});
}
