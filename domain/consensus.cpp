#include "domain/consensus.hpp"

#include <algorithm>
#include <cassert>
#include <map>

namespace croupier::consensus {

namespace {

// avalanchego's defaults scaled to n validators: k = min(n, 20), alpha = 15 of 20.
int sample_size(std::size_t validators) { return static_cast<int>(std::min<std::size_t>(validators, 20)); }
int default_alpha(int k) { return std::max(k / 2 + 1, (3 * k + 3) / 4); }

}  // namespace

snowball::Parameters parameters_for(std::size_t validators) {
  assert(validators >= 1);
  if (validators == 1) return snowball::Parameters{1, 1, {{1, 1}}};
  const int k = sample_size(validators);
  const int alpha = default_alpha(k);
  snowball::Parameters p{k, alpha, {{alpha, 20}}};
  assert(!snowball::validate(p));
  return p;
}

snowball::Parameters cluster_parameters_for(std::size_t validators, int beta) {
  assert(validators >= 1 && beta >= 1);
  if (validators == 1) return snowball::Parameters{1, 1, {{1, beta}}};
  const int k = sample_size(validators);
  snowball::Parameters p{k, k / 2 + 1, {{default_alpha(k), beta}}};
  assert(!snowball::validate(p));
  return p;
}

PollResult tally(const Hash32& tx_id, std::span<const Vote> votes, int alpha_preference) {
  int yes = 0, no = 0;
  for (const auto& v : votes) (v && *v == tx_id ? yes : no) += 1;
  if (yes >= alpha_preference) return {true, kAccept, yes};
  if (no >= alpha_preference) return {true, kReject, no};
  return yes >= no ? PollResult{false, kAccept, yes} : PollResult{false, kReject, no};
}

void record(snowball::Snowball& instance, const PollResult& poll) {
  if (!poll.successful) return instance.record_unsuccessful_poll();
  instance.add(poll.choice);
  instance.record_poll(poll.count, poll.choice);
}

ValidatorView::Preference& ValidatorView::entry(const std::string& conflict_key) {
  auto [it, fresh] = preferred_.try_emplace(conflict_key);
  if (!fresh) return it->second;
  order_.push_back(conflict_key);
  while (order_.size() > capacity_ && order_.front() != conflict_key) {
    preferred_.erase(order_.front());
    order_.pop_front();
  }
  return it->second;
}

Vote ValidatorView::prefer(const std::string& conflict_key, const Hash32& tx_id, bool valid) {
  auto it = preferred_.find(conflict_key);
  if (it != preferred_.end()) return it->second.tx_id;
  if (!valid) return std::nullopt;
  entry(conflict_key) = Preference{tx_id, false};
  return tx_id;
}

void ValidatorView::follow(const std::string& conflict_key, const Hash32& tx_id) {
  auto& p = entry(conflict_key);
  if (!p.decided) p.tx_id = tx_id;
}

void ValidatorView::decided(const std::string& conflict_key, const Hash32& winner) {
  entry(conflict_key) = Preference{winner, true};
}

std::optional<Hash32> strongest_rival(const Hash32& tx_id, std::span<const Vote> votes) {
  std::map<Hash32, int> counts;
  for (const auto& v : votes)
    if (v && *v != tx_id) ++counts[*v];
  std::optional<Hash32> best;
  int best_count = 0;
  for (const auto& [id, n] : counts)
    if (n > best_count) best = id, best_count = n;
  return best;
}

}  // namespace croupier::consensus
