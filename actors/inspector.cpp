#include "actors/inspector.hpp"

#include <algorithm>
#include <charconv>
#include <shared_mutex>
#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "eventlog/cold.hpp"

#include "actors/api_json.hpp"
#include "actors/introspection.hpp"
#include "actors/inspector_views.hpp"
#include "actors/mempool.hpp"
#include "actors/sequencer.hpp"

namespace croupier::actors {

namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << value << "\n";
}


}  // namespace

std::string render_metrics(const Metrics& m, const WaitersStats& w, const std::array<std::uint64_t, 5>& batches,
                           std::uint64_t log_head, std::uint64_t block_height) {
  std::ostringstream out;
  out << m.finalization_wait_duration_ms.render("finalization_wait_duration_ms",
                                                "Time from a bet's submission to its final answer, in ms.");
  metric(out, "finalization_timeouts_total", "counter", "Waiting clients answered pending at their deadline.",
         w.timeouts_total);
  metric(out, "finalization_success_total", "counter", "Waiting clients answered final.", w.finalized_total);
  metric(out, "pending_finalization_waiters", "gauge", "Clients waiting for finality now.", w.waiting);
  metric(out, "mempool_size", "gauge", "Transactions admitted and not yet decided.", m.mempool_size.load());
  metric(out, "mempool_admitted_total", "counter", "Transactions admitted.", m.txs_admitted.load());
  metric(out, "mempool_refused_total", "counter", "Transactions refused by admission.", m.txs_refused.load());
  metric(out, "mempool_duplicates_total", "counter", "Resent transactions answered from the existing one.",
         m.txs_duplicate.load());
  metric(out, "mempool_conflicts_total", "counter", "Idempotency keys reused with other content (409).",
         m.txs_conflict.load());
  metric(out, "mempool_full_total", "counter", "Submissions refused because the mempool was full (503).",
         m.mempool_full.load());
  metric(out, "events_appended_total", "counter", "Events appended to the log.", m.events_appended.load());
  metric(out, "log_commits_total", "counter", "Durable write transactions of the journal.", m.commits.load());
  metric(out, "log_head_seq", "gauge", "Sequence number of the log's last event.", log_head);
  out << m.group_commit_size.render("group_commit_size", "Events per journal commit.");
  out << m.journal_commit_duration_ms.render("journal_commit_duration_ms",
                                             "Milliseconds per journal commit (apply, append, fsync), during which the API's reads wait.");
  out << m.snapshot_duration_ms.render("snapshot_duration_ms",
                                       "Milliseconds from each snapshot's encoding until it is durable (with the group commit it rides with).");
  out << m.snapshot_lock_duration_ms.render("snapshot_lock_duration_ms",
                                            "Milliseconds of each snapshot during which the API's reads wait.");
  metric(out, "snapshot_longest_us", "gauge", "The longest snapshot_duration_ms since start, in microseconds.",
         m.snapshot_longest_us.load());
  metric(out, "snapshot_encode_longest_us", "gauge",
         "The longest encoding of a snapshot since start, in microseconds: the journal does nothing else meanwhile.",
         m.snapshot_encode_longest_us.load());
  metric(out, "snapshot_bytes", "gauge", "Size of the latest snapshot (the hot state), in bytes.", m.snapshot_bytes.load());
  out << "# HELP batches Settlement batches by status.\n# TYPE batches gauge\n";
  const char* names[] = {"created", "proved", "submitted", "confirmed", "failed"};
  for (std::size_t i = 0; i < 5; ++i) out << "batches{status=\"" << names[i] << "\"} " << batches[i] << "\n";
  metric(out, "consensus_polls_total", "counter", "Polls of validators by voters.", m.consensus_polls.load());
  metric(out, "consensus_rounds_successful_total", "counter", "Polls that reached alpha.",
         m.consensus_rounds_successful.load());
  metric(out, "consensus_decided_total", "counter", "Transactions decided by consensus.", m.consensus_decided.load());
  metric(out, "router_bundles_total", "counter", "Bundled query messages sent to validators.", m.router_bundles.load());
  metric(out, "blocks_total", "counter", "Blocks committed since start.", m.blocks.load());
  metric(out, "block_height", "gauge", "Height of the last committed block.", block_height);
  metric(out, "bets_resolved_total", "counter", "Bets resolved since start.", m.bets_resolved.load());
  metric(out, "settlement_retries_total", "counter", "Settlement resubmissions.", m.submit_retries.load());
  metric(out, "reconciliations_total", "counter", "Reconciliation runs.", m.reconciliations.load());
  metric(out, "reconcile_alarms_total", "counter", "Orphaned or mismatched batches found.", m.reconcile_alarms.load());
  return out.str();
}

