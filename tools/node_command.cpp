// `croupier node`: the node. Opens (or creates) the event log and the node's keys, recovers
// by replay, starts every actor and the HTTP API, and runs until SIGINT/SIGTERM.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/admin_door.hpp"
#include "actors/gateway.hpp"
#include "actors/node.hpp"
#include "tools/admin_token.hpp"
#include "tools/cluster_node.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/node_config.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {
const cli::CommandSpec kSpec{
    "croupier node [--config FILE] [--data DIR] [--http HOST:PORT] [--admin HOST:PORT] [--local-validators N]\n"
    "              [--seed N]",
    "Runs a Croupier node: opens the event log in DIR (creating it and the node's keys on first\n"
    "start), rebuilds its state by replaying the log (refusing to start on any problem), resumes\n"
    "the work under way (undecided txs, unfinished batches), and serves the HTTP API (README\n"
    "\"HTTP API\"). SIGINT or SIGTERM: stops accepting, answers waiting clients (pending),\n"
    "flushes the journal, closes the log and exits 0. Exit 1 when the journal fails (e.g. the\n"
    "disk is full): nothing unrecorded was acknowledged; a restart recovers from the log.",
    {{"config", "FILE", "configuration file (CAF's config format; config/croupier.ini documents every key)"},
     {"data", "DIR", "data directory: event log and keys (default ./croupier-data)"},
     {"http", "HOST:PORT", "where the HTTP API listens (default 127.0.0.1:8080; port 0 = any free port)"},
     {"admin", "HOST:PORT",
      "where `croupier shell` connects (default 127.0.0.1:8081; port 0 = any free port; off = no admin door); "
      "off loopback only with croupier.admin-token set"},
     {"local-validators", "N", "validator actors in this node (default 1)"},
     {"seed", "N", "seed of the node's PRNG (default: derived from the node id)"}}};

std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

void say(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::cerr << line << std::endl;
}

// Waits for a stop signal. Meanwhile, every 10 s, the log's memory-mapped pages leave the
// resident set (they stay in the page cache; a read faults one back in): so the node's RSS
// shows the state it holds, not every page of the log it has read or written
// (README "croupier bench soak").
int wait_for_stop(const sigset_t& stop, const eventlog::EventLog& log) {
  const timespec every{10, 0};
  for (;;) {
    const int sig = ::sigtimedwait(&stop, nullptr, &every);
    if (sig > 0) return sig;
    if (errno == EAGAIN) log.release_mapped_pages();  // Else EINTR: wait again.
  }
}

// Descriptors the node needs besides the HTTP connections: the log, the admin door and its
// shells, CAF's middleman, the standard streams.
constexpr rlim_t kOtherDescriptors = 256;

// How many connections the gateway may hold. Each is a descriptor: the soft RLIMIT_NOFILE is
// raised towards the hard one to fit `wanted` (ulimit -n is often 1024 by default); when even
// the hard limit is too low, the node says so and serves fewer rather than failing to accept
// (and starving the admin door) once the descriptors run out.
std::size_t connections_within_fd_limit(std::uint64_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
  const rlim_t needed = static_cast<rlim_t>(wanted) + kOtherDescriptors;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? needed : std::min(needed, lim.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= needed) return wanted;
  const auto fit = static_cast<std::size_t>(lim.rlim_cur > 2 * kOtherDescriptors ? lim.rlim_cur - kOtherDescriptors
                                                                                 : lim.rlim_cur / 2);
  say("croupier node: croupier.http-max-connections " + std::to_string(wanted) +
      " does not fit the descriptor limit (ulimit -n: " + std::to_string(lim.rlim_cur) + "); serving at most " +
      std::to_string(fit) + " connections");
  return fit;
}
}  // namespace

