// `croupier snowball` answers a trace line for line, and refuses each kind of bad input with
// exit code 2 and a message naming the line.
//
// Method: run_snowball_command on in-memory streams. Full traces for both kinds are checked
// against hand-computed state (the Go scenarios of tests/domain/snowball_test.cpp, spelt as
// JSON); bad inputs are a table of named rows, each with the exact message expected.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tools/snowball_command.hpp"

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(const std::string& input) {
  std::istringstream in{input};
  std::ostringstream out, err;
  const int code = croupier::run_snowball_command(in, out, err);
  return Run{code, out.str(), err.str()};
}

std::string lines(const std::vector<std::string>& each) {
  std::string text;
  for (const auto& line : each) text += line + "\n";
  return text;
}

const std::string kHeader =
    R"({"kind":"snowball","alpha_preference":1,"terminations":[{"alpha_confidence":2,"beta":2}],)"
    R"("choices":["R","B","G"],"initial":"R"})";

}  // namespace

// TestNnarySnowball from avalanchego, as a trace.
TEST_CASE("a snowball trace prints the state after each step") {
  const Run r = run(lines({
      kHeader,
      R"({"poll":{"count":2,"choice":"B"}})",
      R"({"poll":{"count":2,"choice":"R"}})",
      R"({"poll":{"count":1,"choice":"R"}})",
      R"({"poll":{"count":2,"choice":"R"}})",
      R"({"poll":{"count":1,"choice":"B"}})",
      R"({"poll":{"count":2,"choice":"B"}})",
      R"({"poll":"unsuccessful"})",
      R"({"poll":{"count":2,"choice":"B"}})",
      R"({"poll":{"count":2,"choice":"B"}})",
      R"({"poll":{"count":2,"choice":"R"}})",
  }));
  CHECK(r.err == "");
  CHECK(r.code == 0);
  CHECK(r.out == lines({
                     R"({"preference":"B","finalized":false,"confidence":[1]})",
                     R"({"preference":"B","finalized":false,"confidence":[1]})",  // tie keeps B
                     R"({"preference":"R","finalized":false,"confidence":[0]})",
                     R"({"preference":"R","finalized":false,"confidence":[1]})",
                     R"({"preference":"R","finalized":false,"confidence":[0]})",  // B 2 : R 3
                     R"({"preference":"R","finalized":false,"confidence":[1]})",  // B 3 : R 3
                     R"({"preference":"R","finalized":false,"confidence":[0]})",
                     R"({"preference":"B","finalized":false,"confidence":[1]})",  // B 4 : R 3
                     R"({"preference":"B","finalized":true,"confidence":[2]})",
                     R"({"preference":"B","finalized":true,"confidence":[2]})",  // decided
                 }));
}

// snowflake_test.go's SwitchChoices, with its three termination conditions.
TEST_CASE("a snowflake trace reports one counter per termination condition") {
  const Run r = run(lines({
      R"({"kind":"snowflake","k":5,"alpha_preference":3,"terminations":[)"
      R"({"alpha_confidence":3,"beta":4},{"alpha_confidence":4,"beta":3},{"alpha_confidence":5,"beta":2}],)"
      R"("choices":["red","green"],"initial":"red"})",
      R"({"poll":{"count":3,"choice":"red"}})",
      R"({"poll":{"count":2,"choice":"green"}})",
      R"({"poll":{"count":3,"choice":"red"}})",
      R"({"poll":{"count":0,"choice":"red"}})",
      R"({"poll":{"count":3,"choice":"green"}})",
      R"({"poll":{"count":5,"choice":"green"}})",
      R"({"poll":{"count":5,"choice":"green"}})",
      R"({"poll":"unsuccessful"})",
  }));
  CHECK(r.err == "");
  CHECK(r.code == 0);
  CHECK(r.out == lines({
                     R"({"preference":"red","finalized":false,"confidence":[1,0,0]})",
                     R"({"preference":"red","finalized":false,"confidence":[0,0,0]})",
                     R"({"preference":"red","finalized":false,"confidence":[1,0,0]})",
                     R"({"preference":"red","finalized":false,"confidence":[0,0,0]})",
                     R"({"preference":"green","finalized":false,"confidence":[1,0,0]})",
                     R"({"preference":"green","finalized":false,"confidence":[2,1,1]})",
                     R"({"preference":"green","finalized":true,"confidence":[3,2,2]})",
                     R"({"preference":"green","finalized":true,"confidence":[3,2,2]})",
                 }));
}

