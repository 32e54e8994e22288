#include "domain/blocks.hpp"

#include <algorithm>
#include <cassert>
#include <tuple>

#include "domain/vrf.hpp"

namespace croupier {

BetResolved resolve_bet(const Hash32& tx_id, const Bet& bet, const KeyPair& house, vrf::Output* beta_out) {
  assert(!check_bet_terms(bet.game, bet.choice, bet.wager));
  BetResolved r;
  r.tx_id = tx_id;
  r.bet_id = bet.bet_id;
  r.vrf_proof = vrf::prove(house, tx_id);
  auto beta = vrf::proof_to_hash(r.vrf_proof);
  assert(beta);
  Outcome o = resolve_game(static_cast<Game>(bet.game), bet.choice, bet.wager, *beta);
  r.roll = o.roll;
  r.win = o.win;
  r.payout = o.payout;
  if (beta_out) *beta_out = *beta;
  return r;
}

BlockPlan plan_block(std::span<const ConsensusDecision> decisions, std::uint64_t prev_height,
                     const Hash32& prev_hash, std::uint64_t time_ms,
                     const std::function<const Tx*(const Hash32&)>& tx_of, const KeyPair& house,
                     const std::function<const BetResolved*(const Hash32&)>& resolved_of) {
  BlockPlan plan;
  std::vector<Hash32> accepted;
  for (const auto& d : decisions) {
    const Tx* tx = tx_of(d.tx_id);
    assert(tx);
    plan.events.emplace_back(finalized(d.tx_id, *tx, d.accepted, prev_height + 1));
    (d.accepted ? accepted : plan.rejected).push_back(d.tx_id);
  }
  if (accepted.empty()) return plan;
  BlockCommitted block{prev_height + 1, prev_hash, {}, accepted, time_ms};
  block.hash = block_hash(block.height, block.prev_hash, block.time_ms, block.tx_ids);
  plan.events.emplace_back(block);
  plan.block = block;
  // Deposits first: a bet of the same block never spends them (it was admitted only
  // after its funds were final), but the settled state must credit before it debits.
  std::vector<settlement::Item> bets;
  for (const auto& id : accepted) {
    const Tx* tx = tx_of(id);
    assert(tx);
    if (auto* d = std::get_if<Deposit>(tx)) {
      plan.items.push_back({settlement::ItemKind::deposit, d->deposit_id, id, d->account, d->amount, 0});
    } else if (auto* b = std::get_if<Bet>(tx)) {
      const BetResolved* ahead = resolved_of ? resolved_of(id) : nullptr;
      BetResolved r = ahead ? *ahead : resolve_bet(id, *b, house);
      assert(r.tx_id == id && r.bet_id == b->bet_id);
      bets.push_back({settlement::ItemKind::bet, b->bet_id, id, b->account, b->wager, r.payout});
      plan.events.emplace_back(std::move(r));
    } else if (auto* s = std::get_if<Settlement>(tx)) {
      plan.settlements.emplace_back(s->inputs.batch_id, id);
    }
  }
  plan.items.insert(plan.items.end(), bets.begin(), bets.end());
  return plan;
}

std::optional<settlement::Item> settlement_item(const Hash32& tx_id, const TxRecord& r) {
  if (r.status != TxStatus::accepted || r.block_height == 0) return std::nullopt;
  if (auto* d = std::get_if<Deposit>(&r.tx))
    return settlement::Item{settlement::ItemKind::deposit, d->deposit_id, tx_id, d->account, d->amount, 0};
  if (auto* b = std::get_if<Bet>(&r.tx); b && r.outcome)
    return settlement::Item{settlement::ItemKind::bet, b->bet_id, tx_id, b->account, b->wager, r.outcome->payout};
  return std::nullopt;
}

std::vector<settlement::Item> unbatched_items(const Projections& p) {
  struct Keyed {
    std::uint64_t height;
    std::uint64_t nonce;
    settlement::Item item;
  };
  std::vector<Keyed> keyed;
  for (const auto& [id, r] : p.txs) {
    if (r.batch_id) continue;
    auto item = settlement_item(id, r);
    if (!item) continue;
    auto* b = std::get_if<Bet>(&r.tx);
    keyed.push_back({r.block_height, b ? b->nonce : 0, *item});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& x, const Keyed& y) {
    return std::tuple(x.height, x.item.kind, x.item.account, x.nonce, x.item.tx_id) <
           std::tuple(y.height, y.item.kind, y.item.account, y.nonce, y.item.tx_id);
  });
  std::vector<settlement::Item> items;
  items.reserve(keyed.size());
  for (auto& k : keyed) items.push_back(k.item);
  return items;
}

}  // namespace croupier
