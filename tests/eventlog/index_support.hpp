#pragma once
// What the log's indexes should hold for a list of events (the writer's own
// update_indexes() over plain maps), and how many entries of a log differ from it.
#include <map>
#include <unordered_map>
#include <vector>

#include "eventlog/event_log.hpp"
#include "eventlog/indexes.hpp"

namespace croupier::test {

// The indexes as plain maps: what the writer's update_indexes() makes of the events. A
// duplicate admission keeps the first entry; a missing one is ignored (apply() reports both).
struct MemoryIndexes : eventlog::IndexStore {
  std::unordered_map<Id128, eventlog::TxEntry, BytesHash> bets, deposits;
  std::unordered_map<Id128, eventlog::BatchEntry, BytesHash> batches;
  std::map<std::uint64_t, eventlog::Seq> blocks;  // Height -> seq (the latest, as the log keeps it).

  std::optional<eventlog::TxEntry> tx(TxKind kind, const Id128& id) override {
    auto& m = kind == TxKind::bet ? bets : deposits;
    auto it = m.find(id);
    return it == m.end() ? std::nullopt : std::optional<eventlog::TxEntry>(it->second);
  }
  void put_tx(TxKind kind, const Id128& id, const eventlog::TxEntry& entry, bool fresh, eventlog::Seq) override {
    auto& m = kind == TxKind::bet ? bets : deposits;
    if (fresh) m.try_emplace(id, entry);
    else m[id] = entry;
  }
  std::optional<eventlog::BatchEntry> batch(const Id128& id) override {
    auto it = batches.find(id);
    return it == batches.end() ? std::nullopt : std::optional<eventlog::BatchEntry>(it->second);
  }
  void put_batch(const Id128& id, const eventlog::BatchEntry& entry, eventlog::Seq) override { batches[id] = entry; }
  void put_block(std::uint64_t height, eventlog::Seq seq) override { blocks[height] = seq; }
  void missing(const std::string&, eventlog::Seq) override {}
};

// The indexes of `events` appended from seq `first` on.
inline MemoryIndexes indexes_of(const std::vector<Event>& events, eventlog::Seq first = 1) {
  MemoryIndexes m;
  for (std::size_t i = 0; i < events.size(); ++i) eventlog::update_indexes(m, events[i], first + i);
  return m;
}

// Entries of `expected` the log holds otherwise (or not at all).
inline std::size_t index_mismatches(const eventlog::EventLog& log, const MemoryIndexes& expected) {
  std::size_t wrong = 0;
  for (const auto& [id, e] : expected.bets) wrong += log.find_bet(id) != e;
  for (const auto& [id, e] : expected.deposits) wrong += log.find_deposit(id) != e;
  for (const auto& [id, e] : expected.batches) wrong += log.find_batch(id) != e;
  for (const auto& [height, seq] : expected.blocks) wrong += log.find_block(height) != seq;
  return wrong;
}

}  // namespace croupier::test
