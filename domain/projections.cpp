#include "domain/projections.hpp"

#include "domain/admission.hpp"

#include <algorithm>
#include <cassert>
#include <unordered_set>

namespace croupier {

std::string_view tx_status_name(TxStatus s) {
  switch (s) {
    case TxStatus::admitted: return "admitted";
    case TxStatus::accepted: return "accepted";
    case TxStatus::rejected: return "rejected";
  }
  return "unknown";
}

namespace {

[[noreturn]] void fail(const std::string& why) { throw ApplyError(why); }

std::string short_hex(const Hash32& h) { return to_hex(h); }

TxRecord& must_find_tx(Projections& p, const Hash32& id, const char* what) {
  auto it = p.txs.find(id);
  if (it == p.txs.end()) fail(std::string(what) + ": unknown tx " + short_hex(id));
  return it->second;
}

BatchRecord& must_find_batch(Projections& p, const Id128& id, const char* what) {
  auto it = p.batches.find(id);
  if (it == p.batches.end()) fail(std::string(what) + ": unknown batch " + to_hex(id));
  return it->second;
}

// Forgets a finished tx: its record and the key that names it.
void forget_tx(Projections& p, const Hash32& id) {
  auto it = p.txs.find(id);
  if (it == p.txs.end()) return;
  const TxKey key = tx_key(it->second.tx);
  auto& index = key.kind == TxKind::bet ? p.bets : key.kind == TxKind::deposit ? p.deposits : p.settlements;
  if (auto k = index.find(key.id); k != index.end() && k->second == id) index.erase(k);
  p.txs.erase(it);
}

// `id` is finished: it joins the window of recent ones, and the oldest beyond it are forgotten.
void finish_tx(Projections& p, const Hash32& id) {
  p.finished_txs.push_back(id);
  while (p.finished_txs.size() > p.recent_txs) {
    forget_tx(p, p.finished_txs.front());
    p.finished_txs.pop_front();
  }
}

// Batch `id` ended (confirmed or failed): the same, for batches.
void end_batch(Projections& p, const Id128& id) {
  if (auto s = p.settlements.find(id); s != p.settlements.end()) finish_tx(p, s->second);
  p.ended_batches.push_back(id);
  while (p.ended_batches.size() > p.recent_batches) {
    p.batches.erase(p.ended_batches.front());
    p.ended_batches.pop_front();
  }
}

// Runs a domain operation, turning its rule errors into ApplyError.
template <class F>
void guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const RuleError& e) {
    fail(std::string(what) + ": " + e.what());
  } catch (const MoneyError& e) {
    fail(std::string(what) + ": " + e.what());
  } catch (const BatchTransitionError& e) {
    fail(std::string(what) + ": " + e.what());
  }
}

struct Applier {
  Projections& p;
  const std::optional<Hash32>& known_tx_id;  // tx_id of a TxAdmitted's tx, when the caller has it.

  void operator()(const NodeStarted& e) {
    if (p.keys.known && p.keys.node_id != e.node_id)
      fail("NodeStarted: node id " + to_hex(e.node_id) + " differs from this log's node " + to_hex(p.keys.node_id));
    // Whether a tx is finished depends on the role (see Projections): a node that settled has
    // unbatched items a non-settling start would never batch, and the other way round it
    // would batch only part of what it accepted. So the role is the log's for good.
    if (p.keys.known && p.keys.settles != e.settles)
      fail(std::string("NodeStarted: this log's node ") + (p.keys.settles ? "settles" : "does not settle") +
           " batches; a node keeps its role for the life of its log (start the other role on a new data directory)");
    p.keys = NodeKeys{e.node_id, e.operator_key, e.house_key, e.sequencer_key, true, e.settles};
  }

