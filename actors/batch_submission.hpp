#pragma once
// Submitting the bets of one POST /v1/bets/batch to the node (NodeApi), so that each element
// gets what POST /v1/bets would have answered for it, in one wait.
//
// Bets of different accounts are submitted side by side, at once, each with the batch's wait.
// Bets of one account are admitted one after another in nonce order (the mempool checks a
// nonce against the txs already admitted, so a bet submitted beside its predecessor would be
// refused wrong_nonce): each is submitted without waiting once the one before it has its
// admission answer, and when the last has its answer, every one admitted waits (resubmitted,
// a duplicate) for what is left of the batch's wait; when that second answer is not admitted
// or duplicate (the node began to stop meanwhile), the element keeps its admission answer
// (pending), as a POST would have got. A refused bet does not stop its chain: the next is
// submitted all the same and gets the refusal that a POST would get. Admitting one account's
// k bets takes k commits one after another, which the batch's wait does not cut short.
//
// No Boost, no CAF; the gateway calls it and renders the outcomes.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/node_api.hpp"

namespace croupier::actors {

struct BatchElementOutcome {
  std::optional<SubmitOutcome> outcome;  // nullopt: a bug, see `bug`.
  std::string bug;                       // What the submission threw (the caller logs it: 500).
};

// Submits every bet of `bets` (nullopt: an element refused before submission, skipped) and
// calls `done` exactly once with an outcome per element (those of skipped elements empty),
// on a node thread, or inside this call when nothing waits. `node` must outlive the call.
void submit_bet_batch(NodeApi& node, std::vector<std::optional<Bet>> bets, std::chrono::milliseconds wait,
                      std::function<void(std::vector<BatchElementOutcome>)> done);

}  // namespace croupier::actors
