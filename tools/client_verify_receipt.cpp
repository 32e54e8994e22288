// `croupier client verify-receipt FILE --node-key HEX [--house-key HEX]`: checks a saved
// final-bet answer offline (domain/receipt.hpp check_bet_receipt), with no node to ask.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "actors/receipt_json.hpp"
#include "tools/cli.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kVerifySpec{
    "croupier client verify-receipt FILE --node-key HEX [--house-key HEX]",
    "Checks, offline, a final bet's answer saved in FILE (- reads stdin): the body of POST\n"
    "/v1/bets or GET /v1/bets/{id}, or an element of POST /v1/bets/batch's results, with\n"
    "integers as numbers or as strings. It checks the player's signature over the bet, that\n"
    "tx_id is the bet's, the Merkle path from tx_id to the block header's tx_root, the node's\n"
    "Ed25519 signature over the header (and every other signature the receipt lists), the\n"
    "answer's block_height against the header's, and the outcome: the ECVRF proof under the\n"
    "house key the signed header names (the answer's must be the same) with alpha = tx_id,\n"
    "its output, and the roll, win and payout the game's rule gives for it (README\n"
    "\"Finality receipts\" gives the exact bytes). batch_id and batch_status are not\n"
    "covered: they are settlement state, which changes after finality.\n\n"
    "Exit codes: 0 every check passed, 1 a check failed or FILE is not a final bet's answer\n"
    "with a receipt (each failure is printed), 2 bad usage or an unreadable FILE.",
    {{"node-key", "HEX", "the node's public key (its start-up line \"node key:\", or GET /v1/health's node_key)"},
     {"house-key", "HEX",
      "the house public key the operator published (start-up line \"house:\"): the signed header's must be it"}}};

std::string read_input(const std::string& file) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(file, std::ios::binary);
  if (!in) throw cli::UsageError("cannot read " + file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <std::size_t N>
FixedBytes<N> key_option(const std::string& value, const std::string& name) {
  try {
    return fixed_from_hex<N>(value, "--" + name);
  } catch (const InputError& e) {
    throw cli::UsageError(e.what());
  }
}

int verify(const std::string& file, const cli::Args& args) {
  const PublicKey node_key = key_option<32>(args.required("node-key"), "node-key");
  std::optional<PublicKey> house_key;
  if (auto h = args.value("house-key")) house_key = key_option<32>(*h, "house-key");
  const std::string text = read_input(file);
  receipt::BetReceipt r;
  try {
    r = actors::api::parse_bet_receipt(text);
  } catch (const InputError& e) {
    std::cerr << "croupier client verify-receipt: " << file << " is not a final bet's answer with a receipt: "
              << e.what() << "\n";
    return 1;
  }
  const auto check = receipt::check_bet_receipt(r, node_key, house_key);
  if (!check.ok()) {
    std::cerr << "croupier client verify-receipt: the receipt in " << file << " does not hold:\n";
    for (const auto& f : check.failures) std::cerr << "  - " << f << "\n";
    return 1;
  }
  std::cout << "receipt ok: bet " << to_hex(r.bet.bet_id) << " (tx " << to_hex(r.tx_id) << ") is final in block "
            << r.header.height << " (hash " << to_hex(r.header.block_hash) << "), tx " << r.tx_index << " of "
            << r.header.tx_count << "\n"
            << "  header signed by node key " << to_hex(node_key);
  if (r.signatures.size() > 1) std::cout << " and " << r.signatures.size() - 1 << " other signature(s), all valid";
  std::cout << "\n  outcome: roll " << static_cast<unsigned>(r.outcome.roll) << ", " << (r.outcome.win ? "win" : "loss")
            << ", payout " << r.outcome.payout << ", proved by ECVRF under house key " << to_hex(r.house_key)
            << (house_key ? " (the signed header's, as --house-key)" : " (the signed header's; --house-key also pins it)")
            << "\n"
            << "  not covered: batch_id, batch_status (settlement state, which changes after finality)\n";
  return 0;
}

}  // namespace

int run_client_verify_receipt(const std::vector<std::string>& argv) {
  // FILE first (or anywhere): the one word that is not an option or an option's value.
  std::vector<std::string> options;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const bool option = argv[i].rfind("--", 0) == 0;
    if (!option) {
      words.push_back(argv[i]);
      continue;
    }
    options.push_back(argv[i]);
    const bool takes_value = argv[i] == "--node-key" || argv[i] == "--house-key";
    if (takes_value && i + 1 < argv.size()) options.push_back(argv[++i]);
  }
  return run_command("client verify-receipt", kVerifySpec, options, [&](const cli::Args& args) {
    if (words.empty()) throw cli::UsageError("FILE is missing: the saved answer to check (- for stdin)");
    if (words.size() > 1) throw cli::UsageError("one FILE at a time, got '" + words[0] + "' and '" + words[1] + "'");
    return verify(words[0], args);
  });
}

}  // namespace croupier::tools
