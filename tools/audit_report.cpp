#include "tools/audit_report.hpp"

#include <algorithm>
#include <filesystem>
#include <iomanip>

namespace croupier::tools {

namespace {

std::vector<std::pair<PublicKey, Account>> sorted_accounts(const Projections& p) {
  std::vector<std::pair<PublicKey, Account>> v(p.accounts.all().begin(), p.accounts.all().end());
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return v;
}

std::map<std::string, std::uint64_t> batches_by_status(const Projections& p) {
  std::map<std::string, std::uint64_t> m;
  for (auto s : {BatchStatus::created, BatchStatus::proved, BatchStatus::submitted, BatchStatus::confirmed,
                 BatchStatus::failed})
    m[std::string(batch_status_name(s))] = 0;
  // Open batches from memory; ended ones by their events (memory forgets ended batches).
  for (const auto& [id, b] : p.batches)
    if (!b.lifecycle.terminal()) ++m[std::string(batch_status_name(b.lifecycle.status()))];
  m["confirmed"] = p.event_counts[static_cast<std::size_t>(EventType::batch_confirmed) - 1];
  m["failed"] = p.event_counts[static_cast<std::size_t>(EventType::batch_failed) - 1];
  return m;
}

std::string balances_total(const Projections& p) {
  Int128 sum = 0;
  for (const auto& [k, a] : p.accounts.all()) sum += a.balance;
  // 128-bit to decimal: the sum of u64 balances can exceed 64 bits in a broken log.
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(sum % 10)));
    sum /= 10;
  } while (sum > 0);
  return s;
}

std::string keys_line(const AuditContext& ctx) {
  if (ctx.keys_source == kKeysFromOptions)
    return "node keys checked against --operator-key, --house-key and --sequencer-key";
  if (ctx.keys_source == kKeysFromKeyFiles)
    return "node keys checked against the seeds in " + (std::filesystem::path(ctx.dir) / "keys").string();
  return "node keys taken from the log itself (its first NodeStarted), NOT checked against any outside copy "
         "(give --operator-key, --house-key and --sequencer-key)";
}

}  // namespace

nlohmann::json audit_report_json(const eventlog::ReplayResult& r, const AuditContext& ctx) {
  using nlohmann::json;
  const Projections& p = r.projections;
  json counts = json::object();
  for (std::size_t i = 0; i < kEventTypeCount; ++i)
    counts[std::string(event_type_name(static_cast<EventType>(i + 1)))] = p.event_counts[i];
  json accounts = json::array();
  for (const auto& [key, a] : sorted_accounts(p))
    accounts.push_back({{"account", to_hex(key)},
                        {"balance", a.balance},
                        {"reserved", a.reserved},
                        {"nonce", a.nonce},
                        {"pending_nonce", a.pending_nonce},
                        {"settled_balance", p.settled.balance(key).value_or(0)}});
  json problems = json::array();
  for (const auto& pr : r.problems) problems.push_back({{"seq", pr.seq}, {"kind", pr.kind}, {"message", pr.message}});
  return json{
      {"log",
       {{"dir", ctx.dir},
        {"head_seq", r.head},
        {"head_hash", to_hex(ctx.head_hash)},
        {"snapshot_seq", r.snapshot_seq},
        {"events_applied", r.events_applied},
        {"verified", ctx.verified},
        {"crypto_checks", r.crypto_checks},
        {"seconds", ctx.seconds},
        {"keys_source", ctx.keys_source}}},
      {"event_counts", counts},
      {"accounts", accounts},
      {"totals",
       {{"deposits", p.deposits_total},
        {"balances", balances_total(p)},
        {"house_result", p.house_result},
        {"settled_deposits", p.settled_deposits},
        {"settled_house_result", p.settled_house_result}}},
      {"batches", batches_by_status(p)},
      {"blocks", {{"height", p.block_height}, {"hash", to_hex(p.block_hash)}}},
      {"state_root", to_hex(p.settled.root())},
      {"problems", problems},
      {"clean", r.clean()},
  };
}

