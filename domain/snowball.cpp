#include "domain/snowball.hpp"

#include <algorithm>
#include <cassert>
#include <ostream>
#include <sstream>

namespace croupier::snowball {

namespace {

// Builds "parameters invalid: <values>: fails the condition that: <condition>", the shape of
// avalanchego's Verify errors, so a person sees both what was given and what was required.
std::string invalid(const std::string& values, std::string_view condition) {
  std::string message{kParametersInvalid};
  message += ": ";
  message += values;
  message += ": fails the condition that: ";
  message += condition;
  return message;
}

std::string term(std::size_t i, std::string_view field) {
  return "terminations[" + std::to_string(i) + "]." + std::string{field};
}

std::optional<std::string> check(const Parameters& p, bool with_k) {
  using std::to_string;
  if (p.terminations.empty())
    return invalid("len(terminations) = 0", "0 < len(terminations)");
  if (with_k && p.alpha_preference <= p.k / 2)
    return invalid("k = " + to_string(p.k) + ", alpha_preference = " + to_string(p.alpha_preference),
                   "k/2 < alpha_preference");
  // With k present this follows from the line above and alpha_confidence <= k; without k it
  // is what keeps a poll with no votes from counting as successful.
  if (p.alpha_preference <= 0)
    return invalid("alpha_preference = " + to_string(p.alpha_preference), "0 < alpha_preference");
  for (std::size_t i = 0; i < p.terminations.size(); ++i) {
    const Termination& t = p.terminations[i];
    const std::string confidence = term(i, "alpha_confidence") + " = " + to_string(t.alpha_confidence);
    if (t.alpha_confidence < p.alpha_preference)
      return invalid("alpha_preference = " + to_string(p.alpha_preference) + ", " + confidence,
                     "alpha_preference <= alpha_confidence");
    if (with_k && p.k < t.alpha_confidence)
      return invalid("k = " + to_string(p.k) + ", " + confidence, "alpha_confidence <= k");
    if (t.beta <= 0)
      return invalid(term(i, "beta") + " = " + to_string(t.beta), "0 < beta");
    if (i == 0) continue;
    // The counters rely on this order: reaching condition i implies reaching every condition
    // before it, so polls walk the list and stop at the first one not reached.
    const Termination& before = p.terminations[i - 1];
    if (before.alpha_confidence >= t.alpha_confidence)
      return invalid(term(i - 1, "alpha_confidence") + " = " + to_string(before.alpha_confidence) +
                         ", " + confidence,
                     "terminations[i].alpha_confidence < terminations[i+1].alpha_confidence");
    // A stricter vote threshold that needed more polls could never finalize first: the looser
    // condition, counted on the same polls, would always get there before it.
    if (before.beta < t.beta)
      return invalid(term(i - 1, "beta") + " = " + to_string(before.beta) + ", " + term(i, "beta") +
                         " = " + to_string(t.beta),
                     "terminations[i].beta >= terminations[i+1].beta");
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const Parameters& parameters) { return check(parameters, true); }

std::optional<std::string> validate_ignoring_k(const Parameters& parameters) {
  return check(parameters, false);
}

// --- Snowflake ----------------------------------------------------------------------

Snowflake::Snowflake(const Parameters& parameters, Choice initial)
    : alpha_preference_{parameters.alpha_preference},
      terminations_{parameters.terminations},
      choices_{initial},
      preference_{initial},
      confidence_(parameters.terminations.size(), 0) {
  assert(!validate_ignoring_k(parameters).has_value());
  check_invariants();
}

void Snowflake::add(Choice choice) {
  choices_.insert(choice);
  assert(knows(choice));
}

void Snowflake::record_poll(int count, Choice choice) {
  assert(count >= 0);
  assert(knows(choice));
  if (finalized_) return;  // This instance is already decided.

  if (count < alpha_preference_) {
    record_unsuccessful_poll();
    return;
  }

  // A change of preference starts every count again: confidence is only ever about the
  // current preference.
  if (choice != preference_) std::fill(confidence_.begin(), confidence_.end(), 0);
  preference_ = choice;

  for (std::size_t i = 0; i < terminations_.size(); ++i) {
    // Thresholds ascend, so missing this one means missing every later one too.
    if (count < terminations_[i].alpha_confidence) {
      std::fill(confidence_.begin() + static_cast<std::ptrdiff_t>(i), confidence_.end(), 0);
      break;
    }
    ++confidence_[i];
    if (confidence_[i] >= terminations_[i].beta) {
      // Stop at once, as avalanchego does: the later counters keep their old values.
      finalized_ = true;
      break;
    }
  }
  check_invariants();
}

void Snowflake::record_unsuccessful_poll() {
  if (finalized_) return;  // The counters freeze with the decision; see the header.
  std::fill(confidence_.begin(), confidence_.end(), 0);
  check_invariants();
}

void Snowflake::check_invariants() const {
  assert(confidence_.size() == terminations_.size());
  assert(knows(preference_));
  bool reached = false;
  for (std::size_t i = 0; i < confidence_.size(); ++i) {
    assert(confidence_[i] >= 0);
    if (confidence_[i] >= terminations_[i].beta) reached = true;
    if (!finalized_ && i + 1 < confidence_.size()) assert(confidence_[i] >= confidence_[i + 1]);
  }
  assert(reached == finalized_);
}

std::ostream& operator<<(std::ostream& out, const Snowflake& snowflake) {
  // Go's %v of []int: "[2 1 0]".
  std::ostringstream text;
  text << "SF(Confidence = [";
  const auto& confidence = snowflake.confidence();
  for (std::size_t i = 0; i < confidence.size(); ++i) text << (i ? " " : "") << confidence[i];
  text << "], Finalized = " << (snowflake.finalized() ? "true" : "false")
       << ", SL(Preference = " << snowflake.preference() << "))";
  return out << text.str();
}

// --- Snowball -----------------------------------------------------------------------

Snowball::Snowball(const Parameters& parameters, Choice initial)
    : snowflake_{parameters, initial}, preference_{initial} {
  check_invariants();
}

void Snowball::add(Choice choice) {
  snowflake_.add(choice);
  assert(snowflake_.knows(choice));
}

void Snowball::record_poll(int count, Choice choice) {
  assert(count >= 0);
  assert(snowflake_.knows(choice));
  if (count >= snowflake_.alpha_preference()) {
    const int strength = ++strength_[choice];
    // Strictly greater: a tie leaves the preference where it is (lazy switching).
    if (strength > strength_max_) {
      preference_ = choice;
      strength_max_ = strength;
    }
  }
  snowflake_.record_poll(count, choice);
  check_invariants();
}

void Snowball::record_unsuccessful_poll() {
  snowflake_.record_unsuccessful_poll();
  check_invariants();
}

Choice Snowball::preference() const {
  // Rarely, snowflake finalizes on a choice that is not the strongest; the decision is
  // what snowflake finalized, so report that.
  if (snowflake_.finalized()) return snowflake_.preference();
  return preference_;
}

int Snowball::strength(Choice choice) const {
  assert(snowflake_.knows(choice));
  auto it = strength_.find(choice);
  return it == strength_.end() ? 0 : it->second;
}

void Snowball::check_invariants() const {
  assert(snowflake_.knows(preference_));
  assert(strength(preference_) == strength_max_);
  for (const auto& [choice, strength] : strength_) {
    assert(snowflake_.knows(choice));
    assert(0 < strength && strength <= strength_max_);
  }
}

std::ostream& operator<<(std::ostream& out, const Snowball& snowball) {
  std::ostringstream text;
  text << "SB(Preference = " << snowball.preference_;
  for (Choice choice : snowball.snowflake_.choices())
    text << ", PreferenceStrength[" << choice << "] = " << snowball.strength(choice);
  text << ", " << snowball.snowflake_ << ")";
  return out << text.str();
}

}  // namespace croupier::snowball
