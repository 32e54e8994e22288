#include "actors/node_state.hpp"

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
  out << name << "_sum " << static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1000 << "\n";
  out << name << "_count " << cumulative << "\n";
  return out.str();
}

void NodeState::index_event(std::uint64_t seq, const Event& e) {
  if (auto* b = std::get_if<BlockCommitted>(&e)) {
    if (block_seqs.size() + 1 == b->height) block_seqs.push_back(seq);
  } else if (auto* r = std::get_if<BetResolved>(&e)) {
    resolved_seqs[r->tx_id] = seq;
  }
}

}  // namespace croupier::actors
