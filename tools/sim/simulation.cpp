#include "tools/sim/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <sstream>

#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "tools/sim/checks.hpp"
#include "tools/sim/workload.hpp"

namespace croupier::sim {

std::string_view invariant_name(int invariant) {
  switch (invariant) {
    case 1: return "no acknowledged bet is lost";
    case 2: return "agreement";
    case 3: return "settlement integrity";
    case 4: return "replay equals live state";
    case 5: return "liveness";
    case 6: return "deduplication";
  }
  return "?";
}

namespace {

using namespace std::chrono_literals;
using time_point = caf::actor_clock::time_point;

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

FaultMix draw_faults(const SimOptions& o, std::mt19937_64& rng) {
  // Every draw is made whether or not the option is given, so that giving one option does
  // not change the others' draws.
  auto maybe = [&](double lo, double hi) {
    const double on = uniform(rng), value = lo + (hi - lo) * uniform(rng);
    return on < 0.5 ? 0.0 : value;
  };
  FaultMix m;
  const double byzantine = uniform(rng) < 0.5 ? 0.0 : 1.0 / static_cast<double>(o.nodes);
  const double drop = maybe(0.0, 0.1), duplicate = maybe(0.0, 0.05), crash = maybe(0.02, 0.3),
               partition = maybe(0.01, 0.1), pause = maybe(0.01, 0.1), forge = maybe(0.1, 1.0);
  m.byzantine = o.byzantine.value_or(byzantine);
  m.drop = o.drop.value_or(drop);
  m.duplicate = o.duplicate.value_or(duplicate);
  m.crash_rate = o.crash_rate.value_or(crash);
  m.partition_rate = o.partition_rate.value_or(partition);
  m.pause_rate = o.pause_rate.value_or(pause);
  m.forge_rate = o.forge_rate.value_or(forge);
  m.byzantine_nodes = static_cast<std::size_t>(std::floor(m.byzantine * static_cast<double>(o.nodes) + 1e-9));
  return m;
}

class ScratchDir {
 public:
  explicit ScratchDir(std::filesystem::path given) : path_(std::move(given)) {
    if (!path_.empty()) {
      std::filesystem::create_directories(path_);
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "croupier-sim-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory " + pattern);
    path_ = pattern;
    owned_ = true;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (owned_) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool owned_ = false;
};

// One run: the cluster, the workload, the faults, the loop.
class Simulation {
 public:
  Simulation(const SimOptions& options, SimResult& result, caf::actor_system& system,
             caf::scheduler::test_coordinator& scheduler, const std::filesystem::path& dir)
      : o_(options), r_(result), system_(system), sched_(scheduler), agenda_(scheduler.clock()) {
    std::uint64_t s = o_.seed;
    std::mt19937_64 swarm(splitmix(s));
    r_.faults = draw_faults(o_, swarm);
    NetworkFaults nf;
    nf.drop = r_.faults.drop;
    nf.duplicate = r_.faults.duplicate;
    network_ = std::make_shared<SimNetwork>(splitmix(s), nf, o_.nodes);
    schedule_rng_.seed(splitmix(s));
    fault_rng_.seed(splitmix(s));
    const std::uint64_t workload_seed = splitmix(s);
    ClusterOptions co;
    co.dir = dir;
    co.nodes = o_.nodes;
    co.byzantine = r_.faults.byzantine_nodes;
    co.beta = o_.beta;
    co.recent_txs = o_.recent_txs;
    co.seed = o_.seed;
    co.sabotage = o_.sabotage;
    cluster_ = std::make_unique<Cluster>(system_, sched_, network_, co);
    WorkloadOptions wo;
    wo.bets = o_.bets;
    wo.clients = o_.clients ? o_.clients : std::clamp<std::size_t>(o_.bets / 25, 4, 64);
    wo.conflict = o_.rival_rate;
    workload_ = std::make_unique<Workload>(*cluster_, agenda_, workload_seed, wo, [this](Finding f) { found(f); });
  }

