#pragma once
// The debug shell's pure parts: splitting a command line into words, rendering the
// inspector's JSON answers for people, and tab completion. No I/O, no CAF: tested alone.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace croupier::tools::shell {

// Words separated by blanks; "double quotes" keep blanks inside a word. Throws
// std::invalid_argument for an unclosed quote.
std::vector<std::string> split_words(std::string_view line);

// The answer for people: a string as it is; an array of objects as a table (columns in the
// first row's key order); an object as `key: value` lines, nested objects indented and
// arrays of objects as tables; an `events` answer as one line per event. Ends with '\n'.
std::string render(const std::vector<std::string>& words, const nlohmann::ordered_json& answer);

// One event of an `events` answer as a line: "#SEQ  HH:MM:SS.mmm  Type  summary" (UTC).
std::string render_event(const nlohmann::ordered_json& event);

// The candidates for the word being typed at the end of `line` (everything before the
// cursor): command names for the first word; subcommands (`events tail|follow|since`,
// `sequencer pause|resume`, `reconcile now`, `snapshot now`, batch statuses, help topics);
// `actor_names` for `inspect`. Sorted, only those starting with the partial word.
std::vector<std::string> complete(std::string_view line, const std::vector<std::string>& actor_names);

// The help: every command with its usage and one line, or one command's (an unknown one:
// std::invalid_argument).
std::string help_text(const std::string& command = {});

}  // namespace croupier::tools::shell
