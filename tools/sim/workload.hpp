#pragma once
// The simulator's clients: players who deposit (through the operator), bet, and act like
// real clients of the HTTP API: each waits for finality up to a deadline, polls a pending bet
// at the node that acknowledged it, retries elsewhere when a node is down or busy, resends
// the same bet (same bet_id) after a timeout or after its answer, and now and then sends
// two different bets on the same nonce to two nodes, or a bet beyond its balance.
//
// What it checks as it goes (the rest is in sim_checks.hpp):
//   1. an admission acknowledged by a node is known to that node from then on (polls);
//   6. a resent tx is answered with the original result: the same tx id, final again when
//      it was final, never a conflict or a refusal.
// A player whose two rival bets are both still undecided after `rival_patience` gives up
// and leaves, and a new player (a new account) takes the client's place (Snowball decides
// virtuous txs; a rogue pair may stay undecided while a Byzantine validator holds the split:
// the liveness check then leaves it out).
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "tools/sim/agenda.hpp"
#include "tools/sim/cluster.hpp"

namespace croupier::sim {

struct WorkloadOptions {
  std::uint64_t bets = 1000;  // New bets to send (twins, retries and resends not counted).
  std::size_t clients = 8;
  std::chrono::milliseconds wait{2000};  // How long a client waits for finality.
  double conflict = 0.04;    // A new bet gets a rival on the same nonce.
  double overdraw = 0.03;    // A new bet beyond the balance.
  double resend = 0.15;      // An answered bet is sent again.
  std::chrono::milliseconds rival_patience{60'000};
};

// A bet a client was told is final and accepted, and what it was told.
struct AckedBet {
  Hash32 tx_id{};
  Id128 bet_id{};
  std::size_t node = 0;
  Outcome outcome;
};

struct WorkloadCounters {
  std::uint64_t bets_sent = 0, rivals_sent = 0, overdraws_sent = 0, deposits_sent = 0;
  std::uint64_t final_accepted = 0, final_rejected = 0, pending_answers = 0, polls = 0;
  std::uint64_t refused = 0, unavailable = 0, busy = 0, resends = 0, resends_checked = 0;
  std::uint64_t rivals_abandoned = 0;  // Players who left a pair of rival bets undecided.
};

class Workload {
 public:
  Workload(Cluster& cluster, Agenda& agenda, std::uint64_t seed, WorkloadOptions options, Report report);
  ~Workload();
  void begin();
  bool done() const;  // Every bet sent and every client idle.
  std::string waiting();  // For people: what the first busy client waits for.
  const std::vector<AckedBet>& acked() const { return acked_; }
  const WorkloadCounters& counters() const { return counters_; }

 private:
  struct Client;
  struct Attempt;
  void act(Client& c);
  void deposit(Client& c);
  void bet(Client& c);
  void send(Client& c, std::shared_ptr<Attempt> a);
  void answered(Client& c, std::shared_ptr<Attempt> a, const actors::SubmitOutcome& out);
  void poll(Client& c, std::shared_ptr<Attempt> a);
  void decided(Client& c, std::shared_ptr<Attempt> a, const TxRecord& r);
  void settle_round(Client& c);
  void resend(std::shared_ptr<Attempt> a, bool was_final);
  void replace(Client& c);
  static bool current(const Client& c, const std::shared_ptr<Attempt>& a);
  static KeyPair player_key(std::uint64_t seed, std::size_t index, std::uint64_t generation);
  std::size_t random_node();
  Id128 fresh_id();
  caf::timespan think();

  Cluster& cluster_;
  Agenda& agenda_;
  std::mt19937_64 rng_;
  WorkloadOptions options_;
  Report report_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<AckedBet> acked_;
  WorkloadCounters counters_;
  std::uint64_t ids_ = 0;
  std::uint64_t seed_ = 0;
};

}  // namespace croupier::sim
