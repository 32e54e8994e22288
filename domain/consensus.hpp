#pragma once
// The consensus decisions of a node's voters and validators, pure and unit-tested here;
// actors/voter.cpp, actors/validator.cpp and actors/router.cpp only move the messages.
//
// A voter runs one Snowball instance per transaction, over two choices: accept the tx
// (kAccept) or not (kReject: a validator prefers another member of the tx's conflict set, or
// no member because it found the tx invalid). Each round it asks k validators which tx they
// prefer for the tx's conflict key and tallies the answers with tally().
#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "domain/crypto.hpp"
#include "domain/snowball.hpp"

namespace croupier::consensus {

inline constexpr snowball::Choice kAccept = 0;
inline constexpr snowball::Choice kReject = 1;

// Parameters for a network of `validators` validators: one validator is k = alpha = beta = 1;
// more are avalanchego's defaults (k = 20, alpha = 15 of 20, beta = 20) with k = min(n, 20)
// and alpha = max(floor(k/2) + 1, ceil(3k/4)), so that k/2 < alpha <= k holds for every n.
// Requires validators >= 1. The result passes snowball::validate.
snowball::Parameters parameters_for(std::size_t validators);

// Parameters for a cluster of `validators` nodes whose validators follow their node's voters
// (ValidatorView::follow): k = min(n, 20), alpha_preference = floor(k/2) + 1 (a strict
// majority moves a preference, so a split conflict set converges instead of stalling, as
// it could when no choice can reach alpha), alpha_confidence as parameters_for, and `beta`.
// Requires validators >= 1 and beta >= 1. The result passes snowball::validate.
snowball::Parameters cluster_parameters_for(std::size_t validators, int beta);

// One validator's answer: the tx it prefers for the conflict key, or nullopt when it prefers
// none (it found the asked tx invalid and knows no other). A validator that did not answer
// (timeout, unreachable) is simply absent from the votes.
using Vote = std::optional<Hash32>;

struct PollResult {
  bool successful = false;   // Some choice got at least alpha_preference votes.
  snowball::Choice choice = kAccept;
  int count = 0;             // Votes for `choice` (for an unsuccessful poll: the larger side).
  friend bool operator==(const PollResult&, const PollResult&) = default;
};

// Votes for `tx_id` count for kAccept; votes for another tx or for none count for kReject.
// The poll is successful for the side with at least alpha_preference votes (both sides
// cannot reach it, since alpha_preference > k/2 and the votes are at most k).
PollResult tally(const Hash32& tx_id, std::span<const Vote> votes, int alpha_preference);

// Feeds a tallied poll to the voter's Snowball instance.
void record(snowball::Snowball& instance, const PollResult& poll);

// A validator's view: for each conflict key the first valid tx it was asked about wins,
// unless the node's own voter for the key has since moved its preference (follow(): the
// validator answers with its node's Snowball preference, as avalanchego's do), until the
// node decides the key (decided() then pins the winner). Invalid txs are never preferred.
//
// Bounded: it holds at most `capacity` keys and forgets the oldest beyond (a key asked about
// long ago, decided or not); whoever asks it about a key must first see whether the key is
// held (holds()) and, when it is not, answer from what the node decided (the validator does:
// actors/validator.cpp), so that a forgotten key never makes it prefer a rival of a winner.
class ValidatorView {
 public:
  explicit ValidatorView(std::size_t capacity = 1'000'000) : capacity_(capacity) {}
  // The validator's vote when asked about `tx_id` (valid = it passed the validator's checks).
  Vote prefer(const std::string& conflict_key, const Hash32& tx_id, bool valid);
  // The node's voter for the key now prefers `tx_id` (after a successful poll). Ignored once
  // the key is decided.
  void follow(const std::string& conflict_key, const Hash32& tx_id);
  // The node decided the key: `winner` is the accepted tx (the view keeps it until it forgets
  // the key, oldest first).
  void decided(const std::string& conflict_key, const Hash32& winner);
  bool holds(const std::string& conflict_key) const { return preferred_.contains(conflict_key); }
  std::size_t size() const { return preferred_.size(); }

 private:
  struct Preference {
    Hash32 tx_id{};
    bool decided = false;
  };
  Preference& entry(const std::string& conflict_key);  // Inserts a new key, forgetting the oldest.
  std::size_t capacity_;
  std::unordered_map<std::string, Preference> preferred_;
  std::deque<std::string> order_;  // Keys, oldest first.
};

// The tx a voter's poll points to when its own tx lost: the other tx with the most votes
// (the smallest id among equals), or nullopt when no vote named another tx.
std::optional<Hash32> strongest_rival(const Hash32& tx_id, std::span<const Vote> votes);

}  // namespace croupier::consensus
