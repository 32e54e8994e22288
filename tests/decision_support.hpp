#pragma once
// TxFinalized as the committer writes it, for tests that play the committer: the tx's key
// from the projections, and for an accepted tx the height of the block that follows.
#include "domain/projections.hpp"

namespace croupier::test {

inline TxFinalized decision(const Projections& p, const Hash32& id, bool accepted) {
  auto it = p.txs.find(id);
  if (it == p.txs.end()) return TxFinalized{id, accepted, 0, {}};  // apply() refuses it as unknown.
  return finalized(id, it->second.tx, accepted, p.block_height + 1);
}

}  // namespace croupier::test
