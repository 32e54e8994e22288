#pragma once
// The node's configuration: embedded defaults, overridden by a config file (CAF's config
// format, see config/croupier.ini), overridden by the command line.

#include <filesystem>

namespace croupier::tools {

struct NodeConfig {
  std::filesystem::path data = "croupier-data";  // Event log and keys.
};

// Reads `file` over the defaults. Throws std::runtime_error naming the file and the key
// for a missing or unreadable file, a syntax error, an unknown key or a wrong type.
NodeConfig load_node_config(const std::filesystem::path& file);

}  // namespace croupier::tools
