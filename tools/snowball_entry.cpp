// `croupier snowball`: argument handling around run_snowball_command (snowball_command.hpp).
#include <iostream>

#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/snowball_command.hpp"

namespace croupier::tools {

namespace {
const cli::CommandSpec kSpec{
    "croupier snowball < trace.jsonl",
    "Reads a poll trace as JSON lines on stdin and prints the instance's state after each step,\n"
    "so that Croupier's Snowball can be compared step by step with avalanchego's.\n"
    "First line: {\"kind\":\"snowball\"|\"snowflake\",\"alpha_preference\":A,\"terminations\":\n"
    "  [{\"alpha_confidence\":C,\"beta\":B},...],\"choices\":[\"R\",\"B\"],\"initial\":\"R\"} (optional \"k\").\n"
    "Then one step a line: {\"poll\":{\"count\":N,\"choice\":\"B\"}} or {\"poll\":\"unsuccessful\"}.\n"
    "Output: one line per step: {\"preference\":\"B\",\"finalized\":false,\"confidence\":[1,0]}.\n"
    "Bad input: a message naming the line on stderr, exit code 2.",
    {}};
}  // namespace

int run_snowball(const std::vector<std::string>& argv) {
  return run_command("snowball", kSpec, argv,
                     [](const cli::Args&) { return run_snowball_command(std::cin, std::cout, std::cerr); });
}

}  // namespace croupier::tools
