#pragma once
// A map that holds at most `capacity` entries: inserting into a full one forgets the entry
// inserted longest ago. For caches whose entries are only worth keeping while recent (a
// peer tx whose signature was checked, a tx handed to the mempool to learn), so that their
// memory is bounded by configuration and not by history.
#include <cassert>
#include <cstddef>
#include <deque>
#include <unordered_map>
#include <utility>

namespace croupier {

template <class K, class V, class Hash>
class RecentMap {
 public:
  explicit RecentMap(std::size_t capacity = 100'000) : capacity_(capacity) { assert(capacity_ > 0); }

  // The entry for `key`, inserted with `value` when absent; true when inserted.
  std::pair<V*, bool> try_emplace(const K& key, V value) {
    if (auto it = map_.find(key); it != map_.end()) return {&it->second, false};
    while (map_.size() >= capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    return {&map_.emplace(key, std::move(value)).first->second, true};
  }

  const V* find(const K& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  bool contains(const K& key) const { return map_.contains(key); }

  std::size_t size() const { return map_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  std::unordered_map<K, V, Hash> map_;
  std::deque<K> order_;  // Insertion order, oldest first.
};

}  // namespace croupier
