// The inspector: GET /metrics. render_metrics writes every metric README.md lists under
// "GET /metrics", each family with one `# TYPE` line before its samples, each value taken
// from its own counter (no two swapped), histograms with cumulative buckets whose +Inf
// bucket is the count; the actor answers metrics_atom with the live counters, the waiters'
// statistics, the batches of the projections by status, the log head and the block height,
// and answers an error when the waiters do not answer within its 5 s.
// Method: render_metrics called directly with a distinct value in every counter, its text
// parsed line by line; the actor under CAF's deterministic test coordinator with
// projections the test fills by hand and a fake waiters actor written here.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "actors/inspector.hpp"
#include "caf_fixture.hpp"

using namespace croupier;
using namespace std::chrono_literals;
using actors::WaitersStats;

namespace {

// A Prometheus text exposition, parsed: samples by their full name (labels included, as
// written), the type of each family, and the order of the lines.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> problems;  // Format errors found while parsing.

  static std::string family_of(const std::string& sample, const std::map<std::string, std::string>& types) {
    std::string name = sample.substr(0, sample.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        std::string base = name.substr(0, name.size() - s.size());
        auto it = types.find(base);
        if (it != types.end() && it->second == "histogram") return base;
      }
    }
    return name;
  }

  explicit Exposition(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::set<std::string> sampled;  // Families whose samples have started.
    while (std::getline(in, line)) {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::istringstream t(line.substr(7));
        std::string name, type;
        t >> name >> type;
        if (types.count(name)) problems.push_back("second TYPE line for " + name);
        if (sampled.count(name)) problems.push_back("TYPE after the samples of " + name);
        types[name] = type;
        continue;
      }
      if (line.rfind("# HELP ", 0) == 0) continue;
      if (line.empty() || line[0] == '#') {
        problems.push_back("unexpected line: '" + line + "'");
        continue;
      }
      auto space = line.rfind(' ');
      if (space == std::string::npos) {
        problems.push_back("no value: '" + line + "'");
        continue;
      }
      std::string name = line.substr(0, space);
      std::string family = family_of(name, types);
      if (!types.count(family)) problems.push_back("sample without a TYPE line before it: " + name);
      sampled.insert(family);
      if (samples.count(name)) problems.push_back("sample written twice: " + name);
      samples[name] = std::stod(line.substr(space + 1));
    }
  }

  std::optional<double> value(const std::string& name) const {
    auto it = samples.find(name);
    if (it == samples.end()) return std::nullopt;
    return it->second;
  }
};

// Every counter a distinct value, so that a metric rendered from the wrong counter shows.
void number_every_counter(actors::Metrics& m) {
  m.events_appended = 101;
  m.commits = 102;
  m.appends_refused = 103;
  m.txs_admitted = 104;
  m.txs_refused = 105;
  m.txs_duplicate = 106;
  m.txs_conflict = 107;
  m.mempool_full = 108;
  m.mempool_size = 109;
  m.consensus_polls = 110;
  m.consensus_rounds_successful = 111;
  m.consensus_decided = 112;
  m.router_bundles = 113;
  m.blocks = 114;
  m.bets_resolved = 115;
  m.batches_created = 116;
  m.batches_proved = 117;
  m.batches_submitted = 118;
  m.batches_confirmed = 119;
  m.batches_failed = 120;
  m.submit_retries = 121;
  m.reconciliations = 122;
  m.reconcile_alarms = 123;
}

// The histogram bounds as the exposition writes them.
const std::vector<std::string> kLe{"0.5", "1", "2", "3", "5", "7.5", "10", "15", "25", "50", "100", "250", "1000", "5000"};

}  // namespace