  void run() {
    for (std::size_t i = 0; i < cluster_->size(); ++i) start(i);
    if (o_.sabotage == Sabotage::never_heal) network_->partition(halves());
    workload_->begin();
    schedule_faults();
    every(2s, [this] { periodic_checks(); });
    every(10s, [this] { progress(); });
    loop();
    finish();
  }

 private:
  void found(const Finding& f) {
    if (r_.violation) return;
    r_.violation = Violation{f.invariant, f.detail, r_.steps, virtual_ms()};
  }
  void found(const std::vector<Finding>& fs) {
    if (!fs.empty()) found(fs.front());
  }
  std::uint64_t virtual_ms() const {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(sched_.clock().now().time_since_epoch()).count());
  }
  caf::timespan exponential(double per_second) {
    const double u = std::max(uniform(fault_rng_), 1e-12);
    return std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(-std::log(u) / per_second));
  }
  caf::timespan between(std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    return lo + std::chrono::milliseconds(fault_rng_() % static_cast<std::uint64_t>((hi - lo).count() + 1));
  }
  void every(caf::timespan period, std::function<void()> f) {
    agenda_.after(period, [this, period, f] {
      f();
      every(period, f);
    });
  }
  std::vector<std::uint8_t> halves() const {
    std::vector<std::uint8_t> side(cluster_->size());
    for (std::size_t i = 0; i < side.size(); ++i) side[i] = i % 2;
    return side;
  }

  void start(std::size_t i) {
    try {
      cluster_->start(i);
      if (o_.sabotage == Sabotage::state_outside_log && i == 1)
        agenda_.after(3s, [this] {
          // A component that changes the state without an event: it credits the house one
          // minor unit and counts it as deposited, so that money is still conserved.
          if (!cluster_->up(1)) return;
          auto& st = *cluster_->node(1).state();
          std::unique_lock lock(st.mutex);
          st.projections.house_result += 1;
          st.projections.deposits_total += 1;
        });
    } catch (const std::exception& e) {
      found({4, "node " + std::to_string(i) + " cannot start from its log: " + e.what()});
    }
  }

  // --- faults ------------------------------------------------------------------------
  void schedule_faults() {
    for (auto [rate, fault] : {std::pair{r_.faults.crash_rate, &Simulation::crash_one},
                               std::pair{r_.faults.partition_rate, &Simulation::partition},
                               std::pair{r_.faults.pause_rate, &Simulation::pause_one},
                               std::pair{r_.faults.forge_rate, &Simulation::forge}})
      if (rate > 0) repeat_fault(rate, fault);
  }

  // `fault` at exponentially distributed intervals until the heal.
  void repeat_fault(double rate, void (Simulation::*fault)()) {
    agenda_.after(exponential(rate), [this, rate, fault] {
      if (healed_) return;
      (this->*fault)();
      repeat_fault(rate, fault);
    });
  }

  bool batch_in_flight() {
    bool busy = false;
    cluster_->read(0, [&](const Projections& p) {
      for (const auto& [id, b] : p.batches) busy |= !b.lifecycle.terminal();
    });
    return busy;
  }

  void crash_one() {
    std::size_t down = 0;
    for (std::size_t i = 0; i < cluster_->size(); ++i) down += !cluster_->up(i);
    if (down >= (cluster_->size() - 1) / 2) return;  // Keep a majority running.
    // A quarter of the crashes hit the sequencing node, which usually has a batch under way.
    std::size_t i = fault_rng_() % 4 == 0 ? 0 : fault_rng_() % cluster_->size();
    if (!cluster_->up(i) || crash_armed_[i]) return;
    if (fault_rng_() % 2) {
      crash_armed_[i] = true;  // Right after its journal's next commit, before the replies land.
      return;
    }
    crash(i, false);
  }

  void crash(std::size_t i, bool after_commit) {
    crash_armed_[i] = false;
    ++r_.crashes;
    r_.crashes_after_commit += after_commit;
    if (i == 0 && batch_in_flight()) ++r_.crashes_mid_batch;
    cluster_->crash(i);
    const auto restart_in = between(200ms, 4000ms);
    agenda_.after(restart_in, [this, i] { restart(i); });
  }

