#pragma once
// Command-line parsing shared by the subcommands: `--name value`, `--name=value` and
// boolean `--flag`s, each declared with its help text; anything undeclared is an error.

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace croupier::cli {

// A usage mistake: the message is printed with a pointer to --help, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string name;         // Without the leading dashes.
  std::string value_name;   // Empty for a boolean flag.
  std::string help;
};

struct CommandSpec {
  std::string usage;        // e.g. "croupier replay --data DIR [--verify]"
  std::string description;  // A paragraph.
  std::vector<OptionSpec> options;
};

class Args {
 public:
  // Throws UsageError for an unknown option, a missing value or a stray argument.
  Args(const CommandSpec& spec, const std::vector<std::string>& argv);
  bool help() const { return help_; }
  bool flag(const std::string& name) const;
  std::optional<std::string> value(const std::string& name) const;
  std::string required(const std::string& name) const;  // Throws UsageError when absent.
  // Parses an unsigned integer option; throws UsageError naming the option when malformed.
  std::optional<std::uint64_t> unsigned_value(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
  bool help_ = false;
};

std::string help_text(const CommandSpec& spec);

}  // namespace croupier::cli