const std::vector<ShellCommandHelp> kShellCommands = {
    {"status", "status", "node id, version, uptime, log head (seq and hash), block height, validators, peers"},
    {"peers", "peers",
     "a cluster node's peer links: node key, door, linked, benched, last heard, height, last error, counters; and "
     "the hellos its door refused"},
    {"actors", "actors",
     "every live actor: name, id, kind, mailbox length, messages handled, state in one line (voters: the first 100)"},
    {"names", "names", "the names of the live actors (what TAB completes after `inspect`)"},
    {"inspect", "inspect NAME|ID", "the full state of one actor (names and ids as `actors` lists them)"},
    {"tx", "tx TX_ID|BET_ID|DEPOSIT_ID", "a transaction: its record, and its voter's Snowball state while undecided"},
    {"mempool", "mempool", "undecided transactions (the first 100 by tx id) and admissions being recorded"},
    {"batches", "batches [STATUS] [N]", "the newest N (default 50) settlement batches, optionally of one status"},
    {"batch", "batch ID", "one settlement batch"},
    {"account", "account ID", "an account's balance, reserved funds and nonce (ID: the player's public key)"},
    {"events", "events tail [N] | events follow | events since SEQ [MAX]",
     "the last N (default 20) events of the log; follow prints new ones until Ctrl-C"},
    {"metrics", "metrics", "the metrics, as GET /metrics serves them"},
    {"config", "config", "the node's effective configuration (secrets left out)"},
    {"sequencer", "sequencer pause|resume",
     "stop or restart cutting settlement batches (items keep collecting; a restart resumes)"},
    {"reconcile", "reconcile now", "compare the books with the ledger now, resubmit missing batches"},
    {"snapshot", "snapshot now", "store a snapshot of the projections now (bounds recovery time)"},
    {"help", "help [COMMAND]", "this list, or one command's help"},
    {"quit", "quit", "leave the shell (also Ctrl-D)"},
};

