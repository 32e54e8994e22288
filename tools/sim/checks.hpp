#pragma once
// The simulator's invariants over the state of the cluster's honest nodes that are up (a
// Byzantine node's own state is not checked; its lies are what the others must withstand).
// Each returns what it found (empty: holds).
//   1 acknowledged:  every bet a client was told is final and accepted is final, accepted and
//                    resolved the same on every honest node.
//   2 agreement:     no tx is accepted on one node and rejected on another; no two txs are
//                    accepted for one conflict key; with `converged`, every node also knows
//                    the same accepted txs and the same balances.
//   3 settlement:    no bet or deposit in two batches; no batch settled by two txs; money is
//                    conserved on every node, settled money too (check_invariants).
//   4 replay:        each node's log replays cleanly from its first event (hash chain,
//                    rules, signatures, VRF and batch proofs) to exactly its live state.
#include <string>
#include <vector>

#include "tools/sim/agenda.hpp"
#include "tools/sim/cluster.hpp"
#include "tools/sim/workload.hpp"

namespace croupier::sim {

std::vector<Finding> check_acknowledged(Cluster& cluster, const std::vector<AckedBet>& acked);
std::vector<Finding> check_agreement(Cluster& cluster, bool converged);
std::vector<Finding> check_settlement(Cluster& cluster, bool from_logs);
std::vector<Finding> check_replay(Cluster& cluster);

// What is left to do (nullopt: nothing): an honest node holding an undecided tx, something
// node 0 accepted and has not batched and settled, honest nodes knowing different numbers of
// accepted txs.
// With `rogue_exempt`, an undecided tx with a rival (another tx for its conflict key on an
// honest node) is not work left: Snowball promises liveness to virtuous txs only, and a
// Byzantine validator that always votes for the other side can hold a 2-2 split forever.
std::optional<std::string> work_left(Cluster& cluster, bool rogue_exempt);

// BLAKE2b-256 over every node's log head (sequence number and chain hash), in node order.
Hash32 cluster_digest(Cluster& cluster);

}  // namespace croupier::sim
