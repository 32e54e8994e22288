#pragma once
// The node's configuration: embedded defaults, overridden by a config file (CAF's config
// format, see config/croupier.ini, which documents every key), overridden by the command
// line.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace croupier::tools {

struct NodeConfig {
  std::filesystem::path data = "croupier-data";  // croupier.data: event log and keys.
  std::string http = "127.0.0.1:8080";           // croupier.http: HOST:PORT of the HTTP API.
  std::uint64_t http_threads = 2;                // croupier.http-threads
  std::uint64_t workers = 2;                     // croupier.workers: CAF scheduler threads.
  std::uint64_t max_body_bytes = 65536;          // croupier.max-body-bytes
  std::uint64_t batch_max_bets = 1000;           // croupier.batch-max-bets
  std::chrono::milliseconds feed_heartbeat{15000};   // croupier.feed-heartbeat
  std::chrono::milliseconds feed_stall{10000};       // croupier.feed-stall-timeout
  std::uint64_t feed_max_consumers = 100;            // croupier.feed-max-consumers
  std::uint64_t http_max_connections = 10000;    // croupier.http-max-connections
  std::chrono::milliseconds http_idle_timeout{60000};    // croupier.http-idle-timeout
  std::chrono::milliseconds http_header_timeout{10000};  // croupier.http-header-timeout
  std::chrono::milliseconds http_body_timeout{10000};    // croupier.http-body-timeout
  std::string admin = "127.0.0.1:8081";          // croupier.admin: HOST:PORT of the debug shell's door, or "off".
  std::string admin_token;                       // croupier.admin-token: required off loopback.
  std::uint64_t local_validators = 1;            // croupier.local-validators
  std::uint64_t seed = 0;                        // croupier.seed: 0 = derived from the node id.
  std::chrono::milliseconds block_interval{0};   // croupier.block-interval
  std::uint64_t block_max = 1000;                // croupier.block-max
  std::chrono::milliseconds batch_interval{100}; // croupier.batch-interval
  std::uint64_t batch_max = 1000;                // croupier.batch-max
  std::uint64_t submit_attempts = 5;             // croupier.submit-attempts
  std::chrono::milliseconds submit_timeout{5000};  // croupier.submit-timeout
  std::chrono::milliseconds retry_base{200};     // croupier.retry-base
  std::chrono::milliseconds retry_cap{10000};    // croupier.retry-cap
  std::chrono::milliseconds reconcile_interval{10000};  // croupier.reconcile-interval
  std::uint64_t mempool_max = 100000;            // croupier.mempool-max
  std::uint64_t max_waiters = 100000;            // croupier.max-waiters
  std::uint64_t snapshot_every = 100000;         // croupier.snapshot-every (0 = never)
  std::uint64_t recent_txs = 100000;             // croupier.recent-txs
  std::chrono::milliseconds round_interval{0};   // croupier.round-interval
  // The [cluster] keys (tools/cluster_config.hpp): all empty for a single node.
  std::string cluster_id;                        // cluster.id
  std::string cluster_listen;                    // cluster.listen
  std::vector<std::string> cluster_peers;        // cluster.peers
  std::chrono::milliseconds cluster_heartbeat{500};  // cluster.heartbeat
};

// Reads `file` over the defaults. Throws std::runtime_error naming the file and the key
// for a missing or unreadable file, a syntax error, an unknown key, a wrong type or a
// value out of range.
NodeConfig load_node_config(const std::filesystem::path& file);

// Checks the ranges of every value (also after command-line overrides); throws
// std::runtime_error naming the key.
void validate_node_config(const NodeConfig& config);

// Every key with its value, as the config file spells them (the debug shell's `config`).
// The admin token is not shown, only whether one is set.
std::string node_config_json(const NodeConfig& config);

// True for an address only this machine reaches: an IPv4 address in 127.0.0.0/8, ::1, or
// "localhost". Names other than localhost are not resolved: they are not loopback.
bool is_loopback_host(const std::string& host);

}  // namespace croupier::tools