void print_audit_report(std::ostream& os, const eventlog::ReplayResult& r, const AuditContext& ctx,
                        std::size_t max_accounts) {
  const Projections& p = r.projections;
  os << "Croupier audit of " << ctx.dir << "\n";
  os << "  log head:    seq " << r.head << ", hash " << to_hex(ctx.head_hash) << "\n";
  os << "  replayed:    " << r.events_applied << " events "
     << (r.snapshot_seq ? "after the snapshot at seq " + std::to_string(r.snapshot_seq) : std::string("from the first event"))
     << " in " << std::fixed << std::setprecision(2) << ctx.seconds << " s\n";
  os << "  checked:     hash chain of ";
  if (r.records_scanned == r.head)
    os << "all " << r.head;
  else
    os << r.records_scanned << " of " << r.head;
  os << " records, event rules, conservation"
     << (r.indexes_checked ? ", indexes"
                           : r.snapshot_seq ? "; indexes NOT checked (from a snapshot: use --from 0)"
                                            : "; indexes NOT checked (damaged records)");
  if (ctx.verified)
    os << ", " << r.crypto_checks << " signatures/VRF proofs/batch proofs\n";
  else
    os << "; signatures, VRF and batch proofs NOT checked (use --verify)\n";
  os << "  keys:        " << keys_line(ctx) << "\n";
  os << "\nevents:\n";
  for (std::size_t i = 0; i < kEventTypeCount; ++i)
    os << "  " << std::left << std::setw(22) << event_type_name(static_cast<EventType>(i + 1)) << std::right
       << p.event_counts[i] << "\n";
  auto accounts = sorted_accounts(p);
  os << "\naccounts: " << accounts.size() << "\n";
  std::size_t shown = 0;
  for (const auto& [key, a] : accounts) {
    if (shown++ == max_accounts) {
      os << "  ... " << accounts.size() - max_accounts << " more (--json lists all)\n";
      break;
    }
    os << "  " << to_hex(key) << "  balance " << a.balance << "  reserved " << a.reserved << "  nonce " << a.nonce
       << "\n";
  }
  os << "\ntotals: deposits " << p.deposits_total << ", balances " << balances_total(p) << ", house result "
     << p.house_result << "\n";
  os << "batches:";
  for (const auto& [status, n] : batches_by_status(p)) os << " " << status << " " << n;
  os << "\nblocks: height " << p.block_height << ", hash " << to_hex(p.block_hash) << "\n";
  os << "state root: " << to_hex(p.settled.root()) << "\n";
  if (r.problems.empty()) {
    os << "\nproblems: none\nresult: CLEAN\n";
  } else {
    os << "\nproblems: " << r.problems.size() << "\n";
    for (const auto& pr : r.problems) os << "  seq " << pr.seq << " [" << pr.kind << "] " << pr.message << "\n";
    os << "result: NOT CLEAN (" << r.problems.size() << " problems; the first at seq " << r.problems.front().seq
       << ")\n";
  }
}

nlohmann::json audit_crash_report_json(const eventlog::Problem& problem, std::optional<eventlog::Seq> head,
                                       const AuditContext& ctx) {
  using nlohmann::json;
  json log{{"dir", ctx.dir}, {"verified", ctx.verified}, {"keys_source", ctx.keys_source}, {"seconds", ctx.seconds}};
  if (head) log["head_seq"] = *head;
  return json{
      {"log", log},
      {"problems", json::array({{{"seq", problem.seq}, {"kind", problem.kind}, {"message", problem.message}}})},
      {"clean", false},
  };
}

void print_audit_crash_report(std::ostream& os, const eventlog::Problem& problem, std::optional<eventlog::Seq> head,
                              const AuditContext& ctx) {
  os << "Croupier audit of " << ctx.dir << "\n";
  if (head) os << "  log head:    seq " << *head << "\n";
  os << "  checked:     the audit stopped after " << std::fixed << std::setprecision(2) << ctx.seconds
     << " s: reading the log crashed; no events, accounts or totals to report\n";
  os << "\nproblems: 1\n";
  os << "  seq " << problem.seq << " [" << problem.kind << "] " << problem.message << "\n";
  os << "result: NOT CLEAN (1 problems; the first at seq " << problem.seq << ")\n";
}

}  // namespace croupier::tools
