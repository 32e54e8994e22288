#pragma once
// A small node state for the API tests (api_json_test, gateway_test), built with the domain's
// own apply() and real crypto: keys from fixed seeds, one player with a deposit, a resolved
// dice bet (with its real VRF proof), a rejected bet, a pending bet, a pending and a rejected
// deposit, two blocks and a batch holding the first deposit and the resolved bet. Plus the
// JSON bodies a client would POST for a bet or a deposit.
//
// Header-only; each test binary builds its own world.

#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "decision_support.hpp"
#include "request_json.hpp"
#include "domain/games.hpp"
#include "domain/projections.hpp"
#include "domain/vrf.hpp"

namespace croupier::test {

inline KeyPair seeded_key(std::uint8_t n) {
  Seed s{};
  s.fill(n);
  return keypair_from_seed(s);
}

inline Id128 small_id(std::uint8_t n) {
  Id128 id{};
  id[15] = n;
  return id;
}

inline Bet make_bet(const KeyPair& player, std::uint8_t id, std::uint64_t nonce, Game game, Amount wager,
                    std::uint8_t choice) {
  Bet b;
  b.bet_id = small_id(id);
  b.account = player.public_key;
  b.nonce = nonce;
  b.game = static_cast<std::uint8_t>(game);
  b.wager = wager;
  b.choice = choice;
  b.client_seed.fill(static_cast<std::uint8_t>(0xc0 + id));
  sign_tx(b, player);
  return b;
}

inline Deposit make_deposit(const KeyPair& op, const PublicKey& account, std::uint8_t id, Amount amount) {
  Deposit d;
  d.deposit_id = small_id(id);
  d.account = account;
  d.amount = amount;
  d.operator_key = op.public_key;
  sign_tx(d, op);
  return d;
}

struct ApiWorld {
  KeyPair op = seeded_key(1), house = seeded_key(2), sequencer = seeded_key(3), player = seeded_key(4);
  Projections p;
  std::vector<BlockCommitted> blocks;     // blocks[h - 1] is height h.
  std::map<Hash32, vrf::Proof> proofs;    // Of resolved bets, by tx id.
  Deposit deposit_final, deposit_pending, deposit_rejected;
  Bet bet_final, bet_rejected, bet_pending;
  Outcome outcome_final;
  Id128 batch_id = small_id(0xb1);
  std::uint64_t seq = 0;

  ApiWorld() {
    ev(NodeStarted{small_id(0xee), "test", op.public_key, house.public_key, sequencer.public_key});

    deposit_final = make_deposit(op, player.public_key, 1, 1000);
    ev(TxAdmitted{deposit_final});
    ev(test::decision(p, tx_id(deposit_final), true));
    commit({tx_id(deposit_final)});

    bet_final = make_bet(player, 0x11, 1, Game::dice, 100, 50);
    Hash32 bet_tx = tx_id(bet_final);
    ev(TxAdmitted{bet_final});
    ev(test::decision(p, bet_tx, true));
    commit({bet_tx});
    vrf::Proof proof = vrf::prove(house, ByteView{bet_tx.data(), bet_tx.size()});
    outcome_final = resolve_game(Game::dice, 50, 100, *vrf::proof_to_hash(proof));
    ev(BetResolved{bet_tx, bet_final.bet_id, outcome_final.roll, outcome_final.win, outcome_final.payout, proof});
    proofs[bet_tx] = proof;

    bet_rejected = make_bet(player, 0x12, 2, Game::coinflip, 10, 0);
    ev(TxAdmitted{bet_rejected});
    ev(test::decision(p, tx_id(bet_rejected), false));
    bet_pending = make_bet(player, 0x13, 2, Game::coinflip, 10, 1);
    ev(TxAdmitted{bet_pending});

    deposit_pending = make_deposit(op, player.public_key, 2, 50);
    ev(TxAdmitted{deposit_pending});
    deposit_rejected = make_deposit(op, player.public_key, 3, 70);
    ev(TxAdmitted{deposit_rejected});
    ev(test::decision(p, tx_id(deposit_rejected), false));

    using settlement::Item;
    using settlement::ItemKind;
    ev(BatchCreated{batch_id,
                    {Item{ItemKind::deposit, deposit_final.deposit_id, tx_id(deposit_final), player.public_key, 1000, 0},
                     Item{ItemKind::bet, bet_final.bet_id, bet_tx, player.public_key, 100, outcome_final.payout}},
                    5});
  }

  void ev(Event e) { apply(p, ++seq, std::move(e)); }

  void commit(std::vector<Hash32> ids) {
    BlockCommitted b;
    b.height = p.block_height + 1;
    b.prev_hash = p.block_hash;
    b.time_ms = 1'700'000'000'000ull + b.height;
    b.tx_ids = std::move(ids);
    b.hash = block_hash(b.height, b.prev_hash, b.time_ms, b.tx_ids);
    ev(b);
    blocks.push_back(b);
  }
};

}  // namespace croupier::test
