// The node's config file: the shipped file parses to the embedded defaults, values
// override them, and every mistake is an error naming the file and the key.
#include <doctest/doctest.h>

#include <fstream>

#include "test_support.hpp"
#include "tools/node_config.hpp"

using namespace croupier;

namespace {
std::filesystem::path write_file(const test::TempDir& dir, const std::string& text) {
  auto path = dir.path() / "node.ini";
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST_CASE("TheShippedConfigFileGivesTheEmbeddedDefaults") {
  auto config = tools::load_node_config(std::filesystem::path(CROUPIER_SOURCE_DIR) / "config/croupier.ini");
  tools::NodeConfig defaults;
  CHECK(config.data == defaults.data);
  CHECK(config.http == defaults.http);
  CHECK(config.http_threads == defaults.http_threads);
  CHECK(config.workers == defaults.workers);
  CHECK(config.max_body_bytes == defaults.max_body_bytes);
  CHECK(config.local_validators == defaults.local_validators);
  CHECK(config.seed == defaults.seed);
  CHECK(config.block_interval == defaults.block_interval);
  CHECK(config.block_max == defaults.block_max);
  CHECK(config.batch_interval == defaults.batch_interval);
  CHECK(config.batch_max == defaults.batch_max);
  CHECK(config.submit_attempts == defaults.submit_attempts);
  CHECK(config.submit_timeout == defaults.submit_timeout);
  CHECK(config.retry_base == defaults.retry_base);
  CHECK(config.retry_cap == defaults.retry_cap);
  CHECK(config.reconcile_interval == defaults.reconcile_interval);
  CHECK(config.mempool_max == defaults.mempool_max);
  CHECK(config.max_waiters == defaults.max_waiters);
  CHECK(config.snapshot_every == defaults.snapshot_every);
}

TEST_CASE("DurationsCountsAndAddressesAreReadAndRangeChecked") {
  test::TempDir dir("croupier-config");
  auto config = tools::load_node_config(write_file(
      dir, "[croupier]\nhttp = \"0.0.0.0:9000\"\nbatch-interval = 250ms\nsubmit-timeout = 2s\nlocal-validators = 5\n"));
  CHECK(config.http == "0.0.0.0:9000");
  CHECK(config.batch_interval == std::chrono::milliseconds(250));
  CHECK(config.submit_timeout == std::chrono::milliseconds(2000));
  CHECK(config.local_validators == 5);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\nbatch-interval = 5\n")),
                       doctest::Contains("croupier.batch-interval must be a duration"), std::runtime_error);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\nlocal-validators = 0\n")),
                       doctest::Contains("croupier.local-validators must be 1..100"), std::runtime_error);
  CHECK(tools::load_node_config(write_file(dir, "[croupier]\nblock-interval = 5ms\n")).block_interval ==
        std::chrono::milliseconds(5));
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\nblock-interval = 61s\n")),
                       doctest::Contains("croupier.block-interval must be 0ms..60s"), std::runtime_error);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\nblock-max = -3\n")),
                       doctest::Contains("croupier.block-max must be a non-negative integer"), std::runtime_error);
}

TEST_CASE("AConfigFileOverridesTheDefaults") {
  test::TempDir dir("croupier-config");
  auto config = tools::load_node_config(write_file(dir, "[croupier]\ndata = \"/var/lib/croupier\"\n"));
  CHECK(config.data == "/var/lib/croupier");
}

TEST_CASE("ConfigMistakesAreErrorsNamingTheProblem") {
  test::TempDir dir("croupier-config");
  CHECK_THROWS_WITH_AS(tools::load_node_config(dir.path() / "missing.ini"), doctest::Contains("cannot read config file"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\ndatta = \"x\"\n")),
                       doctest::Contains("unknown option 'croupier.datta'"), std::runtime_error);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\ndata = 42\n")),
                       doctest::Contains("croupier.data"), std::runtime_error);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\ndata = unquoted\n")),
                       doctest::Contains("node.ini"), std::runtime_error);
}