int run_node(const std::vector<std::string>& argv) {
  return run_command("node", kSpec, argv, [](const cli::Args& args) {
    NodeConfig config;
    if (auto file = args.value("config")) config = load_node_config(*file);
    if (auto data = args.value("data")) config.data = *data;
    if (auto http = args.value("http")) config.http = *http;
    if (auto admin = args.value("admin")) config.admin = *admin;
    if (auto n = args.unsigned_value("local-validators")) config.local_validators = *n;
    if (auto n = args.unsigned_value("seed")) config.seed = *n;
    validate_node_config(config);
    Endpoint http;
    try {
      http = parse_endpoint(config.http, true);
    } catch (const std::invalid_argument& e) {
      throw cli::UsageError(std::string("--http / croupier.http: ") + e.what());
    }
    const bool admin_on = config.admin != "off";
    Endpoint admin;
    try {
      if (admin_on) admin = parse_endpoint(config.admin, true);
    } catch (const std::invalid_argument& e) {
      throw cli::UsageError(std::string("--admin / croupier.admin: ") + e.what() + " (or off)");
    }
    // The shell can pause the sequencer and read every account: off this machine only with a token.
    if (admin_on && !is_loopback_host(admin.host) && config.admin_token.empty())
      throw cli::UsageError("--admin / croupier.admin: " + admin.host +
                            " is not a loopback address; the debug shell's door is opened to the network only with "
                            "croupier.admin-token set (at least 16 characters; the middleman does not encrypt, so "
                            "prefer loopback and an SSH tunnel)");
    const std::filesystem::path& dir = config.data;
    // Block the stop signals before any thread starts so that every thread inherits the
    // mask and sigwait below collects them. SIGUSR1 is the journal's failure.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    bool new_log = !std::filesystem::exists(dir / "data.mdb");
    auto keys = load_or_create_node_keys(dir, new_log);
    if (keys.created_node_key && !new_log)
      say("croupier node: created the node key " + (dir / "keys" / "node.seed").string() +
          " (this data directory had none): it signs the block headers of finality receipts from now on");

    auto cluster = parse_cluster_config(config.cluster_id, config.cluster_listen, config.cluster_peers);
    std::shared_ptr<actors::PeerTable> peer_table;
    if (cluster) {
      cluster->heartbeat = config.cluster_heartbeat;
      check_not_own_peer(*cluster, keys.node_key->public_key);
      peer_table = make_peer_table(*cluster);
    }

    caf::actor_system_config caf_config;
    caf_config.set("scheduler.max-threads", static_cast<std::size_t>(config.workers));
    caf_config.set("logger.verbosity", caf::atom("quiet"));
    caf_config.load<caf::io::middleman>();  // The debug shell's door, and a cluster's peer door.
    if (cluster) {
      // Off by default in CAF 0.17: without them a frozen peer is never noticed by the middleman.
      // The links notice one themselves (a Pong missing for 2 heartbeats); the middleman's
      // timeout only reclaims the connection, so it is long enough for a shell's heartbeat
      // (1 s, tools/shell_command.cpp) and a busy machine's: 4 heartbeats, at least 10 s.
      caf_config.set("middleman.heartbeat-interval", caf::timespan{cluster->heartbeat});
      caf_config.set("middleman.connection-timeout",
                     caf::timespan{std::max<std::chrono::milliseconds>(4 * cluster->heartbeat, std::chrono::seconds(10))});
    }
    caf::actor_system system{caf_config};

    actors::NodeOptions o;
    o.data = dir;
    o.keys = {keys.operator_key, keys.house_key, keys.sequencer_key, *keys.node_key};
    o.version = CROUPIER_VERSION;
    o.node_id_if_new = random_node_id();
    o.local_validators = config.local_validators;
    o.block_interval = config.block_interval;
    o.block_max = config.block_max;
    o.batch_interval = config.batch_interval;
    o.batch_max = config.batch_max;
    o.submit_attempts = static_cast<std::uint32_t>(config.submit_attempts);
    o.retry = RetryPolicy{o.submit_attempts, config.retry_base, config.retry_cap, 0.5};
    o.submit_timeout = config.submit_timeout;
    o.reconcile_interval = config.reconcile_interval;
    o.mempool_max = config.mempool_max;
    o.max_waiters = config.max_waiters;
    o.seed = config.seed;
    o.snapshot_every = config.snapshot_every;
    o.recent_txs = config.recent_txs;
    o.round_interval = config.round_interval;
    o.config_json = node_config_json(config);
    o.peers = peer_table;
    o.clock_ms = wall_clock_ms;
    o.log_line = say;
    o.on_failure = [](const std::string&) { kill(getpid(), SIGUSR1); };
    auto last_progress = std::chrono::steady_clock::now();
    o.replay_progress = [&](std::uint64_t done, std::uint64_t total) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_progress < std::chrono::seconds(1)) return;
      last_progress = now;
      say("croupier node: replaying the log: " + std::to_string(done) + " / " + std::to_string(total) + " events");
    };
    actors::Node node(system, o);

    actors::GatewayOptions g;
    g.host = http.host;
    g.port = http.port;
    g.threads = static_cast<unsigned>(config.http_threads);
    g.max_body_bytes = config.max_body_bytes;
    g.batch_max_bets = static_cast<std::size_t>(config.batch_max_bets);
    g.max_connections = connections_within_fd_limit(config.http_max_connections);
    g.idle_timeout = config.http_idle_timeout;
    g.header_timeout = config.http_header_timeout;
    g.body_timeout = config.http_body_timeout;
    g.feed_heartbeat = config.feed_heartbeat;
    g.feed_stall_timeout = config.feed_stall;
    g.feed_max_consumers = static_cast<std::size_t>(config.feed_max_consumers);
    g.log = say;
    std::unique_ptr<actors::Gateway> gateway;
    try {
      gateway = std::make_unique<actors::Gateway>(node, g);
    } catch (...) {
      node.stop();
      throw;
    }
    gateway->start();
    caf::actor door;
    std::uint16_t admin_port = 0;
    if (admin_on) {
      // The door is closed to anyone without the token: the config's, or else the one in the
      // data directory, created at the first start (tools/admin_token.hpp).
      const std::string token = config.admin_token.empty() ? load_or_create_admin_token(dir) : config.admin_token;
      door = actors::spawn_admin_door(system, node.actors().inspector, token);
      auto published = system.middleman().publish(door, admin.port, admin.host.c_str(), true);  // reuse_addr: restarts
      if (!published) {
        caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
        node.stop();
        gateway->stop();
        throw std::runtime_error("cannot open the admin port " + admin.host + ":" + std::to_string(admin.port) +
                                 " for `croupier shell`: " + system.render(published.error()) +
                                 " (another node running? choose one with --admin HOST:PORT, or --admin off)");
      }
      admin_port = *published;
    }
    std::unique_ptr<ClusterNode> cluster_node;
    if (cluster) {
      try {
        cluster_node = std::make_unique<ClusterNode>(system, *cluster, *keys.node_key, peer_table,
                                                     [&node] { return node.durable_height(); }, say);
      } catch (...) {
        if (admin_on) caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
        node.stop();
        gateway->stop();
        throw;
      }
    }
    // IPv6 hosts in brackets, as --connect takes them.
    const std::string admin_address =
        (admin.host.find(':') != std::string::npos ? "[" + admin.host + "]" : admin.host) + ":" +
        std::to_string(admin_port);
    auto health = node.health();
    std::cout << "croupier node " << to_hex(node.log().node_id()) << "\n"
              << "  http:      http://" << http.host << ":" << gateway->port() << "\n"
              << "  admin:     "
              << (!admin_on ? std::string("off")
                  : config.admin_token.empty()
                      ? admin_address + " (croupier shell --connect " + admin_address + " --data " +
                            std::filesystem::absolute(dir).string() + ")"
                      : admin_address + " (croupier shell --connect " + admin_address +
                            ", with croupier.admin-token in $CROUPIER_ADMIN_TOKEN)")
              << "\n"
              << "  data:      " << std::filesystem::absolute(dir).string() << " (log head seq " << health.log_head
              << ", block height " << health.block_height << ")\n"
              << "  operator:  " << to_hex(keys.operator_key.public_key) << "\n"
              << "  house:     " << to_hex(keys.house_key.public_key) << "\n"
              << "  sequencer: " << to_hex(keys.sequencer_key.public_key) << "\n"
              << "  node key:  " << to_hex(keys.node_key->public_key) << " (signs receipts)\n"
              << "  validators: " << config.local_validators << ", undecided txs resumed: "
              << node.recovered_undecided() << "\n";
    if (cluster)
      std::cout << "  cluster:   " << to_hex(cluster->id) << ", peer door " << cluster->listen.host << ":"
                << cluster_node->door_port() << ", " << cluster->peers.size()
                << " peers (links authenticate and watch peers; votes, catch-up and house-only resolution do not "
                   "cross processes yet: this node finalizes with its own validators; keep the peer network private, see "
                   "README)\n";
    std::cout << "ready; SIGINT/SIGTERM stops" << std::endl;
    const int sig = wait_for_stop(stop, node.log());
    // In two phases, so that every client waiting on the node gets its answer: the gateway
    // stops taking requests; the node stops, answering each waiting client pending, with the
    // gateway's threads still running; the gateway writes those answers (up to its drain
    // deadline), then stops its threads.
    gateway->stop_accepting();
    if (cluster_node) cluster_node->stop();  // No peer talks to a stopping node.
    if (admin_on) {
      system.middleman().unpublish(door, admin_port);  // No new shell sessions while stopping.
      caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
    }
    node.stop();
    gateway->stop();
    if (sig == SIGUSR1) {
      std::cerr << "croupier node: stopped because the journal failed (see above); the log is consistent, "
                   "restart the node once the cause is fixed" << std::endl;
      return 1;
    }
    std::cout << "croupier node: stopped by " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", log closed" << std::endl;
    return 0;
  });
}

}  // namespace croupier::tools
