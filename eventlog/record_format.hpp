#pragma once
// The on-disk layout of the event log, shared by the writer and every reader.
//
// LMDB environment (one per node), named databases:
//   events         key: seq u64 big-endian (so keys sort by seq; appends use MDB_APPEND)
//                  value: record (below)
//   tx_index       key: tx_id[32]       value: seq u64 BE of its TxAdmitted
//   bet_index      key: bet_id[16]      value: seq u64 BE of its TxAdmitted
//   deposit_index  key: deposit_id[16]  value: seq u64 BE of its TxAdmitted
//   batch_index    key: batch_id[16]    value: seq u64 BE of its latest Batch* event
//   snapshots      key: seq u64 BE      value: snapshot blob (projections as of seq)
//   meta           "format_version" -> u32 LE (kLogFormatVersion); "node_id" -> 16 bytes;
//                  "head" -> seq u64 BE | hash[32] of the last record, written by every commit
//
// record := version u8 (=1) | prev_hash[32] | hash[32] | time_ms u64 LE | type u16 LE | payload
// hash   := BLAKE2b-256(prev_hash || seq u64 BE || time_ms u64 LE || type u16 LE || payload)
// The first record's prev_hash is 32 zero bytes. Sequence numbers start at 1 and have no gaps.

#include <cstdint>

#include "domain/crypto.hpp"

namespace croupier::eventlog {

using Seq = std::uint64_t;

inline constexpr std::uint32_t kLogFormatVersion = 1;
inline constexpr std::uint8_t kRecordVersion = 1;
inline constexpr std::size_t kRecordHeaderSize = 1 + 32 + 32 + 8 + 2;
static_assert(kRecordHeaderSize == 75, "record header layout changed: bump kRecordVersion");

Hash32 record_hash(const Hash32& prev_hash, Seq seq, std::uint64_t time_ms, std::uint16_t type, ByteView payload);

}  // namespace croupier::eventlog
