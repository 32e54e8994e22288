// The submitter's decision for a batch (domain/batch_step.hpp): one row per line of the
// header's table, and the edges around max_attempts; then batch_progress() reads the
// settlement tx's state from real projections.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "domain/batch_step.hpp"
#include "domain/projections.hpp"
#include "tools/ledger_generator.hpp"

using namespace croupier;
using S = SettlementState;
using K = BatchStep::Kind;

namespace {

std::string step_text(const BatchStep& s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

}  // namespace

TEST_CASE("NextBatchStepFollowsTheTable") {
  struct Row {
    const char* name;
    BatchProgress in;
    const char* expected;
  };
  const std::vector<Row> rows{
      {"created: the prover's", {BatchStatus::created, 0, 5, S::absent, 0, 0, ""}, "none"},
      {"confirmed is terminal", {BatchStatus::confirmed, 1, 5, S::accepted, 3, 0, ""}, "none"},
      {"failed is terminal, even if the ledger accepted it", {BatchStatus::failed, 5, 5, S::accepted, 9, 0, ""}, "none"},
      {"proved, nothing sent yet: the first submission, at once", {BatchStatus::proved, 0, 5, S::absent, 0, 0, ""},
       "submit(attempt 1, submission 1)"},
      {"proved, alive (admitted before a crash): recorded at once", {BatchStatus::proved, 0, 5, S::undecided, 0, 0, ""},
       "submit(attempt 1, submission 1)"},
      {"proved, accepted: the submission is recorded, then confirmed", {BatchStatus::proved, 0, 5, S::accepted, 7, 0, ""},
       "confirm(height 7, record attempt 1)"},
      {"submitted, alive: wait", {BatchStatus::submitted, 1, 5, S::undecided, 0, 0, ""}, "wait"},
      {"submitted at the last attempt, alive: still wait, never fail", {BatchStatus::submitted, 5, 5, S::undecided, 0, 0, ""},
       "wait"},
      {"submitted, accepted: confirm", {BatchStatus::submitted, 2, 5, S::accepted, 12, 0, ""},
       "confirm(height 12, record attempt 0)"},
      {"submitted at the last attempt, accepted: confirm", {BatchStatus::submitted, 5, 5, S::accepted, 4, 0, ""},
       "confirm(height 4, record attempt 0)"},
      {"submitted, rejected: the next attempt", {BatchStatus::submitted, 1, 5, S::rejected, 0, 0, ""},
       "submit(attempt 2, submission 2)"},
      {"rejected at the last attempt: fail", {BatchStatus::submitted, 5, 5, S::rejected, 0, 0, ""},
       "fail(the ledger rejected the settlement after 5 attempts)"},
      {"refused twice: the third submission is attempt 1", {BatchStatus::proved, 0, 5, S::absent, 0, 2, "bad_proof"},
       "submit(attempt 1, submission 3)"},
      {"never admitted after the last attempt: fail", {BatchStatus::proved, 0, 3, S::absent, 0, 3, "bad_proof: no"},
       "fail(the ledger never admitted the settlement (bad_proof: no) after 3 attempts)"},
      {"refusals and rejections add up", {BatchStatus::submitted, 2, 3, S::rejected, 0, 1, "busy"},
       "fail(the ledger rejected the settlement after 3 attempts)"},
      {"one attempt allowed, rejected", {BatchStatus::submitted, 1, 1, S::rejected, 0, 0, ""},
       "fail(the ledger rejected the settlement after 1 attempts)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(step_text(next_batch_step(row.in)) == row.expected);
  }
}

TEST_CASE("ABatchIsNeverFailedWhileItsSettlementIsAliveWhateverItsCounts") {
  for (std::uint32_t max = 1; max <= 6; ++max)
    for (std::uint32_t attempts = 1; attempts <= max; ++attempts)
      for (std::uint32_t refusals = 0; refusals <= 8; ++refusals) {
        BatchProgress b{BatchStatus::submitted, attempts, max, S::undecided, 0, refusals, "x"};
        CHECK(next_batch_step(b).kind == K::wait);
        b.settlement = S::accepted;
        b.height = 3;
        CHECK(next_batch_step(b).kind == K::confirm);
        b.settlement = S::rejected;
        const auto step = next_batch_step(b);
        CHECK(step.kind == (attempts + refusals < max ? K::submit : K::fail));
        if (step.kind == K::submit) CHECK(step.attempt == attempts + 1);  // Never beyond max.
      }
}

TEST_CASE("BatchProgressReadsTheSettlementTxOfTheBatch") {
  tools::LedgerOptions o;
  o.accounts = 2;
  o.real_crypto = false;
  o.batch_size = 4;
  tools::LedgerGenerator gen(o);
  auto events = gen.genesis();
  gen.bets(9, events);
  const Projections& p = gen.state();
  REQUIRE_FALSE(p.batches.empty());
  // The generator confirms its batches: each one's settlement is accepted in a block.
  for (const auto& [id, batch] : p.batches) {
    auto b = batch_progress(p, id, 2, "why");
    REQUIRE(b);
    CHECK(b->status == batch.lifecycle.status());
    CHECK(b->refusals == 2);
    CHECK(b->last_refusal == "why");
    if (p.settlements.contains(id)) {
      const auto& r = p.txs.at(p.settlements.at(id));
      CHECK(b->settlement == (r.status == TxStatus::accepted ? S::accepted : S::undecided));
      if (b->settlement == S::accepted) CHECK(b->height == r.block_height);
    } else {
      CHECK(b->settlement == S::absent);
    }
  }
  CHECK_FALSE(batch_progress(p, Id128{0x77}).has_value());
}
