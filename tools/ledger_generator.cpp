#include "tools/ledger_generator.hpp"

#include <cassert>

#include "domain/games.hpp"
#include "domain/vrf.hpp"

namespace croupier::tools {

namespace {
KeyPair derived_key(std::uint64_t seed, std::uint64_t index) {
  Seed s = Blake2b256().update_u64_le(seed).update_u64_le(index).finish();
  return keypair_from_seed(s);
}
}  // namespace

LedgerGenerator::LedgerGenerator(const LedgerOptions& options)
    : options_(options),
      rng_(options.seed),
      operator_(derived_key(options.seed, 0)),
      house_(derived_key(options.seed, 1)),
      sequencer_(derived_key(options.seed, 2)),
      now_ms_(options.start_ms) {
  for (std::size_t i = 0; i < options.accounts; ++i) players_.push_back(derived_key(options.seed, 100 + i));
}

Id128 LedgerGenerator::next_id() {
  std::array<std::uint8_t, 10> r{};
  for (auto& b : r) b = static_cast<std::uint8_t>(rng_());
  return make_time_ordered_id(now_ms_, r);
}

void LedgerGenerator::emit(Event e, std::vector<Event>& out) {
  apply(mirror_, ++seq_, e);  // Throws if the generator itself breaks a rule: a bug here.
  out.push_back(std::move(e));
}

void LedgerGenerator::commit_block(const std::vector<Hash32>& tx_ids, std::vector<Event>& out) {
  ++now_ms_;
  std::uint64_t height = mirror_.block_height + 1;
  emit(BlockCommitted{height, mirror_.block_hash, block_hash(height, mirror_.block_hash, now_ms_, tx_ids), tx_ids,
                      now_ms_},
       out);
}

std::vector<Event> LedgerGenerator::genesis() {
  assert(seq_ == 0);
  std::vector<Event> out;
  emit(NodeStarted{next_id(), "generator", operator_.public_key, house_.public_key, sequencer_.public_key}, out);
  std::vector<Hash32> ids;
  for (const auto& p : players_) {
    Deposit d{next_id(), p.public_key, options_.deposit, operator_.public_key, {}};
    sign_tx(d, operator_);
    ids.push_back(tx_id(d));
    emit(TxAdmitted{d}, out);
  }
  for (const auto& id : ids) emit(finalized(id, mirror_.txs.at(id).tx, true, mirror_.block_height + 1), out);
  commit_block(ids, out);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& d = std::get<Deposit>(mirror_.txs.at(ids[i]).tx);
    pending_items_.push_back({settlement::ItemKind::deposit, d.deposit_id, ids[i], d.account, d.amount, 0});
  }
  return out;
}

void LedgerGenerator::bets(std::size_t n, std::vector<Event>& out) {
  while (n > 0) {
    std::size_t block = std::min(n, options_.block_size);
    n -= block;
    std::vector<std::pair<Hash32, Bet>> placed;
    for (std::size_t i = 0; i < block; ++i) {
      const KeyPair& player = players_[rng_() % players_.size()];
      const Account* acct = mirror_.accounts.find(player.public_key);
      assert(acct);
      Bet b;
      b.bet_id = next_id();
      b.account = player.public_key;
      b.nonce = acct->pending_nonce + 1;
      b.game = rng_() % 2 ? static_cast<std::uint8_t>(Game::coinflip) : static_cast<std::uint8_t>(Game::dice);
      b.choice = b.game == static_cast<std::uint8_t>(Game::coinflip) ? static_cast<std::uint8_t>(rng_() % 2)
                                                                     : static_cast<std::uint8_t>(2 + rng_() % 98);
      b.wager = std::min<Amount>(1 + rng_() % 1000, acct->available());
      if (b.wager == 0) continue;  // This player is broke; the block is a bet shorter.
      for (auto& byte : b.client_seed) byte = static_cast<std::uint8_t>(rng_());
      if (options_.real_crypto) sign_tx(b, player);
      placed.emplace_back(tx_id(b), b);
      emit(TxAdmitted{b}, out);
    }
    std::vector<Hash32> ids;
    for (const auto& [id, b] : placed) {
      emit(finalized(id, Tx{b}, true, mirror_.block_height + 1), out);
      ids.push_back(id);
    }
    if (ids.empty()) continue;
    commit_block(ids, out);
    for (const auto& [id, b] : placed) {
      BetResolved r{id, b.bet_id, 0, false, 0, {}};
      Outcome o;
      if (options_.real_crypto) {
        r.vrf_proof = vrf::prove(house_, id);
        o = resolve_game(static_cast<Game>(b.game), b.choice, b.wager, *vrf::proof_to_hash(r.vrf_proof));
      } else {
        std::uint8_t roll = b.game == static_cast<std::uint8_t>(Game::coinflip) ? static_cast<std::uint8_t>(rng_() % 2)
                                                                                : static_cast<std::uint8_t>(1 + rng_() % 100);
        o = outcome_for_roll(static_cast<Game>(b.game), b.choice, b.wager, roll);
      }
      r.roll = o.roll;
      r.win = o.win;
      r.payout = o.payout;
      emit(r, out);
      pending_items_.push_back({settlement::ItemKind::bet, b.bet_id, id, b.account, b.wager, o.payout});
      if (pending_items_.size() >= options_.batch_size) settle_batch(out);
    }
  }
}

void LedgerGenerator::flush(std::vector<Event>& out) {
  if (!pending_items_.empty()) settle_batch(out);
}

void LedgerGenerator::settle_batch(std::vector<Event>& out) {
  Id128 batch_id = next_id();
  std::vector<settlement::Item> items = std::move(pending_items_);
  pending_items_.clear();
  emit(BatchCreated{batch_id, items, 5}, out);
  auto proved = settlement::prove(batch_id, items, mirror_.settled, sequencer_);
  Settlement tx{proved.inputs, sequencer_.public_key, proved.proof, proved.witness};
  Hash32 settlement_id = tx_id(tx);
  emit(BatchProved{batch_id, proved.inputs, std::move(proved.witness), sequencer_.public_key, proved.proof}, out);
  // The settlement tx is admitted before the submission that names it, and the batch is
  // confirmed at the height of the block that commits it.
  emit(TxAdmitted{std::move(tx)}, out);
  emit(BatchSubmitted{batch_id, 1, settlement_id}, out);
  emit(finalized(settlement_id, mirror_.txs.at(settlement_id).tx, true, mirror_.block_height + 1), out);
  commit_block({settlement_id}, out);
  emit(BatchConfirmed{batch_id, mirror_.txs.at(settlement_id).block_height}, out);
}

}  // namespace croupier::tools
