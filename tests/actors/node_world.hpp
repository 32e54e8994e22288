#pragma once
// A whole node under CAF's deterministic test coordinator, for the actor tests: virtual
// time, a fake wall clock that follows it, a non-durable log in a temporary directory, and
// helpers that sign deposits and bets and submit them through NodeApi as the gateway does.
#include <doctest/doctest.h>

#include <memory>
#include <optional>

#include "actors/node.hpp"
#include "caf_fixture.hpp"
#include "test_support.hpp"

namespace croupier::test {

struct NodeWorld : CafFixture {
  TempDir dir{"croupier-node"};
  actors::NodeSecrets keys{keypair_from_seed(seed_of(1)), keypair_from_seed(seed_of(2)), keypair_from_seed(seed_of(3)),
                            keypair_from_seed(seed_of(4))};
  std::uint64_t start_ms = 1'700'000'000'000;
  std::unique_ptr<actors::Node> node;
  std::uint64_t next_id = 1;

  static Seed seed_of(std::uint8_t b) {
    Seed s{};
    s.fill(b);
    return s;
  }

  actors::NodeOptions options() {
    actors::NodeOptions o;
    o.data = dir.path();
    o.keys = keys;
    o.durable = false;
    o.detached_journal = false;
    o.seed = 7;
    o.clock_ms = [this] {
      return start_ms + static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                scheduler->clock().now().time_since_epoch())
                                .count());
    };
    o.reconcile_interval = std::chrono::seconds(3600);
    return o;
  }

  void start(actors::NodeOptions o) {
    node = std::make_unique<actors::Node>(*system, std::move(o));
    run();
  }
  void start() { start(options()); }

  void stop() {
    if (!node) return;
    node->stop();
    run();
    node.reset();
  }

  ~NodeWorld() { stop(); }

  // Runs jobs and moves virtual time in small steps until `done` or `limit` has passed.
  template <class F>
  bool run_until(F done, caf::timespan limit = std::chrono::seconds(10)) {
    run();
    caf::timespan passed{0};
    while (!done() && passed < limit) {
      advance(std::chrono::milliseconds(1));
      passed += std::chrono::milliseconds(1);
    }
    return done();
  }

  Id128 fresh_id() {
    std::array<std::uint8_t, 10> r{};
    put_u64_le(r.data(), next_id++);
    return make_time_ordered_id(start_ms, r);
  }

  Deposit deposit(const PublicKey& account, Amount amount) {
    Deposit d{fresh_id(), account, amount, keys.operator_key.public_key, {}};
    sign_tx(d, keys.operator_key);
    return d;
  }

  Bet bet(const KeyPair& player, std::uint64_t nonce, Amount wager, std::uint8_t choice = 0) {
    Bet b{fresh_id(), player.public_key, nonce, static_cast<std::uint8_t>(Game::coinflip), wager, choice, {}, {}};
    b.client_seed.fill(static_cast<std::uint8_t>(nonce));
    sign_tx(b, player);
    return b;
  }

  // Submits like the gateway and runs until the answer arrives.
  actors::SubmitOutcome submit(const Tx& tx, std::chrono::milliseconds wait = std::chrono::milliseconds(2000)) {
    std::optional<actors::SubmitOutcome> out;
    node->submit(tx, wait, [&](actors::SubmitOutcome o) { out = std::move(o); });
    REQUIRE(run_until([&] { return out.has_value(); }, wait + std::chrono::seconds(10)));
    return *out;
  }

  template <class F>
  auto with_state(F f) {
    std::optional<std::invoke_result_t<F, const Projections&>> r;
    node->read([&](const Projections& p) { r = f(p); });
    return *r;
  }
};

}  // namespace croupier::test
