#pragma once
// The on-disk layout of the event log, shared by the writer and every reader.
//
// LMDB environment (one per node), named databases:
//   events         key: seq u64 big-endian (so keys sort by seq; appends use MDB_APPEND)
//                  value: record (below)
//   bet_index, deposit_index, batch_index, block_index: see eventlog/indexes.hpp
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

// 2: no tx-id index; bet, deposit and batch index entries name where each one's life is
// in the log; a block index. 3: events and snapshots of format 3 (domain/events.hpp): compact
// witness proofs, and NodeStarted says whether the node settles. Formats 1 and 2 are refused.
inline constexpr std::uint32_t kLogFormatVersion = 3;
inline constexpr std::uint8_t kRecordVersion = 1;
inline constexpr std::size_t kRecordHeaderSize = 1 + 32 + 32 + 8 + 2;
static_assert(kRecordHeaderSize == 75, "record header layout changed: bump kRecordVersion");

Hash32 record_hash(const Hash32& prev_hash, Seq seq, std::uint64_t time_ms, std::uint16_t type, ByteView payload);

}  // namespace croupier::eventlog
