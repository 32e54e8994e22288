#include "domain/batch_step.hpp"

#include <ostream>

#include "domain/projections.hpp"

namespace croupier {

std::string_view settlement_state_name(SettlementState s) {
  switch (s) {
    case SettlementState::absent: return "absent";
    case SettlementState::undecided: return "undecided";
    case SettlementState::accepted: return "accepted";
    case SettlementState::rejected: return "rejected";
  }
  return "unknown";
}

BatchStep next_batch_step(const BatchProgress& b) {
  using K = BatchStep::Kind;
  if (b.status != BatchStatus::proved && b.status != BatchStatus::submitted) return {};
  const bool proved = b.status == BatchStatus::proved;
  switch (b.settlement) {
    case SettlementState::accepted:
      return BatchStep{K::confirm, proved ? b.attempts + 1 : 0, 0, b.height, {}};
    case SettlementState::undecided:
      if (proved) return BatchStep{K::submit, b.attempts + 1, 1, 0, {}};  // Alive: recorded at once.
      return BatchStep{K::wait, 0, 0, 0, {}};
    case SettlementState::absent:
    case SettlementState::rejected: break;
  }
  const std::uint32_t used = b.attempts + b.refusals;
  if (used < b.max_attempts) return BatchStep{K::submit, b.attempts + 1, used + 1, 0, {}};
  std::string reason = b.settlement == SettlementState::rejected
                           ? "the ledger rejected the settlement"
                           : "the ledger never admitted the settlement" +
                                 (b.last_refusal.empty() ? std::string() : " (" + b.last_refusal + ")");
  return BatchStep{K::fail, 0, 0, 0, reason + " after " + std::to_string(used) + " attempts"};
}

std::optional<BatchProgress> batch_progress(const Projections& p, const Id128& batch_id, std::uint32_t refusals,
                                            std::string last_refusal) {
  auto batch = p.batches.find(batch_id);
  if (batch == p.batches.end()) return std::nullopt;
  const BatchLifecycle& l = batch->second.lifecycle;
  BatchProgress b{l.status(), l.attempts(), l.max_attempts(), SettlementState::absent, 0, refusals,
                  std::move(last_refusal)};
  auto held = p.settlements.find(batch_id);
  if (held == p.settlements.end()) return b;
  auto tx = p.txs.find(held->second);
  if (tx == p.txs.end()) return b;  // Cannot be: apply() records both together.
  const TxRecord& r = tx->second;
  if (r.status == TxStatus::rejected) {
    b.settlement = SettlementState::rejected;
  } else if (r.status == TxStatus::accepted && r.block_height > 0) {
    b.settlement = SettlementState::accepted;
    b.height = r.block_height;
  } else {
    b.settlement = SettlementState::undecided;
  }
  return b;
}

std::ostream& operator<<(std::ostream& os, const BatchStep& s) {
  switch (s.kind) {
    case BatchStep::Kind::none: return os << "none";
    case BatchStep::Kind::wait: return os << "wait";
    case BatchStep::Kind::submit: return os << "submit(attempt " << s.attempt << ", submission " << s.submission << ")";
    case BatchStep::Kind::confirm: return os << "confirm(height " << s.height << ", record attempt " << s.attempt << ")";
    case BatchStep::Kind::fail: return os << "fail(" << s.reason << ")";
  }
  return os;
}

}  // namespace croupier
