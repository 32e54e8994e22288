#include "actors/mempool.hpp"

#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/introspection.hpp"

#include "domain/admission.hpp"

namespace croupier::actors {

namespace {

struct MempoolState {
  // Admitted (durable), undecided, with its voter (which quits once it has decided, a little
  // before the tx's block takes it out of here).
  std::unordered_map<Hash32, caf::actor, BytesHash> pending;
  // Admissions sent to the journal, not yet answered, by request number. Kept so that a mempool
  // told to stop answers them (CAF 0.17 drops an undelivered promise without a word, which left
  // their clients waiting for the request timeout).
  std::unordered_map<std::uint64_t, caf::response_promise> appending;
  std::uint64_t next_append = 0;
  std::unordered_set<Hash32, BytesHash> learning;  // Learned txs being appended.
  static constexpr const char* name = "mempool";
};

using mempool_pointer = caf::stateful_actor<MempoolState>*;

constexpr std::size_t kInspectShown = 100;  // Undecided txs listed by inspect (by tx id).

SubmitReply reply_for(const Projections& p, const AdmissionDecision& d) {
  SubmitReply r;
  if (auto* dup = std::get_if<admission::Duplicate>(&d)) {
    r.kind = SubmitReply::Kind::duplicate;
    r.tx_id = dup->tx_id;
    auto it = p.txs.find(dup->tx_id);
    // Forgotten (held in the log only): finished, so final (projections.hpp).
    r.final = it == p.txs.end() || is_final(it->second);
  } else if (auto* c = std::get_if<admission::Conflict>(&d)) {
    r.kind = SubmitReply::Kind::conflict;
    r.tx_id = c->existing_tx_id;
    r.code = "conflict";
    r.message = "its idempotency key is already taken by tx " + to_hex(c->existing_tx_id) + " with other content";
  } else if (auto* refuse = std::get_if<admission::Refuse>(&d)) {
    r.kind = SubmitReply::Kind::refused;
    r.code = std::string(refusal_code_name(refuse->code));
    r.message = refuse->message;
  }
  return r;
}

void count(Metrics* m, const SubmitReply& r) {
  if (!m) return;
  switch (r.kind) {
    case SubmitReply::Kind::admitted: ++m->txs_admitted; break;
    case SubmitReply::Kind::duplicate: ++m->txs_duplicate; break;
    case SubmitReply::Kind::conflict: ++m->txs_conflict; break;
    case SubmitReply::Kind::refused: ++m->txs_refused; break;
    case SubmitReply::Kind::busy: ++m->mempool_full; break;
    case SubmitReply::Kind::unavailable: break;
  }
}

// decide_admission, and in a cluster (one bet in flight per account) refuse_while_in_flight
// on what it would admit.
AdmissionDecision decide(const Projections& p, const Tx& tx, const Prechecked& pre, bool one_bet_in_flight,
                         const KeyLookup& held_in_log) {
  auto decision = decide_admission(p, tx, pre, held_in_log);
  if (one_bet_in_flight && std::holds_alternative<admission::Admit>(decision))
    if (auto refusal = refuse_while_in_flight(p, tx)) decision = std::move(*refusal);
  return decision;
}

void admitted(mempool_pointer self, const MempoolOptions& o, const Hash32& tx_id, std::shared_ptr<const Tx> tx) {
  auto voter = spawn_voter(self->system(), o.voter, tx_id, std::move(tx));
  // Linked: a mempool that stops (node shutdown) takes its voters with it.
  self->link_to(voter);
  self->state.pending.emplace(tx_id, std::move(voter));
  if (o.metrics) o.metrics->mempool_size.store(self->state.pending.size());
}

caf::behavior mempool_behavior(mempool_pointer self, MempoolOptions o) {
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::normal) return;  // A linked voter that has decided.
    for (auto& [no, promise] : self->state.appending) {
      SubmitReply r;
      r.kind = SubmitReply::Kind::unavailable;
      r.code = "unavailable";
      r.message = "the node stopped while recording it; send it again (same id) to learn whether it was admitted";
      promise.deliver(r);
    }
    self->state.appending.clear();
    self->quit(msg.reason);
  });
  return {
      [=](submit_atom, Tx& tx, const Prechecked& pre) -> caf::result<SubmitReply> {
        auto& st = self->state;
        AdmissionDecision decision;
        SubmitReply reply;
        {
          std::shared_lock lock(o.state->mutex);
          decision = decide(o.state->projections, tx, pre, o.one_bet_in_flight, o.held_in_log);
          reply = reply_for(o.state->projections, decision);
        }
        auto* admit = std::get_if<admission::Admit>(&decision);
        if (!admit) {
          count(o.metrics, reply);
          return reply;
        }
        if (st.pending.size() + st.appending.size() >= o.max_pending) {
          reply.kind = SubmitReply::Kind::busy;
          reply.code = "busy";
          reply.message = "the mempool holds " + std::to_string(o.max_pending) + " undecided transactions";
          count(o.metrics, reply);
          return reply;
        }
        const Hash32 tx_id = admit->tx_id;
        auto shared_tx = std::make_shared<const Tx>(std::move(tx));
        const std::uint64_t append_no = st.next_append++;
        auto promise = self->make_response_promise<SubmitReply>();
        st.appending.emplace(append_no, promise);
        self->request(o.journal, caf::infinite, append_atom::value, std::vector<Event>{TxAdmitted{*shared_tx}})
            .then(
                [=](const Seqs&) mutable {
                  self->state.appending.erase(append_no);
                  admitted(self, o, tx_id, shared_tx);
                  SubmitReply r;
                  r.kind = SubmitReply::Kind::admitted;
                  r.tx_id = tx_id;
                  count(o.metrics, r);
                  promise.deliver(r);
                },
                [=](caf::error& err) mutable {
                  self->state.appending.erase(append_no);
                  const std::string why = describe_error(self->system(), err);
                  const auto refusal = journal_error(err);
                  SubmitReply r;
                  if (refusal && refusal->reason == JournalRefusal::rule) {
                    // Another admission took the key (or the funds, or the nonce) first.
                    std::shared_lock lock(o.state->mutex);
                    auto again = decide_admission(o.state->projections, *shared_tx, pre, o.held_in_log);
                    if (std::holds_alternative<admission::Admit>(again)) {
                      // Admit => apply() accepts it (admission.hpp); this is a bug.
                      r.kind = SubmitReply::Kind::refused;
                      r.code = "internal";
                      r.message = "admitted but refused by the journal: " + why;
                    } else {
                      r = reply_for(o.state->projections, again);
                    }
                  } else {
                    r.kind = SubmitReply::Kind::unavailable;
                    r.code = "unavailable";
                    r.message = why;
                  }
                  count(o.metrics, r);
                  promise.deliver(r);
                });
        return promise;
      },
      // Without a precheck (the submitter's settlements): made here.
      [=](submit_atom a, Tx& tx) {
        Prechecked pre = precheck(tx);
        self->delegate(caf::actor{self}, a, std::move(tx), pre);
      },
      [=](learn_atom, Tx& tx) {
        auto& st = self->state;
        if (st.pending.size() + st.appending.size() + st.learning.size() >= o.max_pending) return;
        const Prechecked pre = precheck(tx);
        if (st.learning.contains(pre.tx_id)) return;
        {
          std::shared_lock lock(o.state->mutex);
          if (!std::holds_alternative<admission::Admit>(decide(o.state->projections, tx, pre, true, o.held_in_log)))
            return;
        }
        const Hash32 tx_id = pre.tx_id;
        st.learning.insert(tx_id);
        auto shared_tx = std::make_shared<const Tx>(std::move(tx));
        self->request(o.journal, caf::infinite, append_atom::value, std::vector<Event>{TxAdmitted{*shared_tx}})
            .then(
                [=](const Seqs&) {
                  self->state.learning.erase(tx_id);
                  admitted(self, o, tx_id, shared_tx);
                },
                [=](caf::error&) { self->state.learning.erase(tx_id); });  // A client's copy came first.
      },
      [=](block_atom, const BlockReport& report) {
        auto& st = self->state;
        for (const auto& id : report.accepted) st.pending.erase(id);
        for (const auto& id : report.rejected) st.pending.erase(id);
        if (o.metrics) o.metrics->mempool_size.store(st.pending.size());
      },
      [=](recover_atom) {
        std::vector<std::pair<Hash32, std::shared_ptr<const Tx>>> undecided;
        {
          std::shared_lock lock(o.state->mutex);
          for (const auto& [id, r] : o.state->projections.txs)
            if (r.status == TxStatus::admitted) undecided.emplace_back(id, std::make_shared<const Tx>(r.tx));
        }
        // Voters in a fixed order, so that a simulated restart is deterministic.
        std::sort(undecided.begin(), undecided.end(), [](auto& a, auto& b) { return a.first < b.first; });
        for (auto& [id, tx] : undecided)
          if (const auto* s = std::get_if<Settlement>(tx.get()); s && o.load_settlement)
            if (auto whole = o.load_settlement(s->inputs.batch_id); whole && tx_id(*whole) == id)
              tx = std::make_shared<const Tx>(std::move(*whole));
        for (auto& [id, tx] : undecided) admitted(self, o, id, std::move(tx));
        return static_cast<std::uint64_t>(undecided.size());
      },
      [=](stats_atom) { return static_cast<std::uint64_t>(self->state.pending.size()); },
      [=](voters_atom) {
        VoterList voters;
        voters.reserve(self->state.pending.size());
        for (const auto& [id, voter] : self->state.pending) voters.emplace_back(id, voter);
        std::sort(voters.begin(), voters.end(), [](auto& a, auto& b) { return a.first < b.first; });
        return voters;
      },
      [=](voters_atom, const Hash32& tx_id) {
        VoterList voter;
        if (auto it = self->state.pending.find(tx_id); it != self->state.pending.end()) voter.emplace_back(*it);
        return voter;
      },
      [=](inspect_atom) {
        auto& st = self->state;
        std::vector<Hash32> ids;
        ids.reserve(st.pending.size());
        for (const auto& [id, voter] : st.pending) ids.push_back(id);
        std::sort(ids.begin(), ids.end());
        nlohmann::ordered_json shown = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < ids.size() && i < kInspectShown; ++i) shown.push_back(to_hex(ids[i]));
        return describe_actor(self, "mempool",
                              "undecided " + std::to_string(st.pending.size()) + ", being recorded " +
                                  std::to_string(st.appending.size()),
                              {{"undecided", st.pending.size()},
                               {"being_recorded", st.appending.size()},
                               {"max_pending", o.max_pending},
                               {"undecided_txs", std::move(shown)},
                               {"undecided_txs_shown", std::min(ids.size(), kInspectShown)}});
      },
  };
}

}  // namespace

caf::actor spawn_mempool(caf::actor_system& system, MempoolOptions options) {
  return spawn_counted<caf::stateful_actor<MempoolState>>(
      system, [o = std::move(options)](mempool_pointer self) { return mempool_behavior(self, o); });
}

}  // namespace croupier::actors
