#include "actors/journal.hpp"

#include "eventlog/cold.hpp"

#include <cassert>
#include <chrono>
#include <exception>
#include <mutex>
#include <utility>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

namespace croupier::actors {

namespace {
constexpr caf::atom_value kJournalCategory = caf::atom("journal");
}

std::string_view journal_refusal_name(JournalRefusal r) {
  switch (r) {
    case JournalRefusal::rule: return "rule";
    case JournalRefusal::duplicate_key: return "duplicate_key";
    case JournalRefusal::write_failed: return "write_failed";
    case JournalRefusal::stopped: return "stopped";
  }
  return "unknown";
}

caf::error make_journal_error(JournalRefusal reason, std::string message) {
  return caf::error(static_cast<std::uint8_t>(reason), kJournalCategory, caf::make_message(std::move(message)));
}

std::optional<JournalError> journal_error(const caf::error& e) {
  if (e.category() != kJournalCategory) return std::nullopt;
  JournalError j;
  switch (static_cast<JournalRefusal>(e.code())) {
    case JournalRefusal::rule:
    case JournalRefusal::duplicate_key:
    case JournalRefusal::write_failed:
    case JournalRefusal::stopped: j.reason = static_cast<JournalRefusal>(e.code()); break;
    default: return std::nullopt;
  }
  if (e.context().match_elements<std::string>()) j.message = e.context().get_as<std::string>(0);
  return j;
}

std::string describe_error(caf::actor_system& system, const caf::error& e) {
  if (auto j = journal_error(e)) return j->message;
  return system.render(e);
}

namespace {

// Each requester of a group and how many of its events are theirs, in arrival order.
using Requesters = std::vector<std::pair<caf::typed_response_promise<Seqs>, std::size_t>>;

struct JournalState {
  JournalOptions options;
  std::vector<Event> pending;  // Events of the group being gathered, in arrival order.
  Requesters requesters;  // Of the group being gathered: how many of `pending` are each one's.
  bool flush_queued = false;
  std::optional<std::string> broken;  // Why the journal stopped (with a state only).
  std::uint64_t since_snapshot = 0;
  std::uint64_t groups = 0;  // Flushes, for the inspector.
  static constexpr const char* name = "journal";
};

using journal_pointer = journal_actor::stateful_pointer<JournalState>;

// Refuses every requester in `requesters` with `reason` and `message`.
void fail_all(Requesters& requesters,
              JournalRefusal reason, const std::string& message) {
  for (auto& [promise, count] : requesters) promise.deliver(make_journal_error(reason, message));
}

// Stops the journal for good: every requester from now on gets `why`.
void break_journal(journal_pointer self, const std::string& why) {
  auto& st = self->state;
  if (st.broken) return;
  st.broken = "journal stopped: " + why;
  // The memory may hold a group that is not on disk: nobody may tell the outside world from it.
  if (st.options.state) st.options.state->journal_failed = true;
  if (st.options.on_failure) st.options.on_failure(*st.broken);
}

// A snapshot of the projections at the log's head, encoded and not stored yet. Between
// flushes the projections are exactly the log (every applied group is durable), and only
// this actor changes them: so it is encoded under the shared lock (the readers go on).
struct EncodedSnapshot {
  Bytes blob;
  eventlog::Seq covered = 0;
  std::chrono::steady_clock::time_point started, encoded;
  Event taken() const { return SnapshotTaken{covered, blake2b256(blob)}; }
};

EncodedSnapshot encode_at_head(const JournalOptions& o) {
  EncodedSnapshot s;
  s.started = std::chrono::steady_clock::now();
  std::shared_lock lock(o.state->mutex);
  s.blob = encode_snapshot(o.state->projections);
  s.covered = o.state->projections.last_seq;
  s.encoded = std::chrono::steady_clock::now();
  return s;
}

// Raises `longest` to `us` unless it is longer already.
void raise_to(std::atomic<std::uint64_t>& longest, std::uint64_t us) {
  for (auto seen = longest.load(); us > seen;)
    if (longest.compare_exchange_weak(seen, us)) break;
}

// A snapshot's time from its encoding until it is durable and applied (the group commit it
// rides with included), its encoding's, and the part with the exclusive locks held.
void observe_snapshot(const JournalOptions& o, const EncodedSnapshot& s, std::chrono::steady_clock::time_point locked_at,
                      std::chrono::steady_clock::time_point unlocked_at) {
  if (!o.metrics) return;
  const double taken_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.started).count();
  o.metrics->snapshot_duration_ms.observe(taken_ms);
  o.metrics->snapshot_lock_duration_ms.observe(std::chrono::duration<double, std::milli>(unlocked_at - locked_at).count());
  o.metrics->snapshot_bytes.store(s.blob.size());
  raise_to(o.metrics->snapshot_longest_us, static_cast<std::uint64_t>(taken_ms * 1000));
  raise_to(o.metrics->snapshot_encode_longest_us,
           static_cast<std::uint64_t>(std::chrono::duration<double, std::micro>(s.encoded - s.started).count()));
}

// Stores a snapshot now, on its own (the operator's `snapshot`), and appends SnapshotTaken;
// returns its seq. It is written under no lock; the exclusive locks are held only to apply
// SnapshotTaken. (A snapshot that falls due rides with the next group instead: flush_applying.)
std::uint64_t take_snapshot(journal_pointer self) {
  auto& st = self->state;
  auto& o = st.options;
  st.since_snapshot = 0;
  const EncodedSnapshot snap = encode_at_head(o);
  const auto seq = o.log->append_snapshot(snap.covered, snap.blob, o.clock_ms());
  const auto locked_at = std::chrono::steady_clock::now();
  {
    std::unique_lock durable(o.state->durable);
    std::unique_lock lock(o.state->mutex);
    apply(o.state->projections, seq, snap.taken());
    o.state->log_head.store(seq);
  }
  if (o.metrics) ++o.metrics->commits;
  observe_snapshot(o, snap, locked_at, std::chrono::steady_clock::now());
  return seq;
}

// A group applied to the projections: the events accepted, and the requesters all of whose
// events they are (a requester whose first event was refused has had its answer).
struct AppliedGroup {
  std::vector<Event> accepted;
  Requesters kept;
};

// Applies each requester's events in order, the first at `first_seq`, under `lock` (the
// exclusive one). A request whose first event breaks a rule is refused alone; one that breaks
// a rule after its first was applied stops the journal (memory holds what the log does not):
// then every requester is answered and nullopt returned.
std::optional<AppliedGroup> apply_requests(journal_pointer self, const std::vector<Event>& events, Requesters& requesters,
                                           eventlog::Seq first_seq, std::unique_lock<std::shared_mutex>& lock) {
  auto& o = self->state.options;
  auto& p = o.state->projections;
  AppliedGroup g;
  g.accepted.reserve(events.size());
  std::size_t at = 0;
  for (auto& [promise, count] : requesters) {
    bool refused = false;
    for (std::size_t i = 0; i < count && !refused; ++i) {
      const Event& e = events[at + i];
      try {
        eventlog::refuse_key_held_in_log(*o.log, p, e, first_seq + g.accepted.size());
        apply(p, first_seq + g.accepted.size(), e);
        g.accepted.push_back(e);
      } catch (const std::exception& err) {
        if (i != 0) {
          lock.unlock();
          break_journal(self, std::string("event ") + std::to_string(i + 1) + " of a request was refused after " +
                                  "its first was applied: " + err.what());
          fail_all(requesters, JournalRefusal::stopped, *self->state.broken);
          return std::nullopt;
        }
        promise.deliver(make_journal_error(JournalRefusal::rule, std::string("refused: ") + err.what()));
        if (o.metrics) ++o.metrics->appends_refused;
        refused = true;
      }
    }
    if (!refused) g.kept.emplace_back(promise, count);
    at += count;
  }
  return g;
}

// Answers each requester of a durable group with its events' seqs; records the commit.
void acknowledge(const JournalOptions& o, AppliedGroup& g, const std::vector<eventlog::Seq>& seqs,
                 std::chrono::steady_clock::time_point locked_at) {
  if (o.metrics) {
    o.metrics->journal_commit_duration_ms.observe(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - locked_at).count());
    ++o.metrics->commits;
    o.metrics->events_appended += g.accepted.size();
    o.metrics->group_commit_size.observe(static_cast<double>(g.accepted.size()));
  }
  std::size_t at = 0;
  for (auto& [promise, count] : g.kept) {
    promise.deliver(Seqs(seqs.begin() + static_cast<std::ptrdiff_t>(at),
                         seqs.begin() + static_cast<std::ptrdiff_t>(at + count)));
    at += count;
  }
}

