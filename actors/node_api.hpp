#pragma once
// What the HTTP gateway (and any other front end) needs from a running node, without CAF:
// submitting a transaction and waiting for its finality, reading the projections, and the
// metrics text. The node implements it on top of its actors (actors/node.hpp); tests can
// implement it with a fake.
//
// Thread safety: every member may be called from any thread at any time. Callbacks run on
// one of the node's threads (never inside the caller's call), exactly once each.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/events.hpp"
#include "domain/projections.hpp"
#include "domain/receipt.hpp"
#include "domain/vrf.hpp"

namespace croupier::actors {

// The answer to a submitted transaction.
struct SubmitOutcome {
  enum class Kind {
    admitted,     // Newly admitted (TxAdmitted is durable). See `final`.
    duplicate,    // The identical tx was already known; nothing was created. See `final`.
    conflict,     // Its idempotency key (bet_id, deposit_id, batch_id) is held by another tx: 409.
    refused,      // Not admissible: `code` (refusal_code_name: bad_signature, wrong_nonce, ...).
    busy,         // The mempool is full: 503 with Retry-After (`retry_after_ms`).
    unavailable,  // The node is stopping or its journal failed: 503; `message` says why.
  };
  Kind kind = Kind::refused;
  Hash32 tx_id{};  // admitted/duplicate: the tx; conflict: the tx holding the key.
  bool final = false;  // admitted/duplicate: the tx is decided and in a block (or rejected)
                       // by the time of the answer; false means still pending at the deadline.
  std::string code;     // refused: stable code; unavailable: "unavailable".
  std::string message;  // For people.
  std::uint64_t retry_after_ms = 0;  // busy.
};

// Thrown by the reads of a node whose journal failed (it is stopping): its memory may hold
// what never reached the disk. The gateway answers 503.
struct NodeUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A resolved bet's ECVRF proof and its output, beta = proof_to_hash(proof).
struct BetProof {
  vrf::Proof proof{};
  vrf::Output output{};
};

// A bet or deposit read from the log (eventlog/cold.hpp's, without the dependency).
struct ColdTx {
  Hash32 tx_id{};
  TxRecord record;
  std::optional<BatchStatus> batch_status;
};

// One durable event of the log, decoded: what the event feed (GET /v1/events) sends.
struct LoggedEvent {
  std::uint64_t seq = 0;
  std::uint64_t time_ms = 0;  // When the journal appended it (the record's time).
  Event event;
};

// A page of the log for the event feed: the events of the wanted types among the records
// after `after`, and how far the read went (the next page starts after `read_to`, which may
// pass the last event when records of other types were skipped).
struct EventPage {
  std::vector<LoggedEvent> events;
  std::uint64_t read_to = 0;
};

// Which event types a feed wants: bit (type number - 1); all ones is every type.
using EventTypeMask = std::uint32_t;
inline constexpr EventTypeMask kEveryEventType = ~EventTypeMask{0};

struct NodeHealth {
  bool ready = false;        // Accepting transactions.
  std::string status;        // "ok", "starting", "stopping", "journal_failed: ...".
  std::uint64_t log_head = 0;
  std::uint64_t block_height = 0;
  std::uint64_t mempool_size = 0;
  PublicKey node_key{};      // Signs receipts' block headers (signed_block).
};

class NodeApi {
 public:
  virtual ~NodeApi() = default;

  // Admits `tx` (idempotent by bet_id/deposit_id), then, for admitted or duplicate txs and
  // wait > 0, waits until the tx is final (decided and, if accepted, committed in a block
  // with its outcome) or `wait` has passed. `done` gets the outcome.
  virtual void submit(Tx tx, std::chrono::milliseconds wait, std::function<void(SubmitOutcome)> done) = 0;

  // Runs `reader` with the node's projections, read-locked: keep it short and do not call
  // back into the node from it.
  virtual void read(const std::function<void(const Projections&)>& reader) const = 0;

  // Prometheus text exposition of the node's metrics.
  virtual void metrics(std::function<void(std::string)> done) = 0;

  virtual NodeHealth health() const = 0;

  // Cold state: a bet or deposit the projections have forgotten (domain/projections.hpp),
  // rebuilt from the log as they held it, with its batch's status; a batch, the same way;
  // the status of a batch. nullopt when the log holds no such thing.
  virtual std::optional<ColdTx> cold_tx(TxKind kind, const Id128& id) const = 0;
  virtual std::optional<BatchRecord> cold_batch(const Id128& batch_id) const = 0;
  virtual std::optional<BatchStatus> cold_batch_status(const Id128& batch_id) const = 0;

  // The committed block at `height` (1..head), read from the log; nullopt beyond the head.
  virtual std::optional<BlockCommitted> block(std::uint64_t height) const = 0;

  // The committed block at `height`, its header signed by the node's key, with its tx tree:
  // what a finality receipt shows (domain/receipt.hpp). nullptr beyond the head. Shared and
  // immutable; the node keeps the most recent ones asked about.
  virtual std::shared_ptr<const receipt::SignedBlock> signed_block(std::uint64_t height) const = 0;

  // The public key that signs receipts' block headers.
  virtual PublicKey node_key() const = 0;

  // The VRF proof of a resolved bet and its output (from the committer's recent outcomes, else
  // from its BetResolved event in the log, found through the bet's index entry: the
  // projections keep only the outcome); nullopt when `tx_id` (of bet `bet_id`) names no
  // resolved bet. The gateway shows them as `vrf_proof` and
  // `vrf_output` so that players can check their outcome.
  virtual std::optional<BetProof> bet_proof(const Hash32& tx_id, const Id128& bet_id) const = 0;

  // Durable events after seq `after`, in log order, of the types in `types`: at most
  // `max_events` of them, reading at most `max_records` records (so that a feed of a rare type
  // makes progress in bounded steps). Read from the log in one read transaction of its own,
  // holding none of the node's locks; every record the log holds is durable. The page is
  // empty (read_to == after) when nothing follows `after`.
  virtual EventPage events_after(std::uint64_t after, EventTypeMask types, std::size_t max_events,
                                 std::size_t max_records) const = 0;
};

}  // namespace croupier::actors