TEST_CASE("RenderMetricsWritesEveryReadmeMetricWithItsTypeAndItsOwnValue") {
  actors::Metrics m;
  number_every_counter(m);
  const WaitersStats waiters{7, 8, 9};  // waiting, finalized_total, timeouts_total
  const std::array<std::uint64_t, 5> batches{31, 32, 33, 34, 35};
  Exposition e(actors::render_metrics(m, waiters, batches, 555, 66));
  for (const auto& p : e.problems) FAIL_CHECK(p);

  // README.md "GET /metrics", with the type each must have and where its value comes from.
  const std::vector<std::tuple<std::string, std::string, double>> listed{
      {"finalization_timeouts_total", "counter", 9},
      {"finalization_success_total", "counter", 8},
      {"pending_finalization_waiters", "gauge", 7},
      {"mempool_size", "gauge", 109},
      {"events_appended_total", "counter", 101},
      {"log_commits_total", "counter", 102},
      {"consensus_polls_total", "counter", 110},
      {"consensus_rounds_successful_total", "counter", 111},
      {"consensus_decided_total", "counter", 112},
      {"router_bundles_total", "counter", 113},
      {"blocks_total", "counter", 114},
      {"block_height", "gauge", 66},
      {"settlement_retries_total", "counter", 121},
      {"reconciliations_total", "counter", 122},
      {"reconcile_alarms_total", "counter", 123},
  };
  for (const auto& [name, type, value] : listed) {
    CAPTURE(name);
    CHECK(e.types[name] == type);
    CHECK(e.value(name) == value);
  }
  // The rest of what the mempool, the journal and the committer count.
  CHECK(e.value("mempool_admitted_total") == 104);
  CHECK(e.value("mempool_refused_total") == 105);
  CHECK(e.value("mempool_duplicates_total") == 106);
  CHECK(e.value("mempool_conflicts_total") == 107);
  CHECK(e.value("mempool_full_total") == 108);
  CHECK(e.value("bets_resolved_total") == 115);
  CHECK(e.value("log_head_seq") == 555);
  CHECK(e.types["log_head_seq"] == "gauge");
  // batches{status}: one gauge, one sample per status.
  CHECK(e.types["batches"] == "gauge");
  const char* statuses[] = {"created", "proved", "submitted", "confirmed", "failed"};
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(statuses[i]);
    CHECK(e.value(std::string("batches{status=\"") + statuses[i] + "\"}") == static_cast<double>(batches[i]));
  }
  // The two histograms, empty here.
  for (const char* h : {"finalization_wait_duration_ms", "group_commit_size"}) {
    CAPTURE(h);
    CHECK(e.types[h] == "histogram");
    CHECK(e.value(std::string(h) + "_count") == 0);
    CHECK(e.value(std::string(h) + "_bucket{le=\"+Inf\"}") == 0);
  }
}

TEST_CASE("RenderMetricsHistogramBucketsAreCumulativeAndEndInTheCount") {
  actors::Metrics m;
  // Values on a bound fall in that bound's bucket (le: less or equal).
  const std::vector<double> waits{0.2, 0.5, 0.7, 1.0, 4.0, 7.5, 30.0, 30.0, 999.0, 6000.0};
  for (double v : waits) m.finalization_wait_duration_ms.observe(v);
  for (double v : {1.0, 1.0, 3.0, 250.0}) m.group_commit_size.observe(v);
  Exposition e(actors::render_metrics(m, WaitersStats{}, {}, 0, 0));
  for (const auto& p : e.problems) FAIL_CHECK(p);

  auto bucket = [&](const std::string& h, const std::string& le) {
    return e.value(h + "_bucket{le=\"" + le + "\"}");
  };
  const std::string f = "finalization_wait_duration_ms";
  const std::vector<double> expected{2, 4, 4, 4, 5, 6, 6, 6, 6, 8, 8, 8, 9, 9};  // By kLe.
  for (std::size_t i = 0; i < kLe.size(); ++i) {
    CAPTURE(kLe[i]);
    CHECK(bucket(f, kLe[i]) == expected[i]);
    if (i > 0) CHECK(*bucket(f, kLe[i]) >= *bucket(f, kLe[i - 1]));
  }
  CHECK(bucket(f, "+Inf") == 10);
  CHECK(e.value(f + "_count") == 10);
  double sum = 0;
  for (double v : waits) sum += v;
  REQUIRE(e.value(f + "_sum"));
  CHECK(*e.value(f + "_sum") == doctest::Approx(sum));

  const std::string g = "group_commit_size";
  CHECK(bucket(g, "0.5") == 0);
  CHECK(bucket(g, "1") == 2);
  CHECK(bucket(g, "2") == 2);
  CHECK(bucket(g, "3") == 3);
  CHECK(bucket(g, "100") == 3);
  CHECK(bucket(g, "250") == 4);
  CHECK(bucket(g, "5000") == 4);
  CHECK(bucket(g, "+Inf") == 4);
  CHECK(e.value(g + "_count") == 4);
  CHECK(e.value(g + "_sum") == doctest::Approx(255));
}

