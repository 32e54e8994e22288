// `croupier client`: talks to a node's HTTP API (/v1, see README "HTTP API"): credits an
// account (operator), places a bet (player) and checks its outcome locally, looks up bets,
// deposits, accounts, batches and blocks, and reads the node's health and metrics.
//
// A bet's final answer is never printed on the node's word alone: the client recomputes
// the tx id from the bytes it signed, verifies the VRF proof under the house key with
// alpha = tx id, and recomputes roll, win and payout from the proof's output.
//
// Exit codes: 0 success (a final or pending answer), 1 the node refused, could not be
// reached, or its answer failed verification, 2 bad usage or input.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/games.hpp"
#include "domain/transactions.hpp"
#include "domain/vrf.hpp"
#include "tools/api_requests.hpp"
#include "tools/cli.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {

using json = nlohmann::ordered_json;

// The job ran and failed: the node refused, or its answer does not hold up (exit 1).
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr const char* kDefaultNode = "127.0.0.1:8080";
constexpr std::uint64_t kMaxWaitMs = 30000;

const cli::OptionSpec kNodeOption{"node", "HOST:PORT",
                                  "the node's HTTP API (default 127.0.0.1:8080; http://HOST:PORT works too)"};
const cli::OptionSpec kJsonOption{"json", "", "print the node's JSON answer as is, on one line"};
const cli::OptionSpec kWaitOption{"wait-ms", "N",
                                  "how long the node waits for finality before answering pending (0..30000; "
                                  "node default 2000)"};
const cli::OptionSpec kHouseKeyOption{"house-key", "HEX",
                                      "the house public key the outcome must be proved under (default: the node's)"};

const std::string kExitCodes =
    "\nExit codes: 0 success (a final or a pending answer), 1 the node refused, could not be reached\n"
    "or its answer failed verification, 2 bad usage or input.";

const cli::CommandSpec kClientSpec{"croupier client <deposit|bet|get|follow|verify-receipt|health|metrics> [options]",
                                   "Talks to a node's HTTP API.\n\n"
                                   "  deposit   credit an account (signed with the operator's key)\n"
                                   "  bet       place a bet (signed with the player's key) and verify its outcome\n"
                                   "  get       look up a bet, deposit, account, batch or block\n"
                                   "  follow    print the node's event feed as JSON lines, reconnecting by itself\n"
                                   "  verify-receipt  check a saved final bet's answer offline (receipt and VRF proof)\n"
                                   "  health    the node's readiness\n"
                                   "  metrics   the node's Prometheus metrics\n\n"
                                   "`croupier client <subcommand> --help` explains each.\n" +
                                       kExitCodes,
                                   {}};

const cli::CommandSpec kDepositSpec{
    "croupier client deposit --operator-key FILE --account HEX --amount N [--deposit-id HEX] [--wait-ms N] "
    "[--node HOST:PORT] [--json]",
    "Credits AMOUNT minor units to ACCOUNT (a player's public key). The deposit is signed with the\n"
    "operator's key, read from FILE (a hex Ed25519 seed such as DATA/keys/operator.seed; a file\n"
    "readable by others is refused). --deposit-id is the idempotency key: sending the same deposit\n"
    "again gives the same answer; without it a fresh time-ordered id is made.\n" +
        kExitCodes,
    {{"operator-key", "FILE", "the operator's seed file (required)"},
     {"account", "HEX", "the account to credit: the player's public key, 64 hex characters (required)"},
     {"amount", "N", "minor units to credit, at least 1 (required)"},
     {"deposit-id", "HEX", "the deposit's id, 32 hex characters (default: a fresh time-ordered id)"},
     kWaitOption,
     kNodeOption,
     kJsonOption}};

