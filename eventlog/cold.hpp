#pragma once
// Cold state: the bets, deposits and batches the projections have forgotten (domain/
// projections.hpp, hot and cold state), rebuilt from the log as the projections held them.
// A bet's or deposit's index entry names its TxAdmitted, TxFinalized and BetResolved and its
// batch; a batch's names its stages (eventlog/indexes.hpp). A few point reads each, no scan.
//
// The log's indexes hold committed records only, so what these return is durable.
#include <map>
#include <optional>
#include <set>

#include "domain/projections.hpp"
#include "eventlog/event_log.hpp"

namespace croupier::eventlog {

struct ColdTx {
  Hash32 tx_id{};
  TxRecord record;
  std::optional<BatchStatus> batch_status;  // Of record.batch_id, when it has one.
};

// The key a TxAdmitted of a bet or deposit admits (what the bet and deposit indexes are keyed
// by); nullopt for any other event, a settlement's admission included.
std::optional<TxKey> admitted_key(const Event& e);

// The tx id the log's index names for a bet's or deposit's key (admission's KeyLookup);
// nullopt when it names none, and for a settlement's key (not indexed by key).
std::optional<Hash32> tx_id_held_in_log(const EventLog& log, const TxKey& key);

// A TxAdmitted, to be applied at `seq`, whose bet or deposit id the projections have
// forgotten (hot and cold state) but the log's index names for an earlier admission: apply()
// cannot see that key, so this throws ApplyError as apply() does for a key it holds. The
// journal calls it before each apply, and the audit's replay too (the ids are unique).
void refuse_key_held_in_log(const EventLog& log, const Projections& p, const Event& e, Seq seq);
// The same judgement with the key's index entry already read (`stored`: what the log's
// index holds for the key of `e`, a TxAdmitted of a bet or deposit), as the audit's scan reads it.
void refuse_key_held_in(const std::optional<TxEntry>& stored, const Projections& p, const Event& e, Seq seq);

// nullopt when the log indexes no such bet or deposit (kind bet or deposit only).
std::optional<ColdTx> read_cold_tx(const EventLog& log, TxKind kind, const Id128& id);

// The batch as the projections held it: its lifecycle (status, attempts, height), its items,
// its proved inputs and its latest settlement tx. nullopt when the log has no such batch.
std::optional<BatchRecord> read_cold_batch(const EventLog& log, const Id128& batch_id);

// The bets and deposits among `wanted` that the block whose BlockCommitted is at
// `block_seq` holds, by tx id: read from the TxFinalized events plan_block writes just before
// it (domain/blocks.hpp) and the TxAdmitted their index entries name. Settlements are left out.
std::map<Hash32, Tx> read_block_txs(const EventLog& log, Seq block_seq, std::set<Hash32> wanted);

// Only the status (one index read and one event read).
std::optional<BatchStatus> read_batch_status(const EventLog& log, const Id128& batch_id);

}  // namespace croupier::eventlog
