// The debug shell's pure parts: words, rendering of the inspector's answers, completion, help.
#include <doctest/doctest.h>

#include "actors/inspector.hpp"
#include "tools/shell_render.hpp"

using namespace croupier::tools::shell;
using json = nlohmann::ordered_json;
using Words = std::vector<std::string>;

TEST_CASE("SplitWordsSeparatesOnBlanksAndKeepsQuotedBlanks") {
  CHECK(split_words("  inspect   voter-1 ") == Words{"inspect", "voter-1"});
  CHECK(split_words("a \"b c\"\td") == Words{"a", "b c", "d"});
  CHECK(split_words("x \"\"") == Words{"x", ""});
  CHECK(split_words("").empty());
  CHECK_THROWS_WITH_AS(split_words("a \"b"), doctest::Contains("unclosed quote"), std::invalid_argument);
}

TEST_CASE("RenderShowsTablesObjectsEventsAndText") {
  json actors = json::array({json{{"name", "journal"}, {"id", 6}, {"summary", "log head seq 2"}},
                             json{{"name", "validator-10"}, {"id", 17}, {"summary", nullptr}}});
  CHECK(render({"actors"}, actors) ==
        "name          id  summary\n"
        "journal       6   log head seq 2\n"
        "validator-10  17  -\n");

  json status{{"node_id", "ab"}, {"peers", json::array()}, {"validators", json::array({"v0", "v1"})},
              {"state", json{{"paused", false}, {"jobs", json::array({json{{"batch", "01"}, {"attempt", 2}}})}}}};
  CHECK(render({"status"}, status) ==
        "node_id: ab\n"
        "peers: (none)\n"
        "validators: v0, v1\n"
        "state:\n"
        "  paused: false\n"
        "  jobs:\n"
        "    batch  attempt\n"
        "    01     2\n");

  json events{{"head", 9},
              {"events", json::array({json{{"seq", 8}, {"time_ms", 1'700'000'000'123ull}, {"type", "TxFinalized"},
                                           {"summary", "tx 00 accepted"}}})}};
  CHECK(render({"events", "tail"}, events) == "#8  22:13:20.123  TxFinalized  tx 00 accepted\n");
  CHECK(render({"events", "since", "9"}, json{{"head", 9}, {"events", json::array()}}) ==
        "(no events; log head seq 9)\n");
  CHECK(render({"metrics"}, json("a 1\nb 2\n")) == "a 1\nb 2\n");
  CHECK(render({"config"}, json("x")) == "x\n");
}

TEST_CASE("CompletionOffersCommandsSubcommandsAndActorNames") {
  const Words actors{"journal", "sequencer", "voter-00aa", "voter-00ab"};
  CHECK(complete("", actors).size() == croupier::actors::kShellCommands.size());
  CHECK(complete("ac", actors) == Words{"account", "actors"});
  CHECK(complete("act", actors) == Words{"actors"});
  CHECK(complete("inspect ", actors) == actors);
  CHECK(complete("inspect voter-00a", actors) == Words{"voter-00aa", "voter-00ab"});
  CHECK(complete("inspect s", actors) == Words{"sequencer"});
  CHECK(complete("events ", actors) == Words{"follow", "since", "tail"});
  CHECK(complete("sequencer p", actors) == Words{"pause"});
  CHECK(complete("snapshot ", actors) == Words{"now"});
  CHECK(complete("batches f", actors) == Words{"failed"});
  CHECK(complete("help in", actors) == Words{"inspect"});
  CHECK(complete("status ", actors).empty());
  CHECK(complete("inspect journal ", actors).empty());
}

TEST_CASE("HelpListsEveryCommandAndExplainsOne") {
  const std::string all = help_text();
  for (const auto& c : croupier::actors::kShellCommands) CHECK(all.find(c.usage) != std::string::npos);
  CHECK(help_text("tx").find("Snowball") != std::string::npos);
  CHECK_THROWS_WITH_AS(help_text("nope"), doctest::Contains("no command 'nope'"), std::invalid_argument);
}
