#include "actors/inspector_views.hpp"

#include <sstream>
#include <type_traits>

#include "domain/games.hpp"

namespace croupier::actors::views {

namespace {

using json = nlohmann::ordered_json;

std::string describe_tx(const Tx& tx) {
  std::ostringstream out;
  if (auto* d = std::get_if<Deposit>(&tx)) {
    out << "deposit " << to_hex(d->deposit_id) << ": " << d->amount << " to " << to_hex(d->account);
  } else if (auto* b = std::get_if<Bet>(&tx)) {
    auto game = game_from_number(b->game);
    out << "bet " << to_hex(b->bet_id) << ": " << (game ? game_name(*game) : "game?") << " choice "
        << int(b->choice) << ", wager " << b->wager << ", account " << to_hex(b->account) << " nonce " << b->nonce;
  } else if (auto* s = std::get_if<Settlement>(&tx)) {
    out << "settlement of batch " << to_hex(s->inputs.batch_id);
  }
  return out.str();
}

std::string summary_of(const Event& event) {
  std::ostringstream out;
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, NodeStarted>) {
          out << "node " << to_hex(e.node_id) << " started, version " << e.version;
        } else if constexpr (std::is_same_v<E, TxAdmitted>) {
          out << "tx " << to_hex(tx_id(e.tx)) << " admitted: " << describe_tx(e.tx);
        } else if constexpr (std::is_same_v<E, TxFinalized>) {
          out << "tx " << to_hex(e.tx_id) << (e.accepted ? " accepted" : " rejected");
        } else if constexpr (std::is_same_v<E, BlockCommitted>) {
          out << "block " << e.height << " " << to_hex(e.hash) << ": " << e.tx_ids.size() << " tx(s)";
        } else if constexpr (std::is_same_v<E, BetResolved>) {
          out << "bet " << to_hex(e.bet_id) << " resolved: roll " << int(e.roll) << (e.win ? ", win, payout " : ", loss")
              << (e.win ? std::to_string(e.payout) : "");
        } else if constexpr (std::is_same_v<E, BatchCreated>) {
          out << "batch " << to_hex(e.batch_id) << " created: " << e.items.size() << " item(s)";
        } else if constexpr (std::is_same_v<E, BatchProved>) {
          out << "batch " << to_hex(e.batch_id) << " proved: post root " << to_hex(e.inputs.post_root);
        } else if constexpr (std::is_same_v<E, BatchSubmitted>) {
          out << "batch " << to_hex(e.batch_id) << " submitted (attempt " << e.attempt << "), settlement tx "
              << to_hex(e.settlement_tx_id);
        } else if constexpr (std::is_same_v<E, BatchConfirmed>) {
          out << "batch " << to_hex(e.batch_id) << " confirmed at height " << e.height;
        } else if constexpr (std::is_same_v<E, BatchFailed>) {
          out << "batch " << to_hex(e.batch_id) << " FAILED: " << e.reason;
        } else if constexpr (std::is_same_v<E, ReconciliationReport>) {
          out << "reconciliation: confirmed " << e.confirmed.size() << ", missing " << e.missing.size() << ", orphaned "
              << e.orphaned.size() << ", mismatched " << e.mismatched.size();
        } else if constexpr (std::is_same_v<E, SnapshotTaken>) {
          out << "snapshot of events 1.." << e.snapshot_seq << ", digest " << to_hex(e.digest);
        } else {
          static_assert(!sizeof(E), "every event type has a summary");
        }
      },
      event);
  return out.str();
}

}  // namespace

json event_json(std::uint64_t seq, std::uint64_t time_ms, const Event& event) {
  return {{"seq", seq},
          {"time_ms", time_ms},
          {"type", event_type_name(event_type(event))},
          {"summary", summary_of(event)}};
}

std::optional<BatchStatus> parse_batch_status(std::string_view name) {
  for (auto s : {BatchStatus::created, BatchStatus::proved, BatchStatus::submitted, BatchStatus::confirmed,
                 BatchStatus::failed})
    if (batch_status_name(s) == name) return s;
  return std::nullopt;
}

json batches_json(const Projections& p, std::optional<BatchStatus> status, std::size_t limit) {
  json list = json::array();
  std::size_t total = 0;
  for (auto it = p.batches.rbegin(); it != p.batches.rend(); ++it) {
    const auto& [id, b] = *it;
    if (status && b.lifecycle.status() != *status) continue;
    ++total;
    if (list.size() >= limit) continue;
    list.push_back({{"batch_id", to_hex(id)},
                    {"status", batch_status_name(b.lifecycle.status())},
                    {"items", b.items.size()},
                    {"attempts", b.lifecycle.attempts()},
                    {"max_attempts", b.lifecycle.max_attempts()},
                    {"settlement_tx_id", b.settlement_tx_id == Hash32{} ? json(nullptr) : json(to_hex(b.settlement_tx_id))}});
  }
  const std::size_t shown = list.size();
  return {{"total", total}, {"shown", shown}, {"batches", std::move(list)}};
}

json tx_json(const Hash32& id, const TxRecord& r) {
  json j{{"tx_id", to_hex(id)},
         {"status", tx_status_name(r.status)},
         {"final", is_final(r)},
         {"block_height", r.block_height},
         {"description", describe_tx(r.tx)}};
  if (auto* b = std::get_if<Bet>(&r.tx)) j["bet_id"] = to_hex(b->bet_id);
  if (auto* d = std::get_if<Deposit>(&r.tx)) j["deposit_id"] = to_hex(d->deposit_id);
  if (auto* s = std::get_if<Settlement>(&r.tx)) j["batch_id"] = to_hex(s->inputs.batch_id);
  if (r.outcome) j["outcome"] = {{"roll", r.outcome->roll}, {"win", r.outcome->win}, {"payout", r.outcome->payout}};
  if (r.batch_id) j["in_batch"] = to_hex(*r.batch_id);
  return j;
}

}  // namespace croupier::actors::views
