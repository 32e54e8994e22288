#pragma once
// What the journal's tests (journal_test, journal_state_test) share: a fresh log, the seqs an
// append should get, and a check that the log holds exactly some events.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "actors/journal.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::test {

// A fresh log in `dir`, not durable (the tests do not survive power losses, only kills).
inline std::shared_ptr<eventlog::EventLog> open_log(const std::filesystem::path& dir) {
  eventlog::Options o;
  o.dir = dir;
  o.durable = false;
  return std::shared_ptr<eventlog::EventLog>(eventlog::EventLog::open(o));
}

// from, from + 1, ..., count of them.
inline actors::Seqs seq_range(std::uint64_t from, std::size_t count) {
  actors::Seqs out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = from + i;
  return out;
}

// The log holds exactly `expected`, from seq 1.
inline void check_log_holds(const eventlog::EventLog& log, const std::vector<Event>& expected) {
  REQUIRE(log.head_seq() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto rec = log.read(i + 1);
    REQUIRE(rec);
    CHECK(rec->type == static_cast<std::uint16_t>(event_type(expected[i])));
    CHECK(rec->payload == encode_event(expected[i]));
  }
}

}  // namespace croupier::test
