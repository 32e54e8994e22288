// `croupier bench node`: the node's throughput and latency, measured over HTTP in one run.
//
//   ceiling:     cores x one core's rate of a bet's own crypto (Ed25519 verify of the bet +
//                ECVRF proof of its outcome), measured here first;
//   throughput:  bets/s finalized with `clients` closed-loop HTTP clients (each sends its
//                next pre-signed bet, waits for the final answer, repeats);
//   latency:     p50/p99/p999 of submission -> final answer at half that throughput (an
//                open-loop schedule; latency counts from the scheduled send time, so a
//                client that falls behind is charged for it);
//   settlement:  p99 of final answer -> batch confirmed, for a sample of those bets;
//   event feed:  events/s of one GET /v1/events consumer from seq 0 to the head, alone, and the
//                throughput phase again beside one that streams the log from 0 over and over.
// The node runs in this process (its own actor system, journal thread and HTTP threads) on
// a fresh durable log, and is stopped and removed at the end.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "actors/gateway.hpp"
#include "actors/node.hpp"
#include "domain/blocks.hpp"
#include "tools/api_requests.hpp"
#include "tools/bench_report.hpp"
#include "tools/bench_support.hpp"
#include "tools/command_runner.hpp"
#include "tools/commands.hpp"
#include "tools/event_stream.hpp"
#include "tools/http_client.hpp"

namespace croupier::tools {

namespace {

const cli::CommandSpec kSpec{
    "croupier bench node [--json] [--dir DIR] [--clients N] [--latency-clients N] [--seconds S] [--batch N]",
    "Starts a node on a fresh durable log and drives it over HTTP with concurrent clients sending\n"
    "pre-signed bets. Prints the crypto ceiling (cores x one core's rate of a bet's signature\n"
    "check + VRF proof), bets/s finalized, finalization latency p50/p99/p999 at half of that\n"
    "throughput, and settlement lag p99 (final -> batch confirmed). Then the event feed: events/s\n"
    "of one GET /v1/events consumer from seq 0 to the head, and bets/s again while such a consumer\n"
    "streams the log from seq 0 over and over, as a ratio to the first. Progress goes to stderr.",
    {{"json", "", "one JSON line per figure: {\"metric\":...,\"value\":...,\"unit\":...}"},
     {"dir", "DIR", "where to put the node's log (default ./.croupier-bench-node-PID; must not exist)"},
     {"clients", "N", "closed-loop HTTP clients of the throughput phase (default 128)"},
     {"latency-clients", "N", "HTTP clients sharing the open-loop schedule of the latency phase (default 32;\n"
                              "enough to keep the schedule, fewer threads competing with the node)"},
     {"seconds", "S", "duration of each measured phase (default 5)"},
     {"batch", "N", "in the throughput phase each client sends its bets N at a time with POST /v1/bets/batch\n"
                    "(1..1000; default: one bet a request with POST /v1/bets)"}}};

void progress(const std::string& what) { std::fprintf(stderr, "bench node: %s\n", what.c_str()); }

// One core's rate of the crypto every bet costs, in bets/s.
double crypto_rate_one_core() {
  KeyPair player = random_keypair(), house = random_keypair();
  std::vector<Bet> bets(400);
  for (std::size_t i = 0; i < bets.size(); ++i) {
    bets[i] = Bet{fresh_id(i), player.public_key, i + 1, static_cast<std::uint8_t>(Game::coinflip), 10, 0, {}, {}};
    sign_tx(bets[i], player);
  }
  auto t0 = BenchClock::now();
  std::size_t ok = 0;
  for (const auto& b : bets) {
    ok += verify_tx_signature(Tx{b});
    ok += resolve_bet(tx_id(b), b, house).roll <= 1;
  }
  if (ok != 2 * bets.size()) throw std::runtime_error("crypto self-check failed");
  return static_cast<double>(bets.size()) / seconds_since(t0);
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// A client's player and its bets, signed and encoded before the phase that sends them
// (signing is the casino backend's work, not the node's: it must not eat the cores the node
// is measured on). In nonce order; a client that runs out signs on the spot (counted).
struct Player {
  struct Ready {
    std::string bet_id;   // Hex.
    std::string body;     // The POST /v1/bets body.
    std::string element;  // The same bet as an element of a POST /v1/bets/batch body (no wait_ms).
  };
  KeyPair key;
  std::uint64_t nonce = 0;
  std::deque<Ready> ready;

  Bet make(std::uint64_t n) {
    Bet b{fresh_id(n), key.public_key, ++nonce, static_cast<std::uint8_t>(Game::coinflip), 1, 0, {}, {}};
    put_u64_le(b.client_seed.data(), n);
    sign_tx(b, key);
    return b;
  }
  void prepare(std::size_t count, std::atomic<std::uint64_t>& counter) {
    for (std::size_t i = 0; i < count; ++i) {
      Bet b = make(counter++);
      ready.push_back({to_hex(b.bet_id), bet_request_body(b, 30000).dump(), bet_request_body(b).dump()});
    }
  }
  Ready next(std::atomic<std::uint64_t>& counter, std::atomic<std::uint64_t>& signed_late) {
    if (ready.empty()) {
      ++signed_late;
      prepare(1, counter);
    }
    Ready r = std::move(ready.front());
    ready.pop_front();
    return r;
  }
};

// Signs bets until every player has `per_player` ready, on every core.
void prepare_bets(const std::vector<Player*>& players, std::size_t per_player, std::atomic<std::uint64_t>& counter) {
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      for (std::size_t i; (i = next++) < players.size();)
        if (players[i]->ready.size() < per_player) players[i]->prepare(per_player - players[i]->ready.size(), counter);
    });
  for (auto& t : threads) t.join();
}

// Events one consumer of the event feed reads from seq 0 until it has read seq `head` (or,
// given `go`, until that turns false).
std::uint64_t feed_from_start(std::uint16_t port, std::uint64_t head, const std::atomic<bool>* go) {
  EventStream s(Endpoint{"127.0.0.1", port}, FeedQuery{});
  std::uint64_t n = 0;
  while (!go || go->load()) {
    auto e = s.next(std::chrono::seconds(10));
    if (!e) throw std::runtime_error("the event feed ended before seq " + std::to_string(head));
    ++n;
    if (e->id >= head) break;
  }
  return n;
}

struct Sample {
  double latency_ms;
  std::string bet_id;
  BenchClock::time_point final_at;
};

}  // namespace