  void operator()(TxAdmitted& e) {
    Hash32 id = known_tx_id ? *known_tx_id : tx_id(e.tx);
    // One lookup: insert first, and take the entry out again if a rule fails.
    auto [it, inserted] = p.txs.try_emplace(id);
    if (!inserted) fail("TxAdmitted: tx " + short_hex(id) + " admitted twice");
    try {
      // The rules and money limits admission decided by (admission.hpp), then the keys.
      if (auto bad = check_admissible(p, e.tx)) fail("TxAdmitted: " + bad->message);
      check_key_free(e.tx);
    } catch (...) {
      p.txs.erase(it);
      throw;
    }
    // Nothing below can fail: check_admissible ruled out every reason.
    if (auto* d = std::get_if<Deposit>(&e.tx)) {
      p.deposits.emplace(d->deposit_id, id);
    } else if (auto* b = std::get_if<Bet>(&e.tx)) {
      p.bets.emplace(b->bet_id, id);
      p.accounts.admit_bet(*b);
    } else {
      auto& s = std::get<Settlement>(e.tx);
      p.settlements.emplace(s.inputs.batch_id, id);
      s.witness = {};  // Its batch's BatchProved holds it; the log stores none here either.
    }
    add_exposure(p.exposure, e.tx);
    it->second.tx = std::move(e.tx);
  }

  // The tx's idempotency key (bet id, deposit id, a settlement's batch id) is not held yet.
  void check_key_free(const Tx& tx) const {
    if (auto* d = std::get_if<Deposit>(&tx)) {
      if (p.deposits.contains(d->deposit_id))
        fail("TxAdmitted: deposit id " + to_hex(d->deposit_id) + " admitted twice");
    } else if (auto* b = std::get_if<Bet>(&tx)) {
      if (p.bets.contains(b->bet_id)) fail("TxAdmitted: bet id " + to_hex(b->bet_id) + " admitted twice");
    } else {
      const Id128& batch_id = std::get<Settlement>(tx).inputs.batch_id;
      if (auto held = p.settlements.find(batch_id); held != p.settlements.end())
        fail("TxAdmitted: settlement for batch " + to_hex(batch_id) + ": the batch already has settlement tx " +
             short_hex(held->second));
    }
  }

  void operator()(const TxFinalized& e) {
    TxRecord& r = must_find_tx(p, e.tx_id, "TxFinalized");
    if (r.status != TxStatus::admitted) fail("TxFinalized: tx " + short_hex(e.tx_id) + " was already decided");
    if (e.key != tx_key(r.tx))
      fail("TxFinalized: tx " + short_hex(e.tx_id) + " names key " + to_hex(e.key.id) + " of kind " +
           std::string(tx_kind_name(e.key.kind)) + ", not its own");
    // An accepted tx is committed by the block that follows; a rejected one by none.
    if (e.accepted ? e.block_height != p.block_height + 1 : e.block_height != 0)
      fail("TxFinalized: tx " + short_hex(e.tx_id) + " names block height " + std::to_string(e.block_height) +
           (e.accepted ? ", not the next block " + std::to_string(p.block_height + 1) : " though it is rejected"));
    if (auto* b = std::get_if<Bet>(&r.tx)) {
      guarded("TxFinalized", [&] { e.accepted ? p.accounts.accept_bet(*b) : p.accounts.reject_bet(*b); });
      if (!e.accepted) remove_exposure(p.exposure, r.tx);  // An accepted bet's is taken back once resolved.
    } else if (auto* d = std::get_if<Deposit>(&r.tx)) {
      if (e.accepted)
        guarded("TxFinalized", [&] {
          Amount total = checked_add(p.deposits_total, d->amount, "deposits total");
          p.accounts.credit(d->account, d->amount);
          p.deposits_total = total;
        });
      remove_exposure(p.exposure, r.tx);
    }
    r.status = e.accepted ? TxStatus::accepted : TxStatus::rejected;
    r.finalized_height = e.block_height;
    if (e.accepted && e.key.kind != TxKind::settlement) ++p.accepted_txs;
    // A rejected settlement stays as long as its batch is open: the batch's later events
    // name it. Any other rejected tx is finished (this may forget `r`: last).
    if (!e.accepted && (e.key.kind != TxKind::settlement || !p.keys.settles)) finish_tx(p, e.tx_id);
  }