TEST_CASE("blank lines are skipped but counted, CRLF and a missing final newline are fine") {
  const Run r = run("\n" + kHeader + "\r\n  \n" + R"({"poll":{"count":2,"choice":"G"}})" + "\r\n\n" +
                    R"({"poll":"unsuccessful"})");
  CHECK(r.err == "");
  CHECK(r.code == 0);
  CHECK(r.out == lines({
                     R"({"preference":"G","finalized":false,"confidence":[1]})",
                     R"({"preference":"G","finalized":false,"confidence":[0]})",
                 }));

  const Run bad = run("\n" + kHeader + "\n\n" + R"({"poll":"maybe"})" + "\n");
  CHECK(bad.code == 2);
  CHECK(bad.err == "line 4: \"poll\" must be \"unsuccessful\" or an object, got \"maybe\"\n");
}

TEST_CASE("a header alone answers nothing") {
  const Run r = run(kHeader + "\n");
  CHECK(r.code == 0);
  CHECK(r.out == "");
  CHECK(r.err == "");
}

TEST_CASE("choice names are JSON strings, escaped on output") {
  const Run r = run(lines({
      R"({"kind":"snowflake","alpha_preference":1,"terminations":[{"alpha_confidence":1,"beta":3}],)"
      R"("choices":["a \"quoted\" one","\u00e9t\u00e9"],"initial":"a \"quoted\" one"})",
      R"({"poll":{"count":1,"choice":"été"}})",
      R"({"poll":{"count":1,"choice":"a \"quoted\" one"}})",
  }));
  CHECK(r.err == "");
  CHECK(r.out == lines({
                     R"({"preference":"été","finalized":false,"confidence":[1]})",
                     R"({"preference":"a \"quoted\" one","finalized":false,"confidence":[1]})",
                 }));
}

TEST_CASE("without k, every condition that does not mention k is still checked") {
  // alpha_preference 1 with alpha_confidence 2 fits no k (k/2 < 1 needs k <= 1), yet is a
  // fine instance to step through: accepted without k, refused with one.
  const std::string body = R"("alpha_preference":1,"terminations":[{"alpha_confidence":2,"beta":1}],)"
                           R"("choices":["R"],"initial":"R"})";
  const Run without_k = run(lines({R"({"kind":"snowflake",)" + body, R"({"poll":{"count":2,"choice":"R"}})"}));
  CHECK(without_k.code == 0);
  CHECK(without_k.out == lines({R"({"preference":"R","finalized":true,"confidence":[1]})"}));

  const Run with_k = run(lines({R"({"kind":"snowflake","k":2,)" + body}));
  CHECK(with_k.code == 2);
  CHECK(with_k.err ==
        "line 1: parameters invalid: k = 2, alpha_preference = 1: fails the condition that: "
        "k/2 < alpha_preference\n");
}

TEST_CASE("steps before a bad line are answered, nothing after it is read") {
  const Run r = run(lines({
      kHeader,
      R"({"poll":{"count":2,"choice":"B"}})",
      R"({"poll":{"count":2,"choice":"X"}})",
      R"({"poll":{"count":2,"choice":"B"}})",
  }));
  CHECK(r.code == 2);
  CHECK(r.out == lines({R"({"preference":"B","finalized":false,"confidence":[1]})"}));
  CHECK(r.err == "line 3: unknown choice \"X\"\n");
}

namespace {

struct BadRow {
  std::string name;
  std::string input;
  std::string message;  // exactly what err must hold
};

// A header made of `fields` (each ending in a comma) followed by valid choices and initial.
std::string header_with(const std::string& fields) {
  return "{" + fields + R"("choices":["R","B"],"initial":"R"})";
}

const std::string kParams =
    R"("kind":"snowball","alpha_preference":1,"terminations":[{"alpha_confidence":2,"beta":2}],)";

}  // namespace

