#include "eventlog/index_audit.hpp"

#include "eventlog/cold.hpp"

namespace croupier::eventlog {

namespace {

std::string describe(const TxEntry& e) {
  return "tx " + to_hex(e.tx_id).substr(0, 16) + " admitted " + std::to_string(e.admitted) + " finalized " +
         std::to_string(e.finalized) + " resolved " + std::to_string(e.resolved) + " batch " + to_hex(e.batch_id);
}
std::string describe(const BatchEntry& e) {
  return "created " + std::to_string(e.created) + " proved " + std::to_string(e.proved) + " submitted " +
         std::to_string(e.submitted) + " last " + std::to_string(e.last);
}
Seq seq_of(const BatchEntry& e) { return e.created ? e.created : e.last; }

std::string block_key_hex(std::uint64_t height) {
  std::array<std::uint8_t, 8> k{};
  put_u64_be(k.data(), height);
  return to_hex(k);
}

// The stored entry; a malformed one is nullopt in `malformed` terms (the flag is set).
template <class F>
auto stored_or_malformed(F&& find, bool& malformed) -> decltype(find()) {
  try {
    return find();
  } catch (const LogError&) {
    malformed = true;
    return std::nullopt;
  }
}

// Whether the event at `seq` creates the index entry `key` (raw key bytes) of `index`.
bool created_by_event(const EventLog& log, EventLog::Index index, ByteView key, Seq seq) {
  auto record = seq ? log.read(seq) : std::nullopt;
  if (!record) return false;
  Event e;
  try {
    e = decode_event(record->type, record->payload);
  } catch (const DecodeError&) {
    return false;
  }
  switch (index) {
    case EventLog::Index::bet:
    case EventLog::Index::deposit: {
      const auto* a = std::get_if<TxAdmitted>(&e);
      if (!a) return false;
      const TxKey k = tx_key(a->tx);
      const TxKind want = index == EventLog::Index::bet ? TxKind::bet : TxKind::deposit;
      return k.kind == want && key.size() == k.id.size() && std::equal(key.begin(), key.end(), k.id.begin());
    }
    case EventLog::Index::batch: {
      auto id = batch_id_of(e);
      return id && key.size() == id->size() && std::equal(key.begin(), key.end(), id->begin());
    }
    case EventLog::Index::block: {
      const auto* b = std::get_if<BlockCommitted>(&e);
      return b && key.size() == 8 && get_u64_be(key.data()) == b->height;
    }
  }
  return false;
}

}  // namespace

void IndexAudit::event(const Event& e, Seq seq, const std::optional<Hash32>& tx_id, const std::optional<StoredTx>& stored) {
  update_indexes(*this, e, seq, tx_id);
  if (const auto key = admitted_key(e); key && stored) {
    auto& open = key->kind == TxKind::bet ? bets_ : deposits_;
    if (auto it = open.find(key->id); it != open.end() && it->second.entry.admitted == seq) it->second.stored = stored;
  }
  // The projections' finishing rules (domain/projections.hpp): no later event changes these.
  if (const auto* f = std::get_if<TxFinalized>(&e)) {
    if (!f->accepted && f->key.kind != TxKind::settlement) settle_tx(f->key.kind, f->key.id);
  } else if (const auto* c = std::get_if<BatchCreated>(&e)) {
    for (const auto& item : c->items)
      settle_tx(item.kind == settlement::ItemKind::bet ? TxKind::bet : TxKind::deposit, item.id);
  } else if (const auto* bc = std::get_if<BatchConfirmed>(&e)) {
    settle_batch(bc->batch_id);
  } else if (const auto* bf = std::get_if<BatchFailed>(&e)) {
    settle_batch(bf->batch_id);
  }
}

std::optional<TxEntry> IndexAudit::tx(TxKind kind, const Id128& id) {
  auto& open = kind == TxKind::bet ? bets_ : deposits_;
  auto it = open.find(id);
  return it == open.end() ? std::nullopt : std::optional<TxEntry>(it->second.entry);
}

void IndexAudit::put_tx(TxKind kind, const Id128& id, const TxEntry& entry, bool fresh, Seq) {
  auto& open = kind == TxKind::bet ? bets_ : deposits_;
  if (!fresh) {
    open[id].entry = entry;
    return;
  }
  // A second admission: the first entry stands. (The replay leaves out an admission of an id
  // already admitted, which apply() or refuse_key_held_in_log reports; this is a guard.)
  if (open.contains(id)) return;
  ++(kind == TxKind::bet ? bets_created_ : deposits_created_);
  open.emplace(id, OpenTx{entry, std::nullopt});
}

std::optional<BatchEntry> IndexAudit::batch(const Id128& id) {
  auto it = batches_.find(id);
  return it == batches_.end() ? std::nullopt : std::optional<BatchEntry>(it->second);
}

void IndexAudit::put_batch(const Id128& id, const BatchEntry& entry, Seq) {
  auto [it, fresh] = batches_.insert_or_assign(id, entry);
  if (fresh) ++batches_created_;
}

void IndexAudit::put_block(std::uint64_t height, Seq seq) {
  if (height > highest_block_) {
    highest_block_ = height;
    ++blocks_created_;
  }
  if (unknown_.contains(seq)) return;
  bool malformed = false;
  auto stored = stored_or_malformed([&] { return log_.find_block(height); }, malformed);
  if (stored && unknown_.contains(*stored)) return;
  if (!stored && !malformed)
    problem(seq, "block_index has no entry for " + block_key_hex(height) + " (seq " + std::to_string(seq) + ")");
  else if (!stored || *stored != seq)
    problem(seq, "block_index entry for " + block_key_hex(height) + " is " +
                     (stored ? "seq " + std::to_string(*stored) : std::string("malformed")) + ", not seq " +
                     std::to_string(seq));
}

bool IndexAudit::names_unknown(const TxEntry& e) const {
  return unknown_.contains(e.admitted) || unknown_.contains(e.finalized) || unknown_.contains(e.resolved);
}
bool IndexAudit::names_unknown(const BatchEntry& e) const {
  return unknown_.contains(e.created) || unknown_.contains(e.proved) || unknown_.contains(e.submitted) ||
         unknown_.contains(e.last);
}

void IndexAudit::settle_tx(TxKind kind, const Id128& id) {
  auto& open = kind == TxKind::bet ? bets_ : deposits_;
  auto it = open.find(id);
  if (it == open.end()) return;
  const TxEntry expected = it->second.entry;
  const std::optional<StoredTx> read_before = std::move(it->second.stored);
  open.erase(it);
  const char* name = kind == TxKind::bet ? "bet_index" : "deposit_index";
  bool malformed = read_before && read_before->malformed;
  auto stored = read_before ? read_before->entry
                            : stored_or_malformed([&] { return kind == TxKind::bet ? log_.find_bet(id) : log_.find_deposit(id); },
                                                  malformed);
  if (names_unknown(expected) || (stored && names_unknown(*stored))) return;  // Cannot be judged.
  if (!stored && !malformed)
    problem(expected.admitted, std::string(name) + " has no entry for " + to_hex(id) + " (" + describe(expected) + ")");
  else if (!stored || *stored != expected)
    problem(expected.admitted, std::string(name) + " entry for " + to_hex(id) + " is " +
                                   (stored ? describe(*stored) : std::string("malformed")) + ", not " + describe(expected));
}

void IndexAudit::settle_batch(const Id128& id) {
  auto it = batches_.find(id);
  if (it == batches_.end()) return;
  const BatchEntry expected = it->second;
  batches_.erase(it);
  bool malformed = false;
  auto stored = stored_or_malformed([&] { return log_.find_batch(id); }, malformed);
  if (names_unknown(expected) || (stored && names_unknown(*stored))) return;
  if (!stored && !malformed)
    problem(seq_of(expected), "batch_index has no entry for " + to_hex(id) + " (" + describe(expected) + ")");
  else if (!stored || *stored != expected)
    problem(seq_of(expected), "batch_index entry for " + to_hex(id) + " is " +
                                  (stored ? describe(*stored) : std::string("malformed")) + ", not " + describe(expected));
}

// Only when an index holds more entries than the events created: each one is checked against
// the event it names.
void IndexAudit::name_extra_entries(EventLog::Index index, const char* name) {
  log_.scan_index(index, [&](ByteView key, ByteView value) {
    Seq seq = 0;
    if (index == EventLog::Index::bet || index == EventLog::Index::deposit) {
      auto e = decode_tx_entry(value);
      if (e && names_unknown(*e)) return;
      seq = e ? e->admitted : 0;
    } else if (index == EventLog::Index::batch) {
      auto e = decode_batch_entry(value);
      if (e && names_unknown(*e)) return;
      seq = e ? seq_of(*e) : 0;
    } else {
      seq = value.size() == 8 ? get_u64_be(value.data()) : 0;
      if (unknown_.contains(seq)) return;
    }
    if (!created_by_event(log_, index, key, seq))
      problem(seq, std::string(name) + " has an entry for " + to_hex(key) + " that no event creates");
  });
}

void IndexAudit::finish(const Report& report) {
  std::vector<Id128> left;
  for (auto* open : {&bets_, &deposits_}) {
    const TxKind kind = open == &bets_ ? TxKind::bet : TxKind::deposit;
    left.clear();
    for (const auto& [id, e] : *open) left.push_back(id);
    for (const auto& id : left) settle_tx(kind, id);
  }
  left.clear();
  for (const auto& [id, e] : batches_) left.push_back(id);
  for (const auto& id : left) settle_batch(id);
  if (log_.index_size(EventLog::Index::bet) != bets_created_) name_extra_entries(EventLog::Index::bet, "bet_index");
  if (log_.index_size(EventLog::Index::deposit) != deposits_created_)
    name_extra_entries(EventLog::Index::deposit, "deposit_index");
  if (log_.index_size(EventLog::Index::batch) != batches_created_)
    name_extra_entries(EventLog::Index::batch, "batch_index");
  if (log_.index_size(EventLog::Index::block) != blocks_created_)
    name_extra_entries(EventLog::Index::block, "block_index");
  for (auto& [seq, message] : problems_) report(seq, std::move(message));
  problems_.clear();
}

}  // namespace croupier::eventlog
