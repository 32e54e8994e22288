#include "tools/sim/checks.hpp"

#include <limits>
#include <map>
#include <set>

#include "eventlog/replay.hpp"

namespace croupier::sim {

namespace {

std::vector<std::size_t> checked_nodes(Cluster& cluster) {
  std::vector<std::size_t> nodes;
  for (std::size_t i = 0; i < cluster.size(); ++i)
    if (cluster.up(i) && cluster.honest(i)) nodes.push_back(i);
  return nodes;
}

std::string node_name(std::size_t i) { return "node " + std::to_string(i); }
std::string short_hex(const Hash32& h) { return to_hex(h).substr(0, 16); }

bool is_settlement(const Tx& tx) { return std::holds_alternative<Settlement>(tx); }

}  // namespace

std::vector<Finding> check_acknowledged(Cluster& cluster, const std::vector<AckedBet>& acked) {
  std::vector<Finding> found;
  for (auto i : checked_nodes(cluster)) {
    std::size_t missing = 0;
    std::string first;
    for (const auto& a : acked) {
      auto [reachable, r] = cluster.find(i, a.tx_id, TxKey{TxKind::bet, a.bet_id});  // Memory, else the log.
      if (!reachable) break;
      std::string why;
      if (!r) why = "unknown";
      else if (r->status != TxStatus::accepted) why = std::string(tx_status_name(r->status));
      else if (r->block_height == 0) why = "not in a block";
      else if (!r->outcome || !(*r->outcome == a.outcome)) why = "resolved differently";
      if (why.empty()) continue;
      if (missing++ == 0)
        first = "bet tx " + short_hex(a.tx_id) + " (answered final by node " + std::to_string(a.node) + ") is " + why;
    }
    if (missing)
      found.push_back({1, node_name(i) + ": " + std::to_string(missing) + " of " + std::to_string(acked.size()) +
                              " acknowledged bets are not final there; first: " + first});
  }
  return found;
}

// What a conflict key names, for people: "bet of account ab12cd34 nonce 3", "settlement of batch ...".
std::string describe_key(const Tx& tx) {
  if (const auto* b = std::get_if<Bet>(&tx))
    return "bet of account " + to_hex(b->account).substr(0, 16) + " nonce " + std::to_string(b->nonce);
  if (const auto* d = std::get_if<Deposit>(&tx)) return "deposit " + to_hex(d->deposit_id);
  return "settlement of batch " + to_hex(std::get<Settlement>(tx).inputs.batch_id);
}

// Everything node i ever decided, from its log (its memory forgets finished txs).
Projections whole_history(Cluster& cluster, std::size_t i) {
  eventlog::ReplayOptions ro;
  ro.from = 0;
  ro.threads = 1;
  ro.recent_txs = ro.recent_batches = std::numeric_limits<std::size_t>::max();
  return eventlog::replay(cluster.node(i).log(), ro).projections;
}

std::vector<Finding> check_agreement(Cluster& cluster, bool converged) {
  std::vector<Finding> found;
  struct Seen {
    std::size_t node;
    bool accepted;
  };
  std::map<Hash32, Seen> decided;                            // First node's decision per tx.
  std::map<std::string, std::pair<Hash32, std::size_t>> winners;  // Conflict key -> accepted tx.
  std::map<std::size_t, std::set<Hash32>> accepted_sets;
  std::map<std::size_t, std::map<PublicKey, Amount>> balances;
  for (auto i : checked_nodes(cluster)) {
    // While it runs: what the nodes hold in memory. At the end: the whole history (the logs).
    std::optional<Projections> history;
    if (converged) history = whole_history(cluster, i);
    auto check = [&](const Projections& p) {
      for (const auto& [id, r] : p.txs) {
        if (r.status == TxStatus::admitted) continue;
        const bool accepted = r.status == TxStatus::accepted;
        auto [it, fresh] = decided.try_emplace(id, Seen{i, accepted});
        if (!fresh && it->second.accepted != accepted)
          found.push_back({2, "tx " + short_hex(id) + " is " + (accepted ? "accepted" : "rejected") + " on " +
                                  node_name(i) + " and " + (accepted ? "rejected" : "accepted") + " on " +
                                  node_name(it->second.node)});
        if (!accepted) continue;
        if (converged && !is_settlement(r.tx)) accepted_sets[i].insert(id);
        auto [w, first] = winners.try_emplace(conflict_key_string(r.tx), id, i);
        if (!first && w->second.first != id)
          found.push_back({2, "one conflict key (" + describe_key(r.tx) + ") has two accepted txs: " + short_hex(id) +
                                  " on " + node_name(i) + ", " + short_hex(w->second.first) + " on " +
                                  node_name(w->second.second)});
      }
      if (converged)
        for (const auto& [key, a] : p.accounts.all()) balances[i][key] = a.balance;
    };
    if (history) check(*history);
    else cluster.read(i, check);
  }
  if (converged && accepted_sets.size() > 1) {
    auto& [first_node, first_set] = *accepted_sets.begin();
    for (const auto& [i, set] : accepted_sets) {
      if (set != first_set)
        found.push_back({2, node_name(i) + " knows " + std::to_string(set.size()) + " accepted txs, " +
                                node_name(first_node) + " " + std::to_string(first_set.size()) + " (or others)"});
      else if (balances[i] != balances[first_node])
        found.push_back({2, node_name(i) + " and " + node_name(first_node) +
                                " accepted the same txs and hold different balances"});
    }
  }
  return found;
}

std::vector<Finding> check_settlement(Cluster& cluster, bool from_logs) {
  std::vector<Finding> found;
  for (const auto& alarm : cluster.reconciliation_alarms()) found.push_back({3, alarm});
  for (auto i : checked_nodes(cluster)) {
    // While it runs, memory: a confirmed batch's settlement tx is finished, and may be forgotten
    // before the batch is. From the logs (at the end), every batch and settlement ever written.
    auto check = [&](const Projections& p) {
      for (const auto& problem : check_invariants(p)) found.push_back({3, node_name(i) + ": " + problem});
      std::map<Id128, Id128> batch_of;  // Item id -> its batch.
      for (const auto& [batch_id, b] : p.batches)
        for (const auto& item : b.items) {
          auto [it, fresh] = batch_of.try_emplace(item.id, batch_id);
          if (!fresh)
            found.push_back({3, node_name(i) + ": item " + to_hex(item.id) + " is in batch " + to_hex(it->second) +
                                    " and in batch " + to_hex(batch_id)});
        }
      std::map<Id128, int> settled;  // Batch -> accepted settlement txs.
      for (const auto& [id, r] : p.txs)
        if (auto* s = std::get_if<Settlement>(&r.tx); s && r.status == TxStatus::accepted)
          if (++settled[s->inputs.batch_id] == 2)
            found.push_back({3, node_name(i) + ": batch " + to_hex(s->inputs.batch_id) + " is settled twice"});
      for (const auto& [batch_id, b] : p.batches)
        if (b.lifecycle.status() == BatchStatus::confirmed && settled[batch_id] != 1 &&
            (from_logs || settled[batch_id] > 1))
          found.push_back({3, node_name(i) + ": batch " + to_hex(batch_id) + " is confirmed with " +
                                  std::to_string(settled[batch_id]) + " accepted settlement txs"});
    };
    if (from_logs) check(whole_history(cluster, i));
    else cluster.read(i, check);
  }
  return found;
}

std::vector<Finding> check_replay(Cluster& cluster) {
  std::vector<Finding> found;
  for (auto i : checked_nodes(cluster)) {
    eventlog::ReplayOptions ro;
    ro.from = 0;
    ro.verify = true;
    ro.threads = 1;
    auto& node = cluster.node(i);
    auto result = eventlog::replay(node.log(), ro);
    if (!result.clean()) {
      const auto& p = result.problems.front();
      found.push_back({4, node_name(i) + "'s log does not replay cleanly: seq " + std::to_string(p.seq) + " [" +
                              p.kind + "] " + p.message});
      continue;
    }
    // The rule state, and every tx the live memory still holds, the same.
    Bytes live;
    bool same_txs = true;
    cluster.read(i, [&](const Projections& p) {
      live = encode_snapshot(p);
      for (const auto& [id, r] : p.txs) {
        auto it = result.projections.txs.find(id);
        same_txs &= it != result.projections.txs.end() && encode(it->second) == encode(r);
      }
    });
    if (encode_snapshot(result.projections) != live || !same_txs)
      found.push_back({4, node_name(i) + ": replaying its log from the first event does not give its live state"});
  }
  return found;
}

std::optional<std::string> work_left(Cluster& cluster, bool rogue_exempt) {
  std::optional<std::pair<std::size_t, std::size_t>> first;  // (node, accepted txs)
  std::map<std::string, std::set<Hash32>> members;           // Conflict key -> txs, all nodes.
  if (rogue_exempt)
    for (auto i : checked_nodes(cluster))
      cluster.read(i, [&](const Projections& p) {
        for (const auto& [id, r] : p.txs)
          if (std::holds_alternative<Bet>(r.tx)) members[conflict_key_string(r.tx)].insert(id);
      });
  auto rogue = [&](const TxRecord& r) {
    if (!rogue_exempt || !std::holds_alternative<Bet>(r.tx)) return false;
    return members[conflict_key_string(r.tx)].size() > 1;
  };
  for (auto i : checked_nodes(cluster)) {
    std::size_t undecided = 0, unbatched = 0, unsettled = 0, accepted = 0;
    std::string example;
    cluster.read(i, [&](const Projections& p) {
      for (const auto& [id, r] : p.txs) {
        if (r.status == TxStatus::admitted && !rogue(r)) {
          if (undecided++ == 0) example = "tx " + short_hex(id);
        }
        // The sequencing node batches everything it accepted, and settles every batch.
        if (r.status == TxStatus::accepted && !is_settlement(r.tx) && i == 0 && (!r.batch_id || r.block_height == 0))
          ++unbatched;
      }
      accepted = p.accepted_txs;  // Finished txs are forgotten; their count is not.
      if (i == 0)
        for (const auto& [id, b] : p.batches)
          if (b.lifecycle.status() != BatchStatus::confirmed) {
            if (unsettled++ == 0)
              example += " batch " + to_hex(id) + " " + std::string(batch_status_name(b.lifecycle.status()));
          }
    });
    if (undecided || unbatched || unsettled)
      return node_name(i) + ": " + std::to_string(undecided) + " undecided txs, " + std::to_string(unbatched) +
             " accepted and not batched, " + std::to_string(unsettled) + " batches not confirmed (" + example + ")";
    if (first && first->second != accepted)
      return node_name(i) + " knows " + std::to_string(accepted) + " accepted txs, " + node_name(first->first) + " " +
             std::to_string(first->second);
    if (!first) first = {i, accepted};
  }
  return std::nullopt;
}

Hash32 cluster_digest(Cluster& cluster) {
  Bytes all;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    std::uint8_t seq[8];
    std::uint64_t head = cluster.up(i) ? cluster.node(i).log().head_seq() : 0;
    Hash32 hash = cluster.up(i) ? cluster.node(i).log().head_hash() : Hash32{};
    put_u64_le(seq, head);
    all.insert(all.end(), seq, seq + 8);
    all.insert(all.end(), hash.begin(), hash.end());
  }
  return blake2b256(all);
}

}  // namespace croupier::sim