  void restart(std::size_t i) {
    if (cluster_->up(i)) return;
    if (!cluster_->close(i)) {  // Its actors are not all gone yet.
      agenda_.after(5ms, [this, i] { restart(i); });
      return;
    }
    ++r_.restarts;
    start(i);
  }

  void partition() {
    std::vector<std::uint8_t> side(cluster_->size());
    do {
      for (auto& s : side) s = fault_rng_() % 2;
    } while (std::all_of(side.begin(), side.end(), [&](auto s) { return s == side[0]; }));
    network_->partition(side);
    ++r_.partitions;
    const std::uint64_t epoch = ++partition_epoch_;
    agenda_.after(between(300ms, 5000ms), [this, epoch] {
      if (epoch == partition_epoch_ && o_.sabotage != Sabotage::never_heal) network_->heal();
    });
  }

  void pause_one() {
    const std::size_t i = fault_rng_() % cluster_->size();
    network_->pause(i, agenda_.now() + between(100ms, 3000ms));
    ++r_.pauses;
  }

  // A Byzantine sequencer: a settlement with a wrong root (signed with the real key), a
  // forged signature, or another key's signature, for a fresh batch id, put to every honest
  // validator. None may prefer it.
  void forge() {
    const std::uint64_t variant = fault_rng_() % 3;
    std::array<std::uint8_t, 10> r{};
    put_u64_le(r.data(), fault_rng_());
    const Id128 batch_id = make_time_ordered_id(cluster_->now_ms(), r);
    Seed seed{};
    put_u64_le(seed.data(), fault_rng_());
    const KeyPair stranger = keypair_from_seed(seed);
    settlement::Item item{settlement::ItemKind::deposit, batch_id, Hash32{}, stranger.public_key, 1 + fault_rng_() % 1000, 0};
    const KeyPair& sequencer = cluster_->keys().sequencer_key;
    auto proved = settlement::prove(batch_id, {item}, settlement::SettledState{}, variant == 2 ? stranger : sequencer);
    Settlement s{proved.inputs, sequencer.public_key, proved.proof, proved.witness};
    if (variant == 0) {
      s.inputs.post_root[0] ^= 1;
      s.proof = sign(sequencer, public_inputs_signing_bytes(s.inputs, sequencer.public_key));
    } else if (variant == 1) {
      s.proof[7] ^= 0x10;
    }
    auto tx = std::make_shared<const Tx>(s);
    const Hash32 id = tx_id(*tx);
    actors::VoteQueries q{{id, conflict_key_string(*tx), tx}};
    ++r_.forged;
    for (std::size_t i = 0; i < cluster_->size(); ++i) {
      if (!cluster_->up(i) || !cluster_->honest(i)) continue;
      auto validator = cluster_->node(i).actors().validators.front();
      system_.spawn([=, this](caf::event_based_actor* self) {
        self->request(validator, 10s, actors::query_atom::value, q)
            .then(
                [=, this](const actors::Votes& votes) {
                  if (!votes.empty() && votes.front() == std::optional<Hash32>{id})
                    found({3, "the validator of node " + std::to_string(i) +
                                  " prefers a forged settlement (variant " + std::to_string(variant) + ")"});
                  else
                    ++r_.forged_rejected;
                  self->quit();
                },
                [=](caf::error&) { self->quit(); });
      });
    }
  }

  void heal() {
    healed_ = true;
    r_.heal_ms = virtual_ms();
    r_.final_at_heal = workload_->counters().final_accepted;
    network_->calm();
    network_->resume_all();
    if (o_.sabotage != Sabotage::never_heal) network_->heal();
    crash_armed_.fill(false);
    for (std::size_t i = 0; i < cluster_->size(); ++i)
      if (!cluster_->up(i)) restart(i);
  }

  // --- checks while it runs ------------------------------------------------------------
  void periodic_checks() {
    found(check_agreement(*cluster_, false));
    found(check_settlement(*cluster_, false));
  }

