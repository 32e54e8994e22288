#pragma once
// The mempool's decision for an incoming transaction against the current projections.
//
// decide_admission(p, tx) returns exactly one of:
//   Admit{tx_id}              append TxAdmitted{tx}; apply() is then guaranteed to accept it.
//   Duplicate{tx_id}          the same transaction is already known (idempotent resend): answer
//                             with the existing tx's status; create nothing.
//   Conflict{existing_tx_id}  the idempotency key (bet_id, deposit_id, or a settlement's
//                             batch_id) is taken by a different transaction: HTTP 409.
//   Refuse{code, message}     not admissible now; `code` is stable (API error codes), the
//                             message is for people.
//
// Checks, in this order (the first that applies decides):
//   1. no_keys             no NodeStarted applied yet (apply() would refuse any TxAdmitted;
//                          the projections then hold no tx, so nothing could be a duplicate).
//   2. idempotency         a known key with the same tx_id is a Duplicate, with another tx_id
//                          a Conflict; a key the projections have forgotten is asked of
//                          `held_in_log` (KeyLookup). This runs before every other check so
//                          that a resend of an admitted bet gets its answer even when its nonce
//                          is stale or its wager is no longer available.
//   3. bad_signature       verify_tx_signature fails (against the key the tx names).
//   4. check_admissible, the rules apply() checks too (per kind):
//      deposit     not_operator  (operator_key is not the operator key in force),
//                  zero_amount, amount_overflow (exposure.hpp);
//      bet         Accounts::check_bet: bad_terms (unknown game included), wrong_nonce,
//                  insufficient_funds (RuleViolation codes, carried over unchanged),
//                  amount_overflow;
//      settlement  not_sequencer (not signed by the sequencer key in force),
//                  batch_mismatch (no batch of that id that is proved or submitted with
//                  exactly these public inputs);
//   5. settlements: bad_proof (settlement::verify rejects it; cryptography, which apply()
//      leaves to the audit).
//
// A key stays taken whatever the status of the tx that holds it: a rejected bet keeps its
// bet_id, as in apply(). "Same transaction" means the same tx_id. For deposits and bets the id hashes every field,
// so it means byte-identical content. A settlement's id leaves out its witness (evidence
// that travels with it), so two settlements with the same public inputs, sequencer key and
// proof are the same settlement even if their witnesses differ.
//
// Invariant (tested): Admit => apply(p, seq, TxAdmitted{tx}) succeeds, and afterwards
// decide_admission(p, tx) == Duplicate{same tx_id}. And an admitted tx can always be decided:
// apply() accepts its TxFinalized either way, and a bet's BetResolved for any roll, whatever
// else is pending (exposure.hpp). Consensus cannot take a decision back, so a decision the
// journal refused would be lost.
//
// Costs: one BLAKE2b of the tx, one Ed25519 verification, O(1) lookups (settlements are
// found by batch id in Projections::settlements); settlements also pay settlement::verify.
//
// Pure: reads `p` and `tx`, keeps nothing. Thread-safe as long as `p` is not being mutated.
// Limits on the mempool itself (size, 503 when full) are the actor's, not this function's.

#include <cstdint>
#include <functional>
#include <optional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>

#include "domain/projections.hpp"

