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
  CHECK(config.data == tools::NodeConfig{}.data);
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