namespace {

using json = nlohmann::ordered_json;

struct InspectorState {
  caf::actor_clock::time_point started;
  static constexpr const char* name = "inspector";
};
using inspector_pointer = caf::stateful_actor<InspectorState>*;

// How long the inspector waits for an actor's answer; a busy actor shows as not answering.
constexpr auto kAskTimeout = std::chrono::seconds(2);
constexpr std::size_t kMaxEvents = 1000;
constexpr std::size_t kMaxVotersListed = 100;  // By `actors` (the first by tx id).

caf::error bad_command(const std::string& message) { return caf::make_error(caf::sec::invalid_argument, message); }

std::string text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::uint64_t number_arg(const std::vector<std::string>& w, std::size_t i, std::uint64_t fallback, const char* what) {
  if (w.size() <= i) return fallback;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(w[i].data(), w[i].data() + w[i].size(), v);
  if (ec != std::errc{} || end != w[i].data() + w[i].size())
    throw std::invalid_argument(std::string(what) + " must be a non-negative integer, not '" + w[i] + "'");
  return v;
}

void expect_args(const std::vector<std::string>& w, std::size_t min, std::size_t max, const char* usage) {
  if (w.size() < min + 1 || w.size() > max + 1) throw std::invalid_argument(std::string("usage: ") + usage);
}

// A failed request of the inspector's own, as the shell's error: the node answered (it is not
// a lost connection), an actor of it did not.
caf::error failed_ask(inspector_pointer self, const char* who, const caf::error& e) {
  return caf::make_error(caf::sec::runtime_error, std::string(who) + " did not answer: " + self->system().render(e));
}

std::string voter_name(const Hash32& tx_id) { return "voter-" + to_hex(tx_id).substr(0, 16); }


// Asks every target (inspect_atom) and calls `done` with the answers, in target order
// (nullopt: no answer within kAskTimeout, or the actor is gone).
void ask_all(inspector_pointer self, std::vector<NamedActor> targets,
             std::function<void(const std::vector<NamedActor>&, std::vector<std::optional<json>>&)> done) {
  struct Gather {
    std::vector<NamedActor> targets;
    std::vector<std::optional<json>> answers;
    std::size_t remaining = 0;
    std::function<void(const std::vector<NamedActor>&, std::vector<std::optional<json>>&)> done;
  };
  auto g = std::make_shared<Gather>();
  g->targets = std::move(targets);
  g->answers.resize(g->targets.size());
  g->remaining = g->targets.size();
  g->done = std::move(done);
  if (g->remaining == 0) return g->done(g->targets, g->answers);
  for (std::size_t i = 0; i < g->targets.size(); ++i) {
    self->request(g->targets[i].actor, kAskTimeout, inspect_atom::value)
        .then(
            [g, i](const std::string& answer) {
              g->answers[i] = json::parse(answer, nullptr, false);
              if (--g->remaining == 0) g->done(g->targets, g->answers);
            },
            [g](caf::error&) {
              if (--g->remaining == 0) g->done(g->targets, g->answers);
            });
  }
}

// The node's actors, the inspector, and every voter (the mempool knows them), then `next`.
void with_all_actors(inspector_pointer self, const InspectorOptions& o,
                     std::function<void(std::vector<NamedActor>)> next) {
  auto named = o.actors;
  named.push_back({"inspector", caf::actor{self}});
  if (!o.mempool) return next(std::move(named));
  self->request(o.mempool, kAskTimeout, voters_atom::value)
      .then(
          [=](const VoterList& voters) mutable {
            for (const auto& [tx_id, voter] : voters) named.push_back({voter_name(tx_id), voter});
            next(std::move(named));
          },
          [=](caf::error&) mutable { next(std::move(named)); });
}

json actor_row(const NamedActor& a, const std::optional<json>& answer) {
  json row{{"name", a.name}, {"id", a.actor.id()}};
  if (answer && answer->is_object()) {
    for (const char* key : {"kind", "mailbox", "handled", "summary"}) row[key] = answer->value(key, json());
  } else {
    row["kind"] = "?";
    row["mailbox"] = nullptr;
    row["handled"] = nullptr;
    row["summary"] = "no answer (busy for over 2 s, or gone)";
  }
  return row;
}

void metrics_text(inspector_pointer self, const InspectorOptions& o, caf::typed_response_promise<std::string> promise,
                  bool as_json) {
  self->request(o.waiters, std::chrono::seconds(5), stats_atom::value)
      .then(
          [=](const WaitersStats& w) mutable {
            std::array<std::uint64_t, 5> batches{};
            std::uint64_t height = 0;
            {
              std::shared_lock lock(o.state->mutex);
              const auto& p = o.state->projections;
              // Open batches from memory; ended ones by their events (memory forgets them).
              for (const auto& [id, b] : p.batches)
                if (!b.lifecycle.terminal()) ++batches[static_cast<std::size_t>(b.lifecycle.status()) - 1];
              batches[static_cast<std::size_t>(BatchStatus::confirmed) - 1] =
                  p.event_counts[static_cast<std::size_t>(EventType::batch_confirmed) - 1];
              batches[static_cast<std::size_t>(BatchStatus::failed) - 1] =
                  p.event_counts[static_cast<std::size_t>(EventType::batch_failed) - 1];
              height = o.state->projections.block_height;
            }
            auto rendered = render_metrics(*o.metrics, w, batches, o.state->log_head.load(), height);
            promise.deliver(as_json ? text(json(rendered)) : rendered);
          },
          [=](caf::error& e) mutable { promise.deliver(failed_ask(self, "the waiters", e)); });
}

json events_after(const InspectorOptions& o, std::uint64_t after, std::uint64_t max) {
  if (!o.log) throw std::runtime_error("this inspector has no event log");
  const std::uint64_t head = o.log->head_seq();
  json list = json::array();
  for (std::uint64_t seq = after + 1; seq <= head && list.size() < max; ++seq) {
    auto r = o.log->read(seq);
    if (!r) break;
    if (r->type == 0) {  // A snapshot record carries no event.
      list.push_back({{"seq", seq}, {"time_ms", r->time_ms}, {"type", "Snapshot"}, {"summary", "projections snapshot"}});
      continue;
    }
    try {
      list.push_back(views::event_json(seq, r->time_ms, decode_event(r->type, r->payload)));
    } catch (const std::exception& e) {
      list.push_back({{"seq", seq}, {"time_ms", r->time_ms}, {"type", r->type}, {"summary", std::string("undecodable: ") + e.what()}});
    }
  }
  return {{"head", head}, {"events", std::move(list)}};
}

// The peer links' rows: id, door, linked, last heard, height, benched; with `counters`, what
// each link counted too (the `peers` command).
json peers_json(inspector_pointer self, const InspectorOptions& o, bool counters) {
  json rows = json::array();
  if (!o.peers) return rows;
  const auto now = self->clock().now();
  for (const auto& r : o.peers->rows()) {
    json row{{"node_key", to_hex(r.node_key)},
             {"door", r.door},
             {"linked", r.linked},
             {"benched", r.benched},
             {"last_heard_ms_ago",
              r.last_heard ? json(std::chrono::duration_cast<std::chrono::milliseconds>(now - *r.last_heard).count())
                           : json(nullptr)},
             {"height", r.height},
             {"last_error", r.last_error}};
    if (counters)
      row["counters"] = {{"connects", r.connects},     {"handshakes", r.handshakes},
                         {"handshake_failures", r.handshake_failures},
                         {"pings", r.pings},           {"pongs", r.pongs},
                         {"ping_failures", r.ping_failures}, {"inbound_sessions", r.inbound_sessions}};
    rows.push_back(std::move(row));
  }
  return rows;
}

json status_json(inspector_pointer self, const InspectorOptions& o) {
  json j{{"node_id", o.node_id}, {"version", o.version}};
  j["uptime_s"] =
      std::chrono::duration_cast<std::chrono::seconds>(self->clock().now() - self->state.started).count();
  j["log_head_seq"] = o.log ? o.log->head_seq() : o.state->log_head.load();
  j["log_head_hash"] = o.log ? json(to_hex(o.log->head_hash())) : json(nullptr);
  {
    // Not DurableRead: status answers after a journal failure too, and says so below.
    std::shared_lock durable(o.state->durable);
    std::shared_lock memory(o.state->mutex);
    j["block_height"] = o.state->projections.block_height;
    j["batches"] = o.state->projections.event_counts[static_cast<std::size_t>(EventType::batch_created) - 1];
  }
  j["journal_failed"] = o.state->journal_failed.load();
  j["mempool_size"] = o.metrics ? o.metrics->mempool_size.load() : 0;
  j["validators"] = o.validators;
  // A single node has none. A cluster node's links authenticate and watch their peers; votes
  // do not cross them yet (README "A cluster: what is built").
  j["peers"] = peers_json(self, o, false);
  return j;
}

// A tx id from TX_ID (64 hex), or from a bet or deposit id (32 hex) through the projections;
// for a bet or deposit they have forgotten, its record from the log (eventlog/cold.hpp).
struct ResolvedTx {
  Hash32 tx_id{};
  std::optional<TxRecord> from_log;
};
ResolvedTx resolve_tx(const InspectorOptions& o, const std::string& id) {
  if (id.size() == 64) return {fixed_from_hex<32>(id, "tx id"), std::nullopt};
  if (id.size() != 32) throw std::invalid_argument("expected a tx id (64 hex digits) or a bet or deposit id (32)");
  const auto key = fixed_from_hex<16>(id, "bet or deposit id");
  {
    DurableRead lock(*o.state);
    const auto& p = o.state->projections;
    if (auto it = p.bets.find(key); it != p.bets.end()) return {it->second, std::nullopt};
    if (auto it = p.deposits.find(key); it != p.deposits.end()) return {it->second, std::nullopt};
  }
  for (TxKind kind : {TxKind::bet, TxKind::deposit})
    if (auto cold = o.log ? eventlog::read_cold_tx(*o.log, kind, key) : std::nullopt)
      return {cold->tx_id, std::move(cold->record)};
  throw std::invalid_argument("no bet or deposit " + id + " in this node");
}

// The handlers of the shell commands; each either answers at once (a JSON text) or takes
// the promise and delivers later.
caf::result<std::string> run_command(inspector_pointer self, const InspectorOptions& o,
                                     const std::vector<std::string>& w) {
  if (w.empty()) return bad_command("an empty command; `help` lists them");
  const std::string& cmd = w[0];
  if (cmd == "status") {
    expect_args(w, 0, 0, "status");
    return text(status_json(self, o));
  }
  if (cmd == "peers") {
    expect_args(w, 0, 0, "peers");
    return text(json{{"peers", peers_json(self, o, true)},
                     {"refused_at_door", o.peers ? o.peers->refused_count() : 0}});
  }
  if (cmd == "names") {  // For completion: no actor is asked.
    expect_args(w, 0, 0, "names");
    auto promise = self->make_response_promise<std::string>();
    with_all_actors(self, o, [=](std::vector<NamedActor> all) mutable {
      json names = json::array();
      for (const auto& a : all)
        if (names.size() < kMaxVotersListed * 10) names.push_back(a.name);
      promise.deliver(text(names));
    });
    return promise;
  }
  if (cmd == "actors") {
    expect_args(w, 0, 0, "actors");
    auto promise = self->make_response_promise<std::string>();
    with_all_actors(self, o, [=](std::vector<NamedActor> all) mutable {
      // The node's own actors, then voters by tx id: one per undecided tx, so a busy node has
      // thousands; asking them all would load the consensus path, so only the first are.
      const std::size_t voters = all.size() - o.actors.size() - 1;
      const std::size_t listed = std::min(voters, kMaxVotersListed);
      all.resize(all.size() - (voters - listed));
      ask_all(self, std::move(all),
              [=](const std::vector<NamedActor>& targets, std::vector<std::optional<json>>& answers) mutable {
                std::vector<std::size_t> order(targets.size());
                for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
                std::sort(order.begin(), order.end(),
                          [&](auto x, auto y) { return targets[x].actor.id() < targets[y].actor.id(); });
                json rows = json::array();
                for (auto i : order) rows.push_back(actor_row(targets[i], answers[i]));
                promise.deliver(text(json{{"actors", std::move(rows)}, {"voters", voters}, {"voters_listed", listed}}));
              });
    });
    return promise;
  }
  if (cmd == "inspect") {
    expect_args(w, 1, 1, "inspect NAME|ID");
    auto promise = self->make_response_promise<std::string>();
    const std::string wanted = w[1];
    with_all_actors(self, o, [=](std::vector<NamedActor> all) mutable {
      auto it = std::find_if(all.begin(), all.end(), [&](const NamedActor& a) {
        return a.name == wanted || std::to_string(a.actor.id()) == wanted;
      });
      if (it == all.end()) {
        promise.deliver(bad_command("no live actor named or numbered '" + wanted + "'; `actors` lists them"));
        return;
      }
      ask_all(self, {*it}, [=](const std::vector<NamedActor>& targets, std::vector<std::optional<json>>& answers) mutable {
        if (!answers[0]) {
          promise.deliver(caf::make_error(caf::sec::runtime_error,
                                          targets[0].name + " did not answer within 2 s (busy, or gone)"));
          return;
        }
        json j{{"name", targets[0].name}, {"id", targets[0].actor.id()}};
        for (auto& [key, value] : answers[0]->items()) j[key] = std::move(value);
        promise.deliver(text(j));
      });
    });
    return promise;
  }
  if (cmd == "tx") {
    expect_args(w, 1, 1, "tx TX_ID|BET_ID|DEPOSIT_ID");
    const auto [id, from_log] = resolve_tx(o, w[1]);
    json record;
    if (from_log) {
      record = views::tx_json(id, *from_log);
      record["voter"] = nullptr;  // Long decided: the memory has forgotten it.
      record["from"] = "log";
      return text(record);
    }
    {
      DurableRead lock(*o.state);
      auto it = o.state->projections.txs.find(id);
      if (it == o.state->projections.txs.end())
        return bad_command("no tx " + to_hex(id) + " in this node's memory (an older one: by its bet or deposit id)");
      record = views::tx_json(id, it->second);
    }
    auto promise = self->make_response_promise<std::string>();
    self->request(o.mempool, kAskTimeout, voters_atom::value, id)
        .then(
            [=](const VoterList& voter) mutable {
              if (voter.empty()) {
                record["voter"] = nullptr;
                promise.deliver(text(record));
                return;
              }
              ask_all(self, {{voter_name(id), voter.front().second}},
                      [=](const std::vector<NamedActor>& targets, std::vector<std::optional<json>>& answers) mutable {
                        // No answer: the voter decided and quit in the meantime.
                        record["voter"] = answers[0] ? json(answers[0]->value("state", json())) : json(nullptr);
                        if (answers[0]) record["voter"]["actor"] = {{"name", targets[0].name}, {"id", targets[0].actor.id()}};
                        promise.deliver(text(record));
                      });
            },
            [=](caf::error& e) mutable { promise.deliver(failed_ask(self, "the mempool", e)); });
    return promise;
  }
  if (cmd == "mempool") {
    expect_args(w, 0, 0, "mempool");
    auto promise = self->make_response_promise<std::string>();
    self->request(o.mempool, kAskTimeout, inspect_atom::value)
        .then([=](const std::string& answer) mutable { promise.deliver(answer); },
              [=](caf::error& e) mutable { promise.deliver(failed_ask(self, "the mempool", e)); });
    return promise;
  }
  if (cmd == "batches") {
    expect_args(w, 0, 2, "batches [STATUS] [N]");
    std::optional<BatchStatus> status;
    std::size_t next = 1;
    if (w.size() > 1 && !std::isdigit(static_cast<unsigned char>(w[1][0]))) {
      status = views::parse_batch_status(w[1]);
      if (!status) return bad_command("unknown batch status '" + w[1] + "': created, proved, submitted, confirmed or failed");
      next = 2;
    } else if (w.size() > 2) {
      return bad_command("usage: batches [STATUS] [N]");
    }
    const auto limit = number_arg(w, next, 50, "N");
    DurableRead lock(*o.state);
    return text(views::batches_json(o.state->projections, status, limit));
  }
  if (cmd == "batch") {
    expect_args(w, 1, 1, "batch ID");
    const auto id = fixed_from_hex<16>(w[1], "batch id");
    {
      DurableRead lock(*o.state);
      auto it = o.state->projections.batches.find(id);
      if (it != o.state->projections.batches.end()) return text(api::render_batch(id, it->second));
    }
    if (auto cold = o.log ? eventlog::read_cold_batch(*o.log, id) : std::nullopt)
      return text(api::render_batch(id, *cold));
    return bad_command("no batch " + w[1] + " in this node");
  }
  if (cmd == "account") {
    expect_args(w, 1, 1, "account ID");
    const auto key = fixed_from_hex<32>(w[1], "account (a public key)");
    DurableRead lock(*o.state);
    const auto* a = o.state->projections.accounts.find(key);
    if (!a) return bad_command("no account " + w[1] + " in this node (no deposit reached it)");
    return text(api::render_account(key, *a));
  }
  if (cmd == "events") {
    if (w.size() >= 2 && w[1] == "tail") {
      expect_args(w, 1, 2, "events tail [N]");
      const auto n = std::min<std::uint64_t>(number_arg(w, 2, 20, "N"), kMaxEvents);
      const std::uint64_t head = o.log ? o.log->head_seq() : 0;
      return text(events_after(o, head > n ? head - n : 0, n));
    }
    if (w.size() >= 3 && w[1] == "since") {
      expect_args(w, 2, 3, "events since SEQ [MAX]");
      return text(events_after(o, number_arg(w, 2, 0, "SEQ"),
                               std::min<std::uint64_t>(number_arg(w, 3, 100, "MAX"), kMaxEvents)));
    }
    return bad_command("usage: events tail [N] | events follow | events since SEQ [MAX]");
  }
  if (cmd == "metrics") {
    expect_args(w, 0, 0, "metrics");
    auto promise = self->make_response_promise<std::string>();
    metrics_text(self, o, promise, true);
    return promise;
  }
  if (cmd == "config") {
    expect_args(w, 0, 0, "config");
    return o.config_json;
  }
  // Operator actions. Arguments are checked before the promise exists: once made, it owns the
  // reply, and an error returned from here would reach nobody.
  if (cmd == "sequencer") {
    if (w.size() != 2 || (w[1] != "pause" && w[1] != "resume")) return bad_command("usage: sequencer pause|resume");
    auto promise = self->make_response_promise<std::string>();
    auto answered = [=](const std::string& state) mutable { promise.deliver(text(json{{"sequencer", state}})); };
    auto failed = [=](caf::error& e) mutable { promise.deliver(failed_ask(self, "the sequencer", e)); };
    if (w[1] == "pause") self->request(o.sequencer, kAskTimeout, pause_atom::value).then(answered, failed);
    else self->request(o.sequencer, kAskTimeout, resume_atom::value).then(answered, failed);
    return promise;
  }
  if (cmd == "reconcile") {
    if (w.size() != 2 || w[1] != "now") return bad_command("usage: reconcile now");
    auto promise = self->make_response_promise<std::string>();
    self->request(o.reconciler, std::chrono::seconds(10), reconcile_atom::value)
        .then([=](const std::string& summary) mutable { promise.deliver(text(json{{"reconciliation", summary}})); },
              [=](caf::error& e) mutable { promise.deliver(failed_ask(self, "the reconciler", e)); });
    return promise;
  }
  if (cmd == "snapshot") {
    if (w.size() != 2 || w[1] != "now") return bad_command("usage: snapshot now");
    auto promise = self->make_response_promise<std::string>();
    // A snapshot encodes the whole state: give it time on a big node.
    self->request(o.journal, std::chrono::minutes(5), snapshot_atom::value)
        .then([=](std::uint64_t seq) mutable { promise.deliver(text(json{{"snapshot_seq", seq}})); },
              [=](caf::error& e) mutable { promise.deliver(failed_ask(self, "the journal", e)); });
    return promise;
  }
  return bad_command("unknown command '" + cmd + "'; `help` lists them");
}

// Only the admin door talks to the network; a message from another node reached the inspector
// around it (see admin_door.hpp).
bool from_this_node(inspector_pointer self) {
  const auto& sender = self->current_sender();
  return !sender || sender->node() == self->node();
}
caf::error refuse_remote() {
  return caf::make_error(caf::sec::invalid_argument, "the inspector answers only through the admin door");
}

}  // namespace

caf::actor spawn_inspector(caf::actor_system& system, InspectorOptions o) {
  return spawn_counted<caf::stateful_actor<InspectorState>>(system, [o](inspector_pointer self) -> caf::behavior {
    self->state.started = self->clock().now();
    return {
        [=](metrics_atom) -> caf::result<std::string> {
          if (!from_this_node(self)) return refuse_remote();
          auto promise = self->make_response_promise<std::string>();
          metrics_text(self, o, promise, false);
          return promise;
        },
        [=](shell_atom, const std::vector<std::string>& words) -> caf::result<std::string> {
          if (!from_this_node(self)) return refuse_remote();
          try {
            return run_command(self, o, words);
          } catch (const std::exception& e) {  // Bad input (hex, numbers, usage).
            return bad_command(e.what());
          }
        },
        [=](inspect_atom) -> caf::result<std::string> {
          if (!from_this_node(self)) return refuse_remote();
          return describe_actor(self, "inspector", "answers the debug shell and GET /metrics",
                                {{"actors_known", o.actors.size()}});
        },
    };
  });
}

}  // namespace croupier::actors