namespace croupier {

// Stable API error codes of a refused transaction; append new codes at the end only.
enum class RefusalCode : std::uint8_t {
  no_keys = 1,             // No NodeStarted yet: the node cannot check deposits or apply txs.
  bad_signature = 2,       // The Ed25519 signature does not verify against the key the tx names.
  bad_terms = 3,           // Bet: unknown game, bad choice or wager out of limits.
  wrong_nonce = 4,         // Bet: nonce is not the account's next nonce.
  insufficient_funds = 5,  // Bet: wager exceeds the available (unreserved) balance.
  not_operator = 6,        // Deposit: not signed by the operator key in force.
  zero_amount = 7,         // Deposit: amount 0.
  bad_proof = 8,           // Settlement: settlement::verify rejects it.
  not_sequencer = 9,       // Settlement: not signed by the sequencer key in force.
  batch_mismatch = 10,     // Settlement: no proved batch of that id with these public inputs.
  amount_overflow = 11,    // Deposit or bet: deciding it could overflow a balance or a total,
                           // with the txs pending now counted at their worst (exposure.hpp).
};
std::string_view refusal_code_name(RefusalCode c);  // "no_keys", "bad_signature", ...
RefusalCode refusal_code_from_rule(RuleViolation::Code c);

namespace admission {

struct Admit {
  Hash32 tx_id{};  // tx_id(tx), computed once here.
  friend bool operator==(const Admit&, const Admit&) = default;
};

struct Duplicate {
  Hash32 tx_id{};  // The known tx, identical to the incoming one; look it up in p.txs.
  friend bool operator==(const Duplicate&, const Duplicate&) = default;
};

struct Conflict {
  Hash32 existing_tx_id{};  // The known tx that holds the idempotency key.
  friend bool operator==(const Conflict&, const Conflict&) = default;
};

struct Refuse {
  RefusalCode code = RefusalCode::bad_signature;
  std::string message;  // For people; never matched on.
  friend bool operator==(const Refuse&, const Refuse&) = default;
};

using Decision = std::variant<Admit, Duplicate, Conflict, Refuse>;

// "Admit(ab12cd34)", "Duplicate(...)", "Conflict(...)", "Refuse(wrong_nonce: ...)". Declared
// in this namespace so that argument-dependent lookup (doctest's printing included) finds it.
std::ostream& operator<<(std::ostream& os, const Decision& d);

}  // namespace admission

using AdmissionDecision = admission::Decision;

// Where a bet's or deposit's idempotency key is held once the projections have forgotten its
// tx (hot and cold state, projections.hpp): the tx id the log's index names for the key, or
// nullopt. decide_admission asks it only for a key the projections do not hold.
using KeyLookup = std::function<std::optional<Hash32>(const TxKey&)>;

// The rules of step 4 above, shared by decide_admission and apply(TxAdmitted), so that the
// two cannot drift apart: nullopt when `tx` may be admitted against `p` as far as they go.
// Requires p.keys.known. Leaves out the idempotency keys, the signature and a settlement's
// proof.
[[nodiscard]] std::optional<admission::Refuse> check_admissible(const Projections& p, const Tx& tx);

// See the header comment. Never throws for any content of `tx` (malformed settlements are
// refused with bad_proof); may throw std::bad_alloc.
[[nodiscard]] AdmissionDecision decide_admission(const Projections& p, const Tx& tx, const KeyLookup& held_in_log = {});

// The part of a decision that needs no state: the tx's id and whether its signature
// verifies. It is the costly part (an Ed25519 verification), so the node makes it before it
// takes the state's read lock, on the thread that received the tx, and the mempool (one
// actor) only looks things up. Same decision: decide_admission(p, tx, precheck(tx)) ==
// decide_admission(p, tx) (tested).
struct Prechecked {
  Hash32 tx_id{};
  bool signature_valid = false;
};
[[nodiscard]] Prechecked precheck(const Tx& tx);
// Precondition: `pre` is precheck(tx) (its tx_id is asserted).
[[nodiscard]] AdmissionDecision decide_admission(const Projections& p, const Tx& tx, const Prechecked& pre,
                                               const KeyLookup& held_in_log = {});

// A node of a cluster admits a bet only when every earlier bet of its account is decided
// here (one bet in flight per account): asked after decide_admission said Admit (so that a
// resent bet is still answered as a duplicate). Without it a node that
// held a losing rival for nonce n and then heard of the player's bet n+1 would admit n+1
// (pending_nonce + 1), and could then never admit the winner of n (it would be behind
// pending_nonce). Returns the refusal (wrong_nonce), or nullopt (every other tx too).
[[nodiscard]] std::optional<admission::Refuse> refuse_while_in_flight(const Projections& p, const Tx& tx);

}  // namespace croupier