  void operator()(const BlockCommitted& e) {
    if (e.height != p.block_height + 1)
      fail("BlockCommitted: height " + std::to_string(e.height) + " does not follow " + std::to_string(p.block_height));
    if (e.prev_hash != p.block_hash) fail("BlockCommitted: prev_hash does not match the previous block");
    if (e.hash != block_hash(e.height, e.prev_hash, e.time_ms, e.tx_ids))
      fail("BlockCommitted: block hash does not match its contents");
    // Marks each tx as it goes (one lookup per tx; a tx met twice is then already marked)
    // and undoes the marks if any tx fails.
    std::vector<TxRecord*> marked;
    marked.reserve(e.tx_ids.size());
    auto undo = [&] {
      for (auto* r : marked) r->block_height = 0;
    };
    for (const auto& id : e.tx_ids) {
      auto it = p.txs.find(id);
      if (it == p.txs.end()) undo(), fail("BlockCommitted: unknown tx " + short_hex(id));
      TxRecord& r = it->second;
      if (r.status != TxStatus::accepted) undo(), fail("BlockCommitted: tx " + short_hex(id) + " is not accepted");
      if (r.block_height != 0) undo(), fail("BlockCommitted: tx " + short_hex(id) + " is already in a block");
      if (r.finalized_height != e.height)
        undo(), fail("BlockCommitted: tx " + short_hex(id) + " was finalized for block " +
                     std::to_string(r.finalized_height) + ", not " + std::to_string(e.height));
      r.block_height = e.height;
      marked.push_back(&r);
    }
    p.block_height = e.height;
    p.block_hash = e.hash;
    // Where nothing is batched, a committed deposit or settlement is done (a bet once it is
    // resolved). Last: finishing may forget the records marked above.
    if (!p.keys.settles)
      for (const auto& id : e.tx_ids)
        if (!std::holds_alternative<Bet>(p.txs.at(id).tx)) finish_tx(p, id);
  }

  void operator()(const BetResolved& e) {
    TxRecord& r = must_find_tx(p, e.tx_id, "BetResolved");
    auto* b = std::get_if<Bet>(&r.tx);
    if (!b) fail("BetResolved: tx " + short_hex(e.tx_id) + " is not a bet");
    if (b->bet_id != e.bet_id) fail("BetResolved: bet id does not match the tx");
    if (r.status != TxStatus::accepted || r.block_height == 0)
      fail("BetResolved: bet " + to_hex(e.bet_id) + " is not committed in a block");
    if (r.outcome) fail("BetResolved: bet " + to_hex(e.bet_id) + " resolved twice");
    auto game = static_cast<Game>(b->game);
    bool roll_ok = game == Game::coinflip ? e.roll <= 1 : (e.roll >= 1 && e.roll <= 100);
    if (!roll_ok) fail("BetResolved: roll " + std::to_string(e.roll) + " out of range");
    Outcome o;
    guarded("BetResolved", [&] { o = outcome_for_roll(game, b->choice, b->wager, e.roll); });
    if (o.win != e.win || o.payout != e.payout)
      fail("BetResolved: bet " + to_hex(e.bet_id) + " records win=" + std::to_string(e.win) + " payout=" +
           std::to_string(e.payout) + " but roll " + std::to_string(e.roll) + " gives win=" + std::to_string(o.win) +
           " payout=" + std::to_string(o.payout));
    guarded("BetResolved", [&] {
      std::int64_t delta = to_signed(b->wager, "wager") - to_signed(e.payout, "payout");
      std::int64_t house = checked_add_signed(p.house_result, delta, "house result");
      p.accounts.resolve_bet(*b, e.payout);
      p.house_result = house;
    });
    remove_exposure(p.exposure, r.tx);
    r.outcome = o;
    if (!p.keys.settles) finish_tx(p, e.tx_id);  // Nothing batches it here (this may forget `r`: last).
  }

