#include "tools/shell_render.hpp"

#include <algorithm>
#include <ctime>
#include <sstream>
#include <stdexcept>

#include "actors/inspector.hpp"

namespace croupier::tools::shell {

namespace {

using json = nlohmann::ordered_json;

std::string scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + (x.is_structured() ? x.dump() : scalar(x));
    return s.empty() ? "(none)" : s;
  }
  return v.dump();
}

bool is_table(const json& v) {
  return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_object(); });
}

void table(std::ostringstream& out, const json& rows, const std::string& indent) {
  std::vector<std::string> columns;
  for (const auto& row : rows)
    for (const auto& [key, value] : row.items())
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) width[c] = columns[c].size();
  for (const auto& row : rows) {
    auto& line = cells.emplace_back();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      line.push_back(row.contains(columns[c]) ? scalar(row[columns[c]]) : "");
      width[c] = std::max(width[c], line.back().size());
    }
  }
  auto emit = [&](const std::vector<std::string>& line) {
    std::string s = indent;
    for (std::size_t c = 0; c < line.size(); ++c) {
      s += line[c];
      if (c + 1 < line.size()) s += std::string(width[c] - line[c].size() + 2, ' ');
    }
    out << s << "\n";
  };
  emit(columns);
  for (const auto& line : cells) emit(line);
}

void object(std::ostringstream& out, const json& obj, const std::string& indent) {
  for (const auto& [key, value] : obj.items()) {
    if (value.is_object() && !value.empty()) {
      out << indent << key << ":\n";
      object(out, value, indent + "  ");
    } else if (is_table(value)) {
      out << indent << key << ":\n";
      table(out, value, indent + "  ");
    } else {
      out << indent << key << ": " << (value.is_object() ? "{}" : scalar(value)) << "\n";
    }
  }
}

const std::vector<std::string>& words_after(const std::string& command) {
  static const std::vector<std::string> none;
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table{
      {"events", {"follow", "since", "tail"}},
      {"sequencer", {"pause", "resume"}},
      {"reconcile", {"now"}},
      {"snapshot", {"now"}},
      {"batches", {"confirmed", "created", "failed", "proved", "submitted"}},
  };
  for (const auto& [name, words] : table)
    if (name == command) return words;
  return none;
}

}  // namespace

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) throw std::invalid_argument("unclosed quote in: " + std::string(line));
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::string render_event(const json& e) {
  const auto ms = e.value("time_ms", std::uint64_t{0});
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char clock[32];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>(ms % 1000));
  return "#" + scalar(e.value("seq", json())) + "  " + clock + "  " + scalar(e.value("type", json())) + "  " +
         scalar(e.value("summary", json()));
}

std::string render(const std::vector<std::string>& words, const json& answer) {
  std::ostringstream out;
  if (answer.is_string()) {
    std::string s = answer.get<std::string>();
    out << s << (s.empty() || s.back() != '\n' ? "\n" : "");
  } else if (!words.empty() && words[0] == "events" && answer.is_object() && answer.contains("events")) {
    for (const auto& e : answer["events"]) out << render_event(e) << "\n";
    if (answer["events"].empty()) out << "(no events; log head seq " << scalar(answer.value("head", json())) << ")\n";
  } else if (is_table(answer)) {
    table(out, answer, "");
  } else if (answer.is_object()) {
    object(out, answer, "");
  } else {
    out << scalar(answer) << "\n";
  }
  return out.str();
}

std::vector<std::string> complete(std::string_view line, const std::vector<std::string>& actor_names) {
  auto words = split_words(line);
  const bool new_word = line.empty() || line.back() == ' ' || line.back() == '\t';
  const std::string partial = new_word || words.empty() ? "" : words.back();
  if (!new_word && !words.empty()) words.pop_back();
  std::vector<std::string> pool;
  if (words.empty()) {
    for (const auto& c : actors::kShellCommands) pool.emplace_back(c.name);
  } else if (words.size() == 1) {
    if (words[0] == "inspect") pool = actor_names;
    else if (words[0] == "help")
      for (const auto& c : actors::kShellCommands) pool.emplace_back(c.name);
    else pool = words_after(words[0]);
  }
  std::vector<std::string> out;
  for (auto& p : pool)
    if (p.rfind(partial, 0) == 0) out.push_back(std::move(p));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string help_text(const std::string& command) {
  std::ostringstream out;
  if (!command.empty()) {
    for (const auto& c : actors::kShellCommands)
      if (command == c.name) {
        out << c.usage << "\n  " << c.help << "\n";
        return out.str();
      }
    throw std::invalid_argument("no command '" + command + "'; `help` lists them");
  }
  std::size_t width = 0;
  for (const auto& c : actors::kShellCommands) width = std::max(width, std::string_view(c.usage).size());
  out << "commands (TAB completes commands and actor names; --json gives JSON):\n";
  for (const auto& c : actors::kShellCommands)
    out << "  " << c.usage << std::string(width - std::string_view(c.usage).size() + 2, ' ') << c.help << "\n";
  return out.str();
}

}  // namespace croupier::tools::shell
