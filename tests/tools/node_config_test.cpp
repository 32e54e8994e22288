// The node's config file: the shipped file parses to the embedded defaults, values
// override them, and every mistake is an error naming the file and the key.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

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
  CHECK(config.admin == defaults.admin);
  CHECK(config.admin_token == defaults.admin_token);
  CHECK(config.round_interval == defaults.round_interval);
  CHECK(config.http_max_connections == defaults.http_max_connections);
  CHECK(config.http_idle_timeout == defaults.http_idle_timeout);
  CHECK(config.http_header_timeout == defaults.http_header_timeout);
  CHECK(config.http_body_timeout == defaults.http_body_timeout);
  CHECK(config.cluster_heartbeat == defaults.cluster_heartbeat);
  CHECK(config.cluster_id.empty());
  CHECK(config.cluster_listen.empty());
  CHECK(config.cluster_peers.empty());
}

TEST_CASE("TheHttpLimitsHaveSaneDefaultsAreReadAndRangeChecked") {
  tools::NodeConfig defaults;
  CHECK(defaults.http_max_connections == 10000);
  CHECK(defaults.http_idle_timeout == std::chrono::seconds(60));
  CHECK(defaults.http_header_timeout == std::chrono::seconds(10));
  CHECK(defaults.http_body_timeout == std::chrono::seconds(10));
  auto shown = nlohmann::json::parse(tools::node_config_json(defaults));
  CHECK(shown.at("http-max-connections") == 10000);
  CHECK(shown.at("http-idle-timeout") == "60000ms");
  CHECK(shown.at("http-header-timeout") == "10000ms");
  CHECK(shown.at("http-body-timeout") == "10000ms");

  test::TempDir dir("croupier-config");
  auto config = tools::load_node_config(
      write_file(dir, "[croupier]\nhttp-max-connections = 500\nhttp-idle-timeout = 5s\nhttp-header-timeout = 250ms\n"
                      "http-body-timeout = 2s\n"));
  CHECK(config.http_max_connections == 500);
  CHECK(config.http_idle_timeout == std::chrono::seconds(5));
  CHECK(config.http_header_timeout == std::chrono::milliseconds(250));
  CHECK(config.http_body_timeout == std::chrono::seconds(2));
  shown = nlohmann::json::parse(tools::node_config_json(config));
  CHECK(shown.at("http-max-connections") == 500);
  CHECK(shown.at("http-header-timeout") == "250ms");

  struct Row {
    const char* text;
    const char* error;
  };
  const Row rows[] = {
      {"http-max-connections = 0", "croupier.http-max-connections must be 1..1000000"},
      {"http-max-connections = 1000001", "croupier.http-max-connections must be 1..1000000"},
      {"http-max-connections = -1", "croupier.http-max-connections must be a non-negative integer"},
      {"http-idle-timeout = 0ms", "croupier.http-idle-timeout must be 1ms..1h"},
      {"http-idle-timeout = 2h", "croupier.http-idle-timeout must be 1ms..1h"},
      {"http-idle-timeout = 60", "croupier.http-idle-timeout must be a duration"},
      {"http-header-timeout = 0ms", "croupier.http-header-timeout must be 1ms..1h"},
      {"http-header-timeout = 61min", "croupier.http-header-timeout must be 1ms..1h"},
      {"http-body-timeout = 0s", "croupier.http-body-timeout must be 1ms..1h"},
      {"http-body-timeout = \"10s\"", "croupier.http-body-timeout must be a duration"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, std::string("[croupier]\n") + row.text + "\n")),
                         doctest::Contains(row.error), std::runtime_error);
  }
}

TEST_CASE("AdminAddressTokenAndRoundIntervalAreReadAndChecked") {
  test::TempDir dir("croupier-config");
  auto config = tools::load_node_config(write_file(
      dir, "[croupier]\nadmin = \"10.0.0.5:7000\"\nadmin-token = \"0123456789abcdef\"\nround-interval = 50ms\n"));
  CHECK(config.admin == "10.0.0.5:7000");
  CHECK(config.admin_token == "0123456789abcdef");
  CHECK(config.round_interval == std::chrono::milliseconds(50));
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\nadmin-token = \"short\"\n")),
                       doctest::Contains("croupier.admin-token must have at least 16 characters"), std::runtime_error);
  CHECK_THROWS_WITH_AS(tools::load_node_config(write_file(dir, "[croupier]\nround-interval = 61s\n")),
                       doctest::Contains("croupier.round-interval must be 0ms..60s"), std::runtime_error);
  // The shell's `config` shows every key but not the token.
  auto shown = nlohmann::json::parse(tools::node_config_json(config));
  CHECK(shown.at("admin") == "10.0.0.5:7000");
  CHECK(shown.at("admin-token") == "(set, not shown)");
  CHECK(shown.at("round-interval") == "50ms");
  CHECK(tools::node_config_json(config).find("0123456789abcdef") == std::string::npos);
  CHECK(tools::is_loopback_host("127.0.0.1"));
  CHECK(tools::is_loopback_host("::1"));
  CHECK(tools::is_loopback_host("localhost"));
  CHECK_FALSE(tools::is_loopback_host("0.0.0.0"));
  CHECK_FALSE(tools::is_loopback_host("10.0.0.5"));
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