  void operator()(const BatchCreated& e) {
    if (p.batches.count(e.batch_id)) fail("BatchCreated: batch " + to_hex(e.batch_id) + " created twice");
    if (e.items.empty()) fail("BatchCreated: batch " + to_hex(e.batch_id) + " has no items");
    if (e.max_attempts == 0) fail("BatchCreated: max_attempts is 0");
    // As for blocks: mark each tx with the batch as it goes, undo the marks on failure.
    std::vector<TxRecord*> marked;
    marked.reserve(e.items.size());
    for (const auto& item : e.items) {
      auto broken = [&](const std::string& why) {
        for (auto* r : marked) r->batch_id.reset();
        fail("BatchCreated: item " + to_hex(item.id) + " " + why);
      };
      auto it = p.txs.find(item.tx_id);
      if (it == p.txs.end()) broken("names unknown tx " + short_hex(item.tx_id));
      TxRecord& r = it->second;
      if (item.kind != settlement::ItemKind::deposit && item.kind != settlement::ItemKind::bet)
        broken("has unknown kind " + std::to_string(static_cast<int>(item.kind)));
      if (r.batch_id) broken("is already in batch " + to_hex(*r.batch_id));
      if (item.kind == settlement::ItemKind::deposit) {
        auto* d = std::get_if<Deposit>(&r.tx);
        if (!d || r.status != TxStatus::accepted) broken("is not an accepted deposit");
        if (r.block_height == 0) broken("is a deposit not committed in a block");
        if (d->deposit_id != item.id || d->account != item.account || d->amount != item.amount || item.payout != 0)
          broken("does not match its deposit");
      } else {  // A bet: resolved implies accepted and committed (BetResolved checks both).
        auto* b = std::get_if<Bet>(&r.tx);
        if (!b || !r.outcome) broken("is not a resolved bet");
        if (b->bet_id != item.id || b->account != item.account || b->wager != item.amount ||
            r.outcome->payout != item.payout)
          broken("does not match its bet");
      }
      r.batch_id = e.batch_id;
      marked.push_back(&r);
    }
    p.batches.emplace(e.batch_id, BatchRecord{BatchLifecycle(e.max_attempts), e.items, std::nullopt, Hash32{}});
    if (p.last_batch_id < e.batch_id) p.last_batch_id = e.batch_id;
    for (const auto& item : e.items) finish_tx(p, item.tx_id);  // Batched: the rules need them no more.
  }

  void operator()(const BatchProved& e) {
    BatchRecord& b = must_find_batch(p, e.batch_id, "BatchProved");
    std::string what = "BatchProved: batch " + to_hex(e.batch_id);
    if (b.lifecycle.status() != BatchStatus::created)
      fail(what + " is " + std::string(batch_status_name(b.lifecycle.status())) + ", not created");
    if (e.inputs.batch_id != e.batch_id) fail(what + ": public inputs name another batch");
    if (e.witness.items != b.items) fail(what + ": witness items differ from the created batch");
    if (e.inputs.items_digest != settlement::items_digest(b.items)) fail(what + ": items_digest mismatch");
    if (e.sequencer_key != p.keys.sequencer_key) fail(what + ": not signed by the sequencer key in force");
    if (e.inputs.pre_root != p.settled.root()) fail(what + ": pre_root is not the settled root");
    settlement::Totals totals;
    guarded("BatchProved", [&] { totals = settlement::compute_totals(b.items); });
    if (totals != e.inputs.totals) fail(what + ": totals do not match the items");
    std::int64_t house = 0;
    Amount deposits = 0;
    bool root_matches = false;
    guarded("BatchProved", [&] {
      std::int64_t delta = to_signed(totals.wagers, "wagers") - to_signed(totals.payouts, "payouts");
      house = checked_add_signed(p.settled_house_result, delta, "settled house result");
      deposits = checked_add(p.settled_deposits, totals.deposits, "settled deposits");
      root_matches = p.settled.apply(b.items, e.inputs.post_root);  // Rolled back on a mismatch.
    });
    if (!root_matches) fail(what + ": post_root does not match the applied items");
    p.settled_house_result = house;
    p.settled_deposits = deposits;
    b.lifecycle.prove();
    b.inputs = e.inputs;
  }

  // The transition is tried on a copy of the lifecycle, so that an illegal one is reported
  // first and a later rule failing leaves the batch as it was.
  void operator()(const BatchSubmitted& e) {
    BatchRecord& b = must_find_batch(p, e.batch_id, "BatchSubmitted");
    BatchLifecycle next = b.lifecycle;
    guarded("BatchSubmitted", [&] { next.submit(e.attempt); });
    // A retry may name the same tx as before (the sequencer's signature is deterministic).
    auto it = p.txs.find(e.settlement_tx_id);
    auto* s = it == p.txs.end() ? nullptr : std::get_if<Settlement>(&it->second.tx);
    if (!s || s->inputs.batch_id != e.batch_id)
      fail("BatchSubmitted: batch " + to_hex(e.batch_id) + " names " + short_hex(e.settlement_tx_id) +
           ", not an admitted settlement tx for this batch");
    b.lifecycle = next;
    b.settlement_tx_id = e.settlement_tx_id;
  }

