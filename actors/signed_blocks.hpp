#pragma once
// The node's signed block headers for finality receipts (domain/receipt.hpp), made on demand
// and kept for the last `capacity` blocks signed (first in, first out): a block is signed and
// its tx tree built once, then shared by every receipt of its txs. No CAF; thread-safe.
//
// Nothing is stored in the log: Ed25519 signatures are deterministic, so signing a block
// again (after a restart, or once it left the cache) gives the same bytes.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "domain/receipt.hpp"

namespace croupier::actors {

class SignedBlocks {
 public:
  // Memory: about 150 bytes per tx of the blocks kept (tree and position map), plus headers.
  static constexpr std::size_t kDefaultCapacity = 64;

  // `house_key`: the key the node's outcomes are proved under (every header names it).
  SignedBlocks(KeyPair node_key, PublicKey house_key, std::size_t capacity = kDefaultCapacity);

  // The block at `height`, signed; `load` reads it (from the log) when it is not kept.
  // nullptr when `load` finds none.
  std::shared_ptr<const receipt::SignedBlock> get(
      std::uint64_t height, const std::function<std::optional<BlockCommitted>(std::uint64_t)>& load);

  const PublicKey& node_key() const { return node_key_.public_key; }

 private:
  const KeyPair node_key_;
  const PublicKey house_key_;
  const std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const receipt::SignedBlock>> kept_;
  std::deque<std::uint64_t> order_;  // Heights in the order they were kept; the front goes first.
};

}  // namespace croupier::actors
