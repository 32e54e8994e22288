#include "tools/node_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include "tools/cluster_config.hpp"

namespace croupier::tools {

namespace {

using Setter = std::function<void(NodeConfig&, const caf::config_value&, const std::string& where)>;

Setter text(std::string NodeConfig::*field) {
  return [field](NodeConfig& c, const caf::config_value& v, const std::string& where) {
    auto* s = caf::get_if<std::string>(&v);
    if (!s) throw std::runtime_error(where + " must be a quoted string");
    if (s->empty()) throw std::runtime_error(where + " is empty");
    c.*field = *s;
  };
}

Setter number(std::uint64_t NodeConfig::*field) {
  return [field](NodeConfig& c, const caf::config_value& v, const std::string& where) {
    auto* n = caf::get_if<caf::config_value::integer>(&v);
    if (!n || *n < 0) throw std::runtime_error(where + " must be a non-negative integer");
    c.*field = static_cast<std::uint64_t>(*n);
  };
}

Setter duration(std::chrono::milliseconds NodeConfig::*field) {
  return [field](NodeConfig& c, const caf::config_value& v, const std::string& where) {
    auto* t = caf::get_if<caf::timespan>(&v);
    if (!t || t->count() < 0) throw std::runtime_error(where + " must be a duration such as 250ms or 5s");
    c.*field = std::chrono::duration_cast<std::chrono::milliseconds>(*t);
  };
}

Setter texts(std::vector<std::string> NodeConfig::*field) {
  return [field](NodeConfig& c, const caf::config_value& v, const std::string& where) {
    auto* list = caf::get_if<caf::config_value::list>(&v);
    if (!list) throw std::runtime_error(where + " must be a list of quoted strings, such as [\"a\", \"b\"]");
    std::vector<std::string> out;
    for (const auto& x : *list) {
      auto* s = caf::get_if<std::string>(&x);
      if (!s || s->empty()) throw std::runtime_error(where + " must be a list of non-empty quoted strings");
      out.push_back(*s);
    }
    c.*field = std::move(out);
  };
}

// Every key the file may set, as "category.name".
const std::map<std::string, Setter>& known_keys() {
  static const std::map<std::string, Setter> keys{
      {"croupier.data",
       [](NodeConfig& c, const caf::config_value& v, const std::string& where) {
         auto* s = caf::get_if<std::string>(&v);
         if (!s) throw std::runtime_error(where + " must be a quoted string");
         if (s->empty()) throw std::runtime_error(where + " is empty");
         c.data = *s;
       }},
      {"croupier.http", text(&NodeConfig::http)},
      {"croupier.http-threads", number(&NodeConfig::http_threads)},
      {"croupier.workers", number(&NodeConfig::workers)},
      {"croupier.max-body-bytes", number(&NodeConfig::max_body_bytes)},
      {"croupier.batch-max-bets", number(&NodeConfig::batch_max_bets)},
      {"croupier.http-max-connections", number(&NodeConfig::http_max_connections)},
      {"croupier.feed-heartbeat", duration(&NodeConfig::feed_heartbeat)},
      {"croupier.feed-stall-timeout", duration(&NodeConfig::feed_stall)},
      {"croupier.feed-max-consumers", number(&NodeConfig::feed_max_consumers)},
      {"croupier.http-idle-timeout", duration(&NodeConfig::http_idle_timeout)},
      {"croupier.http-header-timeout", duration(&NodeConfig::http_header_timeout)},
      {"croupier.http-body-timeout", duration(&NodeConfig::http_body_timeout)},
      {"croupier.local-validators", number(&NodeConfig::local_validators)},
      {"croupier.seed", number(&NodeConfig::seed)},
      {"croupier.block-interval", duration(&NodeConfig::block_interval)},
      {"croupier.block-max", number(&NodeConfig::block_max)},
      {"croupier.batch-interval", duration(&NodeConfig::batch_interval)},
      {"croupier.batch-max", number(&NodeConfig::batch_max)},
      {"croupier.submit-attempts", number(&NodeConfig::submit_attempts)},
      {"croupier.submit-timeout", duration(&NodeConfig::submit_timeout)},
      {"croupier.retry-base", duration(&NodeConfig::retry_base)},
      {"croupier.retry-cap", duration(&NodeConfig::retry_cap)},
      {"croupier.reconcile-interval", duration(&NodeConfig::reconcile_interval)},
      {"croupier.mempool-max", number(&NodeConfig::mempool_max)},
      {"croupier.max-waiters", number(&NodeConfig::max_waiters)},
      {"croupier.snapshot-every", number(&NodeConfig::snapshot_every)},
      {"croupier.recent-txs", number(&NodeConfig::recent_txs)},
      {"croupier.admin", text(&NodeConfig::admin)},
      {"croupier.admin-token", text(&NodeConfig::admin_token)},
      {"croupier.round-interval", duration(&NodeConfig::round_interval)},
      {"cluster.id", text(&NodeConfig::cluster_id)},
      {"cluster.listen", text(&NodeConfig::cluster_listen)},
      {"cluster.peers", texts(&NodeConfig::cluster_peers)},
      {"cluster.heartbeat", duration(&NodeConfig::cluster_heartbeat)},
  };
  return keys;
}

void apply_settings(NodeConfig& config, const caf::settings& s, const std::string& prefix, const std::string& file) {
  for (const auto& [key, value] : s) {
    std::string name = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    if (auto* nested = caf::get_if<caf::settings>(&value)) {
      apply_settings(config, *nested, name, file);
      continue;
    }
    auto it = known_keys().find(name);
    if (it == known_keys().end()) throw std::runtime_error(file + ": unknown option '" + name + "'");
    it->second(config, value, file + ": " + name);
  }
}

void require(bool ok, const std::string& key, const std::string& rule) {
  if (!ok) throw std::runtime_error("configuration: croupier." + key + " " + rule);
}

}  // namespace

void validate_node_config(const NodeConfig& c) {
  require(c.http_threads >= 1 && c.http_threads <= 64, "http-threads", "must be 1..64");
  require(c.workers >= 1 && c.workers <= 64, "workers", "must be 1..64");
  require(c.max_body_bytes >= 1024, "max-body-bytes", "must be at least 1024");
  require(c.batch_max_bets >= 1 && c.batch_max_bets <= 10000, "batch-max-bets", "must be 1..10000");
  require(c.http_max_connections >= 1 && c.http_max_connections <= 1'000'000, "http-max-connections",
          "must be 1..1000000");
  const auto hour = std::chrono::hours(1);
  // At most 30 s: consumers (croupier client follow: 60 s) take a minute of silence for a dead link.
  require(c.feed_heartbeat.count() >= 1 && c.feed_heartbeat <= std::chrono::seconds(30), "feed-heartbeat",
          "must be 1ms..30s");
  require(c.feed_stall.count() >= 1 && c.feed_stall <= hour, "feed-stall-timeout", "must be 1ms..1h");
  require(c.feed_max_consumers >= 1 && c.feed_max_consumers <= 100'000, "feed-max-consumers", "must be 1..100000");
  require(c.http_idle_timeout.count() >= 1 && c.http_idle_timeout <= hour, "http-idle-timeout", "must be 1ms..1h");
  require(c.http_header_timeout.count() >= 1 && c.http_header_timeout <= hour, "http-header-timeout",
          "must be 1ms..1h");
  require(c.http_body_timeout.count() >= 1 && c.http_body_timeout <= hour, "http-body-timeout", "must be 1ms..1h");
  require(c.local_validators >= 1 && c.local_validators <= 100, "local-validators", "must be 1..100");
  require(c.block_interval <= std::chrono::seconds(60), "block-interval", "must be 0ms..60s");
  require(c.block_max >= 1, "block-max", "must be at least 1");
  require(c.batch_interval.count() >= 1, "batch-interval", "must be at least 1ms");
  require(c.batch_max >= 1, "batch-max", "must be at least 1");
  require(c.submit_attempts >= 1 && c.submit_attempts <= 1000, "submit-attempts", "must be 1..1000");
  require(c.submit_timeout.count() >= 1, "submit-timeout", "must be at least 1ms");
  require(c.retry_base.count() >= 1 && c.retry_base <= c.retry_cap, "retry-base", "must be 1ms..retry-cap");
  require(c.retry_cap <= std::chrono::hours(24), "retry-cap", "must be at most 24h");
  require(c.reconcile_interval.count() >= 1, "reconcile-interval", "must be at least 1ms");
  require(c.mempool_max >= 1, "mempool-max", "must be at least 1");
  require(c.recent_txs <= 10'000'000, "recent-txs", "must be 0..10000000");
  require(c.max_waiters >= 1, "max-waiters", "must be at least 1");
  require(c.round_interval <= std::chrono::seconds(60), "round-interval", "must be 0ms..60s");
  require(c.admin_token.empty() || c.admin_token.size() >= 16, "admin-token", "must have at least 16 characters");
  if (c.cluster_heartbeat < std::chrono::milliseconds(50) || c.cluster_heartbeat > std::chrono::seconds(10))
    throw std::runtime_error("configuration: cluster.heartbeat must be 50ms..10s");
  (void)parse_cluster_config(c.cluster_id, c.cluster_listen, c.cluster_peers);  // Throws naming the key.
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;  // 127.0.0.0/8
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string node_config_json(const NodeConfig& c) {
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
  nlohmann::ordered_json j{{"data", c.data.string()},
                           {"http", c.http},
                           {"http-threads", c.http_threads},
                           {"max-body-bytes", c.max_body_bytes},
                           {"batch-max-bets", c.batch_max_bets},
                           {"http-max-connections", c.http_max_connections},
                           {"feed-heartbeat", ms(c.feed_heartbeat)},
                           {"feed-stall-timeout", ms(c.feed_stall)},
                           {"feed-max-consumers", c.feed_max_consumers},
                           {"http-idle-timeout", ms(c.http_idle_timeout)},
                           {"http-header-timeout", ms(c.http_header_timeout)},
                           {"http-body-timeout", ms(c.http_body_timeout)},
                           {"admin", c.admin},
                           {"admin-token", c.admin_token.empty() ? "(none)" : "(set, not shown)"},
                           {"workers", c.workers},
                           {"local-validators", c.local_validators},
                           {"seed", c.seed},
                           {"block-interval", ms(c.block_interval)},
                           {"block-max", c.block_max},
                           {"batch-interval", ms(c.batch_interval)},
                           {"batch-max", c.batch_max},
                           {"submit-attempts", c.submit_attempts},
                           {"submit-timeout", ms(c.submit_timeout)},
                           {"retry-base", ms(c.retry_base)},
                           {"retry-cap", ms(c.retry_cap)},
                           {"reconcile-interval", ms(c.reconcile_interval)},
                           {"round-interval", ms(c.round_interval)},
                           {"mempool-max", c.mempool_max},
                           {"max-waiters", c.max_waiters},
                           {"snapshot-every", c.snapshot_every},
                           {"recent-txs", c.recent_txs}};
  if (!c.cluster_id.empty())  // A single node's configuration shows no cluster keys.
    j["cluster"] = {{"id", c.cluster_id},
                    {"listen", c.cluster_listen},
                    {"peers", c.cluster_peers},
                    {"heartbeat", ms(c.cluster_heartbeat)}};
  return j.dump();
}

NodeConfig load_node_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read config file " + file.string());
  // Parsed without CAF's option set: given one, CAF silently drops a value of the wrong
  // type; we check every key and type ourselves.
  auto parsed = caf::actor_system_config::parse_config(in);
  if (!parsed)
    throw std::runtime_error(file.string() + ": " + caf::to_string(parsed.error()) +
                             " (see config/croupier.ini for the format)");
  NodeConfig config;
  apply_settings(config, *parsed, "", file.string());
  try {
    validate_node_config(config);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  return config;
}

}  // namespace croupier::tools
