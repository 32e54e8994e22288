#pragma once
// The cryptographic half of an audit: checks that need no state beyond what the job
// carries, so the replay can run them on every core while it applies events in order.

#include <optional>
#include <string>
#include <variant>

#include "domain/projections.hpp"

namespace croupier::audit {

// TxAdmitted: the tx's signature (a settlement's is its proof; its witness is checked with its
// batch's BatchProved, the one event that holds it).
struct SignatureJob {
  Tx tx;
};
// BetResolved: the VRF proof over the bet's tx id with the house key, and the outcome.
struct VrfJob {
  PublicKey house_key{};
  Bet bet;
  BetResolved resolved;
};
// BatchProved: the batch proof, statelessly.
struct BatchProofJob {
  BatchProved proved;
};

struct Job {
  std::uint64_t seq = 0;
  std::variant<SignatureJob, VrfJob, BatchProofJob> check;
};

// The job for an event about to be applied to `p` (nullopt when it needs none).
std::optional<Job> job_for(const Projections& p, std::uint64_t seq, const Event& e);

// nullopt when the check passes, else what failed (for the audit report).
std::optional<std::string> run(const Job& job);

}  // namespace croupier::audit
