#pragma once
// The README's code, as printed: tests that run a README example take it from the file, so the
// example and the test cannot drift apart.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace croupier::test {

// The body of the first block fenced by `fence` (e.g. "```python") after the line `marker`.
inline std::string readme_code_block(const std::string& marker, const std::string& fence) {
  std::ifstream in(std::string(CROUPIER_SOURCE_DIR) + "/README.md");
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  const auto at = text.find(marker);
  REQUIRE_MESSAGE(at != std::string::npos, "README.md has no " << marker);
  const auto start = text.find(fence + "\n", at);
  REQUIRE(start != std::string::npos);
  const auto body = start + fence.size() + 1;
  const auto end = text.find("\n```", body);
  REQUIRE(end != std::string::npos);
  return text.substr(body, end - body + 1);
}

}  // namespace croupier::test
