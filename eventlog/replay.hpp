#pragma once
// Rebuilds the projections from the log and audits it: the whole hash chain, every
// event's structural rules (domain apply), the conservation invariants and, with
// `verify`, every signature, VRF proof and batch proof on all cores.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/projections.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::eventlog {

struct ReplayOptions {
  // nullopt: start from the newest snapshot; 0: from the first event; N: from the newest
  // snapshot at or below N.
  std::optional<Seq> from;
  bool verify = false;     // Run the cryptographic checks (signatures, VRF, batch proofs).
  unsigned threads = 0;    // Verification threads; 0 = one per core.
  // With a snapshot: check the hash chain from the snapshot's record only (a node's start;
  // its cost then follows the events after the snapshot, not the history). Otherwise the
  // chain is checked from the first event, as an audit must.
  bool chain_from_snapshot = false;
  // Called every 1024 records with (records done, records to read); for progress lines.
  std::function<void(Seq, Seq)> progress;
  // The public keys the audit expects every NodeStarted to name, from outside the log
  // (the operator's published keys, or DIR/keys). When unset, the keys of the first
  // NodeStarted are used; either way every later change of keys is reported.
  struct Keys {
    PublicKey operator_key{}, house_key{}, sequencer_key{};
  };
  std::optional<Keys> expected_keys;
  // Finished txs and ended batches the result keeps (domain/projections.hpp); the rest are
  // forgotten as the replay goes, so that memory stays bounded on a long log.
  std::size_t recent_txs = kRecentTxs, recent_batches = kRecentBatches;
};

struct Problem {
  Seq seq = 0;          // The record to blame (the head for whole-state invariants).
  std::string kind;     // corrupt_record, broken_chain, unknown_format, io, decode, rule, crypto,
                        // snapshot, keys, empty, invariant.
  std::string message;
};

struct ReplayResult {
  Projections projections;
  Seq head = 0;
  Seq snapshot_seq = 0;          // The snapshot the projections started from (0: none).
  std::uint64_t records_scanned = 0;  // Records whose hash and chain link were checked.
  std::uint64_t events_applied = 0;
  std::uint64_t crypto_checks = 0;
  // The indexes were compared with the events: a replay from the first event whose every
  // record was read intact (against damaged records they cannot be judged, and are not).
  bool indexes_checked = false;
  std::vector<Problem> problems; // Sorted by seq.
  bool clean() const { return problems.empty(); }
};

ReplayResult replay(const EventLog& log, const ReplayOptions& options);

}  // namespace croupier::eventlog