TEST_CASE("RenderMetricsHistogramSumIsExactToTheThousandthOnALongRunningNode") {
  // A double through an ostream keeps 6 significant digits: 1234567 ms would show as
  // 1.23457e+06, and every average computed from _sum would drift.
  actors::Metrics m;
  for (int i = 0; i < 1000; ++i) m.finalization_wait_duration_ms.observe(1234.567);
  const std::string text = actors::render_metrics(m, WaitersStats{}, {}, 0, 0);
  CHECK(text.find("finalization_wait_duration_ms_sum 1234567.000\n") != std::string::npos);
  m.finalization_wait_duration_ms.observe(0.005);
  CHECK(actors::render_metrics(m, WaitersStats{}, {}, 0, 0).find("finalization_wait_duration_ms_sum 1234567.005\n") !=
        std::string::npos);
}

namespace {

// A waiters actor that answers stats_atom with what the test says, or never.
struct WaitersFake {
  std::optional<WaitersStats> stats;  // nullopt: silent.
  std::size_t asked = 0;
  std::vector<caf::response_promise> held;
};

caf::behavior fake_waiters(caf::event_based_actor* self, std::shared_ptr<WaitersFake> fake) {
  return {
      [=](actors::stats_atom) -> caf::result<WaitersStats> {
        ++fake->asked;
        if (fake->stats) return *fake->stats;
        auto promise = self->make_response_promise();
        fake->held.push_back(promise);
        return promise;
      },
  };
}

struct World : test::CafFixture {
  std::shared_ptr<actors::NodeState> state = std::make_shared<actors::NodeState>();
  actors::Metrics metrics;
  std::shared_ptr<WaitersFake> waiters = std::make_shared<WaitersFake>();
  caf::actor waiters_actor = system->spawn(fake_waiters, waiters);
  caf::actor inspector = actors::spawn_inspector(*system, [&] {
    actors::InspectorOptions o;
    o.state = state;
    o.metrics = &metrics;
    o.waiters = caf::actor_cast<actors::waiters_actor>(waiters_actor);
    return o;
  }());
  caf::scoped_actor client{*system};

