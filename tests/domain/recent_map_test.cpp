// RecentMap: bounded by its capacity, forgets the entry inserted longest ago.
#include <doctest/doctest.h>

#include <string>

#include "domain/recent_map.hpp"

using croupier::RecentMap;

using Map = RecentMap<int, std::string, std::hash<int>>;

TEST_CASE("AFullRecentMapForgetsTheOldestInsertedEntry") {
  Map m(3);
  for (int k : {1, 2, 3}) CHECK(m.try_emplace(k, std::to_string(k)).second);
  CHECK(m.size() == 3);
  CHECK(m.try_emplace(4, "4").second);
  CHECK(m.size() == 3);
  CHECK_FALSE(m.contains(1));
  for (int k : {2, 3, 4}) CHECK(m.contains(k));
}

TEST_CASE("ARecentMapKeepsTheFirstValueOfAKeyAndLetsItBeChanged") {
  Map m(2);
  m.try_emplace(7, "first");
  auto [value, fresh] = m.try_emplace(7, "second");
  CHECK_FALSE(fresh);
  CHECK(*value == "first");
  *value = "changed";
  REQUIRE(m.find(7) != nullptr);
  CHECK(*m.find(7) == "changed");
  CHECK(m.find(8) == nullptr);
}

TEST_CASE("ARecentMapNeverHoldsMoreThanItsCapacity") {
  Map m(100);
  for (int k = 0; k < 10'000; ++k) {
    m.try_emplace(k % 250, "");
    CHECK(m.size() <= 100);
  }
  CHECK(m.capacity() == 100);
}