// The flush of a journal that owns the node's state (see JournalOptions::state).
void flush_applying(journal_pointer self, std::vector<Event> events, Requesters requesters) {
  auto& st = self->state;
  auto& o = st.options;
  if (st.broken) return fail_all(requesters, JournalRefusal::stopped, *st.broken);
  // A snapshot that fell due rides with this group: its SnapshotTaken goes first, and both
  // are written by one durable commit, so the journal waits for no commit of its own.
  std::optional<EncodedSnapshot> snapshot;
  if (o.snapshot_every != 0 && st.since_snapshot >= o.snapshot_every) {
    snapshot = encode_at_head(o);
    st.since_snapshot = 0;
  }
  std::unique_lock durable(o.state->durable);
  std::unique_lock lock(o.state->mutex);
  // Measured for the metric only (no decision depends on it): how long the outside world's
  // readers are held off.
  const auto locked_at = std::chrono::steady_clock::now();
  auto& p = o.state->projections;
  const eventlog::Seq first_seq = o.log->head_seq() + 1 + (snapshot ? 1 : 0);  // Of the group's first event.
  assert(p.last_seq + 1 == first_seq - (snapshot ? 1 : 0) || p.last_seq == 0);
  if (snapshot) apply(p, first_seq - 1, snapshot->taken());  // Of the state at the head: cannot fail.
  auto group = apply_requests(self, events, requesters, first_seq, lock);
  if (!group || (group->accepted.empty() && !snapshot)) return;
  // The actors may read the group now; the outside world waits for `durable`.
  const std::uint64_t height = p.block_height;
  lock.unlock();
  const auto unlocked_at = std::chrono::steady_clock::now();
  std::vector<eventlog::Seq> seqs;
  try {
    seqs = snapshot ? o.log->append_snapshot_then(snapshot->covered, snapshot->blob, group->accepted, o.clock_ms())
                    : o.log->append(group->accepted, o.clock_ms());
  } catch (const std::exception& err) {
    break_journal(self, err.what());  // Before `durable` is released.
    durable.unlock();
    fail_all(group->kept, JournalRefusal::stopped, *st.broken);
    return;
  }
  if (snapshot) seqs.erase(seqs.begin());  // SnapshotTaken's.
  assert(seqs.size() == group->accepted.size() && (seqs.empty() || seqs.front() == first_seq));
  o.state->log_head.store(seqs.empty() ? first_seq - 1 : seqs.back());
  o.state->durable_height.store(height);
  durable.unlock();
  if (snapshot) observe_snapshot(o, *snapshot, locked_at, unlocked_at);
  acknowledge(o, *group, seqs, locked_at);
  st.since_snapshot += group->accepted.size();
}