const cli::CommandSpec kBetSpec{
    "croupier client bet --key FILE --game coinflip|dice --choice N --wager N [--nonce N] [--bet-id HEX] "
    "[--client-seed HEX] [--house-key HEX] [--wait-ms N] [--node HOST:PORT] [--json]",
    "Places a bet for the account whose seed is in FILE (written by `croupier keygen`; a file\n"
    "readable by others is refused). coinflip: --choice 0 (heads) or 1 (tails), a win pays 1.98x;\n"
    "dice: --choice is the target 2..99, the bet wins when the roll (1..100) is below it and pays\n"
    "wager * 99 / (target - 1). Without --nonce the client asks the node for the account's\n"
    "pending nonce and uses the next one.\n\n"
    "A final outcome is verified before it is printed: the tx id the node reports must be the one\n"
    "the signed bet gives, the VRF proof must verify under the house key with alpha = tx id, and\n"
    "roll, win and payout must follow from its output; otherwise the client fails (exit 1).\n"
    "A pending answer prints how to poll for the outcome.\n" +
        kExitCodes,
    {{"key", "FILE", "the player's seed file (required)"},
     {"game", "NAME", "coinflip or dice (required)"},
     {"choice", "N", "coinflip: 0 heads, 1 tails; dice: the target 2..99 (required)"},
     {"wager", "N", "minor units staked, 1..10^15 (required)"},
     {"nonce", "N", "the bet's nonce (default: the account's pending_nonce + 1, asked from the node)"},
     {"bet-id", "HEX", "the bet's id, 32 hex characters (default: a fresh time-ordered id)"},
     {"client-seed", "HEX", "32 bytes of the player's own randomness, 64 hex characters (default: random)"},
     kHouseKeyOption,
     kWaitOption,
     kNodeOption,
     kJsonOption}};

const cli::CommandSpec kGetSpec{
    "croupier client get bet|deposit|account|batch|block ID [--house-key HEX] [--node HOST:PORT] [--json]",
    "Looks up one thing on the node, without waiting: a bet or deposit by its id (32 hex\n"
    "characters), an account by its public key (64 hex characters), a settlement batch by its id,\n"
    "a block by its height. A final bet's outcome is verified against the tx id the node reports\n"
    "(VRF proof under the house key, roll, win and payout). Something the node does not know is\n"
    "exit code 1.\n" +
        kExitCodes,
    {kHouseKeyOption, kNodeOption, kJsonOption}};

const cli::CommandSpec kHealthSpec{"croupier client health [--node HOST:PORT] [--json]",
                                   "Asks the node whether it is ready (exit 0) or not (exit 1), with its log head, "
                                   "block\nheight and mempool size.\n" +
                                       kExitCodes,
                                   {kNodeOption, kJsonOption}};

const cli::CommandSpec kMetricsSpec{
    "croupier client metrics [--node HOST:PORT]",
    "Prints the node's Prometheus metrics (GET /metrics) as the node sends them.\n" + kExitCodes,
    {kNodeOption}};

// --- running a subcommand --------------------------------------------------------------

// run_command's handling, plus the client's own: input it cannot use is a usage error (exit 2,
// with the pointer to --help); a node that answers wrongly or a failed check exits 1.
int run_sub(const std::string& sub, const cli::CommandSpec& spec, const std::vector<std::string>& argv,
            const std::function<int(const cli::Args&)>& body) {
  const std::string name = "client " + sub;
  return run_command(name, spec, argv, [&](const cli::Args& args) {
    try {
      return body(args);
    } catch (const InputError& e) {
      throw cli::UsageError(e.what());
    } catch (const HttpError& e) {
      std::cerr << "croupier " << name << ": " << e.what() << "\n";
      return 1;
    } catch (const Failure& e) {
      std::cerr << "croupier " << name << ": " << e.what() << "\n";
      return 1;
    }
  });
}

Endpoint node_endpoint(const cli::Args& args) {
  std::string text = args.value("node").value_or(kDefaultNode);
  try {
    return parse_endpoint(text);
  } catch (const std::invalid_argument& e) {
    throw cli::UsageError(std::string("--node: ") + e.what());
  }
}

template <std::size_t N>
FixedBytes<N> hex_option(const cli::Args& args, const std::string& name) {
  std::string v = args.required(name);
  try {
    return fixed_from_hex<N>(v, "--" + name);
  } catch (const InputError& e) {
    throw cli::UsageError(e.what());
  }
}

std::optional<std::uint64_t> wait_ms_option(const cli::Args& args) {
  auto w = args.unsigned_value("wait-ms");
  if (w && *w > kMaxWaitMs) throw cli::UsageError("--wait-ms must be in 0..30000, got " + std::to_string(*w));
  return w;
}

