// durable_final: the waiters' "already final" lookup says final only of what is on disk, and
// for an accepted tx without waiting for a commit under way (it runs on a scheduler thread for
// every client that registers).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "actors/node_state.hpp"

using namespace croupier;
using actors::durable_final;

namespace {

TxRecord record(TxStatus status, std::uint64_t height) {
  TxRecord r;
  r.status = status;
  r.block_height = height;
  return r;
}

Hash32 id(std::uint8_t n) {
  Hash32 h{};
  h[0] = n;
  return h;
}

}  // namespace

TEST_CASE("AnAcceptedTxIsFinalOnceItsBlockIsDurableAndNotBefore") {
  actors::NodeState s;
  s.projections.txs[id(1)] = record(TxStatus::accepted, 2);
  s.durable_height = 1;  // Block 2 applied, its commit under way.
  CHECK_FALSE(durable_final(s, id(1)));
  s.durable_height = 2;
  auto f = durable_final(s, id(1));
  REQUIRE(f);
  CHECK(f->final);
  CHECK(f->block_height == 2);
}

TEST_CASE("AnAcceptedTxIsAnsweredWithoutWaitingForTheDurableLock") {
  actors::NodeState s;
  s.projections.txs[id(1)] = record(TxStatus::accepted, 1);
  s.durable_height = 1;
  std::unique_lock journal(s.durable);  // A later group's commit under way.
  std::optional<actors::DurableFinal> f;
  std::atomic<bool> answered{false};
  std::thread waiters([&] {
    f = durable_final(s, id(1));
    answered = true;
  });
  for (int i = 0; i < 2000 && !answered; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const bool without_waiting = answered;
  journal.unlock();  // Lets a lookup that did wait finish, so the test fails instead of hanging.
  waiters.join();
  CHECK(without_waiting);
  REQUIRE(f);
  CHECK(f->block_height == 1);
}

TEST_CASE("UndecidedUnknownAndRejectedTxs") {
  actors::NodeState s;
  s.projections.txs[id(1)] = record(TxStatus::admitted, 0);
  s.projections.txs[id(2)] = record(TxStatus::rejected, 0);
  CHECK_FALSE(durable_final(s, id(1)));
  CHECK_FALSE(durable_final(s, id(9)));
  auto f = durable_final(s, id(2));
  REQUIRE(f);
  CHECK(f->final);
  CHECK(f->block_height == 0);
  // After a journal failure the memory may hold what never reached the disk: a rejection
  // read from it is not said.
  s.journal_failed = true;
  CHECK_FALSE(durable_final(s, id(2)));
}