void flush(journal_pointer self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty()) return;
  ++st.groups;
  if (st.options.state) {
    auto requesters = std::exchange(st.requesters, {});
    auto events = std::exchange(st.pending, {});
    return flush_applying(self, std::move(events), std::move(requesters));
  }
  auto requesters = std::move(st.requesters);
  auto events = std::move(st.pending);
  st.requesters.clear();
  st.pending.clear();
  // Each attempt is one write transaction; a failed one writes nothing. An attempt refused
  // for a duplicate index key names the seq of the offending event: its requester alone is
  // refused and the rest of the group is tried again, so at most one attempt per requester.
  while (!requesters.empty()) {
    const eventlog::Seq first_seq = st.options.log->head_seq() + 1;  // Of the append below.
    try {
      auto seqs = st.options.log->append(events, st.options.clock_ms());
      assert(seqs.size() == events.size());
      std::size_t at = 0;
      for (auto& [promise, count] : requesters) {
        promise.deliver(Seqs(seqs.begin() + static_cast<std::ptrdiff_t>(at),
                             seqs.begin() + static_cast<std::ptrdiff_t>(at + count)));
        at += count;
      }
      return;
    } catch (const eventlog::LogError& e) {
      const auto seq = e.seq();
      if (e.kind() != eventlog::ErrorKind::duplicate_key || !seq || *seq < first_seq ||
          *seq - first_seq >= events.size()) {
        fail_all(requesters, JournalRefusal::write_failed, e.what());
        return;
      }
      // The requester whose slice holds the offending event.
      const std::size_t index = static_cast<std::size_t>(*seq - first_seq);
      std::size_t begin = 0, r = 0;
      while (begin + requesters[r].second <= index) begin += requesters[r++].second;
      const std::size_t count = requesters[r].second;
      requesters[r].first.deliver(make_journal_error(
          JournalRefusal::duplicate_key, std::string("append refused: ") + e.what() + " (event " +
                                       std::to_string(index - begin + 1) + " of " + std::to_string(count) +
                                       " in this request); none of its events was written"));
      events.erase(events.begin() + static_cast<std::ptrdiff_t>(begin),
                   events.begin() + static_cast<std::ptrdiff_t>(begin + count));
      requesters.erase(requesters.begin() + static_cast<std::ptrdiff_t>(r));
    } catch (const std::exception& e) {
      fail_all(requesters, JournalRefusal::write_failed, e.what());
      return;
    }
  }
}

