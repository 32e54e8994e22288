#include "tools/sim/sabotage.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/message_view.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/mempool.hpp"
#include "actors/validator.hpp"
#include "domain/consensus.hpp"

namespace croupier::sim {

namespace {

using actors::SubmitReply;

// Every message the front has no handler for goes on to `target` as if sent there: a
// request keeps its sender and id, so the target answers the original asker.
void forward_the_rest(caf::event_based_actor* self, const caf::actor& target) {
  self->set_default_handler([target](caf::scheduled_actor* front, caf::message_view& x) -> caf::result<caf::message> {
    static_cast<caf::event_based_actor*>(front)->delegate(target, x.move_content_to_message());
    return caf::delegated<caf::message>{};
  });
}

// Asks `mempool` and answers a duplicate as a new, undecided admission.
caf::result<SubmitReply> submit_forgetting(caf::event_based_actor* self, const caf::actor& mempool, Tx tx,
                                           const Prechecked& pre) {
  auto promise = self->make_response_promise<SubmitReply>();
  self->request(mempool, caf::infinite, actors::submit_atom::value, std::move(tx), pre)
      .then(
          [=](SubmitReply& r) mutable {
            if (r.kind == SubmitReply::Kind::duplicate) {
              r.kind = SubmitReply::Kind::admitted;
              r.final = false;
            }
            promise.deliver(std::move(r));
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

struct ProoflessState {
  consensus::ValidatorView view;  // Settlement keys only.
  static constexpr const char* name = "proofless-validator";
};

// Settlement queries answered from the front's own view, the others by `real`, in order.
caf::result<actors::Votes> answer(caf::stateful_actor<ProoflessState>* self, const caf::actor& real,
                                  const actors::VoteQueries& queries) {
  actors::Votes votes(queries.size());
  actors::VoteQueries others;
  std::vector<std::size_t> others_at;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    if (q.tx && std::holds_alternative<Settlement>(*q.tx)) {
      votes[i] = self->state.view.prefer(q.conflict_key, q.tx_id, true);  // Valid, unchecked.
    } else {
      others.push_back(q);
      others_at.push_back(i);
    }
  }
  if (others.empty()) return votes;
  auto promise = self->make_response_promise<actors::Votes>();
  self->request(real, caf::infinite, actors::query_atom::value, std::move(others))
      .then(
          [=](const actors::Votes& answered) mutable {
            for (std::size_t j = 0; j < answered.size() && j < others_at.size(); ++j) votes[others_at[j]] = answered[j];
            promise.deliver(std::move(votes));
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

}  // namespace

caf::actor spawn_deaf_mempool(caf::actor_system& system, const caf::actor& mempool) {
  return system.spawn([mempool](caf::event_based_actor* self) -> caf::behavior {
    self->link_to(mempool);
    forward_the_rest(self, mempool);
    return {[](actors::learn_atom, const Tx&) {}};
  });
}

caf::actor spawn_forgetful_mempool(caf::actor_system& system, const caf::actor& mempool) {
  return system.spawn([mempool](caf::event_based_actor* self) -> caf::behavior {
    self->link_to(mempool);
    forward_the_rest(self, mempool);
    return {
        [=](actors::submit_atom, Tx& tx, const Prechecked& pre) {
          return submit_forgetting(self, mempool, std::move(tx), pre);
        },
        [=](actors::submit_atom, Tx& tx) {
          const Prechecked pre = precheck(tx);
          return submit_forgetting(self, mempool, std::move(tx), pre);
        },
    };
  });
}

caf::actor spawn_proofless_validator(caf::actor_system& system, const std::shared_ptr<actors::NodeState>& state) {
  auto real = actors::spawn_validator(system, actors::ValidatorOptions{state, "validator", true, nullptr, 1'000'000});
  return system.spawn([real](caf::stateful_actor<ProoflessState>* self) -> caf::behavior {
    self->link_to(real);
    forward_the_rest(self, real);
    return {
        [=](actors::query_atom, const actors::VoteQueries& queries) { return answer(self, real, queries); },
        [=](actors::follow_atom a, const std::string& key, const Hash32& tx_id) {
          self->state.view.follow(key, tx_id);
          self->send(real, a, key, tx_id);
        },
        [=](actors::forget_atom a, const actors::Decided& decided) {
          for (const auto& [key, winner] : decided) self->state.view.decided(key, winner);
          self->send(real, a, decided);
        },
    };
  });
}

}  // namespace croupier::sim
