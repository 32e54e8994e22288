#include "actors/node_state.hpp"

#include <cassert>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <cmath>
#include <sstream>

namespace croupier::actors {

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < kBounds.size() && value > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<std::uint64_t>(std::llround(std::max(0.0, value) * 1000)),
                       std::memory_order_relaxed);
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::ostringstream out;
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out << name << "_bucket{le=\"" << kBounds[i] << "\"} " << cumulative << "\n";
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  out << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n";
  // The sum exactly, in thousandths (a double through an ostream keeps only 6 digits).
  const std::uint64_t sum = sum_micro_.load(std::memory_order_relaxed);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03u", static_cast<unsigned>(sum % 1000));
  out << name << "_sum " << sum / 1000 << fraction << "\n";
  out << name << "_count " << cumulative << "\n";
  return out.str();
}

void RecentProofs::put(const Hash32& tx_id, const vrf::Proof& proof, const vrf::Output& output) {
  std::lock_guard lock(mutex_);
  if (!by_tx_.emplace(tx_id, std::make_pair(proof, output)).second) return;
  order_.push_back(tx_id);
  if (order_.size() > capacity_) {
    by_tx_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<std::pair<vrf::Proof, vrf::Output>> RecentProofs::find(const Hash32& tx_id) const {
  std::lock_guard lock(mutex_);
  auto it = by_tx_.find(tx_id);
  if (it == by_tx_.end()) return std::nullopt;
  return it->second;
}

std::size_t RecentProofs::size() const {
  std::lock_guard lock(mutex_);
  return by_tx_.size();
}

std::optional<DurableFinal> durable_final(const NodeState& state, const Hash32& tx_id) {
  {
    std::shared_lock lock(state.mutex);
    auto it = state.projections.txs.find(tx_id);
    if (it == state.projections.txs.end() || !is_final(it->second)) return std::nullopt;
    if (it->second.status == TxStatus::accepted) {
      const std::uint64_t h = it->second.block_height;
      assert(h >= 1);
      if (h > state.durable_height.load()) return std::nullopt;
      return DurableFinal{true, h};
    }
  }
  std::shared_lock durable(state.durable);
  if (state.journal_failed) return std::nullopt;
  std::shared_lock lock(state.mutex);
  auto it = state.projections.txs.find(tx_id);
  if (it == state.projections.txs.end() || !is_final(it->second)) return std::nullopt;
  return DurableFinal{true, it->second.block_height};
}

}  // namespace croupier::actors
