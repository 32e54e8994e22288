// `croupier client follow`: prints the node's event feed (GET /v1/events) as JSON lines, one
// per event, and reconnects by itself: after a dropped connection, a node restart or a
// disconnect for being slow it resumes after the last event it printed, so no event is printed
// twice or skipped. Only a request the node refuses (a bad --types) ends it (exit 2), and
// --limit.
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tools/cli.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/event_stream.hpp"

namespace croupier::tools {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// Longer than the node's heartbeat (croupier.feed-heartbeat, 15 s by default) with room to spare.
constexpr std::chrono::seconds kIdle{60};

const cli::CommandSpec kFollowSpec{
    "croupier client follow [--after SEQ] [--types LIST] [--numbers string] [--limit N] [--node HOST:PORT]",
    "Prints every durable event of the node's log after SEQ (default 0: from the start), in log\n"
    "order, one JSON object per line (the README's \"GET /v1/events\" lists each type's fields),\n"
    "and keeps following as new events become durable. When the connection drops (the node\n"
    "restarts, or disconnects a consumer that is too slow) it reconnects with a growing pause\n"
    "(0.25 s .. 5 s) and resumes after the last event printed, saying so on stderr. A consumer\n"
    "that stores the last seq it handled can restart with --after SEQ.\n\n"
    "Exit codes: 0 after --limit events, 2 bad usage or a request the node refuses (an unknown\n"
    "event type; 409 beyond_head: --after is past the end of this node's log, which is not the\n"
    "log the consumer followed).",
    {{"after", "SEQ", "print the events after this seq (default 0)"},
     {"types", "LIST", "only these event types, comma-separated (e.g. TxFinalized,BetResolved)"},
     {"numbers", "string", "every integer as a decimal string (Croupier-Numbers: string)"},
     {"limit", "N", "exit after N events"},
     {"node", "HOST:PORT", "the node's HTTP API (default 127.0.0.1:8080)"}}};

int follow(const cli::Args& args) {
  Endpoint node;
  try {
    node = parse_endpoint(args.value("node").value_or("127.0.0.1:8080"));
  } catch (const std::invalid_argument& e) {
    throw cli::UsageError(std::string("--node: ") + e.what());
  }
  FeedQuery query;
  query.after = args.unsigned_value("after").value_or(0);
  query.types = args.value("types").value_or("");
  if (auto n = args.value("numbers")) {
    if (*n != "string" && *n != "number") throw cli::UsageError("--numbers is string or number, not '" + *n + "'");
    query.numbers_as_strings = *n == "string";
  }
  const auto limit = args.unsigned_value("limit");
  if (limit && *limit == 0) return 0;
  std::uint64_t printed = 0;
  auto backoff = kFirstBackoff;
  for (;;) {
    std::string why;
    try {
      EventStream stream(node, query);
      while (auto e = stream.next(kIdle)) {
        std::cout << e->data << '\n' << std::flush;
        query.after = e->id;
        backoff = kFirstBackoff;
        if (limit && ++printed == *limit) return 0;
      }
      why = "the node closed the feed";
    } catch (const FeedRefused& e) {
      if (e.status() >= 400 && e.status() < 500) {
        std::cerr << "croupier client follow: " << e.what() << "\n";
        return 2;
      }
      why = e.what();
    } catch (const HttpError& e) {
      why = e.what();
    }
    std::cerr << "croupier client follow: " << why << " after seq " << query.after << "; reconnecting in "
              << backoff.count() << " ms\n";
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace

int run_client_follow(const std::vector<std::string>& argv) { return run_command("client follow", kFollowSpec, argv, follow); }

}  // namespace croupier::tools