  void progress() {
    if (!o_.progress) return;
    std::ostringstream out;
    const auto& w = workload_->counters();
    out << "sim seed " << o_.seed << ": " << virtual_ms() / 1000 << " s virtual, bets sent " << w.bets_sent << "/"
        << o_.bets << ", final " << w.final_accepted << ", crashes " << r_.crashes << (healed_ ? ", healed" : "");
    o_.progress(out.str());
  }

  // --- the loop --------------------------------------------------------------------------
  void loop() {
    std::uint64_t next_settle_check = 0;
    while (!r_.violation) {
      if (!healed_) watch_faulty_progress();
      if (!healed_ && (virtual_ms() >= o_.heal_after_ms || workload_->counters().bets_sent >= o_.bets)) heal();
      if (healed_) {
        if (liveness_over()) return;
        if (r_.steps >= next_settle_check) {
          next_settle_check = r_.steps + 2048;
          if (workload_->done() && all_up() && !work_left(*cluster_, rogue_exempt())) {
            settled_ = true;
            return;
          }
        }
      }
      if (agenda_.run_due()) continue;
      auto& jobs = sched_.jobs;
      if (!jobs.empty()) {
        std::swap(jobs.front(), jobs[schedule_rng_() % jobs.size()]);
        const std::optional<std::size_t> journal_of = armed_journal(jobs.front());
        sched_.run_once();
        ++r_.steps;
        if (journal_of) crash(*journal_of, true);
        continue;
      }
      std::optional<time_point> next = agenda_.next();
      const auto& timers = sched_.clock().schedule();
      if (!timers.empty() && (!next || timers.begin()->first < *next)) next = timers.begin()->first;
      if (!next) return;  // Nothing will ever happen again.
      sched_.advance_time(std::max(caf::timespan{0}, *next - sched_.clock().now()));
    }
  }

  // While the faults are on: the longest stretch of virtual time in which no bet became final.
  void watch_faulty_progress() {
    const std::uint64_t now = virtual_ms(), final = workload_->counters().final_accepted;
    if (final != final_seen_) {
      final_seen_ = final;
      last_final_ms_ = now;
    }
    r_.longest_quiet_ms = std::max(r_.longest_quiet_ms, now - last_final_ms_);
  }

  // After the heal: everything must be decided within liveness_ms of the later of the heal
  // and the last bet sent; while clients still send (a run healed at --heal-after), some bet
  // must be sent or finalized within every liveness_ms, or the run has stalled.
  bool liveness_over() {
    const auto& w = workload_->counters();
    const std::uint64_t now = virtual_ms();
    if (w.bets_sent >= o_.bets) {
      if (r_.all_sent_ms == 0) r_.all_sent_ms = now;
      return now >= std::max(r_.heal_ms, r_.all_sent_ms) + o_.liveness_ms;
    }
    if (w.bets_sent != seen_sent_ || w.final_accepted != seen_final_) {
      seen_sent_ = w.bets_sent;
      seen_final_ = w.final_accepted;
      last_progress_ms_ = now;
    }
    return now >= std::max(r_.heal_ms, last_progress_ms_) + o_.liveness_ms;
  }

  // The node whose crash is armed, when `job` is its journal.
  std::optional<std::size_t> armed_journal(caf::resumable* job) {
    auto* actor = dynamic_cast<caf::abstract_actor*>(job);
    for (std::size_t i = 0; i < cluster_->size(); ++i)
      if (crash_armed_[i] && cluster_->up(i) &&
          actor == caf::actor_cast<caf::abstract_actor*>(cluster_->node(i).actors().journal))
        return i;
    return std::nullopt;
  }

  bool rogue_exempt() const { return r_.faults.byzantine_nodes > 0; }

  bool all_up() const {
    for (std::size_t i = 0; i < cluster_->size(); ++i)
      if (!cluster_->up(i)) return false;
    return true;
  }