TEST_CASE("bad input: each case names its line and exits 2") {
  const std::vector<BadRow> rows{
      {"empty input", "", "line 1: no header line (empty input)\n"},
      {"only blank lines", "\n \n\t\n", "line 4: no header line (empty input)\n"},
      {"bad JSON in the header", "{\"kind\":\n",
       "line 1: bad JSON at byte 9: syntax error while parsing value - unexpected end of input; "
       "expected '[', '{', or a literal\n"},
      {"bad JSON in a step", lines({kHeader, "{\"poll\":unsuccessful}"}),
       "line 2: bad JSON at byte 9: syntax error while parsing value - invalid literal; last read: "
       "'\"poll\":u'\n"},
      {"header not an object", "[1,2]\n", "line 1: the header must be a JSON object, got array\n"},
      {"step not an object", lines({kHeader, "42"}), "line 2: a step must be a JSON object, got number 42\n"},
      {"unknown kind", lines({header_with(R"("kind":"avalanche","alpha_preference":1,"terminations":[],)")}),
       "line 1: unknown kind \"avalanche\", expected \"snowball\" or \"snowflake\"\n"},
      {"missing kind", lines({header_with(R"("alpha_preference":1,"terminations":[],)")}),
       "line 1: missing field \"kind\"\n"},
      {"missing alpha_preference", lines({header_with(R"("kind":"snowball","terminations":[],)")}),
       "line 1: missing field \"alpha_preference\"\n"},
      {"missing terminations", lines({header_with(R"("kind":"snowball","alpha_preference":1,)")}),
       "line 1: missing field \"terminations\"\n"},
      {"missing beta",
       lines({header_with(R"("kind":"snowball","alpha_preference":1,"terminations":[{"alpha_confidence":2}],)")}),
       "line 1: missing field \"terminations[0].beta\"\n"},
      {"missing choices",
       lines({R"({"kind":"snowball","alpha_preference":1,"terminations":[{"alpha_confidence":2,"beta":2}],"initial":"R"})"}),
       "line 1: missing field \"choices\"\n"},
      {"missing initial", lines({"{" + kParams + R"("choices":["R"]})"}), "line 1: missing field \"initial\"\n"},
      {"unknown header field", lines({header_with(kParams + R"("K":5,)")}), "line 1: unknown field \"K\"\n"},
      {"unknown termination field",
       lines({header_with(
           R"("kind":"snowball","alpha_preference":1,"terminations":[{"alpha_confidence":2,"beta":2,"gamma":1}],)")}),
       "line 1: unknown field \"terminations[0].gamma\"\n"},
      {"kind of the wrong type", lines({header_with(R"("kind":1,"alpha_preference":1,"terminations":[],)")}),
       "line 1: \"kind\" must be a string, got number 1\n"},
      {"k of the wrong type", lines({header_with(kParams + R"("k":"5",)")}),
       "line 1: \"k\" must be an integer, got string\n"},
      {"alpha_preference a fraction",
       lines({header_with(R"("kind":"snowball","alpha_preference":1.5,"terminations":[],)")}),
       "line 1: \"alpha_preference\" must be an integer, got number 1.5\n"},
      {"alpha_preference out of range",
       lines({header_with(R"("kind":"snowball","alpha_preference":4294967296,"terminations":[],)")}),
       "line 1: \"alpha_preference\" = 4294967296 is out of range\n"},
      {"terminations not an array",
       lines({header_with(R"("kind":"snowball","alpha_preference":1,"terminations":{},)")}),
       "line 1: \"terminations\" must be an array, got object\n"},
      {"termination not an object",
       lines({header_with(R"("kind":"snowball","alpha_preference":1,"terminations":[3],)")}),
       "line 1: \"terminations[0]\" must be a JSON object, got number 3\n"},
      {"choice of the wrong type", lines({"{" + kParams + R"("choices":["R",7],"initial":"R"})"}),
       "line 1: \"choices[1]\" must be a string, got number 7\n"},
      {"no choices", lines({"{" + kParams + R"("choices":[],"initial":"R"})"}),
       "line 1: \"choices\" must not be empty\n"},
      {"duplicate choices", lines({"{" + kParams + R"("choices":["R","B","R"],"initial":"R"})"}),
       "line 1: duplicate choice \"R\"\n"},
      {"unknown initial choice", lines({"{" + kParams + R"("choices":["R","B"],"initial":"G"})"}),
       "line 1: unknown choice \"G\" in \"initial\"\n"},
      {"no termination condition",
       lines({header_with(R"("kind":"snowball","alpha_preference":1,"terminations":[],)")}),
       "line 1: parameters invalid: len(terminations) = 0: fails the condition that: 0 < len(terminations)\n"},
      {"invalid parameters: beta", lines({header_with(
           R"("kind":"snowball","alpha_preference":1,"terminations":[{"alpha_confidence":2,"beta":0}],)")}),
       "line 1: parameters invalid: terminations[0].beta = 0: fails the condition that: 0 < beta\n"},
      {"invalid parameters: alpha_confidence above k", lines({header_with(kParams + R"("k":1,)")}),
       "line 1: parameters invalid: k = 1, terminations[0].alpha_confidence = 2: fails the condition that: "
       "alpha_confidence <= k\n"},
      {"invalid parameters: order of conditions",
       lines({header_with(R"("kind":"snowball","alpha_preference":1,"terminations":[)"
                          R"({"alpha_confidence":2,"beta":2},{"alpha_confidence":3,"beta":5}],)")}),
       "line 1: parameters invalid: terminations[0].beta = 2, terminations[1].beta = 5: fails the condition that: "
       "terminations[i].beta >= terminations[i+1].beta\n"},
      {"unknown step field", lines({kHeader, R"({"pol":"unsuccessful"})"}), "line 2: unknown field \"pol\"\n"},
      {"missing poll", lines({kHeader, "{}"}), "line 2: missing field \"poll\"\n"},
      {"poll of the wrong type", lines({kHeader, R"({"poll":[2,"B"]})"}),
       "line 2: \"poll\" must be \"unsuccessful\" or an object, got array\n"},
      {"missing count", lines({kHeader, R"({"poll":{"choice":"B"}})"}), "line 2: missing field \"poll.count\"\n"},
      {"missing choice", lines({kHeader, R"({"poll":{"count":2}})"}), "line 2: missing field \"poll.choice\"\n"},
      {"unknown poll field", lines({kHeader, R"({"poll":{"count":2,"choice":"B","weight":1}})"}),
       "line 2: unknown field \"poll.weight\"\n"},
      {"count of the wrong type", lines({kHeader, R"({"poll":{"count":"2","choice":"B"}})"}),
       "line 2: \"poll.count\" must be an integer, got string\n"},
      {"choice of the wrong type in a poll", lines({kHeader, R"({"poll":{"count":2,"choice":1}})"}),
       "line 2: \"poll.choice\" must be a string, got number 1\n"},
      {"unknown choice in a poll", lines({kHeader, "", R"({"poll":{"count":2,"choice":"X"}})"}),
       "line 3: unknown choice \"X\"\n"},
      {"negative count", lines({kHeader, R"({"poll":{"count":-1,"choice":"B"}})"}),
       "line 2: \"poll.count\" = -1 is negative\n"},
      {"count above k",
       lines({header_with(R"("kind":"snowball","k":3,"alpha_preference":2,"terminations":[{"alpha_confidence":2,"beta":2}],)"),
              R"({"poll":{"count":4,"choice":"B"}})"}),
       "line 2: \"poll.count\" = 4 exceeds k = 3\n"},
      {"line too long", kHeader + "\n" + std::string(croupier::kLineBytesMax + 1, ' ') + "\n",
       "line 2: longer than the limit of 65536 bytes\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const Run r = run(row.input);
    CHECK(r.code == croupier::kExitBadInput);
    CHECK(r.err == row.message);
  }
}

TEST_CASE("bad input: too many choices or termination conditions") {
  std::string choices;
  for (std::size_t i = 0; i <= croupier::kChoicesMax; ++i) choices += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  const Run r = run("{" + kParams + R"("choices":[)" + choices + R"(],"initial":"0"})" + "\n");
  CHECK(r.code == 2);
  CHECK(r.err == "line 1: \"choices\" has 1025 entries, more than the limit of 1024\n");

  std::string terminations;
  for (std::size_t i = 0; i <= croupier::kTerminationsMax; ++i)
    terminations += (i ? "," : "") + std::string{R"({"alpha_confidence":1,"beta":1})"};
  const Run t = run(header_with(R"("kind":"snowflake","alpha_preference":1,"terminations":[)" + terminations + "],") + "\n");
  CHECK(t.code == 2);
  CHECK(t.err == "line 1: \"terminations\" has 65 entries, more than the limit of 64\n");
}
