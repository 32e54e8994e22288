#include "tools/snowball_command.hpp"

#include <cassert>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/bytes.hpp"
#include "domain/snowball.hpp"

namespace croupier {

namespace {

using nlohmann::json;
using snowball::Choice;

using Instance = std::variant<snowball::Snowflake, snowball::Snowball>;

// Everything the header fixes for the rest of the trace.
struct Trace {
  Instance instance;
  std::vector<std::string> names;     // choice index -> name, as listed in "choices".
  std::map<std::string, Choice> ids;  // name -> choice index.
  std::optional<int> k;               // validators per poll, when the header gives it.
};

// Bad input is reported by throwing InputError with the message a person sees; the single
// catch in run_snowball_command adds the line number and turns it into exit code 2.
[[noreturn]] void fail(const std::string& message) { throw InputError(message); }

// A name or value as it appears in JSON, quotes and escapes included.
std::string json_text(std::string_view text) { return json(text).dump(); }

std::string describe(const json& value) {
  if (value.is_number()) return "number " + value.dump();
  return value.type_name();
}

enum class LineRead { kLine, kEnd, kTooLong };

// Reads up to the next '\n' (dropped) into `line`. Reads at most kLineBytesMax bytes so one
// endless line cannot exhaust memory. A last line without '\n' is still a line.
LineRead read_line(std::istream& in, std::string& line) {
  line.clear();
  std::streambuf* buffer = in.rdbuf();
  if (buffer == nullptr) return LineRead::kEnd;
  for (bool any = false;; any = true) {
    const int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) return any ? LineRead::kLine : LineRead::kEnd;
    if (c == '\n') return LineRead::kLine;
    if (line.size() == kLineBytesMax) return LineRead::kTooLong;
    line.push_back(static_cast<char>(c));
  }
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

json parse(const std::string& line) {
  try {
    return json::parse(line);
  } catch (const json::parse_error& error) {
    // nlohmann's text starts "[json.exception.parse_error.101] parse error at line 1, column
    // 5: "; its own "line 1" would contradict ours, so keep only the part after the colon.
    std::string detail = error.what();
    if (auto colon = detail.find(": "); colon != std::string::npos) detail.erase(0, colon + 2);
    fail("bad JSON at byte " + std::to_string(error.byte) + ": " + detail);
  }
}

void require_object(const json& value, std::string_view what) {
  if (!value.is_object()) fail(std::string{what} + " must be a JSON object, got " + describe(value));
}

void reject_unknown_fields(const json& object, std::initializer_list<std::string_view> known,
                           std::string_view prefix) {
  assert(object.is_object());
  for (const auto& [key, value] : object.items()) {
    bool listed = false;
    for (std::string_view name : known) listed = listed || key == name;
    if (!listed) fail("unknown field " + json_text(std::string{prefix} + key));
  }
}

const json& field(const json& object, const std::string& key, std::string_view path) {
  assert(object.is_object());
  auto it = object.find(key);
  if (it == object.end()) fail("missing field " + json_text(path));
  return *it;
}

int as_int(const json& value, std::string_view path) {
  if (!value.is_number_integer()) fail(json_text(path) + " must be an integer, got " + describe(value));
  const bool fits = value.is_number_unsigned() ? value.get<std::uint64_t>() <= std::uint64_t{INT_MAX}
                                               : value.get<std::int64_t>() >= INT_MIN &&
                                                     value.get<std::int64_t>() <= INT_MAX;
  if (!fits) fail(json_text(path) + " = " + value.dump() + " is out of range");
  return value.get<int>();
}

std::string as_string(const json& value, std::string_view path) {
  if (!value.is_string()) fail(json_text(path) + " must be a string, got " + describe(value));
  return value.get<std::string>();
}

const json& as_array(const json& value, std::string_view path, std::size_t size_max) {
  if (!value.is_array()) fail(json_text(path) + " must be an array, got " + describe(value));
  if (value.size() > size_max)
    fail(json_text(path) + " has " + std::to_string(value.size()) + " entries, more than the limit of " +
         std::to_string(size_max));
  return value;
}

Choice choice_id(const Trace& trace, const std::string& name) {
  auto it = trace.ids.find(name);
  if (it == trace.ids.end()) fail("unknown choice " + json_text(name));
  return it->second;
}

Trace read_header(const json& header) {
  require_object(header, "the header");
  reject_unknown_fields(header, {"kind", "k", "alpha_preference", "terminations", "choices", "initial"}, "");

  const std::string kind = as_string(field(header, "kind", "kind"), "kind");
  if (kind != "snowball" && kind != "snowflake")
    fail("unknown kind " + json_text(kind) + ", expected \"snowball\" or \"snowflake\"");

  std::optional<int> k;
  if (header.contains("k")) k = as_int(header["k"], "k");

  snowball::Parameters parameters{.k = k.value_or(0), .alpha_preference = 0, .terminations = {}};
  parameters.alpha_preference = as_int(field(header, "alpha_preference", "alpha_preference"), "alpha_preference");
  const json& terminations = as_array(field(header, "terminations", "terminations"), "terminations", kTerminationsMax);
  for (std::size_t i = 0; i < terminations.size(); ++i) {
    const std::string prefix = "terminations[" + std::to_string(i) + "].";
    const json& termination = terminations[i];
    require_object(termination, json_text(prefix.substr(0, prefix.size() - 1)));
    reject_unknown_fields(termination, {"alpha_confidence", "beta"}, prefix);
    parameters.terminations.push_back(snowball::Termination{
        .alpha_confidence = as_int(field(termination, "alpha_confidence", prefix + "alpha_confidence"),
                                   prefix + "alpha_confidence"),
        .beta = as_int(field(termination, "beta", prefix + "beta"), prefix + "beta"),
    });
  }

  std::vector<std::string> names;
  std::map<std::string, Choice> ids;
  const json& choices = as_array(field(header, "choices", "choices"), "choices", kChoicesMax);
  if (choices.empty()) fail("\"choices\" must not be empty");
  for (std::size_t i = 0; i < choices.size(); ++i) {
    std::string name = as_string(choices[i], "choices[" + std::to_string(i) + "]");
    if (ids.contains(name)) fail("duplicate choice " + json_text(name));
    ids.emplace(name, static_cast<Choice>(names.size()));
    names.push_back(std::move(name));
  }
  assert(names.size() == ids.size());
  static_assert(kChoicesMax <= UINT32_MAX, "a choice index must fit in snowball::Choice");

  const std::string initial_name = as_string(field(header, "initial", "initial"), "initial");
  auto initial = ids.find(initial_name);
  if (initial == ids.end()) fail("unknown choice " + json_text(initial_name) + " in \"initial\"");

  // Validated before any instance exists: constructors assert what this reports.
  const auto invalid = k ? snowball::validate(parameters) : snowball::validate_ignoring_k(parameters);
  if (invalid) fail(*invalid);

  auto build = [&](auto instance) -> Instance {
    for (Choice id = 0; id < names.size(); ++id) instance.add(id);
    return instance;
  };
  Instance instance = kind == "snowball"
                          ? build(snowball::Snowball{parameters, initial->second})
                          : build(snowball::Snowflake{parameters, initial->second});
  return Trace{std::move(instance), std::move(names), std::move(ids), k};
}

void apply_step(Trace& trace, const json& step) {
  require_object(step, "a step");
  reject_unknown_fields(step, {"poll"}, "");
  const json& poll = field(step, "poll", "poll");
  if (poll.is_string()) {
    if (poll.get<std::string>() != "unsuccessful")
      fail("\"poll\" must be \"unsuccessful\" or an object, got " + poll.dump());
    std::visit([](auto& instance) { instance.record_unsuccessful_poll(); }, trace.instance);
    return;
  }
  if (!poll.is_object()) fail("\"poll\" must be \"unsuccessful\" or an object, got " + describe(poll));
  reject_unknown_fields(poll, {"count", "choice"}, "poll.");
  const int count = as_int(field(poll, "count", "poll.count"), "poll.count");
  const Choice choice = choice_id(trace, as_string(field(poll, "choice", "poll.choice"), "poll.choice"));
  // A poll samples k validators, so it cannot count fewer than none or more than k votes.
  if (count < 0) fail("\"poll.count\" = " + std::to_string(count) + " is negative");
  if (trace.k && count > *trace.k)
    fail("\"poll.count\" = " + std::to_string(count) + " exceeds k = " + std::to_string(*trace.k));
  std::visit([&](auto& instance) { instance.record_poll(count, choice); }, trace.instance);
}

// {"preference":"B","finalized":false,"confidence":[1,0]}, keys in that order.
std::string render_state(const Trace& trace) {
  return std::visit(
      [&](const auto& instance) {
        assert(instance.preference() < trace.names.size());
        nlohmann::ordered_json state;
        state["preference"] = trace.names[instance.preference()];
        state["finalized"] = instance.finalized();
        state["confidence"] = instance.confidence();
        return state.dump();
      },
      trace.instance);
}

}  // namespace

int run_snowball_command(std::istream& in, std::ostream& out, std::ostream& err) {
  std::size_t line_number = 0;
  try {
    std::optional<Trace> trace;
    std::string line;
    for (;;) {
      // Flush only when the next read may block, so an interactive session sees each answer
      // at once while a piped trace is still written in large blocks.
      if (in.rdbuf() != nullptr && in.rdbuf()->in_avail() <= 0) out.flush();
      const LineRead read = read_line(in, line);
      if (read == LineRead::kEnd) break;
      ++line_number;
      if (read == LineRead::kTooLong) fail("longer than the limit of " + std::to_string(kLineBytesMax) + " bytes");
      if (is_blank(line)) continue;
      const json value = parse(line);
      if (!trace) {
        trace.emplace(read_header(value));
        continue;
      }
      apply_step(*trace, value);
      out << render_state(*trace) << '\n';
    }
    if (!trace) {
      ++line_number;  // the header was expected on the line after the last one read
      fail("no header line (empty input)");
    }
  } catch (const InputError& error) {
    out.flush();
    err << "line " << line_number << ": " << error.what() << '\n';
    return kExitBadInput;
  }
  out.flush();
  return 0;
}

}  // namespace croupier
