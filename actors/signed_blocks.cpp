#include "actors/signed_blocks.hpp"

#include <cassert>

namespace croupier::actors {

SignedBlocks::SignedBlocks(KeyPair node_key, PublicKey house_key, std::size_t capacity)
    : node_key_(node_key), house_key_(house_key), capacity_(capacity) {
  assert(capacity_ > 0);
}

std::shared_ptr<const receipt::SignedBlock> SignedBlocks::get(
    std::uint64_t height, const std::function<std::optional<BlockCommitted>(std::uint64_t)>& load) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = kept_.find(height); it != kept_.end()) return it->second;
  }
  // Outside the lock: reading and signing a block of a thousand txs takes a few hundred µs.
  // Two threads missing the same block both sign it; they get the same bytes.
  auto block = load(height);
  if (!block || block->tx_ids.empty()) return nullptr;
  auto signed_block = std::make_shared<const receipt::SignedBlock>(receipt::sign_block(*block, house_key_, node_key_));
  std::lock_guard lock(mutex_);
  if (kept_.emplace(height, signed_block).second) {
    order_.push_back(height);
    if (order_.size() > capacity_) {
      kept_.erase(order_.front());
      order_.pop_front();
    }
  }
  return signed_block;
}

}  // namespace croupier::actors
