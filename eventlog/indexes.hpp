#pragma once
// The log's indexes (log format 2) and what each event does to them. The writer runs
// update_indexes() inside the append's write transaction, so the ids deduplication depends
// on are exact after any crash; the audit runs the same function over entries it rebuilds
// from the events and compares them with the stored ones.
//
//   bet_index      key: bet_id[16]      value: TxEntry (88 bytes)
//   deposit_index  key: deposit_id[16]  value: TxEntry
//   batch_index    key: batch_id[16]    value: BatchEntry (32 bytes)
//   block_index    key: height u64 BE   value: seq u64 BE of its BlockCommitted
//
// Every key is a client's or the sequencer's time-ordered id, or a block height, so inserts
// and updates land near the end of their B-tree and the commit stays near-append. No index
// is keyed by a tx id (a hash, whose inserts would land on random pages, each costing a 4 KiB
// page write in a copy-on-write B-tree): a tx is found by its bet or deposit id, and the
// entry names where its life is in the log.
//
// TxEntry: tx_id[32] | admitted u64 LE | finalized u64 LE | resolved u64 LE | batch_id[16]
//   the seqs of its TxAdmitted, TxFinalized and (bets) BetResolved, 0 until they exist; the
//   batch that settles it, all zeros until then.
// BatchEntry: created | proved | submitted | last, each u64 LE: the seqs of its BatchCreated,
//   BatchProved, latest BatchSubmitted and latest Batch* event (0 until they exist).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/events.hpp"
#include "eventlog/record_format.hpp"

namespace croupier::eventlog {

struct TxEntry {
  Hash32 tx_id{};
  Seq admitted = 0, finalized = 0, resolved = 0;
  Id128 batch_id{};  // All zeros: in no batch yet.
  friend bool operator==(const TxEntry&, const TxEntry&) = default;
};
inline constexpr std::size_t kTxEntrySize = 32 + 8 + 8 + 8 + 16;

struct BatchEntry {
  Seq created = 0, proved = 0, submitted = 0, last = 0;
  friend bool operator==(const BatchEntry&, const BatchEntry&) = default;
};
inline constexpr std::size_t kBatchEntrySize = 32;

std::array<std::uint8_t, kTxEntrySize> encode_entry(const TxEntry& e);
std::array<std::uint8_t, kBatchEntrySize> encode_entry(const BatchEntry& e);
// nullopt when `bytes` has the wrong size.
std::optional<TxEntry> decode_tx_entry(ByteView bytes);
std::optional<BatchEntry> decode_batch_entry(ByteView bytes);

// Where update_indexes reads and writes entries.
class IndexStore {
 public:
  virtual ~IndexStore() = default;
  virtual std::optional<TxEntry> tx(TxKind kind, const Id128& id) = 0;
  // `fresh`: the entry must not exist yet (a TxAdmitted); the store refuses a duplicate.
  virtual void put_tx(TxKind kind, const Id128& id, const TxEntry& entry, bool fresh, Seq seq) = 0;
  virtual std::optional<BatchEntry> batch(const Id128& id) = 0;
  virtual void put_batch(const Id128& id, const BatchEntry& entry, Seq seq) = 0;
  virtual void put_block(std::uint64_t height, Seq seq) = 0;
  // An event names a bet or deposit that has no entry (its TxAdmitted is missing).
  virtual void missing(const std::string& what, Seq seq) = 0;
};

// What event `e`, at `seq`, does to the indexes. `known_tx_id`, when given, is tx_id() of a
// TxAdmitted's tx (saves hashing it again).
void update_indexes(IndexStore& store, const Event& e, Seq seq, const std::optional<Hash32>& known_tx_id = std::nullopt);

}  // namespace croupier::eventlog
