#pragma once
// What the inspector shows of the projections and of the log, as JSON: pure functions of
// values, so that they are tested without a node (the inspector takes the locks and reads
// the log, then calls these).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "domain/events.hpp"
#include "domain/projections.hpp"

namespace croupier::actors::views {

// One log record: {"seq", "time_ms", "type", "summary"}; summary is one line for people
// (ids in full hex, amounts in minor units).
nlohmann::ordered_json event_json(std::uint64_t seq, std::uint64_t time_ms, const Event& event);

// The newest `limit` batches (by id, which is creation order), newest first, optionally
// only those in `status`: {"total", "shown", "batches": [{batch_id, status, items,
// attempts, max_attempts, settlement_tx_id}]}. `total` counts the batches that match.
nlohmann::ordered_json batches_json(const Projections& p, std::optional<BatchStatus> status, std::size_t limit);

// "created", "proved", "submitted", "confirmed", "failed" (as batch_status_name).
std::optional<BatchStatus> parse_batch_status(std::string_view name);

// A tx as the projections know it: {"tx_id", "kind", "status", "final", "block_height",
// "bet_id"/"deposit_id"/"batch_id" as they apply, "outcome"}.
nlohmann::ordered_json tx_json(const Hash32& tx_id, const TxRecord& record);

}  // namespace croupier::actors::views
