// `croupier keygen`: a new Ed25519 key pair for a player (or an operator), the seed
// written to a file only its owner can read, the public key (the account) printed.
#include <iostream>

#include <nlohmann/json.hpp>

#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {
const cli::CommandSpec kSpec{
    "croupier keygen --out FILE [--json]",
    "Generates an Ed25519 key pair from the system's random source, writes its 32-byte seed as\n"
    "hex to FILE (created with mode 0600; an existing file is never overwritten) and prints the\n"
    "public key, which is the account id that bets are signed for.",
    {{"out", "FILE", "where to write the secret seed (required)"},
     {"json", "", "print {\"account\":\"<hex>\",\"seed_file\":\"FILE\"}"}}};
}  // namespace

int run_keygen(const std::vector<std::string>& argv) {
  return run_command("keygen", kSpec, argv, [](const cli::Args& args) {
    std::string out = args.required("out");
    KeyPair key = random_keypair();
    write_seed_file(out, key);
    if (args.flag("json"))
      std::cout << nlohmann::json{{"account", to_hex(key.public_key)}, {"seed_file", out}}.dump() << "\n";
    else
      std::cout << "account " << to_hex(key.public_key) << "\nseed written to " << out << " (mode 0600)\n";
    return 0;
  });
}

}  // namespace croupier::tools
