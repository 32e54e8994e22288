#pragma once
// The audit report of `croupier replay`, as text for people and as one JSON document
// whose field names are stable (documented in the README).

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "eventlog/replay.hpp"

namespace croupier::tools {

// Where the node keys the audit expects came from (JSON `log.keys_source`).
inline constexpr const char* kKeysFromOptions = "options";     // --operator-key/--house-key/--sequencer-key
inline constexpr const char* kKeysFromKeyFiles = "key files";  // DIR/keys/*.seed
inline constexpr const char* kKeysFromLog = "log";             // the first NodeStarted: nothing outside checked

struct AuditContext {
  std::string dir;
  Hash32 head_hash{};
  bool verified = false;
  double seconds = 0;
  std::string keys_source = kKeysFromLog;
};

nlohmann::json audit_report_json(const eventlog::ReplayResult& r, const AuditContext& ctx);
void print_audit_report(std::ostream& os, const eventlog::ReplayResult& r, const AuditContext& ctx,
                        std::size_t max_accounts = 50);

// The report when the audit could not finish because reading the log crashed (the storage
// is damaged): no projections, only `problem` (kind corrupt_storage). `head` is the head
// the audit saw before it crashed, when it got that far. The JSON has the normal report's
// shape with only log.{dir, head_seq (when known), verified, keys_source, seconds},
// problems and clean (false).
nlohmann::json audit_crash_report_json(const eventlog::Problem& problem, std::optional<eventlog::Seq> head,
                                       const AuditContext& ctx);
void print_audit_crash_report(std::ostream& os, const eventlog::Problem& problem, std::optional<eventlog::Seq> head,
                              const AuditContext& ctx);

}  // namespace croupier::tools
