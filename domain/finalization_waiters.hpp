#pragma once
// The finalization waiters' bookkeeping: clients waiting for a transaction's block, each
// answered once, either when the tx is committed or "pending" at its deadline.
//
// A waiter is (tx_id, token, deadline). The token is the caller's opaque handle for the
// waiting client (e.g. an index into the actor's table of response promises); the deadline
// is in milliseconds since an epoch the caller defines (the actor's clock). Every waiter
// leaves through exactly one of committed(), expire() and cancel(), and is returned by at
// most one of them.
//
// Data structures and costs (n = waiters held, k = waiters of one tx):
//   by_token_  token -> waiter                 (unordered_map)
//   by_tx_     tx_id -> tokens                 (unordered_map of vectors; each waiter knows
//                                               its slot, so removal is a swap-and-pop)
//   heap_      min-heap of (deadline, serial, token), with lazy deletion: committed() and
//              cancel() leave their heap entries behind; an entry is live only while
//              by_token_ holds its token with the same serial (serials are never reused,
//              so a token reused after cancel cannot revive an old entry).
//   add         O(1) amortized when deadlines arrive in non-decreasing order (the usual
//               now + fixed timeout: the new entry never sifts up), O(log n) otherwise.
//   committed   O(k) plus amortized compaction.
//   cancel      O(1) plus amortized compaction.
//   expire      O(log n) per expired waiter, plus the stale entries it discards (each
//               entry is discarded once, so that cost is paid for by its add).
//   next_deadline, size  O(1).
// Nothing ever scans all waiters except compaction, which rebuilds the heap from the live
// waiters in O(n) once stale entries outnumber them (more than n + kCompactSlack stale
// entries), so it costs O(1) amortized per removal and bounds memory:
//   heap_entries() <= 2 * size() + kCompactSlack + 1.
// Invariant after every public call: the heap is empty or its top entry is live, so
// next_deadline() is exact.
//
// Ordering: expire() returns tokens by deadline, ties in the order they were added.
// committed() returns a tx's tokens in an unspecified order that depends only on the
// sequence of calls (the tx's token list after swap-and-pop removals), so a simulation
// replays it exactly. Compaction changes the heap's layout, never an order returned: the
// heap pops by (deadline, serial), which is unique.
//
// Bounded: at most max_waiters waiters (from the constructor); add() refuses beyond that,
// and the actor answers "pending" at once.
//
// Not thread-safe: one actor owns it. Intentionally copyable (a plain value).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "domain/bytes.hpp"
#include "domain/ids.hpp"

namespace croupier {

class FinalizationWaiters {
 public:
  using Token = std::uint64_t;
  using Deadline = std::chrono::milliseconds;  // Since the caller's epoch.

  static constexpr std::size_t kCompactSlack = 64;  // Stale heap entries tolerated beyond size().

  // Requires max_waiters >= 1 (asserted).
  explicit FinalizationWaiters(std::size_t max_waiters);

  // Registers a waiter. Returns false, and changes nothing, when max_waiters are already
  // held. Requires that `token` is not currently held (asserted: tokens are the caller's
  // and must be unique among live waiters; a token may be reused once its waiter left).
  // Any deadline is allowed, even one already past: the next expire() returns it.
  [[nodiscard]] bool add(const Hash32& tx_id, Token token, Deadline deadline);

  // The tx was committed in a block: removes and returns all its waiters' tokens (empty
  // when none wait for it).
  std::vector<Token> committed(const Hash32& tx_id);

  // Removes and returns every waiter whose deadline <= now, earliest deadline first, ties
  // in the order they were added. Calling it with a `now` smaller than before is allowed.
  std::vector<Token> expire(Deadline now);

  // Removes the waiter of `token` (e.g. the client went away). False when none is held.
  bool cancel(Token token);

  // The earliest deadline of any waiter held, nullopt when none: the one timer to arm.
  [[nodiscard]] std::optional<Deadline> next_deadline() const;

  [[nodiscard]] std::size_t size() const { return by_token_.size(); }
  [[nodiscard]] bool empty() const { return by_token_.empty(); }
  [[nodiscard]] std::size_t max_waiters() const { return max_waiters_; }
  [[nodiscard]] bool contains(Token token) const { return by_token_.count(token) != 0; }
  // Number of waiters for one tx.
  [[nodiscard]] std::size_t waiting_for(const Hash32& tx_id) const;
  // Entries in the heap, stale ones included (for tests and metrics; see the bound above).
  [[nodiscard]] std::size_t heap_entries() const { return heap_.size(); }

 private:
  struct Waiter {
    Hash32 tx_id{};
    Deadline deadline{};
    std::uint64_t serial = 0;  // Of the add() that created it; matches its heap entry.
    std::size_t slot = 0;      // Index of its token in by_tx_[tx_id].
  };
  struct HeapEntry {
    Deadline deadline{};
    std::uint64_t serial = 0;
    Token token = 0;
  };
  // std::push_heap keeps the greatest on top; this makes it the earliest (deadline, serial).
  struct Later {
    bool operator()(const HeapEntry& x, const HeapEntry& y) const {
      return x.deadline != y.deadline ? x.deadline > y.deadline : x.serial > y.serial;
    }
  };

  bool live(const HeapEntry& e) const;
  // Removes a waiter from by_tx_ (swap-and-pop) and by_token_; its heap entry becomes stale.
  void erase_waiter(std::unordered_map<Token, Waiter>::iterator it);
  // Restores the invariants after removals: pops stale entries off the top, and rebuilds
  // the heap when stale entries outnumber live ones.
  void tidy();
  void check_invariants() const;

  std::size_t max_waiters_;                                         // >= 1.
  std::uint64_t next_serial_ = 0;                                   // Serial of the next add().
  std::unordered_map<Token, Waiter> by_token_;                      // Every live waiter.
  std::unordered_map<Hash32, std::vector<Token>, BytesHash> by_tx_;  // Never holds an empty vector.
  std::vector<HeapEntry> heap_;                                     // Min-heap (Later); top live.
};

}  // namespace croupier