int run_bench_node(const std::vector<std::string>& argv) {
  return run_command("bench node", kSpec, argv, [](const cli::Args& args) {
    Reporter rep{args.flag("json")};
    const auto clients = static_cast<std::size_t>(args.unsigned_value("clients").value_or(128));
    const auto latency_clients = static_cast<std::size_t>(args.unsigned_value("latency-clients").value_or(32));
    const double seconds = static_cast<double>(args.unsigned_value("seconds").value_or(5));
    const auto batch = static_cast<std::size_t>(args.unsigned_value("batch").value_or(0));
    if (args.value("batch") && (batch == 0 || batch > 1000)) throw cli::UsageError("--batch must be 1..1000");
    if (clients == 0 || clients > 1000) throw cli::UsageError("--clients must be 1..1000");
    if (latency_clients == 0 || latency_clients > clients)
      throw cli::UsageError("--latency-clients must be 1..--clients (" + std::to_string(clients) + ")");
    if (seconds < 1) throw cli::UsageError("--seconds must be at least 1");
    std::filesystem::path dir =
        args.value("dir").value_or(".croupier-bench-node-" + std::to_string(static_cast<long>(::getpid())));
    if (std::filesystem::exists(dir)) throw cli::UsageError("--dir " + dir.string() + " already exists");
    RemovedOnExit cleanup{dir};

    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    progress("measuring the crypto ceiling");
    const double one_core = crypto_rate_one_core();
    const double ceiling = one_core * cores;
    rep.figure("crypto_ceiling_bets_per_s", ceiling, "bets/s",
               "(" + std::to_string(cores) + " cores x " + std::to_string(static_cast<long>(one_core)) +
                   " bets/s: Ed25519 verify + ECVRF prove)");

    caf::actor_system_config cc;
    cc.set("scheduler.max-threads", static_cast<std::size_t>(cores));
    cc.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system system{cc};
    actors::NodeOptions o;
    o.data = dir;
    o.keys = {random_keypair(), random_keypair(), random_keypair(), random_keypair()};
    o.node_id_if_new = fresh_id(0);
    o.clock_ms = wall_ms;
    o.log_line = progress;
    actors::Node node(system, o);
    actors::GatewayOptions g;
    g.port = 0;
    g.threads = 2;
    actors::Gateway gateway(node, g);
    gateway.start();
    const std::uint16_t port = gateway.port();

    // Client c's player is players[c]; with --batch N, its batches take one bet from each of
    // players[clients + c * N ...]: a batch's bets are admitted side by side, so two bets of one
    // account in one batch would be one too many in flight (wrong_nonce, as two POSTs at once).
    const std::size_t batch_players = batch ? clients * batch : 0;
    std::vector<Player> players(clients + batch_players);
    progress("funding " + std::to_string(players.size()) + " players");
    {
      HttpClient http("127.0.0.1", port);
      for (std::size_t i = 0; i < players.size(); ++i) {
        players[i].key = random_keypair();
        Deposit d{fresh_id(1'000'000 + i), players[i].key.public_key, 1'000'000'000, o.keys.operator_key.public_key, {}};
        sign_tx(d, o.keys.operator_key);
        auto r = http.request("POST", "/v1/deposits", deposit_request_body(d, 30000).dump());
        if (r.status != 200) throw std::runtime_error("funding a player failed: HTTP " + std::to_string(r.status) + " " + r.body);
      }
    }

    std::atomic<std::uint64_t> counter{0};
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> signed_late{0};
    // Runs `count` client threads; each calls `one(client, http)` until it returns false.
    auto run_clients = [&](std::size_t count, const std::function<bool(std::size_t, HttpClient&)>& one) {
      std::vector<std::thread> threads;
      for (std::size_t c = 0; c < count; ++c)
        threads.emplace_back([&, c] {
          HttpClient http("127.0.0.1", port);
          try {
            while (one(c, http)) {
            }
          } catch (const std::exception& e) {
            ++failures;
            progress(std::string("client failed: ") + e.what());
          }
        });
      for (auto& t : threads) t.join();
    };
    auto post_bet = [&](std::size_t c, HttpClient& http) {
      Player::Ready bet = players[c].next(counter, signed_late);
      auto r = http.request("POST", "/v1/bets", bet.body);
      if (r.status != 200) throw std::runtime_error("bet not final: HTTP " + std::to_string(r.status) + " " + r.body);
      return bet.bet_id;
    };
    // `batch` of a client's bets in one POST /v1/bets/batch, each of which must be final.
    auto post_batch = [&](std::size_t c, HttpClient& http) {
      std::string body = "{\"bets\":[";
      for (std::size_t i = 0; i < batch; ++i) {
        if (i) body += ',';
        body += players[clients + c * batch + i].next(counter, signed_late).element;
      }
      body += "],\"wait_ms\":30000}";
      auto r = http.request("POST", "/v1/bets/batch", body);
      if (r.status != 200) throw std::runtime_error("batch refused: HTTP " + std::to_string(r.status) + " " + r.body);
      const auto results = nlohmann::json::parse(r.body).at("results");
      for (const auto& one : results)
        if (one.at("status") != 200) throw std::runtime_error("a bet of a batch is not final: " + one.dump());
    };
    // Enough for every client to send at the ceiling's rate for the whole phase, twice over.
    auto prepare_phase = [&](double rate, std::size_t count) {
      const auto per_player = static_cast<std::size_t>(2 * rate * seconds / static_cast<double>(count)) + 16;
      progress("signing bets ahead: " + std::to_string(per_player) + " ready per client");
      std::vector<Player*> senders;
      if (batch && count == clients) {  // The throughput phase sends the batches' players' bets.
        for (std::size_t i = clients; i < players.size(); ++i) senders.push_back(&players[i]);
        return prepare_bets(senders, per_player / batch + 16, counter);
      }
      for (std::size_t c = 0; c < count; ++c) senders.push_back(&players[c]);
      prepare_bets(senders, per_player, counter);
    };

    // Phase 1: the most bets/s the node finalizes.
    auto throughput_phase = [&](const std::string& what) {
      prepare_phase(ceiling, clients);
      progress(what + ": closed loop, " + std::to_string(clients) + " clients" +
               (batch ? ", " + std::to_string(batch) + " bets a request" : "") + ", " + std::to_string(seconds) + " s");
      std::atomic<std::uint64_t> finals{0};
      auto t0 = BenchClock::now();
      auto end = t0 + std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(seconds));
      run_clients(clients, [&](std::size_t c, HttpClient& http) {
        if (BenchClock::now() >= end) return false;
        if (batch) {
          post_batch(c, http);
          finals += batch;
        } else {
          post_bet(c, http);
          ++finals;
        }
        return true;
      });
      return static_cast<double>(finals.load()) / seconds_since(t0);
    };
    const double max_rate = throughput_phase("phase 1");
    rep.figure("bets_finalized_per_s", max_rate, "bets/s",
               "(" + std::to_string(clients) + " closed-loop clients" +
                   (batch ? ", " + std::to_string(batch) + " bets a POST /v1/bets/batch" : "") + ")");
    rep.figure("throughput_fraction_of_ceiling_pct", 100.0 * max_rate / ceiling, "%");

    // The event feed: a consumer from seq 0 to the head, alone; then phase 1 twice more, the
    // second time while a consumer streams the log from seq 0 over and over (the ratio of the two).
    const std::uint64_t head = node.health().log_head;
    progress("event feed: seq 0 to " + std::to_string(head));
    const auto feed_t0 = BenchClock::now();
    const double feed_rate = static_cast<double>(feed_from_start(port, head, nullptr)) / seconds_since(feed_t0);
    rep.figure("feed_events_per_s", feed_rate, "events/s", "(one consumer, GET /v1/events from seq 0 to " + std::to_string(head) + ")");
    // The same phase without a consumer first: a later phase is slower on its own (~10 %: a
    // larger log and state), so the ratio compares two runs of that later phase.
    const double rate_later = throughput_phase("phase 1 again, no feed consumer");
    std::atomic<bool> feeding{true};
    double feed_rate_beside = 0;
    std::thread feeder([&] {
      // At the lowest priority, as the node's own feed thread: on a machine shared with the node,
      // the bench's consumer would otherwise take the bets' CPU, which a consumer elsewhere does not.
      [[maybe_unused]] int rc = ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
      auto t0 = BenchClock::now();
      std::uint64_t fed = 0;
      try {
        while (feeding) fed += feed_from_start(port, head, &feeding);
      } catch (const std::exception& e) {
        ++failures;
        progress(std::string("the feed consumer failed: ") + e.what());
      }
      feed_rate_beside = static_cast<double>(fed) / seconds_since(t0);
    });
    const double rate_beside = throughput_phase("phase 1 again, beside a feed consumer");
    feeding = false;
    feeder.join();
    rep.figure("bets_finalized_per_s_again", rate_later, "bets/s", "(phase 1 again, no feed consumer)");
    rep.figure("bets_finalized_per_s_beside_feed", rate_beside, "bets/s", "(phase 1 a third time, beside a feed consumer)");
    rep.figure("throughput_beside_feed_ratio_pct", 100.0 * rate_beside / rate_later, "%",
               "(bets/s while a consumer streams the log from seq 0 over and over, over bets/s without)");
    rep.figure("feed_events_per_s_beside_bets", feed_rate_beside, "events/s");

    // Phase 2: latency at half that rate, open loop. Every 10th bet's settlement is
    // followed while the phase runs: a poller asks for it until its batch is confirmed.
    const double rate = max_rate / 2;
    prepare_phase(rate, latency_clients);  // Tops up phase 1's leftovers (sent first: their nonces come first).
    progress("phase 2: open loop at " + std::to_string(static_cast<long>(rate)) + " bets/s, " +
             std::to_string(latency_clients) + " clients");
    std::mutex mutex;
    std::vector<double> latencies;
    std::vector<Sample> followed;  // Guarded by mutex.
    std::atomic<bool> phase_done{false};
    std::vector<double> lags;
    std::thread poller([&] {
      HttpClient http("127.0.0.1", port);
      std::vector<Sample> mine;
      auto deadline = BenchClock::time_point::max();
      while (BenchClock::now() < deadline) {
        {
          std::lock_guard lock(mutex);
          for (auto& s : followed) mine.push_back(std::move(s));
          followed.clear();
        }
        if (phase_done && deadline == BenchClock::time_point::max()) deadline = BenchClock::now() + std::chrono::seconds(30);
        if (phase_done && mine.empty()) break;
        std::erase_if(mine, [&](const Sample& s) {
          auto r = http.request("GET", "/v1/bets/" + s.bet_id);
          auto j = nlohmann::json::parse(r.body, nullptr, false);
          if (!j.is_object() || !j.contains("batch_status") || j["batch_status"] != "confirmed") return false;
          lags.push_back(std::chrono::duration<double, std::milli>(BenchClock::now() - s.final_at).count());
          return true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!mine.empty()) progress(std::to_string(mine.size()) + " followed bets were not confirmed within 30 s");
    });
    std::atomic<std::uint64_t> slot{0};
    const auto start = BenchClock::now() + std::chrono::milliseconds(100);
    const auto total = static_cast<std::uint64_t>(rate * seconds);
    run_clients(latency_clients, [&](std::size_t c, HttpClient& http) {
      const std::uint64_t i = slot++;
      if (i >= total) return false;
      auto due = start + std::chrono::duration_cast<BenchClock::duration>(
                             std::chrono::duration<double>(static_cast<double>(i) / rate));
      std::this_thread::sleep_until(due);
      std::string id = post_bet(c, http);
      auto now = BenchClock::now();
      std::lock_guard lock(mutex);
      latencies.push_back(std::chrono::duration<double, std::milli>(now - due).count());
      if (i % 10 == 0) followed.push_back({0, std::move(id), now});
      return true;
    });
    phase_done = true;
    poller.join();
    rep.figure("half_load_bets_per_s", rate, "bets/s");
    rep.figure("finalization_latency_p50_ms", percentile(latencies, 0.50), "ms");
    rep.figure("finalization_latency_p99_ms", percentile(latencies, 0.99), "ms");
    rep.figure("finalization_latency_p999_ms", percentile(latencies, 0.999), "ms");
    rep.figure("settlement_lag_p99_ms", percentile(lags, 0.99), "ms",
               "(batch interval " + std::to_string(o.batch_interval.count()) + " ms; every 10th bet, polled every ~2 ms)");
    rep.figure("settlement_lag_p99_batch_intervals", percentile(lags, 0.99) / static_cast<double>(o.batch_interval.count()),
               "intervals");
    {
      const auto& m = node.node_metrics();
      auto mean = [](const actors::Histogram& h) { return h.count() ? h.sum() / static_cast<double>(h.count()) : 0.0; };
      char line[200];
      std::snprintf(line, sizeof line, "journal: %llu commits, %.1f events and %.2f ms (durable lock held) per commit on average",
                    static_cast<unsigned long long>(m.commits.load()), mean(m.group_commit_size),
                    mean(m.journal_commit_duration_ms));
      progress(line);
    }
    if (signed_late > 0) progress(std::to_string(signed_late.load()) + " bets had to be signed during a phase");
    progress("settlement retries during the run: " + std::to_string(node.node_metrics().submit_retries.load()) +
             ", batches confirmed: " + std::to_string(node.node_metrics().batches_confirmed.load()) +
             ", blocks: " + std::to_string(node.node_metrics().blocks.load()) +
             ", commits: " + std::to_string(node.node_metrics().commits.load()) +
             ", consensus polls: " + std::to_string(node.node_metrics().consensus_polls.load()) +
             " for " + std::to_string(node.node_metrics().consensus_decided.load()) + " decisions");
    node.stop();
    gateway.stop();
    if (failures > 0) throw std::runtime_error(std::to_string(failures.load()) + " client(s) failed (see above)");
    return 0;
  });
}

}  // namespace croupier::tools
