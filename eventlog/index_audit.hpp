#pragma once
// The audit of the stored indexes against the events, in memory bounded by what is live (not
// by the history), for `croupier replay` of logs far larger than memory.
//
// As the replay goes, each entry is rebuilt from the events by the writer's own
// update_indexes() while its key can still change. Once it cannot (a bet or deposit once it is
// rejected or batched, a batch once it is confirmed or failed: the projections' finishing
// rules) it is compared with the stored entry by a point read and dropped; the entries still
// open at the end are compared then, and a block's entry at its BlockCommitted. Every stored
// entry must be one the events created: each index must hold exactly as many entries as keys
// the events created (all of them found, so none is extra); when the counts differ, a scan of
// that index names the entries no event created (a point read of the event each one names).
//
// The problems are kept aside, and given only for a log whose records are intact (an index
// is not judged against records the audit could not read).
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "eventlog/event_log.hpp"
#include "eventlog/indexes.hpp"

namespace croupier::eventlog {

class IndexAudit final : public IndexStore {
 public:
  using Report = std::function<void(Seq, std::string)>;
  explicit IndexAudit(const EventLog& log) : log_(log) {}

  // A bet's or deposit's index entry as read when its admission was scanned (the audit's
  // scan reads it in its own transaction, on its own thread): settling the entry then needs no
  // read of its own. The log's indexes do not change under one scan's transaction.
  struct StoredTx {
    std::optional<TxEntry> entry;
    bool malformed = false;
  };

  // Event `e` at `seq` (before apply(), which may move its parts away); `stored`, for a bet's
  // or deposit's TxAdmitted, is its key's stored entry when already read.
  void event(const Event& e, Seq seq, const std::optional<Hash32>& tx_id, const std::optional<StoredTx>& stored = std::nullopt);
  // A record that could not be read or decoded: entries naming it cannot be judged.
  void unknown(Seq seq) { unknown_.insert(seq); }
  // Compares what is still open and the counts; hands every problem found to `report`.
  void finish(const Report& report);

  // IndexStore, for update_indexes(): the open entries.
  std::optional<TxEntry> tx(TxKind kind, const Id128& id) override;
  void put_tx(TxKind kind, const Id128& id, const TxEntry& entry, bool fresh, Seq seq) override;
  std::optional<BatchEntry> batch(const Id128& id) override;
  void put_batch(const Id128& id, const BatchEntry& entry, Seq seq) override;
  void put_block(std::uint64_t height, Seq seq) override;
  void missing(const std::string&, Seq) override {}

 private:
  void settle_tx(TxKind kind, const Id128& id);
  void settle_batch(const Id128& id);
  bool names_unknown(const TxEntry& e) const;
  bool names_unknown(const BatchEntry& e) const;
  void name_extra_entries(EventLog::Index index, const char* name);
  void problem(Seq seq, std::string message) { problems_.emplace_back(seq, std::move(message)); }

  struct OpenTx {
    TxEntry entry;                  // As the events built it so far.
    std::optional<StoredTx> stored;  // As stored, when read at its admission.
  };

  const EventLog& log_;
  std::unordered_map<Id128, OpenTx, BytesHash> bets_, deposits_;
  std::unordered_map<Id128, BatchEntry, BytesHash> batches_;
  std::unordered_set<Seq> unknown_;
  std::uint64_t bets_created_ = 0, deposits_created_ = 0, batches_created_ = 0, blocks_created_ = 0;
  std::uint64_t highest_block_ = 0;
  std::vector<std::pair<Seq, std::string>> problems_;
};

}  // namespace croupier::eventlog
