#include "domain/finalization_waiters.hpp"

#include <algorithm>
#include <cassert>

namespace croupier {

FinalizationWaiters::FinalizationWaiters(std::size_t max_waiters) : max_waiters_(max_waiters) {
  assert(max_waiters_ >= 1);
}

bool FinalizationWaiters::add(const Hash32& tx_id, Token token, Deadline deadline) {
  assert(!contains(token) && "token already held by a live waiter");
  if (by_token_.size() >= max_waiters_) return false;
  std::vector<Token>& tokens = by_tx_[tx_id];
  const std::uint64_t serial = next_serial_++;
  by_token_.emplace(token, Waiter{tx_id, deadline, serial, tokens.size()});
  tokens.push_back(token);
  heap_.push_back(HeapEntry{deadline, serial, token});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  // The top was live (invariant) or is the new, live entry: nothing to tidy.
  check_invariants();
  return true;
}

std::vector<FinalizationWaiters::Token> FinalizationWaiters::committed(const Hash32& tx_id) {
  auto it = by_tx_.find(tx_id);
  if (it == by_tx_.end()) return {};
  std::vector<Token> tokens = std::move(it->second);
  by_tx_.erase(it);
  assert(!tokens.empty());
  for (Token t : tokens) {
    [[maybe_unused]] std::size_t erased = by_token_.erase(t);
    assert(erased == 1);
  }
  tidy();
  return tokens;
}

std::vector<FinalizationWaiters::Token> FinalizationWaiters::expire(Deadline now) {
  std::vector<Token> expired;
  while (!heap_.empty() && heap_.front().deadline <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    const HeapEntry e = heap_.back();
    heap_.pop_back();
    if (!live(e)) continue;  // Answered by committed() or cancelled: already gone.
    expired.push_back(e.token);
    erase_waiter(by_token_.find(e.token));
  }
  tidy();
  return expired;
}

bool FinalizationWaiters::cancel(Token token) {
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return false;
  erase_waiter(it);
  tidy();
  return true;
}

std::optional<FinalizationWaiters::Deadline> FinalizationWaiters::next_deadline() const {
  if (heap_.empty()) return std::nullopt;
  assert(live(heap_.front()));
  return heap_.front().deadline;
}

std::size_t FinalizationWaiters::waiting_for(const Hash32& tx_id) const {
  auto it = by_tx_.find(tx_id);
  return it == by_tx_.end() ? 0 : it->second.size();
}

bool FinalizationWaiters::live(const HeapEntry& e) const {
  auto it = by_token_.find(e.token);
  return it != by_token_.end() && it->second.serial == e.serial;
}

void FinalizationWaiters::erase_waiter(std::unordered_map<Token, Waiter>::iterator it) {
  assert(it != by_token_.end());
  auto tx = by_tx_.find(it->second.tx_id);
  assert(tx != by_tx_.end());
  std::vector<Token>& tokens = tx->second;
  const std::size_t slot = it->second.slot;
  assert(slot < tokens.size() && tokens[slot] == it->first);
  // Swap-and-pop: the last token takes this slot, and its waiter learns its new slot.
  if (slot + 1 != tokens.size()) {
    tokens[slot] = tokens.back();
    Waiter& moved = by_token_.at(tokens[slot]);
    assert(moved.slot == tokens.size() - 1);
    moved.slot = slot;
  }
  tokens.pop_back();
  if (tokens.empty()) by_tx_.erase(tx);
  by_token_.erase(it);
}

void FinalizationWaiters::tidy() {
  if (heap_.size() > 2 * by_token_.size() + kCompactSlack) {
    // Stale entries outnumber live ones by more than the slack: rebuild from the live
    // waiters. O(size()), paid for by the > size() removals that made the stale entries.
    heap_.clear();
    for (const auto& [token, w] : by_token_) heap_.push_back(HeapEntry{w.deadline, w.serial, token});
    std::make_heap(heap_.begin(), heap_.end(), Later{});
  }
  while (!heap_.empty() && !live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
  check_invariants();
}

void FinalizationWaiters::check_invariants() const {
  // O(1) checks only: this runs after every call.
  assert(by_token_.size() <= max_waiters_);
  assert(by_tx_.size() <= by_token_.size());
  assert(heap_.size() >= by_token_.size());  // Every live waiter has its entry.
  assert(heap_.size() <= 2 * by_token_.size() + kCompactSlack + 1);
  assert(heap_.empty() || live(heap_.front()));
}

}  // namespace croupier
