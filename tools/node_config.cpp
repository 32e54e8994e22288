#include "tools/node_config.hpp"

#include <fstream>
#include <set>
#include <stdexcept>

#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

namespace croupier::tools {

namespace {

// Every key the file may set, as "category.name".
const std::set<std::string> kKnownKeys{"croupier.data"};

void reject_unknown_keys(const caf::settings& s, const std::string& prefix, const std::string& file) {
  for (const auto& [key, value] : s) {
    std::string name = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    if (auto* nested = caf::get_if<caf::settings>(&value)) {
      reject_unknown_keys(*nested, name, file);
    } else if (!kKnownKeys.count(name)) {
      throw std::runtime_error(file + ": unknown option '" + name + "'");
    }
  }
}

}  // namespace

NodeConfig load_node_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read config file " + file.string());
  // Parsed without CAF's option set: given one, CAF silently drops a value of the wrong
  // type; we check every key and type ourselves.
  auto parsed = caf::actor_system_config::parse_config(in);
  if (!parsed)
    throw std::runtime_error(file.string() + ": " + caf::to_string(parsed.error()) +
                             " (see config/croupier.ini for the format)");
  reject_unknown_keys(*parsed, "", file.string());
  NodeConfig config;
  if (auto* data = caf::get_if(&*parsed, "croupier.data")) {
    auto* text = caf::get_if<std::string>(data);
    if (!text) throw std::runtime_error(file.string() + ": croupier.data must be a quoted string");
    if (text->empty()) throw std::runtime_error(file.string() + ": croupier.data is empty");
    config.data = *text;
  }
  return config;
}

}  // namespace croupier::tools