std::optional<PublicKey> house_key_option(const cli::Args& args) {
  if (!args.value("house-key")) return std::nullopt;
  return hex_option<32>(args, "house-key");
}

KeyPair load_key(const cli::Args& args, const std::string& name) {
  std::string file = args.required(name);
  try {
    return read_seed_file(file);
  } catch (const std::runtime_error& e) {
    throw cli::UsageError("--" + name + ": " + e.what());
  }
}

Id128 fresh_id() {
  ensure_sodium();
  std::uint8_t random[10];
  randombytes_buf(random, sizeof random);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return make_time_ordered_id(static_cast<std::uint64_t>(now.count()), std::span<const std::uint8_t, 10>(random));
}

// Node-provided JSON as text; invalid UTF-8 in its strings is replaced, never an exception.
std::string text_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// --- reading the node's answers -------------------------------------------------------------

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s.size() < body.size() ? s + "..." : s;
}

json parse_answer(const HttpResponse& r, const std::string& what) {
  try {
    json j = json::parse(r.body);
    if (j.is_object()) return j;
  } catch (const json::parse_error&) {
  }
  throw Failure("the node answered " + what + " with HTTP " + std::to_string(r.status) +
                " and a body that is not a JSON object: " + snippet(r.body));
}

// The failure for an error answer: the node's error code and message.
Failure refusal(const HttpResponse& r, const std::string& what) {
  std::string msg;
  try {
    json j = json::parse(r.body);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      msg = "the node refused " + what + ": " + j["error"].get<std::string>() + " (HTTP " + std::to_string(r.status) +
            ")";
      if (j.contains("message") && j["message"].is_string()) msg += ": " + j["message"].get<std::string>();
      if (j.contains("existing_tx_id") && j["existing_tx_id"].is_string())
        msg += " (existing tx " + j["existing_tx_id"].get<std::string>() + ")";
    }
  } catch (const json::parse_error&) {
  }
  if (msg.empty())
    msg = "the node answered " + what + " with HTTP " + std::to_string(r.status) + ": " + snippet(r.body);
  if (r.retry_after) msg += "; retry after " + *r.retry_after + " s";
  return Failure(msg);
}

// Prints an error answer's JSON on stdout in --json mode (for scripts), then fails.
[[noreturn]] void refuse(const HttpResponse& r, const std::string& what, bool as_json) {
  if (as_json) {
    try {
      std::cout << text_of(json::parse(r.body)) << "\n";
    } catch (const json::parse_error&) {
    }
  }
  throw refusal(r, what);
}

const json& field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) throw Failure(std::string("the node's answer lacks \"") + name + "\"");
  return *it;
}

std::string string_field(const json& j, const char* name) {
  const json& v = field(j, name);
  if (v.is_null()) throw Failure(std::string("the node's answer has no \"") + name + "\" (null)");
  if (!v.is_string()) throw Failure(std::string("the node's answer has a non-string \"") + name + "\": " + text_of(v));
  return v.get<std::string>();
}

std::uint64_t u64_field(const json& j, const char* name) {
  const json& v = field(j, name);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  throw Failure(std::string("the node's answer has \"") + name + "\" = " + text_of(v) + ", not an unsigned integer");
}

template <std::size_t N>
FixedBytes<N> hex_field(const json& j, const char* name) {
  try {
    return fixed_from_hex<N>(string_field(j, name), std::string("the node's \"") + name + "\"");
  } catch (const InputError& e) {
    throw Failure(e.what());
  }
}

// The answer on one line, as the node sent it (re-serialized only if the node spread it
// over several lines).
std::string one_line(const HttpResponse& r, const json& j) {
  std::string s = r.body;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.find('\n') != std::string::npos) return text_of(j);
  return s;
}

std::string scalar_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return text_of(v);
}

