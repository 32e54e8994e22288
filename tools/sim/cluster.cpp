#include "tools/sim/cluster.hpp"

#include <caf/send.hpp>

#include "domain/consensus.hpp"
#include "tools/sim/sabotage.hpp"

namespace croupier::sim {

namespace {

Seed seed_from(std::uint64_t seed, std::uint64_t salt) {
  Seed s{};
  put_u64_le(s.data(), seed);
  put_u64_le(s.data() + 8, salt);
  return s;
}

}  // namespace

Cluster::Cluster(caf::actor_system& system, caf::scheduler::test_coordinator& scheduler,
                 std::shared_ptr<SimNetwork> network, ClusterOptions options)
    : system_(system), scheduler_(scheduler), network_(std::move(network)), options_(std::move(options)),
      keys_{keypair_from_seed(seed_from(options_.seed, 1)), keypair_from_seed(seed_from(options_.seed, 2)),
            keypair_from_seed(seed_from(options_.seed, 3)), KeyPair{}},
      nodes_(options_.nodes) {
  static constexpr Lie kLies[] = {Lie::conflicting, Lie::equivocating, Lie::random};
  for (std::size_t i = 0; i < options_.byzantine && i + 1 < nodes_.size(); ++i)
    nodes_[nodes_.size() - 1 - i].lie = kLies[(options_.seed + i) % 3];
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (i == j) continue;
      nodes_[i].validator_links.push_back(spawn_link(system_, network_, i, j, Service::validator));
      nodes_[i].syncer_links.push_back(spawn_link(system_, network_, i, j, Service::syncer));
    }
}

Cluster::~Cluster() {
  for (auto& n : nodes_)
    for (auto* links : {&n.validator_links, &n.syncer_links})
      for (auto& l : *links) caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
}

std::uint64_t Cluster::now_ms() const {
  return options_.start_ms + static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                             scheduler_.clock().now().time_since_epoch())
                                                             .count());
}

bool Cluster::read(std::size_t i, const std::function<void(const Projections&)>& reader) {
  if (!up(i)) return false;
  try {
    node(i).read(reader);
    return true;
  } catch (const actors::NodeUnavailable&) {
    return false;
  }
}

Cluster::Lookup Cluster::find(std::size_t i, const Hash32& tx_id, const TxKey& key) {
  Lookup l;
  l.reachable = read(i, [&](const Projections& p) {
    if (auto it = p.txs.find(tx_id); it != p.txs.end()) l.record = it->second;
  });
  if (!l.reachable || l.record || key.kind == TxKind::settlement) return l;
  try {
    if (auto cold = node(i).cold_tx(key.kind, key.id); cold && cold->tx_id == tx_id) {
      l.record = std::move(cold->record);
      ++cold_lookups_;
    }
  } catch (const actors::NodeUnavailable&) {
    l.reachable = false;
  }
  return l;
}

actors::NodeOptions Cluster::options_for(std::size_t i) {
  actors::NodeOptions o;
  o.data = options_.dir / ("node-" + std::to_string(i));
  o.keys = keys_;
  o.keys.node_key = keypair_from_seed(seed_from(options_.seed, 100 + i));  // Each node signs its own receipts.
  o.version = "sim";
  std::array<std::uint8_t, 10> r{};
  put_u64_le(r.data(), options_.seed * 131 + i);
  o.node_id_if_new = make_time_ordered_id(options_.start_ms, r);
  o.durable = false;  // One process: a closed log is as durable as an fsynced one.
  o.detached_journal = false;
  o.seed = (options_.seed * 0x9e3779b97f4a7c15ull) ^ (i + 1) ^ (nodes_[i].starts << 32);
  o.clock_ms = [this] { return now_ms(); };
  o.log_line = [this, i](const std::string& line) {
    if (honest(i) && line.find("reconciliation ALARM") != std::string::npos)
      alarms_.push_back("node " + std::to_string(i) + ": " + line);
  };
  o.reconcile_interval = std::chrono::seconds(5);
  o.snapshot_every = 400;  // Restarts load snapshots too.
  o.recent_txs = options_.recent_txs;
  o.batch_interval = std::chrono::milliseconds(200);
  o.batch_max = 200;
  // A live settlement is never failed (domain/batch_step.hpp); attempts are spent only on a
  // rejected or refused one, and a forged settlement may take a batch's key first.
  o.submit_timeout = std::chrono::seconds(10);
  o.retry = RetryPolicy{30, std::chrono::milliseconds(200), std::chrono::seconds(5), 0.5};
  o.submit_attempts = 30;
  o.sync_interval = std::chrono::milliseconds(300);
  o.settles = i == 0;
  o.peer_validators = nodes_[i].validator_links;
  o.peer_syncers = nodes_[i].syncer_links;
  o.consensus = consensus::cluster_parameters_for(nodes_.size(), options_.beta);
  if (auto lie = nodes_[i].lie) {
    const std::uint64_t seed = o.seed ^ 0x6c6965ull;
    o.make_validator = [lie = *lie, seed](caf::actor_system& sys, const std::shared_ptr<actors::NodeState>&) {
      return spawn_byzantine_validator(sys, lie, seed);
    };
  }
  switch (options_.sabotage) {
    case Sabotage::node_ignores_peers:
      if (i == 1) o.front_mempool = spawn_deaf_mempool;
      break;
    case Sabotage::validators_agree:
      o.make_validator = [](caf::actor_system& sys, const std::shared_ptr<actors::NodeState>&) {
        return spawn_byzantine_validator(sys, Lie::agreeable, 0);
      };
      break;
    case Sabotage::validators_skip_proof: o.make_validator = spawn_proofless_validator; break;
    case Sabotage::mempool_skips_dedup: o.front_mempool = spawn_forgetful_mempool; break;
    default: break;
  }
  return o;
}

void Cluster::start(std::size_t i) {
  auto& n = nodes_[i];
  assert(!n.node && !n.dying);
  ++n.starts;
  n.node = std::make_unique<actors::Node>(system_, options_for(i));
  network_->set_target(i, Service::validator, n.node->actors().validators.front());
  network_->set_target(i, Service::syncer, n.node->actors().syncer);
}

void Cluster::crash(std::size_t i) {
  auto& n = nodes_[i];
  assert(n.node);
  network_->clear_targets(i);
  n.node->crash();
  n.dying_log = n.node->log_handle();
  n.dying = std::move(n.node);
}

bool Cluster::close(std::size_t i) {
  auto& n = nodes_[i];
  if (!n.dying) return true;
  // The Node holds one reference to its log; the actors' are gone once only that one is
  // left (a killed actor keeps its options until the last handle to it goes, and a pending
  // timer is one: this may take until the last of them fires).
  if (n.dying_log.use_count() > 1) return false;
  n.dying.reset();
  return true;
}

void Cluster::stop_all() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].node) continue;
    network_->clear_targets(i);
    nodes_[i].node->stop();
  }
}

}  // namespace croupier::sim

namespace croupier::sim {

void Cluster::release() {
  for (auto& n : nodes_) {
    n.node.reset();
    n.dying.reset();
  }
}

}  // namespace croupier::sim
