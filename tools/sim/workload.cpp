#include "tools/sim/workload.hpp"

#include <algorithm>

namespace croupier::sim {

using Kind = actors::SubmitOutcome::Kind;

struct Workload::Attempt {
  Tx tx;
  Hash32 tx_id{};
  std::size_t node = 0;        // The node tried last; once acknowledged, the one that did.
  bool is_bet = false;
  bool overdraw = false;       // Sent beyond the balance: a refusal is the expected answer.
  bool acknowledged = false;   // A node answered admitted or duplicate.
  bool resolved = false;       // Decided, or given up (never acknowledged).
  bool accepted = false;
  int tries = 0;
};

struct Workload::Client {
  std::size_t index = 0;
  KeyPair key;
  std::uint64_t nonce = 1;  // The next bet's.
  bool funded = false;
  bool idle = false;
  std::uint64_t generation = 0;  // Players this client has been (see replace()).
  std::vector<std::shared_ptr<Attempt>> round;  // A deposit, or a bet and perhaps its rival.
  Agenda::time_point round_started{};
};

namespace {

constexpr int kMaxRefusals = 10;  // Refused by this many nodes: the client gives up on it.

double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// What node `node` says of the tx, as GET /v1/bets would (memory, else the log).
Cluster::Lookup look_up(Cluster& cluster, std::size_t node, const Tx& tx, const Hash32& tx_id) {
  return cluster.find(node, tx_id, tx_key(tx));
}

std::optional<TxRecord> record_at(Cluster& cluster, std::size_t node, const Tx& tx, const Hash32& tx_id) {
  return look_up(cluster, node, tx, tx_id).record;
}

}  // namespace

Workload::Workload(Cluster& cluster, Agenda& agenda, std::uint64_t seed, WorkloadOptions options, Report report)
    : cluster_(cluster), agenda_(agenda), rng_(seed), options_(options), report_(std::move(report)) {
  for (std::size_t i = 0; i < options_.clients; ++i) {
    auto c = std::make_unique<Client>();
    c->index = i;
    c->key = player_key(seed, i, 0);
    clients_.push_back(std::move(c));
  }
  seed_ = seed;
}

// Client `index`'s player number `generation`: a key of its own, drawn from the run's seed.
KeyPair Workload::player_key(std::uint64_t seed, std::size_t index, std::uint64_t generation) {
  Seed s{};
  put_u64_le(s.data(), seed);
  put_u64_le(s.data() + 8, 0xc11e47 + index);
  put_u64_le(s.data() + 16, generation);
  return keypair_from_seed(s);
}

// A player who gave up on a pair of rival bets leaves, and a new player (a new account) takes
// its place, so that a run with few clients keeps sending bets. The abandoned pair stays
// undecided (the liveness check leaves such pairs out under Byzantine validators).
void Workload::replace(Client& c) {
  ++counters_.rivals_abandoned;
  c.key = player_key(seed_, c.index, ++c.generation);
  c.nonce = 1;
  c.funded = false;
  c.round.clear();
  agenda_.after(think(), [this, &c] { act(c); });
}

Workload::~Workload() = default;

void Workload::begin() {
  for (auto& c : clients_) agenda_.after(think(), [this, c = c.get()] { act(*c); });
}

bool Workload::done() const {
  return counters_.bets_sent >= options_.bets &&
         std::all_of(clients_.begin(), clients_.end(), [](const auto& c) { return c->idle; });
}

std::string Workload::waiting() {
  for (const auto& c : clients_) {
    if (c->idle) continue;
    std::string out = "client " + std::to_string(c->index) + " (nonce " + std::to_string(c->nonce) + ")";
    if (c->round.empty()) return out + " between actions";
    for (const auto& a : c->round)
      out += std::string("; ") + (a->is_bet ? "bet " : "deposit ") + "tx " + to_hex(a->tx_id).substr(0, 16) +
             " at node " + std::to_string(a->node) + (a->acknowledged ? ", acknowledged" : "") +
             (a->resolved ? ", resolved" : "") + ", tries " + std::to_string(a->tries);
    if (!c->round.empty()) {
      out += "; its status by node:";
      for (std::size_t i = 0; i < cluster_.size(); ++i) {
        auto r = record_at(cluster_, i, c->round.front()->tx, c->round.front()->tx_id);
        out += " " + (r ? std::string(tx_status_name(r->status)) + (r->block_height ? "+block" : "") : "unknown");
      }
    }
    return out;
  }
  return "nothing";
}

caf::timespan Workload::think() { return std::chrono::milliseconds(1 + rng_() % 200); }
std::size_t Workload::random_node() { return rng_() % cluster_.size(); }

Id128 Workload::fresh_id() {
  std::array<std::uint8_t, 10> r{};
  put_u64_le(r.data(), rng_());
  ++ids_;
  r[8] = static_cast<std::uint8_t>(ids_ >> 8);
  r[9] = static_cast<std::uint8_t>(ids_);
  return make_time_ordered_id(cluster_.now_ms(), r);
}

void Workload::act(Client& c) {
  if (counters_.bets_sent >= options_.bets) {
    c.idle = true;
    return;
  }
  if (!c.funded) return deposit(c);
  bet(c);
}

void Workload::deposit(Client& c) {
  Deposit d{fresh_id(), c.key.public_key, 50'000 + rng_() % 450'000, cluster_.keys().operator_key.public_key, {}};
  sign_tx(d, cluster_.keys().operator_key);
  auto a = std::make_shared<Attempt>();
  a->tx = d;
  a->tx_id = tx_id(a->tx);
  a->node = random_node();
  c.round = {a};
  ++counters_.deposits_sent;
  send(c, a);
}

void Workload::bet(Client& c) {
  const std::size_t node = random_node();
  Amount available = 0;
  cluster_.read(node, [&](const Projections& p) {
    if (const Account* acc = p.accounts.find(c.key.public_key)) available = acc->available();
  });
  const bool overdraw = uniform(rng_) < options_.overdraw;
  if (available < 100 && !overdraw) {
    c.funded = false;  // Top up first (the node asked may also just lag behind).
    return deposit(c);
  }
  auto make = [&](bool over) {
    Bet b;
    b.bet_id = fresh_id();
    b.account = c.key.public_key;
    b.nonce = c.nonce;
    const bool dice = rng_() % 2;
    b.game = static_cast<std::uint8_t>(dice ? Game::dice : Game::coinflip);
    b.choice = static_cast<std::uint8_t>(dice ? 2 + rng_() % 98 : rng_() % 2);
    b.wager = over ? available + 1 + rng_() % 1000 : 1 + rng_() % std::max<Amount>(1, available / 4);
    put_u64_le(b.client_seed.data(), rng_());
    sign_tx(b, c.key);
    auto a = std::make_shared<Attempt>();
    a->tx = b;
    a->tx_id = tx_id(a->tx);
    a->is_bet = true;
    a->overdraw = over;
    return a;
  };
  auto first = make(overdraw);
  first->node = node;
  c.round = {first};
  c.round_started = agenda_.now();
  ++counters_.bets_sent;
  counters_.overdraws_sent += overdraw;
  if (!overdraw && uniform(rng_) < options_.conflict) {
    auto rival = make(false);
    rival->node = (node + 1 + rng_() % (cluster_.size() - 1)) % cluster_.size();
    c.round.push_back(rival);
    ++counters_.rivals_sent;
  }
  for (auto& a : std::vector(c.round)) send(c, a);
}

// Whether `a` is still part of what the client's player waits for (not after it left).
bool Workload::current(const Client& c, const std::shared_ptr<Attempt>& a) {
  return !c.idle && std::find(c.round.begin(), c.round.end(), a) != c.round.end();
}

void Workload::send(Client& c, std::shared_ptr<Attempt> a) {
  if (!current(c, a)) return;
  ++a->tries;
  if (!cluster_.up(a->node)) {
    ++counters_.unavailable;
    a->node = random_node();
    agenda_.after(think() * 5, [this, &c, a] { send(c, a); });
    return;
  }
  const std::size_t node = a->node;
  cluster_.node(node).submit(a->tx, options_.wait, [this, &c, a, node](actors::SubmitOutcome out) {
    a->node = node;
    answered(c, a, out);
  });
}

void Workload::answered(Client& c, std::shared_ptr<Attempt> a, const actors::SubmitOutcome& out) {
  if (!current(c, a)) return;  // The player left.
  switch (out.kind) {
    case Kind::admitted:
    case Kind::duplicate: {
      if (out.tx_id != a->tx_id)
        report_({6, "node " + std::to_string(a->node) + " answered tx " + to_hex(a->tx_id) + " with tx " +
                        to_hex(out.tx_id)});
      a->acknowledged = true;
      if (out.final) {
        if (auto r = record_at(cluster_, a->node, a->tx, a->tx_id); r && is_final(*r)) return decided(c, a, *r);
      }
      ++counters_.pending_answers;
      if (uniform(rng_) < options_.resend) agenda_.after(think(), [this, a] { resend(a, false); });
      agenda_.after(std::chrono::milliseconds(200 + rng_() % 800), [this, &c, a] { poll(c, a); });
      return;
    }
    case Kind::refused: {
      ++counters_.refused;
      const bool sibling_acknowledged =
          std::any_of(c.round.begin(), c.round.end(), [&](const auto& x) { return x != a && x->acknowledged; });
      if (a->overdraw || sibling_acknowledged || a->tries >= kMaxRefusals) {
        a->resolved = true;
        return settle_round(c);
      }
      a->node = random_node();  // Perhaps a node behind the others: ask another.
      agenda_.after(think() * 3, [this, &c, a] { send(c, a); });
      return;
    }
    case Kind::conflict:
      report_({6, "a new tx " + to_hex(a->tx_id) + " was refused as a conflict with " + to_hex(out.tx_id) +
                      " by node " + std::to_string(a->node)});
      a->resolved = true;
      return settle_round(c);
    case Kind::busy:
    case Kind::unavailable:
      (out.kind == Kind::busy ? counters_.busy : counters_.unavailable) += 1;
      a->node = random_node();
      agenda_.after(think() * 5, [this, &c, a] { send(c, a); });
      return;
  }
}

void Workload::poll(Client& c, std::shared_ptr<Attempt> a) {
  if (!current(c, a)) return;  // The player left.
  ++counters_.polls;
  auto again = [&] { agenda_.after(std::chrono::milliseconds(300 + rng_() % 1200), [this, &c, a] { poll(c, a); }); };
  auto [reachable, r] = look_up(cluster_, a->node, a->tx, a->tx_id);
  if (!reachable) return again();
  if (!r) {
    report_({1, "node " + std::to_string(a->node) + " acknowledged the admission of tx " + to_hex(a->tx_id) +
                    " and no longer knows it"});
    return again();
  }
  if (!is_final(*r)) {
    if (c.round.size() > 1 && agenda_.now() - c.round_started > options_.rival_patience)
      return replace(c);  // Both rivals undecided: this player leaves.
    return again();
  }
  decided(c, a, *r);
}

void Workload::decided(Client& c, std::shared_ptr<Attempt> a, const TxRecord& r) {
  if (a->resolved || !current(c, a)) return;
  a->resolved = true;
  a->accepted = r.status == TxStatus::accepted;
  if (a->accepted) {
    ++counters_.final_accepted;
    if (a->is_bet) {
      assert(r.outcome);
      acked_.push_back({a->tx_id, std::get<Bet>(a->tx).bet_id, a->node, r.outcome.value_or(Outcome{})});
    } else {
      c.funded = true;
    }
    if (uniform(rng_) < options_.resend) agenda_.after(think() * 10, [this, a] { resend(a, true); });
  } else {
    ++counters_.final_rejected;
  }
  settle_round(c);
}

void Workload::settle_round(Client& c) {
  if (!std::all_of(c.round.begin(), c.round.end(), [](const auto& a) { return a->resolved; })) return;
  for (const auto& a : c.round)
    if (a->is_bet && a->accepted) ++c.nonce;
  c.round.clear();
  agenda_.after(think(), [this, &c] { act(c); });
}

void Workload::resend(std::shared_ptr<Attempt> a, bool was_final) {
  ++counters_.resends;
  const std::size_t node = a->node;
  if (!cluster_.up(node)) return;
  cluster_.node(node).submit(a->tx, options_.wait, [this, a, node, was_final](actors::SubmitOutcome out) {
    if (out.kind == Kind::unavailable || out.kind == Kind::busy) return;  // Down meanwhile: nothing to learn.
    ++counters_.resends_checked;
    const std::string what = "tx " + to_hex(a->tx_id) + " resent to node " + std::to_string(node) + ", which had " +
                             (was_final ? "answered it final" : "acknowledged it");
    if (out.kind != Kind::duplicate)
      report_({6, what + ", was answered " + (out.kind == Kind::admitted ? "as a new admission" : out.code)});
    else if (out.tx_id != a->tx_id)
      report_({6, what + ", was answered with tx " + to_hex(out.tx_id)});
    else if (was_final && !out.final)
      report_({6, what + ", was answered pending"});
  });
}

}  // namespace croupier::sim