// Every field of `j`, one per line, names aligned; nested objects indented.
void print_fields(std::ostream& os, const json& j, int indent = 2) {
  std::size_t width = 0;
  for (auto it = j.begin(); it != j.end(); ++it) width = std::max(width, it.key().size());
  std::string pad(static_cast<std::size_t>(indent), ' ');
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    os << pad << it.key();
    if (v.is_object() && !v.empty()) {
      os << ":\n";
      print_fields(os, v, indent + 2);
    } else if (v.is_array() && !v.empty()) {
      os << " (" << v.size() << "):\n";
      for (const auto& e : v) os << pad << "  " << scalar_text(e) << "\n";
    } else {
      os << std::string(width - it.key().size() + 2, ' ') << scalar_text(v) << "\n";
    }
  }
}

std::string poll_hint(const std::string& kind, const std::string& id, const Endpoint& node) {
  std::string cmd = "croupier client get " + kind + " " + id;
  if (node.to_string() != kDefaultNode) cmd += " --node " + node.to_string();
  return cmd;
}

// --- verifying a bet's outcome --------------------------------------------------------------

std::string side_name(std::uint8_t side) { return side == 0 ? "heads" : "tails"; }

// Checks a final bet's VRF proof and outcome; throws Failure saying what does not hold.
// Returns the house key the outcome was proved under.
PublicKey verify_outcome(const json& j, const Hash32& txid, Game game, std::uint8_t choice, Amount wager,
                         const std::optional<PublicKey>& expected_house) {
  const std::string prefix = "outcome failed verification: ";
  if (auto bad = check_bet_terms(static_cast<std::uint8_t>(game), choice, wager))
    throw Failure(prefix + "the bet's terms are not playable: " + *bad);
  PublicKey house{};
  vrf::Proof proof{};
  vrf::Output output{};
  try {
    house = hex_field<32>(j, "house_key");
    proof = hex_field<80>(j, "vrf_proof");
    output = hex_field<64>(j, "vrf_output");
  } catch (const Failure& e) {
    throw Failure(std::string("cannot verify the outcome: ") + e.what());
  }
  if (expected_house && house != *expected_house)
    throw Failure(prefix + "the outcome is proved under house key " + to_hex(house) + ", not the expected " +
                  to_hex(*expected_house));
  auto beta = vrf::verify(house, ByteView{txid.data(), txid.size()}, proof);
  if (!beta)
    throw Failure(prefix + "the VRF proof does not verify for tx " + to_hex(txid) + " under house key " +
                  to_hex(house));
  if (*beta != output) throw Failure(prefix + "vrf_output is not the output of the VRF proof");
  Outcome expected = resolve_game(game, choice, wager, *beta);
  const json& outcome = field(j, "outcome");
  if (!outcome.is_object()) throw Failure("the node's answer has a non-object \"outcome\"");
  std::uint64_t roll = u64_field(outcome, "roll");
  const json& win = field(outcome, "win");
  if (!win.is_boolean()) throw Failure("the node's answer has a non-boolean \"outcome.win\"");
  std::uint64_t payout = u64_field(j, "payout");
  if (roll != expected.roll || win.get<bool>() != expected.win || payout != expected.payout)
    throw Failure(prefix + "the node reports roll " + std::to_string(roll) + ", " + (win.get<bool>() ? "win" : "loss") +
                  ", payout " + std::to_string(payout) + "; the VRF output gives roll " +
                  std::to_string(expected.roll) + ", " + (expected.win ? "win" : "loss") + ", payout " +
                  std::to_string(expected.payout));
  return house;
}

// The terms (game, choice, wager) a bet answer reports.
struct ReportedTerms {
  Game game;
  std::uint8_t choice;
  Amount wager;
};

ReportedTerms reported_terms(const json& j) {
  std::string g = string_field(j, "game");
  auto game = game_from_name(g);
  if (!game) throw Failure("the node's answer names an unknown game \"" + g + "\"");
  std::uint64_t choice = u64_field(j, "choice");
  if (choice > 255) throw Failure("the node's answer has choice " + std::to_string(choice) + ", out of range");
  return {*game, static_cast<std::uint8_t>(choice), u64_field(j, "wager")};
}

