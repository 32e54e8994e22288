#include "actors/batch_submission.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

namespace croupier::actors {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Shared by every callback of one batch.
struct BatchState {
  BatchState(NodeApi& n, milliseconds w, std::function<void(std::vector<BatchElementOutcome>)> d)
      : node(n), wait(w), deadline(Clock::now() + w), done(std::move(d)) {}
  NodeApi& node;
  const milliseconds wait;
  const Clock::time_point deadline;
  std::function<void(std::vector<BatchElementOutcome>)> done;
  std::mutex mutex;
  std::vector<BatchElementOutcome> results;  // By element.
  std::size_t left = 0;                      // Elements without their final outcome yet.
};
using State = std::shared_ptr<BatchState>;

// One account's bets, by nonce, and their admission answers so far.
struct Chain {
  std::vector<std::pair<std::size_t, Bet>> bets;  // (element, bet)
  std::vector<BatchElementOutcome> admitted;      // By position in `bets`.
};
using ChainPtr = std::shared_ptr<Chain>;

void finish(const State& s, std::size_t element, BatchElementOutcome r) {
  std::vector<BatchElementOutcome> all;
  {
    std::lock_guard lock(s->mutex);
    s->results[element] = std::move(r);
    if (--s->left != 0) return;
    all = std::move(s->results);
  }
  s->done(std::move(all));
}

// Submits `bet`; `then` gets its outcome exactly once, also when the submission throws (as a
// POST would answer: 503 unavailable from a stopping node; anything else is a bug). What
// `then` itself throws, when the node calls back inside submit(), is not taken for the
// submission's.
void submit_one(const State& s, const Bet& bet, milliseconds wait, std::function<void(BatchElementOutcome)> then) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  BatchElementOutcome failed;
  try {
    s->node.submit(bet, wait, [then, called](SubmitOutcome o) {
      called->store(true);
      then({std::move(o), {}});
    });
    return;
  } catch (const NodeUnavailable& e) {
    if (called->load()) throw;
    SubmitOutcome o;
    o.kind = SubmitOutcome::Kind::unavailable;
    o.code = "unavailable";
    o.message = e.what();
    failed.outcome = std::move(o);
  } catch (const std::exception& e) {
    if (called->load()) throw;
    failed.bug = std::string("submitting a bet of a batch: ") + e.what();
  }
  then(std::move(failed));
}

bool admitted(const BatchElementOutcome& r) {
  return r.outcome &&
         (r.outcome->kind == SubmitOutcome::Kind::admitted || r.outcome->kind == SubmitOutcome::Kind::duplicate);
}

milliseconds wait_left(const BatchState& s) {
  return std::max(std::chrono::duration_cast<milliseconds>(s.deadline - Clock::now()), milliseconds(0));
}

// Every bet of the chain has its admission answer: the admitted ones wait for finality.
void wait_for_chain(const State& s, const ChainPtr& c) {
  for (std::size_t k = 0; k < c->bets.size(); ++k) {
    const std::size_t element = c->bets[k].first;
    BatchElementOutcome& r = c->admitted[k];
    if (!admitted(r) || r.outcome->final || s->wait == milliseconds(0)) {
      finish(s, element, std::move(r));
      continue;
    }
    submit_one(s, c->bets[k].second, wait_left(*s), [s, element, first = r](BatchElementOutcome o) {
      finish(s, element, admitted(o) ? std::move(o) : first);  // Stopping meanwhile: still pending.
    });
  }
}

// Submits the chain's next bet without waiting, once the one before it has its answer.
void admit_next(const State& s, const ChainPtr& c) {
  if (c->admitted.size() == c->bets.size()) return wait_for_chain(s, c);
  submit_one(s, c->bets[c->admitted.size()].second, milliseconds(0), [s, c](BatchElementOutcome r) {
    c->admitted.push_back(std::move(r));  // Chain steps run one at a time: no lock needed.
    admit_next(s, c);
  });
}

}  // namespace

void submit_bet_batch(NodeApi& node, std::vector<std::optional<Bet>> bets, milliseconds wait,
                      std::function<void(std::vector<BatchElementOutcome>)> done) {
  auto s = std::make_shared<BatchState>(node, wait, std::move(done));
  s->results.resize(bets.size());
  std::map<PublicKey, ChainPtr> by_account;
  std::vector<ChainPtr> chains;  // In the order of their accounts' first elements.
  for (std::size_t i = 0; i < bets.size(); ++i) {
    if (!bets[i]) continue;
    ChainPtr& c = by_account[bets[i]->account];
    if (!c) chains.push_back(c = std::make_shared<Chain>());
    c->bets.emplace_back(i, std::move(*bets[i]));
  }
  s->left = 0;
  for (const auto& c : chains) s->left += c->bets.size();  // All counted before any answer comes.
  if (s->left == 0) return s->done(std::move(s->results));
  for (const auto& c : chains) {
    if (c->bets.size() == 1) {
      const std::size_t element = c->bets[0].first;
      submit_one(s, c->bets[0].second, wait, [s, element](BatchElementOutcome o) { finish(s, element, std::move(o)); });
      continue;
    }
    std::stable_sort(c->bets.begin(), c->bets.end(),
                     [](const auto& a, const auto& b) { return a.second.nonce < b.second.nonce; });
    admit_next(s, c);
  }
}

}  // namespace croupier::actors