  void operator()(const BatchConfirmed& e) {
    BatchRecord& b = must_find_batch(p, e.batch_id, "BatchConfirmed");
    if (e.height == 0 || e.height > p.block_height)
      fail("BatchConfirmed: height " + std::to_string(e.height) + " is not a committed block");
    BatchLifecycle next = b.lifecycle;
    guarded("BatchConfirmed", [&] { next.confirm(e.height); });
    // The confirming block is the one that committed the latest submission's settlement tx.
    auto it = p.txs.find(b.settlement_tx_id);
    if (it == p.txs.end() || it->second.status != TxStatus::accepted || it->second.block_height != e.height)
      fail("BatchConfirmed: batch " + to_hex(e.batch_id) + "'s settlement tx " + short_hex(b.settlement_tx_id) +
           " was not committed at height " + std::to_string(e.height));
    b.lifecycle = next;
    end_batch(p, e.batch_id);  // May forget `b`: last.
  }

  void operator()(const BatchFailed& e) {
    BatchRecord& b = must_find_batch(p, e.batch_id, "BatchFailed");
    BatchLifecycle next = b.lifecycle;
    guarded("BatchFailed", [&] { next.fail(); });
    // Failed means the ledger rejected, or never admitted, the settlement (batch_step.hpp):
    // never while its settlement tx is alive, nor once the ledger accepted it.
    if (auto held = p.settlements.find(e.batch_id); held != p.settlements.end()) {
      const TxRecord& r = must_find_tx(p, held->second, "BatchFailed");
      if (r.status != TxStatus::rejected)
        fail("BatchFailed: batch " + to_hex(e.batch_id) + "'s settlement tx " + short_hex(held->second) +
             (r.status == TxStatus::accepted ? " was accepted" : " is still undecided"));
    }
    b.lifecycle = next;
    end_batch(p, e.batch_id);  // May forget `b`: last.
  }

  void operator()(const ReconciliationReport& e) { p.last_reconciliation = e; }

  void operator()(const SnapshotTaken&) {}
};

}  // namespace

void apply(Projections& p, std::uint64_t seq, const Event& e) {
  Event copy = e;
  apply(p, seq, std::move(copy));
}

void apply(Projections& p, std::uint64_t seq, Event&& e, const std::optional<Hash32>& known_tx_id) {
  if (seq != p.last_seq + 1)
    fail("event " + std::to_string(seq) + " does not follow the last applied event " + std::to_string(p.last_seq));
  if (!p.keys.known && !std::holds_alternative<NodeStarted>(e))
    fail(std::string(event_type_name(event_type(e))) + " before any NodeStarted");
  std::size_t type_index = e.index();
  std::visit(Applier{p, known_tx_id}, e);
  ++p.event_counts[type_index];
  p.last_seq = seq;
}

void set_windows(Projections& p, std::size_t recent_txs, std::size_t recent_batches) {
  p.recent_txs = recent_txs;
  p.recent_batches = recent_batches;
  while (p.finished_txs.size() > p.recent_txs) {
    forget_tx(p, p.finished_txs.front());
    p.finished_txs.pop_front();
  }
  while (p.ended_batches.size() > p.recent_batches) {
    p.batches.erase(p.ended_batches.front());
    p.ended_batches.pop_front();
  }
}

bool is_finished(const Projections& p, const TxRecord& r) {
  if (!p.keys.settles)
    return r.status == TxStatus::rejected ||
           (r.status == TxStatus::accepted && r.block_height != 0 &&
            (!std::holds_alternative<Bet>(r.tx) || r.outcome.has_value()));
  if (const auto* s = std::get_if<Settlement>(&r.tx)) {
    auto b = p.batches.find(s->inputs.batch_id);
    return b == p.batches.end() || b->second.lifecycle.terminal();
  }
  return r.status == TxStatus::rejected || r.batch_id.has_value();
}