std::string outcome_headline(const json& j, const ReportedTerms& t) {
  const json& outcome = j.at("outcome");
  auto roll = static_cast<std::uint8_t>(u64_field(outcome, "roll"));
  std::ostringstream os;
  os << (outcome.at("win").get<bool>() ? "WIN" : "LOSS") << ", payout " << u64_field(j, "payout") << " ("
     << game_name(t.game) << ", ";
  if (t.game == Game::coinflip)
    os << "choice " << side_name(t.choice) << ", side " << side_name(roll);
  else
    os << "target " << int(t.choice) << ", roll " << int(roll);
  os << ", wager " << t.wager << ")";
  return os.str();
}

// --- subcommands ------------------------------------------------------------------------------

int deposit_command(const cli::Args& args) {
  const KeyPair op = load_key(args, "operator-key");
  Deposit d;
  d.account = hex_option<32>(args, "account");
  auto amount = args.unsigned_value("amount");
  if (!amount) throw cli::UsageError("--amount is required");
  d.amount = *amount;
  if (d.amount == 0) throw cli::UsageError("--amount must be at least 1");
  d.deposit_id = args.value("deposit-id") ? hex_option<16>(args, "deposit-id") : fresh_id();
  d.operator_key = op.public_key;
  auto wait = wait_ms_option(args);
  const Endpoint node = node_endpoint(args);
  const bool as_json = args.flag("json");

  sign_tx(d, op);
  const Hash32 txid = tx_id(d);
  json body = deposit_request_body(d, wait);

  HttpClient http(node);
  const std::string what = "the deposit";
  HttpResponse r = http.request("POST", "/v1/deposits", body.dump());
  if (r.status != 200 && r.status != 202) refuse(r, what, as_json);
  json j = parse_answer(r, what);
  std::string status = string_field(j, "status");
  std::string reported = string_field(j, "tx_id");
  if (reported != to_hex(txid))
    throw Failure("the node reports tx " + reported + " for this deposit, but its signed bytes give " + to_hex(txid));
  const std::string id = to_hex(d.deposit_id);
  if (as_json) std::cout << one_line(r, j) << "\n";
  if (status == "final") {
    if (!as_json) {
      std::cout << "deposit " << id << " final: " << d.amount << " credited to " << to_hex(d.account) << "\n";
      print_fields(std::cout, j);
    }
    return 0;
  }
  if (status == "pending") {
    if (!as_json) {
      std::cout << "deposit " << id << " pending: admitted, not final yet\n";
      print_fields(std::cout, j);
    }
    std::cerr << "poll with: " << poll_hint("deposit", id, node) << "\n";
    return 0;
  }
  if (status == "rejected") {
    if (!as_json) {
      std::cout << "deposit " << id << " rejected by consensus\n";
      print_fields(std::cout, j);
    }
    throw Failure("deposit " + id + " was rejected by consensus (tx " + reported + "): nothing was credited");
  }
  throw Failure("the node answered the deposit with an unknown status \"" + status + "\"");
}

