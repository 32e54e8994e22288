#include "domain/admission.hpp"

#include <cassert>
#include <ostream>

namespace croupier {

std::string_view refusal_code_name(RefusalCode c) {
  switch (c) {
    case RefusalCode::no_keys: return "no_keys";
    case RefusalCode::bad_signature: return "bad_signature";
    case RefusalCode::bad_terms: return "bad_terms";
    case RefusalCode::wrong_nonce: return "wrong_nonce";
    case RefusalCode::insufficient_funds: return "insufficient_funds";
    case RefusalCode::not_operator: return "not_operator";
    case RefusalCode::zero_amount: return "zero_amount";
    case RefusalCode::bad_proof: return "bad_proof";
    case RefusalCode::not_sequencer: return "not_sequencer";
    case RefusalCode::batch_mismatch: return "batch_mismatch";
    case RefusalCode::amount_overflow: return "amount_overflow";
  }
  return "unknown";
}

RefusalCode refusal_code_from_rule(RuleViolation::Code c) {
  switch (c) {
    case RuleViolation::Code::bad_terms: return RefusalCode::bad_terms;
    case RuleViolation::Code::wrong_nonce: return RefusalCode::wrong_nonce;
    case RuleViolation::Code::insufficient_funds: return RefusalCode::insufficient_funds;
  }
  assert(false && "unknown RuleViolation::Code");
  return RefusalCode::bad_terms;
}

namespace {

using admission::Admit;
using admission::Conflict;
using admission::Duplicate;
using admission::Refuse;

// Duplicate or Conflict when `key` is already held (by `index`), else nullopt.
template <class Index, class Key>
std::optional<AdmissionDecision> idempotency(const Index& index, const Key& key, const Hash32& id) {
  auto it = index.find(key);
  if (it == index.end()) return std::nullopt;
  if (it->second == id) return Duplicate{id};
  return Conflict{it->second};
}

// The same against the log's index, for a key the projections do not hold.
std::optional<AdmissionDecision> idempotency_in_log(const KeyLookup& held_in_log, const TxKey& key, const Hash32& id) {
  if (!held_in_log) return std::nullopt;
  auto held = held_in_log(key);
  if (!held) return std::nullopt;
  if (*held == id) return Duplicate{id};
  return Conflict{*held};
}


// The money limits of exposure.hpp for a deposit or bet whose other rules hold.
std::optional<Refuse> check_limits(const Projections& p, const Tx& tx, const std::string& what) {
  auto overflow = [&](const std::string& which) {
    return Refuse{RefusalCode::amount_overflow,
                  what + " could overflow " + which + " once the transactions pending now are decided"};
  };
  const Exposure& e = p.exposure;
  auto fits = [](std::initializer_list<Amount> terms) {
    Amount sum = 0;
    for (Amount t : terms)
      if (__builtin_add_overflow(sum, t, &sum)) return false;
    return true;
  };
  if (const auto* d = std::get_if<Deposit>(&tx)) {
    if (!fits({p.deposits_total, e.deposits, d->amount})) return overflow("the deposits total");
    const Account* a = p.accounts.find(d->account);
    if (!fits({a ? a->balance : 0, e.credit_of(d->account), d->amount})) return overflow("the account's balance");
    return std::nullopt;
  }
  if (const auto* b = std::get_if<Bet>(&tx)) {
    const Amount win = largest_net_win(*b);
    const Account* a = p.accounts.find(b->account);
    if (!fits({a ? a->balance : 0, e.credit_of(b->account), win})) return overflow("the account's balance");
    // The house result is signed: every pending bet lost, or every one won.
    const Int128 highest = static_cast<Int128>(p.house_result) + e.wagers + b->wager;
    const Int128 lowest = static_cast<Int128>(p.house_result) - e.wins - win;
    if (highest > INT64_MAX || lowest < INT64_MIN) return overflow("the house result");
  }
  return std::nullopt;
}

struct Admissible {
  const Projections& p;

  std::optional<Refuse> operator()(const Deposit& d) const {
    const std::string what = "deposit " + to_hex(d.deposit_id);
    if (d.operator_key != p.keys.operator_key)
      return Refuse{RefusalCode::not_operator,
                    what + " is signed by " + to_hex(d.operator_key) + ", not the operator key in force"};
    if (d.amount == 0) return Refuse{RefusalCode::zero_amount, what + " of zero"};
    return check_limits(p, d, what);
  }

  std::optional<Refuse> operator()(const Bet& b) const {
    // The account rules live in Accounts (the same check admit_bet runs).
    if (auto bad = p.accounts.check_bet(b)) return Refuse{refusal_code_from_rule(bad->code), bad->message};
    return check_limits(p, b, "bet " + to_hex(b.bet_id));
  }

  std::optional<Refuse> operator()(const Settlement& s) const {
    const std::string what = "settlement of batch " + to_hex(s.inputs.batch_id);
    // Only this node's own sequencer settles its batches. A multi-node design (several
    // sequencers, or one settling for another) would widen this to a set of keys in force.
    if (s.sequencer_key != p.keys.sequencer_key)
      return Refuse{RefusalCode::not_sequencer,
                    what + " is signed by " + to_hex(s.sequencer_key) + ", not the sequencer key in force"};
    auto batch = p.batches.find(s.inputs.batch_id);
    if (batch == p.batches.end()) return Refuse{RefusalCode::batch_mismatch, what + " names an unknown batch"};
    auto status = batch->second.lifecycle.status();
    if (status != BatchStatus::proved && status != BatchStatus::submitted)
      return Refuse{RefusalCode::batch_mismatch,
                    what + ": the batch is " + std::string(batch_status_name(status)) + ", not proved or submitted"};
    if (!batch->second.inputs || *batch->second.inputs != s.inputs)
      return Refuse{RefusalCode::batch_mismatch, what + ": public inputs differ from the batch's proved inputs"};
    return std::nullopt;
  }
};

struct Decider {
  const Projections& p;
  const Hash32& id;
  bool signature_valid;
  const KeyLookup& held_in_log;

