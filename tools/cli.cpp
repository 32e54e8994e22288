#include "tools/cli.hpp"

#include <charconv>
#include <sstream>

namespace croupier::cli {

Args::Args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2), inline_value;
    bool has_inline = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    const OptionSpec* opt = nullptr;
    for (const auto& o : spec.options)
      if (o.name == name) opt = &o;
    if (!opt) throw UsageError("unknown option --" + name);
    if (opt->value_name.empty()) {
      if (has_inline) throw UsageError("--" + name + " takes no value");
      values_[name] = "";
    } else if (has_inline) {
      values_[name] = inline_value;
    } else {
      if (i + 1 >= argv.size()) throw UsageError("--" + name + " needs a value (" + opt->value_name + ")");
      values_[name] = argv[++i];
    }
  }
}

bool Args::flag(const std::string& name) const { return values_.count(name) > 0; }

std::optional<std::string> Args::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::required(const std::string& name) const {
  auto v = value(name);
  if (!v || v->empty()) throw UsageError("--" + name + " is required");
  return *v;
}

std::optional<std::uint64_t> Args::unsigned_value(const std::string& name) const {
  auto v = value(name);
  if (!v) return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || v->empty())
    throw UsageError("--" + name + " expects an unsigned integer, got '" + *v + "'");
  return n;
}

std::string help_text(const CommandSpec& spec) {
  std::ostringstream os;
  os << "usage: " << spec.usage << "\n\n" << spec.description << "\n";
  if (!spec.options.empty()) {
    os << "\noptions:\n";
    for (const auto& o : spec.options) {
      std::string left = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
      os << left << std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') << o.help << "\n";
    }
    os << "  --help                show this help\n";
  }
  return os.str();
}

}  // namespace croupier::cli
