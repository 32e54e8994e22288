#pragma once
// The audit report of `croupier replay`, as text for people and as one JSON document
// whose field names are stable (documented in the README).

#include <nlohmann/json.hpp>
#include <ostream>

#include "eventlog/replay.hpp"

namespace croupier::tools {

struct AuditContext {
  std::string dir;
  Hash32 head_hash{};
  bool verified = false;
  double seconds = 0;
};

nlohmann::json audit_report_json(const eventlog::ReplayResult& r, const AuditContext& ctx);
void print_audit_report(std::ostream& os, const eventlog::ReplayResult& r, const AuditContext& ctx,
                        std::size_t max_accounts = 50);

}  // namespace croupier::tools
