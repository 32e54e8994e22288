#pragma once
// What the log's indexes should hold for a list of events (the writer's own
// update_indexes() over plain maps), and how many entries of a log differ from it.
#include <vector>

#include "eventlog/event_log.hpp"

namespace croupier::test {

// The indexes of `events` appended from seq `first` on.
inline eventlog::MemoryIndexes indexes_of(const std::vector<Event>& events, eventlog::Seq first = 1) {
  eventlog::MemoryIndexes m;
  for (std::size_t i = 0; i < events.size(); ++i) eventlog::update_indexes(m, events[i], first + i);
  return m;
}

// Entries of `expected` the log holds otherwise (or not at all).
inline std::size_t index_mismatches(const eventlog::EventLog& log, const eventlog::MemoryIndexes& expected) {
  std::size_t wrong = 0;
  for (const auto& [id, e] : expected.bets) wrong += log.find_bet(id) != e;
  for (const auto& [id, e] : expected.deposits) wrong += log.find_deposit(id) != e;
  for (const auto& [id, e] : expected.batches) wrong += log.find_batch(id) != e;
  for (const auto& [height, seq] : expected.blocks) wrong += log.find_block(height) != seq;
  return wrong;
}

}  // namespace croupier::test
