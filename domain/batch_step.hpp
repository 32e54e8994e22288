#pragma once
// The submitter's decision for a settlement batch: what to do next, from the batch's
// lifecycle and the consensus state of its settlement transaction on the ledger.
//
// A batch's settlement tx is deterministic (the sequencer's Ed25519 signature is), so every
// submission of a batch is the same tx. While that tx is alive (admitted, its vote running)
// a resubmission changes nothing: it is not an attempt, and the batch is never failed. An
// attempt is a submission that found the tx not alive: never admitted yet (the mempool
// refused it, or it was never sent), or decided rejected. `Failed` means that after the
// batch's last attempt the ledger had rejected, or never admitted, the settlement.
//
//   batch                settlement tx          attempts used        step
//   created              -                      -                    none (the prover's work)
//   confirmed | failed   -                      -                    none (terminal)
//   proved | submitted   accepted, in block h   -                    confirm at h (a proved
//                                                                    batch records its
//                                                                    submission first)
//   proved               admitted, undecided    -                    submit (records the alive
//                                                                    tx as attempt 1: no wait)
//   submitted            admitted, undecided    -                    wait
//   proved | submitted   absent or rejected     used < max_attempts  submit the next attempt
//   proved | submitted   absent or rejected     used >= max          fail
// where attempts used = the attempts recorded (BatchSubmitted) + the submissions the mempool
// refused since the submitter took the batch up (those leave no event: nothing was
// admitted). A tx accepted but not yet in a block counts as undecided (the committer records
// both in one commit, so it is never seen).
//
// Pure: no clock, no I/O. batch_progress() reads the projections.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "domain/batch.hpp"
#include "domain/ids.hpp"

namespace croupier {

struct Projections;

enum class SettlementState : std::uint8_t {
  absent = 1,     // No settlement tx of the batch is admitted.
  undecided = 2,  // Admitted, its vote running (or accepted and not yet in a block).
  accepted = 3,   // Accepted and committed in a block.
  rejected = 4,   // Decided rejected.
};
std::string_view settlement_state_name(SettlementState s);

struct BatchProgress {
  BatchStatus status = BatchStatus::created;
  std::uint32_t attempts = 0;      // Recorded (BatchLifecycle::attempts).
  std::uint32_t max_attempts = 1;  // BatchLifecycle::max_attempts.
  SettlementState settlement = SettlementState::absent;
  std::uint64_t height = 0;        // settlement == accepted: the block that committed it.
  std::uint32_t refusals = 0;      // Submissions the mempool refused (not recorded).
  std::string last_refusal;        // The latest refusal's message, for the failure's reason.
};

struct BatchStep {
  enum class Kind : std::uint8_t { none, wait, submit, confirm, fail };
  Kind kind = Kind::none;
  std::uint32_t attempt = 0;     // submit: the attempt to record once admitted; confirm: the
                                 // attempt to record first (0: the batch is submitted already).
  std::uint32_t submission = 0;  // submit: the submission's number, refusals included (1 = the
                                 // first, sent at once; later ones wait their backoff).
  std::uint64_t height = 0;      // confirm.
  std::string reason;            // fail: for the operator (BatchFailed::reason).
  friend bool operator==(const BatchStep&, const BatchStep&) = default;
};
std::ostream& operator<<(std::ostream& os, const BatchStep& s);  // "submit(attempt 2, submission 3)"

// See the header comment.
[[nodiscard]] BatchStep next_batch_step(const BatchProgress& progress);

// The batch's progress as the projections hold it (its settlement tx found by batch id), with
// the submitter's own count of refusals; nullopt when the batch is unknown.
[[nodiscard]] std::optional<BatchProgress> batch_progress(const Projections& p, const Id128& batch_id,
                                                          std::uint32_t refusals = 0, std::string last_refusal = {});

}  // namespace croupier
