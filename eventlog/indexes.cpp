#include "eventlog/indexes.hpp"

#include <cstring>

namespace croupier::eventlog {

std::array<std::uint8_t, kTxEntrySize> encode_entry(const TxEntry& e) {
  std::array<std::uint8_t, kTxEntrySize> out{};
  std::memcpy(out.data(), e.tx_id.data(), 32);
  put_u64_le(out.data() + 32, e.admitted);
  put_u64_le(out.data() + 40, e.finalized);
  put_u64_le(out.data() + 48, e.resolved);
  std::memcpy(out.data() + 56, e.batch_id.data(), 16);
  return out;
}

std::array<std::uint8_t, kBatchEntrySize> encode_entry(const BatchEntry& e) {
  std::array<std::uint8_t, kBatchEntrySize> out{};
  put_u64_le(out.data(), e.created);
  put_u64_le(out.data() + 8, e.proved);
  put_u64_le(out.data() + 16, e.submitted);
  put_u64_le(out.data() + 24, e.last);
  return out;
}

std::optional<TxEntry> decode_tx_entry(ByteView b) {
  if (b.size() != kTxEntrySize) return std::nullopt;
  TxEntry e;
  std::memcpy(e.tx_id.data(), b.data(), 32);
  e.admitted = get_u64_le(b.data() + 32);
  e.finalized = get_u64_le(b.data() + 40);
  e.resolved = get_u64_le(b.data() + 48);
  std::memcpy(e.batch_id.data(), b.data() + 56, 16);
  return e;
}

std::optional<BatchEntry> decode_batch_entry(ByteView b) {
  if (b.size() != kBatchEntrySize) return std::nullopt;
  return BatchEntry{get_u64_le(b.data()), get_u64_le(b.data() + 8), get_u64_le(b.data() + 16),
                    get_u64_le(b.data() + 24)};
}

namespace {

struct Updater {
  IndexStore& store;
  Seq seq;
  const std::optional<Hash32>& known_tx_id;

  // Changes the entry of a bet or deposit with `change`; reports a missing one.
  template <class F>
  void change_tx(TxKind kind, const Id128& id, const char* what, F&& change) {
    if (kind != TxKind::bet && kind != TxKind::deposit) return;  // Settlements are found by batch.
    auto entry = store.tx(kind, id);
    if (!entry) return store.missing(std::string(what) + " names " + std::string(tx_kind_name(kind)) + " " +
                                         to_hex(id) + ", which has no index entry", seq);
    change(*entry);
    store.put_tx(kind, id, *entry, false, seq);
  }

  template <class F>
  void change_batch(const Id128& id, F&& change) {
    BatchEntry entry = store.batch(id).value_or(BatchEntry{});
    change(entry);
    entry.last = seq;
    store.put_batch(id, entry, seq);
  }

  void operator()(const TxAdmitted& e) {
    const TxKey key = tx_key(e.tx);
    if (key.kind == TxKind::settlement) return;
    store.put_tx(key.kind, key.id, TxEntry{known_tx_id ? *known_tx_id : tx_id(e.tx), seq, 0, 0, Id128{}}, true, seq);
  }
  void operator()(const TxFinalized& e) {
    change_tx(e.key.kind, e.key.id, "TxFinalized", [&](TxEntry& t) { t.finalized = seq; });
  }
  void operator()(const BetResolved& e) {
    change_tx(TxKind::bet, e.bet_id, "BetResolved", [&](TxEntry& t) { t.resolved = seq; });
  }
  void operator()(const BlockCommitted& e) { store.put_block(e.height, seq); }
  void operator()(const BatchCreated& e) {
    change_batch(e.batch_id, [&](BatchEntry& b) { b.created = seq; });
    for (const auto& item : e.items) {
      const TxKind kind = item.kind == settlement::ItemKind::bet ? TxKind::bet : TxKind::deposit;
      change_tx(kind, item.id, "BatchCreated", [&](TxEntry& t) { t.batch_id = e.batch_id; });
    }
  }
  void operator()(const BatchProved& e) {
    change_batch(e.batch_id, [&](BatchEntry& b) { b.proved = seq; });
  }
  void operator()(const BatchSubmitted& e) {
    change_batch(e.batch_id, [&](BatchEntry& b) { b.submitted = seq; });
  }
  void operator()(const BatchConfirmed& e) {
    change_batch(e.batch_id, [](BatchEntry&) {});
  }
  void operator()(const BatchFailed& e) {
    change_batch(e.batch_id, [](BatchEntry&) {});
  }
  void operator()(const NodeStarted&) {}
  void operator()(const ReconciliationReport&) {}
  void operator()(const SnapshotTaken&) {}
};

}  // namespace

void update_indexes(IndexStore& store, const Event& e, Seq seq, const std::optional<Hash32>& known_tx_id) {
  std::visit(Updater{store, seq, known_tx_id}, e);
}

}  // namespace croupier::eventlog