int bet_command(const cli::Args& args) {
  const KeyPair player = load_key(args, "key");
  Bet b;
  b.account = player.public_key;
  std::string game_text = args.required("game");
  auto game = game_from_name(game_text);
  if (!game) throw cli::UsageError("--game must be coinflip or dice, got '" + game_text + "'");
  b.game = static_cast<std::uint8_t>(*game);
  auto choice = args.unsigned_value("choice");
  if (!choice) throw cli::UsageError("--choice is required");
  if (*choice > 255) throw cli::UsageError("--choice out of range: " + std::to_string(*choice));
  b.choice = static_cast<std::uint8_t>(*choice);
  auto wager = args.unsigned_value("wager");
  if (!wager) throw cli::UsageError("--wager is required");
  b.wager = *wager;
  if (auto bad = check_bet_terms(b.game, b.choice, b.wager)) throw cli::UsageError(*bad);
  b.bet_id = args.value("bet-id") ? hex_option<16>(args, "bet-id") : fresh_id();
  if (args.value("client-seed")) {
    b.client_seed = hex_option<32>(args, "client-seed");
  } else {
    ensure_sodium();
    randombytes_buf(b.client_seed.data(), b.client_seed.size());
  }
  const auto expected_house = house_key_option(args);
  const auto wait = wait_ms_option(args);
  const Endpoint node = node_endpoint(args);
  const bool as_json = args.flag("json");
  const std::string account = to_hex(b.account);

  HttpClient http(node);
  if (auto nonce = args.unsigned_value("nonce")) {
    b.nonce = *nonce;
  } else {
    const std::string what = "the account lookup";
    HttpResponse r = http.request("GET", "/v1/accounts/" + account);
    if (r.status == 404)
      throw Failure("account " + account +
                    " is unknown to the node: it has no funds yet (an operator credits it with "
                    "`croupier client deposit`)");
    if (r.status != 200) throw refusal(r, what);
    std::uint64_t pending = u64_field(parse_answer(r, what), "pending_nonce");
    if (pending == UINT64_MAX) throw Failure("account " + account + " has used every nonce");
    b.nonce = pending + 1;
  }

  sign_tx(b, player);
  const Hash32 txid = tx_id(b);
  json body = bet_request_body(b, wait);

  const std::string what = "the bet";
  HttpResponse r = http.request("POST", "/v1/bets", body.dump());
  if (r.status != 200 && r.status != 202) refuse(r, what, as_json);
  json j = parse_answer(r, what);
  const std::string id = to_hex(b.bet_id);
  std::string status = string_field(j, "status");
  std::string reported = string_field(j, "tx_id");
  if (reported != to_hex(txid))
    throw Failure("outcome failed verification: the node reports tx " + reported +
                  " for this bet, but its signed bytes give " + to_hex(txid));
  if (string_field(j, "bet_id") != id)
    throw Failure("the node answered about bet " + string_field(j, "bet_id") + ", not " + id);

  if (status == "pending") {
    if (as_json) {
      std::cout << one_line(r, j) << "\n";
    } else {
      std::cout << "bet " << id << " pending: admitted, not final yet\n";
      print_fields(std::cout, j);
    }
    std::cerr << "poll with: " << poll_hint("bet", id, node) << "\n";
    return 0;
  }
  if (status != "final" && status != "rejected")
    throw Failure("the node answered the bet with an unknown status \"" + status + "\"");
  // A final answer must be about the bet we signed.
  ReportedTerms t = reported_terms(j);
  if (string_field(j, "account") != account || u64_field(j, "nonce") != b.nonce || t.game != *game ||
      t.choice != b.choice || t.wager != b.wager)
    throw Failure("the node's answer does not describe the bet that was signed: " + text_of(j));
  if (status == "rejected") {
    if (as_json) {
      std::cout << one_line(r, j) << "\n";
    } else {
      std::cout << "bet " << id << " rejected by consensus\n";
      print_fields(std::cout, j);
    }
    throw Failure("bet " + id + " was rejected by consensus (tx " + reported + "): it is not played");
  }
  PublicKey house = verify_outcome(j, txid, *game, b.choice, b.wager, expected_house);
  if (as_json) {
    std::cout << one_line(r, j) << "\n";
  } else {
    std::cout << "bet " << id << " final: " << outcome_headline(j, t) << "\n"
              << "outcome verified: tx id recomputed from the signed bet, VRF proof checked under house key "
              << to_hex(house) << (expected_house ? " (as expected)" : "") << ", roll and payout recomputed\n";
    print_fields(std::cout, j);
  }
  return 0;
}

