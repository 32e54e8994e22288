#pragma once
// Every state change in Croupier is one of these events, appended to the log before it
// takes effect. The payload of a log record is the cereal encoding of one event struct,
// starting with a format-version byte; the record's `type` is EventType (stable numbers,
// never reused or reordered).

#include <array>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/batch.hpp"
#include "domain/settlement.hpp"
#include "domain/transactions.hpp"
#include "domain/vrf.hpp"

namespace croupier {

// 2: TxFinalized names its tx's key and block height; a settlement's TxAdmitted leaves out
// the witness (its batch's BatchProved holds it). 3: a witness's proofs are encoded compactly
// (settlement::CompactProof); NodeStarted records `settles`. Logs of formats 1 and 2 are
// refused at open (eventlog/record_format.hpp).
inline constexpr std::uint8_t kEventFormatVersion = 3;

#define CROUPIER_EVENT_VERSION(ar, name)                 \
  std::uint8_t version = kEventFormatVersion;            \
  ar(version);                                           \
  expect_version(version, kEventFormatVersion, name)

// A node opened the log; names the keys in force from here on.
struct NodeStarted {
  Id128 node_id{};
  std::string version;        // Croupier version string.
  PublicKey operator_key{};   // Signs deposits.
  PublicKey house_key{};      // Makes VRF outcomes.
  PublicKey sequencer_key{};  // Signs settlement proofs.
  // Whether this node cuts and settles batches (one node of a cluster does). A node that
  // does not settle has nothing more to do with a tx once it is decided (and, for a bet,
  // resolved), so its memory forgets it then (domain/projections.hpp); the log says so, so
  // that a replay forgets exactly as the node did.
  bool settles = true;
  // Format 3 records `settles`; format 2 recorded `version`; format 1 serialized its format
  // byte where the version string belongs. Logs of both are refused at open, so NodeStarted is
  // read in the events' own format, like every other event. By hand, not with
  // CROUPIER_EVENT_VERSION: its local `version` would shadow the member (format 1's bug).
  template <class A> void serialize(A& ar) {
    std::uint8_t format = kEventFormatVersion;
    ar(format);
    expect_version(format, kEventFormatVersion, "NodeStarted");
    ar(node_id, version, operator_key, house_key, sequencer_key, settles);
  }
};

// A transaction passed admission (signature, nonce, funds, idempotency). A settlement is
// stored without its witness: a batch's witness is in one event only, its BatchProved (the
// settlement's tx id and signature leave the witness out; apply() keeps none either).
struct TxAdmitted {
  Tx tx;
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "TxAdmitted");
    if constexpr (A::is_saving::value) {
      if (const auto* s = std::get_if<Settlement>(&tx); s && s->witness != settlement::Witness{}) {
        Tx bare = Settlement{s->inputs, s->sequencer_key, s->proof, {}};
        ar(bare);
        return;
      }
    }
    ar(tx);
  }
};

// What a tx is found by: its kind and its idempotency id (a bet's bet_id, a deposit's
// deposit_id, a settlement's batch_id).
struct TxKey {
  TxKind kind = TxKind::bet;
  Id128 id{};
  friend bool operator==(const TxKey&, const TxKey&) = default;
  template <class A> void serialize(A& ar) { ar(kind, id); }
};
TxKey tx_key(const Tx& tx);

// Consensus decided a transaction. It names the tx's key and, when accepted, the height of
// the block that commits it (the BlockCommitted after it in the same commit), so that the
// log's indexes follow a tx from this event alone. Make one with finalized().
struct TxFinalized {
  Hash32 tx_id{};
  bool accepted = false;
  std::uint64_t block_height = 0;  // Accepted: the committing block's height; rejected: 0.
  TxKey key;
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "TxFinalized");
    ar(tx_id, accepted, block_height, key);
  }
};
TxFinalized finalized(const Hash32& tx_id, const Tx& tx, bool accepted, std::uint64_t block_height);

