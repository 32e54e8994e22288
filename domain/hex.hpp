#pragma once
// Hex digits one at a time, for code that writes or reads hex in place rather than through
// to_hex / bytes_from_hex (domain/bytes.hpp), which share these.

#include <string>

#include "domain/bytes.hpp"

namespace croupier {

// Lower-case hex of `bytes` appended to `out`: no string of its own (the event feed writes
// thousands of ids a chunk).
void append_hex(std::string& out, ByteView bytes);

// The value of one hex digit (either case); -1 for any other character.
int hex_value(char c);

}  // namespace croupier