std::vector<std::string> check_invariants(const Projections& p) {
  std::vector<std::string> problems;
  Int128 balances = 0;
  for (const auto& [key, a] : p.accounts.all()) {
    balances += a.balance;
    if (a.reserved > a.balance) problems.push_back("account " + to_hex(key) + ": reserved exceeds balance");
    if (a.nonce > a.pending_nonce) problems.push_back("account " + to_hex(key) + ": nonce ahead of pending nonce");
  }
  if (balances + p.house_result != static_cast<Int128>(p.deposits_total))
    problems.push_back("money not conserved: balances + house result != accepted deposits");
  Int128 settled = 0;
  for (const auto& [key, amount] : p.settled.balances()) settled += amount;
  if (settled + p.settled_house_result != static_cast<Int128>(p.settled_deposits))
    problems.push_back("settled money not conserved: settled balances + settled house result != settled deposits");
  return problems;
}

// --- snapshots ------------------------------------------------------------------------

namespace {
// 2: TxRecord::finalized_height, last_batch_id; only what the rules need (no finished tx, no
// ended batch). 3: NodeKeys::settles.
constexpr std::uint8_t kSnapshotFormatVersion = 3;
}

template <class A>
void Projections::save(A& ar) const {
  ar(kSnapshotFormatVersion, keys, accounts);
  std::vector<std::pair<Hash32, TxRecord>> tx_list;
  for (const auto& [id, r] : txs)
    if (!is_finished(*this, r)) tx_list.emplace_back(id, r);
  std::sort(tx_list.begin(), tx_list.end(), [](auto& x, auto& y) { return x.first < y.first; });
  ar(tx_list, block_height, block_hash);
  std::vector<std::pair<Id128, BatchRecord>> batch_list;
  for (const auto& [id, b] : batches)
    if (!b.lifecycle.terminal()) batch_list.emplace_back(id, b);
  std::vector<std::pair<PublicKey, Amount>> settled_list(settled.balances().begin(), settled.balances().end());
  std::sort(settled_list.begin(), settled_list.end());
  ar(batch_list, settled_list, deposits_total, house_result, settled_deposits, settled_house_result,
     last_reconciliation, event_counts, last_seq, last_batch_id, accepted_txs);
}

template <class A>
void Projections::load(A& ar) {
  std::uint8_t version = 0;
  ar(version);
  expect_version(version, kSnapshotFormatVersion, "snapshot");
  ar(keys, accounts);
  std::vector<std::pair<Hash32, TxRecord>> tx_list;
  ar(tx_list, block_height, block_hash);
  txs.clear();
  exposure = Exposure{};
  bets.clear();
  deposits.clear();
  settlements.clear();
  txs.reserve(tx_list.size());
  for (auto& [id, r] : tx_list) {
    if (auto* b = std::get_if<Bet>(&r.tx)) bets.emplace(b->bet_id, id);
    if (auto* d = std::get_if<Deposit>(&r.tx)) deposits.emplace(d->deposit_id, id);
    if (auto* s = std::get_if<Settlement>(&r.tx)) settlements.emplace(s->inputs.batch_id, id);
    // The exposure of the txs still pending (not in the snapshot: it follows from them).
    const bool pending = r.status == TxStatus::admitted ||
                         (r.status == TxStatus::accepted && std::holds_alternative<Bet>(r.tx) && !r.outcome);
    if (pending) add_exposure(exposure, r.tx);
    txs.emplace(id, std::move(r));
  }
  std::vector<std::pair<Id128, BatchRecord>> batch_list;
  std::vector<std::pair<PublicKey, Amount>> settled_list;
  ar(batch_list, settled_list, deposits_total, house_result, settled_deposits, settled_house_result,
     last_reconciliation, event_counts, last_seq, last_batch_id, accepted_txs);
  batches = std::map<Id128, BatchRecord>(batch_list.begin(), batch_list.end());
  finished_txs.clear();
  ended_batches.clear();
  settled = settlement::SettledState::from_balances(std::move(settled_list));
}

Bytes encode_snapshot(const Projections& p) { return encode(p); }

Projections decode_snapshot(ByteView blob) { return decode<Projections>(blob, "snapshot"); }

}  // namespace croupier
