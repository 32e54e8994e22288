#include "eventlog/cold.hpp"

namespace croupier::eventlog {

namespace {

// The event at `seq`, which the index says is a T: a different one is a damaged log.
template <class T>
T must_read(const EventLog& log, Seq seq, const char* what) {
  auto e = read_event_as<T>(log, seq);
  if (!e)
    throw LogError(ErrorKind::corrupt_record,
                   std::string(what) + " names seq " + std::to_string(seq) + ", which holds no " +
                       std::string(event_type_name(event_type(Event{T{}}))),
                   seq);
  return std::move(*e);
}

std::optional<BatchStatus> status_of_last(const EventLog& log, const BatchEntry& entry) {
  auto record = log.read(entry.last);
  if (!record) return std::nullopt;
  switch (static_cast<EventType>(record->type)) {
    case EventType::batch_created: return BatchStatus::created;
    case EventType::batch_proved: return BatchStatus::proved;
    case EventType::batch_submitted: return BatchStatus::submitted;
    case EventType::batch_confirmed: return BatchStatus::confirmed;
    case EventType::batch_failed: return BatchStatus::failed;
    default:
      throw LogError(ErrorKind::corrupt_record, "batch_index names seq " + std::to_string(entry.last) + ", which holds no Batch* event",
                     entry.last);
  }
}

}  // namespace

std::optional<TxKey> admitted_key(const Event& e) {
  const auto* a = std::get_if<TxAdmitted>(&e);
  if (!a || std::holds_alternative<Settlement>(a->tx)) return std::nullopt;
  return tx_key(a->tx);
}

std::optional<Hash32> tx_id_held_in_log(const EventLog& log, const TxKey& key) {
  auto entry = key.kind == TxKind::bet ? log.find_bet(key.id) : key.kind == TxKind::deposit ? log.find_deposit(key.id) : std::nullopt;
  if (!entry) return std::nullopt;
  return entry->tx_id;
}

namespace {

// The key of a bet's or deposit's admission that apply() cannot judge (the projections do not
// hold it); nullopt for any other event.
std::optional<TxKey> key_forgotten_by(const Projections& p, const Event& e) {
  auto key = admitted_key(e);
  if (key && (key->kind == TxKind::bet ? p.bets : p.deposits).contains(key->id)) return std::nullopt;  // apply() judges it.
  return key;
}

void refuse_if_admitted_before(const std::optional<TxEntry>& entry, const TxKey& key, Seq seq) {
  if (entry && entry->admitted != seq)
    throw ApplyError("TxAdmitted: " + std::string(tx_kind_name(key.kind)) + " id " + to_hex(key.id) +
                     " admitted twice (the log holds it, admitted at seq " + std::to_string(entry->admitted) + ")");
}

}  // namespace

void refuse_key_held_in_log(const EventLog& log, const Projections& p, const Event& e, Seq seq) {
  auto key = key_forgotten_by(p, e);
  if (!key) return;
  refuse_if_admitted_before(key->kind == TxKind::bet ? log.find_bet(key->id) : log.find_deposit(key->id), *key, seq);
}

void refuse_key_held_in(const std::optional<TxEntry>& stored, const Projections& p, const Event& e, Seq seq) {
  if (auto key = key_forgotten_by(p, e)) refuse_if_admitted_before(stored, *key, seq);
}

std::optional<ColdTx> read_cold_tx(const EventLog& log, TxKind kind, const Id128& id) {
  auto entry = kind == TxKind::bet ? log.find_bet(id) : kind == TxKind::deposit ? log.find_deposit(id) : std::nullopt;
  if (!entry) return std::nullopt;
  ColdTx cold;
  cold.tx_id = entry->tx_id;
  cold.record.tx = must_read<TxAdmitted>(log, entry->admitted, "an index entry").tx;
  if (entry->finalized) {
    auto f = must_read<TxFinalized>(log, entry->finalized, "an index entry");
    cold.record.status = f.accepted ? TxStatus::accepted : TxStatus::rejected;
    cold.record.block_height = f.block_height;
    cold.record.finalized_height = f.block_height;
  }
  if (entry->resolved) {
    auto r = must_read<BetResolved>(log, entry->resolved, "an index entry");
    cold.record.outcome = Outcome{r.roll, r.win, r.payout};
  }
  if (entry->batch_id != Id128{}) {
    cold.record.batch_id = entry->batch_id;
    cold.batch_status = read_batch_status(log, entry->batch_id);
  }
  return cold;
}

std::map<Hash32, Tx> read_block_txs(const EventLog& log, Seq block_seq, std::set<Hash32> wanted) {
  std::map<Hash32, Tx> found;
  for (Seq seq = block_seq - 1; seq > 0 && !wanted.empty(); --seq) {
    auto f = read_event_as<TxFinalized>(log, seq);
    if (!f) break;  // The block's decisions are all behind it.
    if (wanted.erase(f->tx_id) == 0 || f->key.kind == TxKind::settlement) continue;
    auto cold = read_cold_tx(log, f->key.kind, f->key.id);
    if (!cold || cold->tx_id != f->tx_id)
      throw LogError(ErrorKind::corrupt_record,
                     "TxFinalized at seq " + std::to_string(seq) + " names a key the tx index does not give it", seq);
    found.emplace(f->tx_id, std::move(cold->record.tx));
  }
  return found;
}

std::optional<BatchStatus> read_batch_status(const EventLog& log, const Id128& batch_id) {
  auto entry = log.find_batch(batch_id);
  if (!entry) return std::nullopt;
  return status_of_last(log, *entry);
}

std::optional<BatchRecord> read_cold_batch(const EventLog& log, const Id128& batch_id) {
  auto entry = log.find_batch(batch_id);
  if (!entry || !entry->created) return std::nullopt;
  auto created = must_read<BatchCreated>(log, entry->created, "batch_index");
  BatchRecord b{BatchLifecycle(created.max_attempts), std::move(created.items), std::nullopt, Hash32{}};
  // The lifecycle the events took it through, in their order.
  if (entry->proved) {
    b.inputs = must_read<BatchProved>(log, entry->proved, "batch_index").inputs;
    b.lifecycle.prove();
  }
  if (entry->submitted) {
    auto s = must_read<BatchSubmitted>(log, entry->submitted, "batch_index");
    for (std::uint32_t a = 1; a <= s.attempt; ++a) b.lifecycle.submit(a);
    b.settlement_tx_id = s.settlement_tx_id;
  }
  switch (status_of_last(log, *entry).value_or(BatchStatus::created)) {
    case BatchStatus::confirmed: b.lifecycle.confirm(must_read<BatchConfirmed>(log, entry->last, "batch_index").height); break;
    case BatchStatus::failed: b.lifecycle.fail(); break;
    default: break;
  }
  return b;
}

}  // namespace croupier::eventlog
