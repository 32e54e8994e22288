#pragma once
// `croupier snowball`: replays a poll trace through one snowball or snowflake instance
// (domain/snowball.hpp) and prints the instance's state after each step, to debug consensus
// parameters and traces by hand.
//
// Input, JSON lines on `in`:
//   line 1 (header) {"kind":"snowball"|"snowflake", "k":K (optional),
//                    "alpha_preference":A,
//                    "terminations":[{"alpha_confidence":C,"beta":B},...],
//                    "choices":["R","B","G"], "initial":"R"}
//   then one step a line:
//                   {"poll":{"count":N,"choice":"B"}} | {"poll":"unsuccessful"}
// Output, one line on `out` per step, keys in this order:
//   {"preference":"B","finalized":false,"confidence":[1,0]}
// where preference is what the instance reports and confidence holds one counter per
// termination condition.
//
// Rules:
//   - Blank (all-whitespace) lines are skipped but counted, so line numbers in messages are
//     those an editor shows.
//   - Parameters are checked as avalanchego checks them (snowball::validate); without "k",
//     every condition that doesn't mention k (snowball::validate_ignoring_k). With "k", a
//     poll's count may not exceed it.
//   - Unknown fields are errors, so a misspelt "k" cannot silently skip validation.
//   - Limits: a line holds at most kLineBytesMax bytes, a header at most kChoicesMax choices
//     and kTerminationsMax termination conditions.
//
// Returns 0 once every line is answered, or 2 (kExitBadInput) at the first bad line: bad JSON,
// a missing field or one of the wrong type, an unknown field, kind or choice, a duplicate
// choice, invalid parameters, an over-long line, or no header at all. Then one message
// "line N: <what>" goes to `err`, nothing more is read, and the steps before it have already
// been answered on `out`. Nothing is thrown. The streams stay the caller's.

#include <cstddef>
#include <iosfwd>

namespace croupier {

inline constexpr int kExitBadInput = 2;

inline constexpr std::size_t kLineBytesMax = 64 * 1024;
inline constexpr std::size_t kChoicesMax = 1024;
inline constexpr std::size_t kTerminationsMax = 64;

int run_snowball_command(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace croupier