int get_command(const std::string& kind, const std::string& given_id, const cli::Args& args) {
  std::string target, id;
  try {
    if (kind == "bet" || kind == "deposit" || kind == "batch") {
      id = to_hex(fixed_from_hex<16>(given_id, kind + " id"));
      target = "/v1/" + std::string(kind == "batch" ? "batches" : kind + "s") + "/" + id;
    } else if (kind == "account") {
      id = to_hex(fixed_from_hex<32>(given_id, "account"));
      target = "/v1/accounts/" + id;
    } else if (kind == "block") {
      if (given_id.empty() || given_id.find_first_not_of("0123456789") != std::string::npos || given_id.size() > 19)
        throw cli::UsageError("block height must be an unsigned integer, got '" + given_id + "'");
      id = given_id;
      target = "/v1/blocks/" + id;
    } else {
      throw cli::UsageError("unknown kind '" + kind + "': expected bet, deposit, account, batch or block");
    }
  } catch (const InputError& e) {
    throw cli::UsageError(e.what());
  }
  const auto expected_house = house_key_option(args);
  const Endpoint node = node_endpoint(args);
  const bool as_json = args.flag("json");
  HttpClient http(node);
  const std::string what = "the " + kind + " lookup";
  HttpResponse r = http.request("GET", target);
  if (r.status == 404) {
    if (as_json) refuse(r, what, as_json);
    throw Failure("the node has no " + kind + " " + id + " (404)");
  }
  if (r.status != 200) refuse(r, what, as_json);
  json j = parse_answer(r, what);
  std::string headline = kind + " " + id;
  if (kind == "bet" || kind == "deposit") {
    std::string status = string_field(j, "status");
    headline += " " + status;
    if (kind == "bet" && status == "final") {
      ReportedTerms t = reported_terms(j);
      Hash32 txid = hex_field<32>(j, "tx_id");
      PublicKey house = verify_outcome(j, txid, t.game, t.choice, t.wager, expected_house);
      headline += ": " + outcome_headline(j, t) + "\noutcome verified for tx " + to_hex(txid) +
                  ": VRF proof checked under house key " + to_hex(house) + (expected_house ? " (as expected)" : "") +
                  ", roll and payout recomputed";
    }
    if (status == "pending") headline += " (not final yet; ask again later)";
  }
  if (as_json) {
    std::cout << one_line(r, j) << "\n";
  } else {
    std::cout << headline << "\n";
    print_fields(std::cout, j);
  }
  return 0;
}

int health_command(const cli::Args& args) {
  const Endpoint node = node_endpoint(args);
  HttpClient http(node);
  HttpResponse r = http.request("GET", "/v1/health");
  if (r.status != 200 && r.status != 503) refuse(r, "the health check", args.flag("json"));
  json j;
  try {
    j = parse_answer(r, "the health check");
  } catch (const Failure&) {
    if (r.status == 503) throw refusal(r, "the health check");
    throw;
  }
  bool ready = r.status == 200 && j.value("ready", false);
  if (args.flag("json")) {
    std::cout << one_line(r, j) << "\n";
  } else {
    std::cout << "node " << node.to_string() << (ready ? " ready" : " NOT ready") << "\n";
    print_fields(std::cout, j);
  }
  if (!ready) throw Failure("the node at " + node.to_string() + " is not ready");
  return 0;
}

int metrics_command(const cli::Args& args) {
  const Endpoint node = node_endpoint(args);
  HttpClient http(node);
  HttpResponse r = http.request("GET", "/metrics");
  if (r.status != 200) throw refusal(r, "the metrics request");
  std::cout << r.body;
  if (!r.body.empty() && r.body.back() != '\n') std::cout << "\n";
  return 0;
}

}  // namespace

int run_client(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::cerr << cli::help_text(kClientSpec);
    return 2;
  }
  const std::string& sub = argv[0];
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << cli::help_text(kClientSpec);
    return 0;
  }
  if (sub == "deposit") return run_sub(sub, kDepositSpec, rest, deposit_command);
  if (sub == "bet") return run_sub(sub, kBetSpec, rest, bet_command);
  if (sub == "health") return run_sub(sub, kHealthSpec, rest, health_command);
  if (sub == "metrics") return run_sub(sub, kMetricsSpec, rest, metrics_command);
  if (sub == "follow") return run_client_follow(rest);
  if (sub == "verify-receipt") return run_client_verify_receipt(rest);
  if (sub == "get") {
    // `get KIND ID [options]`: the two words first, the options after them.
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < rest.size() && words.size() < 2 && rest[i].rfind("-", 0) != 0) words.push_back(rest[i++]);
    std::vector<std::string> options(rest.begin() + static_cast<std::ptrdiff_t>(i), rest.end());
    return run_sub(sub, kGetSpec, options, [&](const cli::Args& args) {
      if (words.size() < 2)
        throw cli::UsageError(words.empty() ? "what to get is missing: get bet|deposit|account|batch|block ID"
                                            : "the " + words[0] + " id is missing");
      return get_command(words[0], words[1], args);
    });
  }
  std::cerr << "croupier client: unknown subcommand '" << sub << "'\n" << cli::help_text(kClientSpec);
  return 2;
}

}  // namespace croupier::tools
