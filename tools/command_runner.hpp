#pragma once
// Runs a subcommand body with the shared error handling: usage errors print the message
// and a pointer to --help (exit 2); log and input errors print their message (exit 2).

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "eventlog/event_log.hpp"
#include "tools/cli.hpp"

namespace croupier::tools {

inline int run_command(const std::string& name, const cli::CommandSpec& spec, const std::vector<std::string>& argv,
                       const std::function<int(const cli::Args&)>& body) {
  try {
    cli::Args args(spec, argv);
    if (args.help()) {
      std::cout << cli::help_text(spec);
      return 0;
    }
    return body(args);
  } catch (const cli::UsageError& e) {
    std::cerr << "croupier " << name << ": " << e.what() << " (see croupier " << name << " --help)\n";
    return 2;
  } catch (const eventlog::LogError& e) {
    std::cerr << "croupier " << name << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "croupier " << name << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace croupier::tools
