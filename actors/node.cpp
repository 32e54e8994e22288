#include "actors/node.hpp"

#include <cassert>
#include <shared_mutex>
#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/committer.hpp"
#include "actors/inspector.hpp"
#include "actors/mempool.hpp"
#include "actors/prover.hpp"
#include "actors/reconciler.hpp"
#include "actors/router.hpp"
#include "actors/sequencer.hpp"
#include "actors/submitter.hpp"
#include "actors/syncer.hpp"
#include "actors/validator.hpp"
#include "domain/consensus.hpp"
#include "eventlog/cold.hpp"
#include "eventlog/replay.hpp"

namespace croupier::actors {

namespace {

std::string describe_problems(const eventlog::ReplayResult& result) {
  std::ostringstream out;
  out << "the event log did not replay cleanly (" << result.problems.size() << " problem(s)); run `croupier replay "
      << "--data DIR` for the full report. First:";
  std::size_t shown = 0;
  for (const auto& p : result.problems) {
    if (shown++ == 5) break;
    out << "\n  seq " << p.seq << " [" << p.kind << "] " << p.message;
  }
  return out.str();
}

}  // namespace

Node::Node(caf::actor_system& system, NodeOptions options)
    : system_(system), options_(std::move(options)), state_(std::make_shared<NodeState>()),
      metrics_(std::make_unique<Metrics>()), failure_(std::make_shared<std::string>()),
      signed_blocks_(options_.keys.node_key, options_.keys.house_key.public_key) {
  if (!options_.clock_ms) throw std::invalid_argument("NodeOptions::clock_ms is required");
  if (options_.local_validators < 1) throw std::invalid_argument("the node needs at least one validator");
  recover();
  spawn_actors();
  accepting_ = true;
}

Node::~Node() { stop(); }

void Node::recover() {
  eventlog::Options lo;
  lo.dir = options_.data;
  lo.durable = options_.durable;
  lo.node_id_if_new = options_.node_id_if_new;
  log_ = eventlog::EventLog::open(lo);
  if (options_.seed == 0) options_.seed = get_u64_le(log_->node_id().data()) | 1;
  auto& p = state_->projections;
  if (log_->head_seq() > 0) {
    eventlog::ReplayOptions ro;
    ro.progress = options_.replay_progress;
    ro.chain_from_snapshot = true;  // The audit (croupier replay) checks it all.
    ro.recent_txs = options_.recent_txs;
    ro.expected_keys = eventlog::ReplayOptions::Keys{options_.keys.operator_key.public_key,
                                                     options_.keys.house_key.public_key,
                                                     options_.keys.sequencer_key.public_key};
    auto result = eventlog::replay(*log_, ro);
    if (!result.clean()) throw std::runtime_error(describe_problems(result));
    p = std::move(result.projections);
  }
  set_windows(p, options_.recent_txs, kRecentBatches);
  state_->durable_height = p.block_height;
  NodeStarted started{log_->node_id(), options_.version, options_.keys.operator_key.public_key,
                      options_.keys.house_key.public_key, options_.keys.sequencer_key.public_key,
                      options_.settles};
  Event e = started;
  apply(p, log_->head_seq() + 1, e);
  auto seqs = log_->append(std::span<const Event>(&e, 1), options_.clock_ms());
  state_->log_head = seqs.back();
}

void Node::spawn_actors() {
  auto& a = actors_;
  auto lookup_final = [state = state_](const Hash32& tx_id) -> std::optional<WaitAnswer> {
    auto f = durable_final(*state, tx_id);
    if (!f) return std::nullopt;
    return WaitAnswer{f->final, f->block_height};
  };
  a.journal = spawn_journal(system_, JournalOptions{log_, options_.clock_ms, 10'000, options_.detached_journal, state_,
                                                    metrics_.get(),
                                                    [failure = failure_, log = options_.log_line,
                                                     stop = options_.on_failure](const std::string& why) {
                                                      *failure = why;
                                                      if (log) log("croupier node: " + why);
                                                      if (stop) stop(why);
                                                    },
                                                    options_.snapshot_every});
  a.waiters = spawn_waiters(system_, WaitersOptions{options_.max_waiters, lookup_final});
  const bool clustered = !options_.peer_validators.empty();
  // A validator's view holds the keys in flight and at least as many recent ones as memory
  // keeps finished txs; older ones are answered from what the node decided.
  const std::size_t view_capacity = std::max<std::size_t>(options_.recent_txs, 10'000);
  for (std::size_t i = 0; i < options_.local_validators; ++i)
    a.validators.push_back(options_.make_validator
                               ? options_.make_validator(system_, state_)
                               : spawn_validator(system_, ValidatorOptions{state_, "validator-" + std::to_string(i),
                                                                           clustered, log_, view_capacity}));
  auto asked = a.validators;
  asked.insert(asked.end(), options_.peer_validators.begin(), options_.peer_validators.end());
  auto parameters = options_.consensus.value_or(consensus::parameters_for(asked.size()));
  if (auto why = snowball::validate(parameters); why || static_cast<std::size_t>(parameters.k) > asked.size())
    throw std::invalid_argument("consensus parameters for " + std::to_string(asked.size()) +
                                " validators: " + why.value_or("k exceeds the validators"));
  a.router = spawn_router(system_, RouterOptions{asked, parameters.k, options_.seed ^ 0x726f75746572ull,
                                                 options_.round_timeout / 2, metrics_.get(), a.validators.size()});
  CommitterOptions co;
  co.state = state_;
  co.metrics = metrics_.get();
  co.journal = a.journal;
  co.waiters = a.waiters;
  co.house_key = options_.keys.house_key;
  co.clock_ms = options_.clock_ms;
  co.block_interval = options_.block_interval;
  co.block_max = options_.block_max;
  co.alarm = options_.log_line;
  a.committer = spawn_committer(system_, co);
  VoterOptions vo{a.router, a.committer, parameters, options_.round_timeout, std::chrono::milliseconds(10),
                  metrics_.get(), options_.round_interval, a.validators};
  a.mempool = spawn_mempool(system_, MempoolOptions{state_, metrics_.get(), a.journal, vo, options_.mempool_max,
                                                    clustered,
                                                    [this](const Id128& id) { return load_settlement(id); },
                                                    [log = log_](const TxKey& key) { return eventlog::tx_id_held_in_log(*log, key); }});
  if (options_.front_mempool) a.mempool = options_.front_mempool(system_, a.mempool);
  for (const auto& v : a.validators) caf::anon_send(v, caf::put_atom::value, a.mempool);
  SubmitterOptions so;
  so.state = state_;
  so.metrics = metrics_.get();
  so.journal = a.journal;
  so.mempool = a.mempool;
  so.retry = options_.retry;
  so.submit_timeout = options_.submit_timeout;
  so.seed = options_.seed ^ 0x7375626d6974ull;
  so.load_settlement = [this](const Id128& id) { return load_settlement(id); };
  so.alarm = options_.log_line;
  a.submitter = spawn_submitter(system_, so);
  a.prover = spawn_prover(system_, ProverOptions{state_, metrics_.get(), a.journal, a.submitter,
                                                 options_.keys.sequencer_key, std::chrono::seconds(1),
                                                 options_.log_line});
  SequencerOptions sq;
  sq.state = state_;
  sq.metrics = metrics_.get();
  sq.journal = a.journal;
  sq.prover = a.prover;
  sq.clock_ms = options_.clock_ms;
  sq.seed = options_.seed ^ 0x73657175656eull;
  sq.batch_interval = options_.batch_interval;
  sq.batch_max = options_.batch_max;
  sq.submit_attempts = options_.submit_attempts;
  sq.alarm = options_.log_line;
  if (options_.settles) a.sequencer = spawn_sequencer(system_, sq);
  caf::anon_send(a.committer, caf::put_atom::value, CommitterPeers{a.mempool, a.sequencer, a.submitter, a.router});
  a.syncer = spawn_syncer(system_, SyncerOptions{state_, log_, a.mempool, options_.peer_syncers, options_.sync_interval,
                                                 options_.round_timeout * 2});
  // Recovery: voters for undecided txs, the prover for created batches (in creation order).
  {
    std::shared_lock lock(state_->mutex);
    for (const auto& [id, r] : state_->projections.txs) recovered_undecided_ += r.status == TxStatus::admitted;
    for (const auto& [id, b] : state_->projections.batches)
      if (b.lifecycle.status() == BatchStatus::created) caf::anon_send(a.prover, prove_atom::value, id);
  }
  caf::anon_send(a.mempool, recover_atom::value);
  a.reconciler = spawn_reconciler(system_, ReconcilerOptions{state_, log_, metrics_.get(), a.journal, a.submitter,
                                                             options_.reconcile_interval, options_.log_line});
  InspectorOptions io;
  io.state = state_;
  io.metrics = metrics_.get();
  io.waiters = a.waiters;
  io.log = log_;
  io.actors = {{"journal", caf::actor_cast<caf::actor>(a.journal)},
               {"waiters", caf::actor_cast<caf::actor>(a.waiters)},
               {"mempool", a.mempool},
               {"router", a.router},
               {"committer", a.committer},
               {"sequencer", a.sequencer},
               {"prover", a.prover},
               {"submitter", a.submitter},
               {"reconciler", a.reconciler},
               {"syncer", a.syncer}};
  std::erase_if(io.actors, [](const NamedActor& named) { return !named.actor; });  // No sequencer: does not settle.
  for (std::size_t i = 0; i < a.validators.size(); ++i) {
    io.actors.push_back({"validator-" + std::to_string(i), a.validators[i]});
    io.validators.push_back("validator-" + std::to_string(i));
  }
  io.mempool = a.mempool;
  io.sequencer = a.sequencer;
  io.reconciler = a.reconciler;
  io.journal = a.journal;
  io.node_id = to_hex(log_->node_id());
  io.version = options_.version;
  io.config_json = options_.config_json;
  io.peers = options_.peers;
  a.inspector = spawn_inspector(system_, std::move(io));
}

std::optional<Settlement> Node::load_settlement(const Id128& batch_id) const {
  // Its BatchProved: the one event that holds the batch's witness. The index only names
  // durable records.
  auto entry = log_->find_batch(batch_id);
  if (!entry || entry->proved == 0) return std::nullopt;
  auto proved = eventlog::read_event_as<BatchProved>(*log_, entry->proved);
  if (!proved) return std::nullopt;
  return Settlement{proved->inputs, proved->sequencer_key, proved->proof, proved->witness};
}

void Node::exit_actors(caf::exit_reason reason) {
  auto& a = actors_;
  // Waiting clients first: on a stop each is answered pending (its tx, if admitted, is durable).
  caf::anon_send_exit(a.waiters, reason);
  for (const caf::actor& x : {a.reconciler, a.sequencer, a.prover, a.submitter, a.committer, a.mempool, a.router,
                              a.inspector, a.syncer})
    if (x) caf::anon_send_exit(x, reason);
  for (auto& v : a.validators) caf::anon_send_exit(v, reason);
  caf::anon_send_exit(a.journal, reason);
}

void Node::stop() {
  if (stopped_.exchange(true)) return;
  accepting_ = false;
  exit_actors(caf::exit_reason::user_shutdown);
  if (options_.detached_journal) system_.await_all_actors_done();
}

void Node::crash() {
  assert(!options_.detached_journal && "crash() is for the deterministic scheduler");
  if (stopped_.exchange(true)) return;
  accepting_ = false;
  // kill: no exit handler runs (the mempool's would answer its clients) and nothing flushes.
  exit_actors(caf::exit_reason::kill);
  actors_ = {};
}

void Node::submit(Tx tx, std::chrono::milliseconds wait, std::function<void(SubmitOutcome)> done) {
  if (!accepting_) {
    SubmitOutcome out;
    out.kind = SubmitOutcome::Kind::unavailable;
    out.code = "unavailable";
    out.message = failure_->empty() ? "the node is stopping" : *failure_;
    return done(std::move(out));
  }
  auto started = std::chrono::steady_clock::now();
  // The signature check on the caller's thread (the gateway's), not on a scheduler thread and
  // not in the mempool (one actor).
  const Prechecked pre = precheck(tx);
  auto mempool = actors_.mempool;
  auto waiters = actors_.waiters;
  Metrics* metrics = metrics_.get();
  system_.spawn([=, tx = std::move(tx)](caf::event_based_actor* self) mutable {
    auto finish = [=](SubmitReply r, bool final) {
      SubmitOutcome out;
      out.kind = static_cast<SubmitOutcome::Kind>(r.kind);
      out.tx_id = r.tx_id;
      out.final = final;
      out.code = std::move(r.code);
      out.message = std::move(r.message);
      // A full mempool empties as blocks commit (milliseconds); a second is Retry-After's unit.
      if (r.kind == SubmitReply::Kind::busy) out.retry_after_ms = 1000;
      if (final && (r.kind == SubmitReply::Kind::admitted || r.kind == SubmitReply::Kind::duplicate))
        metrics->finalization_wait_duration_ms.observe(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
      done(std::move(out));
      self->quit();
    };
    self->request(mempool, std::chrono::seconds(60), submit_atom::value, std::move(tx), pre)
        .then(
            [=](SubmitReply& r) {
              bool waitable = r.kind == SubmitReply::Kind::admitted || r.kind == SubmitReply::Kind::duplicate;
              if (!waitable || r.final || wait.count() <= 0) return finish(std::move(r), r.final);
              self->request(waiters, wait + std::chrono::seconds(5), wait_atom::value, r.tx_id,
                            caf::timespan(std::chrono::duration_cast<caf::timespan>(wait)))
                  .then([=](const WaitAnswer& a) { finish(r, a.final); }, [=](caf::error&) { finish(r, false); });
            },
            [=](caf::error& err) {
              SubmitReply r;
              r.kind = SubmitReply::Kind::unavailable;
              r.code = "unavailable";
              r.message = "the node is stopping: " + self->system().render(err);
              finish(std::move(r), false);
            });
  });
}

void Node::read(const std::function<void(const Projections&)>& reader) const {
  DurableRead lock(*state_);
  reader(state_->projections);
}

void Node::metrics(std::function<void(std::string)> done) {
  auto inspector = actors_.inspector;
  system_.spawn([=](caf::event_based_actor* self) {
    self->request(inspector, std::chrono::seconds(10), metrics_atom::value)
        .then([=](const std::string& text) { done(text); self->quit(); },
              [=](caf::error& err) { done("# metrics unavailable: " + self->system().render(err) + "\n"); self->quit(); });
  });
}

std::uint64_t Node::durable_height() const { return state_->durable_height.load(); }

NodeHealth Node::health() const {
  NodeHealth h;
  h.ready = accepting_ && failure_->empty();
  h.status = !failure_->empty() ? *failure_ : accepting_ ? "ok" : "stopping";
  h.log_head = state_->log_head.load();
  h.mempool_size = metrics_->mempool_size.load();
  h.node_key = node_key();
  std::shared_lock durable(state_->durable);  // A height the log holds (health answers even
  std::shared_lock lock(state_->mutex);       // after a journal failure: it says so).
  h.block_height = state_->projections.block_height;
  return h;
}

std::optional<BlockCommitted> Node::block(std::uint64_t height) const {
  throw_if_journal_failed(*state_);
  if (height == 0 || height > state_->durable_height.load()) return std::nullopt;
  auto seq = log_->find_block(height);
  if (!seq) return std::nullopt;
  return eventlog::read_event_as<BlockCommitted>(*log_, *seq);
}

std::shared_ptr<const receipt::SignedBlock> Node::signed_block(std::uint64_t height) const {
  return signed_blocks_.get(height, [this](std::uint64_t h) { return block(h); });
}

std::optional<BetProof> Node::bet_proof(const Hash32& tx_id, const Id128& bet_id) const {
  if (auto recent = state_->recent_proofs.find(tx_id)) return BetProof{recent->first, recent->second};
  throw_if_journal_failed(*state_);
  auto entry = log_->find_bet(bet_id);  // The index names durable records only.
  if (!entry || entry->tx_id != tx_id || entry->resolved == 0) return std::nullopt;
  auto r = eventlog::read_event_as<BetResolved>(*log_, entry->resolved);
  if (!r || r->tx_id != tx_id) return std::nullopt;
  auto output = vrf::proof_to_hash(r->vrf_proof);
  if (!output) return std::nullopt;  // Cannot be: the journal applied it; the audit would say.
  return BetProof{r->vrf_proof, *output};
}

std::optional<ColdTx> Node::cold_tx(TxKind kind, const Id128& id) const {
  throw_if_journal_failed(*state_);
  auto cold = eventlog::read_cold_tx(*log_, kind, id);
  if (!cold) return std::nullopt;
  return ColdTx{cold->tx_id, std::move(cold->record), cold->batch_status};
}

std::optional<BatchRecord> Node::cold_batch(const Id128& batch_id) const {
  throw_if_journal_failed(*state_);
  return eventlog::read_cold_batch(*log_, batch_id);
}

std::optional<BatchStatus> Node::cold_batch_status(const Id128& batch_id) const {
  throw_if_journal_failed(*state_);
  return eventlog::read_batch_status(*log_, batch_id);
}

// The log itself, not the projections: what it holds is durable, and reading it takes none of
// the node's locks (a read transaction of its own), so a feed never delays the journal.
EventPage Node::events_after(std::uint64_t after, EventTypeMask types, std::size_t max_events,
                             std::size_t max_records) const {
  EventPage page;
  page.read_to = after;
  if (max_events == 0 || max_records == 0 || after >= log_->head_seq()) return page;
  // Copied out in the read transaction, decoded after it: the scan holds the log's map lock
  // shared, and a journal append that must grow the map waits for it.
  std::vector<eventlog::EventLog::OwnedRecord> wanted;
  std::size_t read = 0;
  log_->scan(after + 1, [&](const eventlog::RecordView& r) {
    page.read_to = r.seq;
    if (r.type >= 1 && r.type <= 32 && (types >> (r.type - 1) & 1u))
      wanted.push_back({r.seq, r.time_ms, r.type, Bytes(r.payload.begin(), r.payload.end()), {}, {}});
    return ++read < max_records && wanted.size() < max_events;
  });
  page.events.reserve(wanted.size());
  for (const auto& r : wanted) page.events.push_back(LoggedEvent{r.seq, r.time_ms, decode_event(r.type, r.payload)});
  return page;
}

}  // namespace croupier::actors