// A block of accepted transactions. hash = block_hash(height, prev_hash, time_ms, tx_ids).
struct BlockCommitted {
  std::uint64_t height = 0;
  Hash32 prev_hash{};
  Hash32 hash{};
  std::vector<Hash32> tx_ids;
  std::uint64_t time_ms = 0;
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "BlockCommitted");
    ar(height, prev_hash, hash, tx_ids, time_ms);
  }
};
Hash32 block_hash(std::uint64_t height, const Hash32& prev_hash, std::uint64_t time_ms,
                  const std::vector<Hash32>& tx_ids);

// A committed bet's outcome: vrf_proof is ECVRF(house key, alpha = tx_id).
struct BetResolved {
  Hash32 tx_id{};
  Id128 bet_id{};
  std::uint8_t roll = 0;
  bool win = false;
  Amount payout = 0;
  vrf::Proof vrf_proof{};
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "BetResolved");
    ar(tx_id, bet_id, roll, win, payout, vrf_proof);
  }
};

struct BatchCreated {
  Id128 batch_id{};
  std::vector<settlement::Item> items;
  std::uint32_t max_attempts = 5;
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "BatchCreated");
    ar(batch_id, items, max_attempts);
  }
};

struct BatchProved {
  Id128 batch_id{};
  settlement::PublicInputs inputs;
  settlement::Witness witness;
  PublicKey sequencer_key{};
  Signature proof{};
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "BatchProved");
    ar(batch_id, inputs, witness, sequencer_key, proof);
  }
};

struct BatchSubmitted {
  Id128 batch_id{};
  std::uint32_t attempt = 0;
  Hash32 settlement_tx_id{};
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "BatchSubmitted");
    ar(batch_id, attempt, settlement_tx_id);
  }
};

struct BatchConfirmed {
  Id128 batch_id{};
  std::uint64_t height = 0;
  template <class A> void serialize(A& ar) { CROUPIER_EVENT_VERSION(ar, "BatchConfirmed"); ar(batch_id, height); }
};

struct BatchFailed {
  Id128 batch_id{};
  std::string reason;
  template <class A> void serialize(A& ar) { CROUPIER_EVENT_VERSION(ar, "BatchFailed"); ar(batch_id, reason); }
};

struct ReconciliationReport {
  std::vector<Id128> confirmed, missing, orphaned, mismatched;
  template <class A> void serialize(A& ar) {
    CROUPIER_EVENT_VERSION(ar, "ReconciliationReport");
    ar(confirmed, missing, orphaned, mismatched);
  }
};

// The projections as of `snapshot_seq` were stored in the snapshots table; `digest` is
// BLAKE2b-256 of that blob, so the hash chain vouches for the snapshot.
struct SnapshotTaken {
  std::uint64_t snapshot_seq = 0;
  Hash32 digest{};
  template <class A> void serialize(A& ar) { CROUPIER_EVENT_VERSION(ar, "SnapshotTaken"); ar(snapshot_seq, digest); }
};

#undef CROUPIER_EVENT_VERSION

using Event = std::variant<NodeStarted, TxAdmitted, TxFinalized, BlockCommitted, BetResolved, BatchCreated,
                           BatchProved, BatchSubmitted, BatchConfirmed, BatchFailed, ReconciliationReport,
                           SnapshotTaken>;

// Stable on-disk type numbers: variant index + 1. Append new types at the end only.
enum class EventType : std::uint16_t {
  node_started = 1, tx_admitted, tx_finalized, block_committed, bet_resolved, batch_created,
  batch_proved, batch_submitted, batch_confirmed, batch_failed, reconciliation_report, snapshot_taken,
};
inline constexpr std::size_t kEventTypeCount = std::variant_size_v<Event>;
static_assert(static_cast<std::size_t>(EventType::snapshot_taken) == kEventTypeCount);

EventType event_type(const Event& e);
// The batch a Batch* event names; nullopt for any other event.
std::optional<Id128> batch_id_of(const Event& e);
std::string_view event_type_name(EventType t);
std::optional<EventType> event_type_from_number(std::uint16_t n);

Bytes encode_event(const Event& e);
void encode_event_into(Bytes& out, const Event& e);
// Throws DecodeError for an unknown type, a truncated or over-long payload.
Event decode_event(std::uint16_t type, ByteView payload);


}  // namespace croupier
