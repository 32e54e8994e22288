#pragma once
// A real `croupier node` in a child process for tests: its data in DIR/data, its config in
// DIR/node.ini (a [croupier] section of the given lines), HTTP on a free loopback port, no
// admin door. start() waits for its ready line; the destructor SIGKILLs it if still running.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "test_support.hpp"
#include "tools/http_client.hpp"

namespace croupier::test {

struct NodeProcess {
  NodeProcess(const std::filesystem::path& dir, const std::string& config_lines)
      : data(dir / "data"), config_file(dir / "node.ini"), port(free_port()) {
    std::ofstream(config_file) << "[croupier]\n" << config_lines;
    start();
  }
  void start() {
    process = std::make_unique<Process>(std::vector<std::string>{
        CROUPIER_BINARY, "node", "--config", config_file.string(), "--data", data.string(), "--http",
        "127.0.0.1:" + std::to_string(port), "--admin", "off"});
    REQUIRE(process->read_until("ready; SIGINT/SIGTERM stops", std::chrono::seconds(60)));
  }
  tools::Endpoint endpoint() const { return {"127.0.0.1", port}; }

  std::filesystem::path data, config_file;
  std::uint16_t port;
  std::unique_ptr<Process> process;
};

}  // namespace croupier::test
