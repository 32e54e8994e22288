#pragma once
// The croupier subcommands. Each takes its arguments (after the subcommand name) and
// returns the process exit code: 0 success, 1 the job ran and found a failure (e.g. an
// unclean audit), 2 bad usage or input.

#include <string>
#include <vector>

namespace croupier::tools {

int run_node(const std::vector<std::string>& args);
int run_replay(const std::vector<std::string>& args);
int run_snowball(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_bench_node(const std::vector<std::string>& args);
int run_bench_soak(const std::vector<std::string>& args);
int run_keygen(const std::vector<std::string>& args);
int run_client(const std::vector<std::string>& args);
int run_client_follow(const std::vector<std::string>& args);  // `croupier client follow`
int run_client_verify_receipt(const std::vector<std::string>& args);  // `croupier client verify-receipt`
int run_cluster(const std::vector<std::string>& args);  // `croupier cluster init`
int run_shell(const std::vector<std::string>& args);
int run_sim(const std::vector<std::string>& args);

}  // namespace croupier::tools
