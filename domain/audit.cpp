#include "domain/audit.hpp"

namespace croupier::audit {

std::optional<Job> job_for(const Projections& p, std::uint64_t seq, const Event& e) {
  if (auto* a = std::get_if<TxAdmitted>(&e)) return Job{seq, SignatureJob{a->tx}};
  if (auto* r = std::get_if<BetResolved>(&e)) {
    auto it = p.txs.find(r->tx_id);
    if (it == p.txs.end() || !std::holds_alternative<Bet>(it->second.tx)) return std::nullopt;  // apply reported it.
    return Job{seq, VrfJob{p.keys.house_key, std::get<Bet>(it->second.tx), *r}};
  }
  if (auto* b = std::get_if<BatchProved>(&e)) return Job{seq, BatchProofJob{*b}};
  return std::nullopt;
}

namespace {
struct Runner {
  std::optional<std::string> operator()(const SignatureJob& j) const {
    // A settlement's proof is its signature; its witness is in its batch's BatchProved, whose
    // job verifies it (apply() makes the settlement carry that batch's inputs exactly).
    if (!verify_tx_signature(j.tx))
      return std::string(tx_kind_name(tx_kind(j.tx))) + " " + to_hex(tx_id(j.tx)) + ": invalid signature";
    return std::nullopt;
  }

  std::optional<std::string> operator()(const VrfJob& j) const {
    auto beta = vrf::verify(j.house_key, j.resolved.tx_id, j.resolved.vrf_proof);
    std::string what = "bet " + to_hex(j.bet.bet_id);
    if (!beta) return what + ": VRF proof does not verify under the house key";
    if (check_bet_terms(j.bet.game, j.bet.choice, j.bet.wager)) return what + ": unplayable terms";
    Outcome o = resolve_game(static_cast<Game>(j.bet.game), j.bet.choice, j.bet.wager, *beta);
    if (o.roll != j.resolved.roll || o.win != j.resolved.win || o.payout != j.resolved.payout)
      return what + ": recorded roll " + std::to_string(j.resolved.roll) + " payout " +
             std::to_string(j.resolved.payout) + " but the VRF output gives roll " + std::to_string(o.roll) +
             " payout " + std::to_string(o.payout);
    return std::nullopt;
  }

  std::optional<std::string> operator()(const BatchProofJob& j) const {
    if (auto bad = settlement::verify(j.proved.inputs, j.proved.witness, j.proved.proof, j.proved.sequencer_key))
      return "batch " + to_hex(j.proved.batch_id) + ": " + *bad;
    return std::nullopt;
  }
};
}  // namespace

std::optional<std::string> run(const Job& job) { return std::visit(Runner{}, job.check); }

}  // namespace croupier::audit