  ~World() {
    for (const auto& a : {waiters_actor, inspector}) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  void add_batch(std::uint8_t n, BatchStatus status) {
    BatchLifecycle l(5);
    if (status != BatchStatus::created && status != BatchStatus::failed) l.prove();
    if (status == BatchStatus::submitted || status == BatchStatus::confirmed) l.submit(1);
    if (status == BatchStatus::confirmed) l.confirm(3);
    if (status == BatchStatus::failed) l.fail();
    REQUIRE(l.status() == status);
    state->projections.batches.emplace(Id128{0xba, n}, BatchRecord{l, {}, std::nullopt, {}});
    // As apply() counts them: an ended batch is counted by its event (memory forgets it).
    if (status == BatchStatus::confirmed)
      ++state->projections.event_counts[static_cast<std::size_t>(EventType::batch_confirmed) - 1];
    if (status == BatchStatus::failed)
      ++state->projections.event_counts[static_cast<std::size_t>(EventType::batch_failed) - 1];
  }

  void ask() { client->send(inspector, actors::metrics_atom::value); }

  // The answer that arrived, if any: the text, or the error rendered.
  std::optional<std::string> answer(bool* was_error = nullptr) {
    std::optional<std::string> got;
    client->receive([&](const std::string& text) { got = text; },
                    [&](const caf::error& err) {
                      got = system->render(err);
                      if (was_error) *was_error = true;
                    },
                    caf::after(0s) >> [] {});
    return got;
  }
};

}  // namespace

TEST_CASE("InspectorAnswersMetricsFromTheCountersTheWaitersAndTheProjections") {
  World w;
  number_every_counter(w.metrics);
  w.waiters->stats = WaitersStats{4, 40, 14};
  w.add_batch(1, BatchStatus::created);
  w.add_batch(2, BatchStatus::proved);
  w.add_batch(3, BatchStatus::proved);
  w.add_batch(4, BatchStatus::submitted);
  w.add_batch(5, BatchStatus::confirmed);
  w.add_batch(6, BatchStatus::confirmed);
  w.add_batch(7, BatchStatus::confirmed);
  w.add_batch(8, BatchStatus::failed);
  w.state->projections.block_height = 12;
  w.state->log_head = 345;
  w.metrics.group_commit_size.observe(3);

  w.ask();
  w.run();
  bool error = false;
  auto text = w.answer(&error);
  REQUIRE(text);
  REQUIRE_FALSE(error);
  CHECK(w.waiters->asked == 1);
  Exposition e(*text);
  for (const auto& p : e.problems) FAIL_CHECK(p);
  // The text is render_metrics of what the inspector gathered.
  CHECK(*text == actors::render_metrics(w.metrics, *w.waiters->stats, {1, 2, 1, 3, 1}, 345, 12));
  CHECK(e.value("pending_finalization_waiters") == 4);
  CHECK(e.value("finalization_success_total") == 40);
  CHECK(e.value("finalization_timeouts_total") == 14);
  CHECK(e.value("batches{status=\"created\"}") == 1);
  CHECK(e.value("batches{status=\"proved\"}") == 2);
  CHECK(e.value("batches{status=\"submitted\"}") == 1);
  CHECK(e.value("batches{status=\"confirmed\"}") == 3);
  CHECK(e.value("batches{status=\"failed\"}") == 1);
  CHECK(e.value("block_height") == 12);
  CHECK(e.value("log_head_seq") == 345);
  CHECK(e.value("mempool_admitted_total") == 104);
  CHECK(e.value("group_commit_size_count") == 1);

  // The next answer follows the counters as they move.
  ++w.metrics.txs_admitted;
  w.metrics.mempool_size = 3;
  w.metrics.blocks += 10;
  w.metrics.finalization_wait_duration_ms.observe(2);
  w.state->projections.block_height = 13;
  w.state->log_head = 400;
  w.waiters->stats->waiting = 0;
  w.ask();
  w.run();
  auto later = w.answer();
  REQUIRE(later);
  Exposition e2(*later);
  CHECK(e2.value("mempool_admitted_total") == 105);
  CHECK(e2.value("mempool_size") == 3);
  CHECK(e2.value("blocks_total") == 124);
  CHECK(e2.value("finalization_wait_duration_ms_count") == 1);
  CHECK(e2.value("finalization_wait_duration_ms_bucket{le=\"2\"}") == 1);
  CHECK(e2.value("finalization_wait_duration_ms_bucket{le=\"1\"}") == 0);
  CHECK(e2.value("block_height") == 13);
  CHECK(e2.value("log_head_seq") == 400);
  CHECK(e2.value("pending_finalization_waiters") == 0);
}

TEST_CASE("InspectorAnswersAnErrorWhenTheWaitersStaySilentForFiveSeconds") {
  World w;  // waiters->stats unset: the waiters never answer.
  w.ask();
  w.run();
  CHECK(w.waiters->asked == 1);
  CHECK_FALSE(w.answer());
  w.advance(4999ms);
  CHECK_FALSE(w.answer());
  w.advance(1ms);
  bool error = false;
  auto got = w.answer(&error);
  REQUIRE(got);
  CHECK(error);
  CHECK(got->find("timeout") != std::string::npos);
}