  void finish() {
    r_.virtual_ms = virtual_ms();
    if (!r_.violation) {
      found(check_acknowledged(*cluster_, workload_->acked()));
      found(check_agreement(*cluster_, settled_));
      found(check_settlement(*cluster_, true));
      found(check_replay(*cluster_));
      if (!settled_) {
        std::string left = !workload_->done() ? "clients still waiting: " + workload_->waiting()
                           : !all_up()        ? "a node did not come back"
                                              : work_left(*cluster_, rogue_exempt()).value_or("?");
        const std::string since = r_.all_sent_ms > r_.heal_ms
                                      ? "the last bet was sent (at " + std::to_string(r_.all_sent_ms) + " ms)"
                                  : r_.all_sent_ms ? "the faults stopped (at " + std::to_string(r_.heal_ms) + " ms)"
                                                   : "the last progress (at " +
                                                         std::to_string(std::max(r_.heal_ms, last_progress_ms_)) +
                                                         " ms; the faults stopped at " + std::to_string(r_.heal_ms) +
                                                         " ms, bets were still being sent)";
        found({5, "not everything was decided and settled within " + std::to_string(o_.liveness_ms) +
                      " ms of virtual time after " + since + ": " + left});
      }
    }
    r_.digest = to_hex(cluster_digest(*cluster_));
    r_.network = network_->counters();
    r_.workload = workload_->counters();
    r_.acked_bets = workload_->acked().size();
    r_.cold_lookups = cluster_->cold_lookups();
    for (std::size_t i = 0; i < cluster_->size(); ++i)
      if (cluster_->up(i))
        cluster_->read(i, [&](const Projections& p) {
          const auto decided = static_cast<std::size_t>(std::count_if(
              p.txs.begin(), p.txs.end(), [](const auto& entry) { return entry.second.status != TxStatus::admitted; }));
          r_.most_decided_txs_held = std::max(r_.most_decided_txs_held, decided);
        });
    cluster_->read(0, [&](const Projections& p) {
      // Counted from the events: ended batches are forgotten.
      r_.batches = p.event_counts[static_cast<std::size_t>(EventType::batch_created) - 1];
      r_.batches_confirmed = p.event_counts[static_cast<std::size_t>(EventType::batch_confirmed) - 1];
      r_.txs_decided = p.event_counts[static_cast<std::size_t>(EventType::tx_finalized) - 1];
    });
    // Shut down: every node as on SIGTERM, then the links; run until nothing is left.
    cluster_->stop_all();
    drain();
    cluster_->release();
    workload_.reset();
    cluster_.reset();
    drain();
  }

  void drain() {
    for (int rounds = 0; rounds < 1000; ++rounds) {
      while (sched_.run() > 0) {
      }
      if (!sched_.trigger_timeouts()) break;
    }
  }

  const SimOptions& o_;
  SimResult& r_;
  caf::actor_system& system_;
  caf::scheduler::test_coordinator& sched_;
  Agenda agenda_;
  std::shared_ptr<SimNetwork> network_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<Workload> workload_;
  std::mt19937_64 schedule_rng_, fault_rng_;
  std::array<bool, 64> crash_armed_{};
  std::uint64_t partition_epoch_ = 0;
  bool healed_ = false;
  std::uint64_t seen_sent_ = 0, seen_final_ = 0, last_progress_ms_ = 0;  // liveness_over()
  std::uint64_t final_seen_ = 0, last_final_ms_ = 0;                     // watch_faulty_progress()
  bool settled_ = false;
};

}  // namespace

SimResult run_simulation(const SimOptions& options) {
  if (options.nodes < 1 || options.nodes > 64) throw std::invalid_argument("--nodes must be between 1 and 64");
  if (options.beta < 1) throw std::invalid_argument("--beta must be at least 1");
  SimResult result;
  result.options = options;
  const auto wall_start = std::chrono::steady_clock::now();  // For the summary only.
  ScratchDir dir(options.dir);
  {
    caf::actor_system_config config;
    config.set("scheduler.policy", caf::atom("testing"));
    config.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system system{config};
    auto& scheduler = dynamic_cast<caf::scheduler::test_coordinator&>(system.scheduler());
    Simulation sim(options, result, system, scheduler, dir.path());
    sim.run();
  }
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace croupier::sim
