// The node's keys: created once for a new log, private, stable across starts, and never
// silently replaced once the log has history.
#include <doctest/doctest.h>

#include "test_support.hpp"
#include "tools/node_keys.hpp"

using namespace croupier;
namespace fs = std::filesystem;

TEST_CASE("KeysAreCreatedForANewLogPrivateAndStable") {
  test::TempDir dir("croupier-keys");
  auto first = tools::load_or_create_node_keys(dir.path(), true);
  for (const char* name : {"operator.seed", "house.seed", "sequencer.seed"}) {
    auto mode = fs::status(dir.path() / "keys" / name).permissions() & fs::perms::all;
    CHECK(mode == (fs::perms::owner_read | fs::perms::owner_write));
  }
  auto again = tools::load_or_create_node_keys(dir.path(), false);
  CHECK(again.operator_key.public_key == first.operator_key.public_key);
  CHECK(again.house_key.public_key == first.house_key.public_key);
  CHECK(again.sequencer_key.public_key == first.sequencer_key.public_key);
}

TEST_CASE("AMissingKeyOfALogWithHistoryIsAnErrorNotANewKey") {
  test::TempDir dir("croupier-keys");
  tools::load_or_create_node_keys(dir.path(), true);
  fs::remove(dir.path() / "keys" / "house.seed");
  CHECK_THROWS_WITH_AS(tools::load_or_create_node_keys(dir.path(), false),
                       doctest::Contains("house.seed is missing, but the event log already has history"),
                       std::runtime_error);
  CHECK_FALSE(fs::exists(dir.path() / "keys" / "house.seed"));
}

TEST_CASE("AKeyFileReadableByOthersIsRefused") {
  test::TempDir dir("croupier-keys");
  tools::load_or_create_node_keys(dir.path(), true);
  fs::permissions(dir.path() / "keys" / "operator.seed", fs::perms::group_read, fs::perm_options::add);
  CHECK_THROWS_WITH_AS(tools::load_or_create_node_keys(dir.path(), false), doctest::Contains("readable by others"),
                       std::runtime_error);
}