  AdmissionDecision operator()(const Deposit& d) const {
    if (auto known = idempotency(p.deposits, d.deposit_id, id)) return *known;
    if (auto known = idempotency_in_log(held_in_log, {TxKind::deposit, d.deposit_id}, id)) return *known;
    if (!signature_valid) return bad_signature("deposit " + to_hex(d.deposit_id));
    return rules(d);
  }

  AdmissionDecision operator()(const Bet& b) const {
    if (auto known = idempotency(p.bets, b.bet_id, id)) return *known;
    if (auto known = idempotency_in_log(held_in_log, {TxKind::bet, b.bet_id}, id)) return *known;
    if (!signature_valid) return bad_signature("bet " + to_hex(b.bet_id));
    return rules(b);
  }

  AdmissionDecision operator()(const Settlement& s) const {
    // The same tx_id is the same settlement (the id leaves out the witness).
    if (auto it = p.txs.find(id); it != p.txs.end()) {
      assert(std::holds_alternative<Settlement>(it->second.tx));
      return Duplicate{id};
    }
    if (auto known = idempotency(p.settlements, s.inputs.batch_id, id)) return *known;
    const std::string what = "settlement of batch " + to_hex(s.inputs.batch_id);
    if (!signature_valid) return bad_signature(what);
    if (auto bad = check_admissible(p, s)) return *bad;
    // The proof is cryptography: apply() leaves it to the audit, which runs it on all cores.
    if (auto bad = settlement::verify(s.inputs, s.witness, s.proof, s.sequencer_key))
      return Refuse{RefusalCode::bad_proof, what + ": " + *bad};
    return Admit{id};
  }

  AdmissionDecision rules(const Tx& tx) const {
    if (auto bad = check_admissible(p, tx)) return *bad;
    return Admit{id};
  }

  static Refuse bad_signature(const std::string& what) {
    return Refuse{RefusalCode::bad_signature, what + ": the signature does not verify"};
  }
};

}  // namespace

std::optional<admission::Refuse> check_admissible(const Projections& p, const Tx& tx) {
  assert(p.keys.known);
  return std::visit(Admissible{p}, tx);
}

Prechecked precheck(const Tx& tx) { return Prechecked{tx_id(tx), verify_tx_signature(tx)}; }

AdmissionDecision decide_admission(const Projections& p, const Tx& tx, const KeyLookup& held_in_log) {
  if (!p.keys.known) return decide_admission(p, tx, Prechecked{tx_id(tx), false}, held_in_log);  // Never reads the flag.
  return decide_admission(p, tx, precheck(tx), held_in_log);
}

AdmissionDecision decide_admission(const Projections& p, const Tx& tx, const Prechecked& pre,
                                   const KeyLookup& held_in_log) {
  assert(pre.tx_id == tx_id(tx));
  if (!p.keys.known) {
    // apply() refuses every event before NodeStarted, so no tx can have been admitted.
    assert(p.txs.empty());
    return Refuse{RefusalCode::no_keys, "the node has not started (no NodeStarted event): no keys in force"};
  }
  const Hash32& id = pre.tx_id;
  AdmissionDecision d = std::visit(Decider{p, id, pre.signature_valid, held_in_log}, tx);
  // A Duplicate names the incoming tx itself; a Conflict never does.
  assert(!std::holds_alternative<Duplicate>(d) || std::get<Duplicate>(d).tx_id == id);
  assert(!std::holds_alternative<Conflict>(d) || std::get<Conflict>(d).existing_tx_id != id);
  return d;
}

std::ostream& admission::operator<<(std::ostream& os, const Decision& d) {
  struct Printer {
    std::ostream& os;
    void operator()(const Admit& a) const { os << "Admit(" << to_hex(a.tx_id).substr(0, 8) << ")"; }
    void operator()(const Duplicate& a) const { os << "Duplicate(" << to_hex(a.tx_id).substr(0, 8) << ")"; }
    void operator()(const Conflict& a) const { os << "Conflict(" << to_hex(a.existing_tx_id).substr(0, 8) << ")"; }
    void operator()(const Refuse& r) const { os << "Refuse(" << refusal_code_name(r.code) << ": " << r.message << ")"; }
  };
  std::visit(Printer{os}, d);
  return os;
}

std::optional<admission::Refuse> refuse_while_in_flight(const Projections& p, const Tx& tx) {
  const auto* bet = std::get_if<Bet>(&tx);
  if (!bet) return std::nullopt;
  const Account* a = p.accounts.find(bet->account);
  const std::uint64_t decided = a ? a->nonce : 0, admitted = a ? a->pending_nonce : 0;
  if (admitted == decided) return std::nullopt;
  return admission::Refuse{RefusalCode::wrong_nonce,
                           "nonce " + std::to_string(bet->nonce) + ": this node has decided the account's bets up to " +
                               std::to_string(decided) + " and holds " + std::to_string(admitted - decided) +
                               " undecided; send the next bet when the previous one is final"};
}

}  // namespace croupier