journal_actor::behavior_type journal_behavior(journal_pointer self, JournalOptions options) {
  self->state.options = std::move(options);
  return {
      [=](append_atom, std::vector<Event>& events) -> caf::result<Seqs> {
        auto& st = self->state;
        if (events.empty()) return Seqs{};
        auto promise = self->make_response_promise<Seqs>();
        st.requesters.emplace_back(promise, events.size());
        st.pending.insert(st.pending.end(), std::make_move_iterator(events.begin()),
                          std::make_move_iterator(events.end()));
        if (st.pending.size() >= st.options.max_group_events) {
          flush(self);
        } else if (!st.flush_queued) {
          st.flush_queued = true;
          self->send(self, flush_atom::value);  // Lands behind every append already queued.
        }
        return promise;
      },
      [=](flush_atom) { flush(self); },
      [=](snapshot_atom) -> caf::result<std::uint64_t> {
        auto& st = self->state;
        if (!st.options.state) return caf::make_error(caf::sec::invalid_argument, "this journal keeps no state");
        if (st.broken) return make_journal_error(JournalRefusal::stopped, *st.broken);
        flush(self);  // Whatever is gathered goes first, so the snapshot covers it.
        if (st.broken) return make_journal_error(JournalRefusal::stopped, *st.broken);
        try {
          return take_snapshot(self);
        } catch (const std::exception& err) {
          break_journal(self, std::string("snapshot: ") + err.what());
          return make_journal_error(JournalRefusal::stopped, *st.broken);
        }
      },
      [=](inspect_atom) {
        auto& st = self->state;
        auto head = st.options.log->head_seq();
        return describe_actor(self, "journal",
                              "log head seq " + std::to_string(head) + ", events gathered " +
                                  std::to_string(st.pending.size()) + (st.broken ? ", STOPPED: " + *st.broken : ""),
                              {{"log_head_seq", head},
                               {"log_head_hash", to_hex(st.options.log->head_hash())},
                               {"events_gathered", st.pending.size()},
                               {"requesters_waiting", st.requesters.size()},
                               {"groups_flushed", st.groups},
                               {"events_since_snapshot", st.since_snapshot},
                               {"snapshot_every", st.options.snapshot_every},
                               {"max_group_events", st.options.max_group_events},
                               {"broken", st.broken ? nlohmann::ordered_json(*st.broken) : nlohmann::ordered_json(nullptr)}});
      },
  };
}

}  // namespace

journal_actor spawn_journal(caf::actor_system& system, JournalOptions options) {
  assert(options.log && options.clock_ms && options.max_group_events > 0);
  using Base = caf::stateful_actor<JournalState, journal_actor::base>;
  const bool detached = options.detached;
  auto init = [o = std::move(options)](Base* self) { return journal_behavior(self, o); };
  if (detached) return spawn_counted<Base, caf::detached>(system, std::move(init));
  return spawn_counted<Base>(system, std::move(init));
}

}  // namespace croupier::actors
