#pragma once
// Snowflake and snowball: one decision among caller-numbered choices, reached by repeated
// polls of k sampled validators. A port of avalanchego's snow/consensus/snowball n-ary
// snowflake and snowball in their multi-threshold form (nnary_snowflake.go,
// nnary_snowball.go, parameters.go at d27ad13), kept as close to it as C++ allows so its
// tests port one for one (tests/domain/snowball_test.cpp).
//
// Vocabulary, used with one meaning each:
//   poll        the answer of k sampled validators; `count` is how many of them voted for
//               the poll's `choice` (the most voted one).
//   successful  count >= alpha_preference: the poll may move the preference.
//   confidence  per termination condition, the number of consecutive successful polls for
//               the current preference that each reached that condition's alpha_confidence.
//   finalized   some confidence[i] reached terminations[i].beta: the decision is final.
//
// Deliberate differences from avalanchego, both where its own tests don't look:
//   - A finalized Snowflake ignores record_unsuccessful_poll too. avalanchego's
//     RecordUnsuccessfulPoll zeroes the counters even after finalization (while RecordPoll
//     with count 0 does not), so a trace would show "finalized, confidence [0]". Here the
//     counters freeze with the decision, and finalized() <=> some confidence[i] >= beta_i.
//   - Polling a choice that was never add()ed is a programmer error (asserted);
//     avalanchego's Consensus interface states the same precondition but doesn't check it.
// Everything else, including Snowball counting strength after finalization
// (TestBinarySnowballLockColor pins that), is avalanchego's behaviour.

#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace croupier::snowball {

// An index the caller assigns to each option being decided; this module never interprets it.
using Choice = std::uint32_t;

// One way to finalize: beta consecutive successful polls that each got at least
// alpha_confidence votes for the preference.
struct Termination {
  int alpha_confidence;  // votes out of k; alpha_preference <= alpha_confidence <= k.
  int beta;              // consecutive polls; 0 < beta.
};

// Intentionally copyable plain data; check it with validate() before building an instance.
struct Parameters {
  int k;                                  // validators sampled per poll.
  int alpha_preference;                   // votes out of k that make a poll successful.
  std::vector<Termination> terminations;  // ascending alpha_confidence, non-increasing beta.
};

// Every validation message starts with this, as avalanchego's wrap ErrParametersInvalid;
// tests and callers match on it rather than on the whole sentence.
inline constexpr std::string_view kParametersInvalid = "parameters invalid";

// Returns nullopt if `parameters` describe a valid instance, else one message for the first
// condition broken, checked in this order:
//   0 < len(terminations)
//   k/2 < alpha_preference                    (integer division, as in Go)
//   0 < alpha_preference                      (implied by the rest when k is present)
//   for each i, in index order:
//     alpha_preference <= terminations[i].alpha_confidence
//     terminations[i].alpha_confidence <= k
//     0 < terminations[i].beta
//     terminations[i-1].alpha_confidence < terminations[i].alpha_confidence
//     terminations[i-1].beta >= terminations[i].beta
// The message reads "parameters invalid: <the values>: fails the condition that: <condition>",
// e.g. "parameters invalid: k = 2, alpha_preference = 1: fails the condition that:
// k/2 < alpha_preference".
[[nodiscard]] std::optional<std::string> validate(const Parameters& parameters);

// As validate(), skipping the two conditions that mention k. An instance never reads k (only
// the caller, who samples k validators, does), so this is exactly what an instance requires.
[[nodiscard]] std::optional<std::string> validate_ignoring_k(const Parameters& parameters);

// Snowflake: preference is the choice of the last successful poll (slush); confidence counts
// consecutive successful polls for it per termination condition.
//
// Invariants (checked after every transition):
//   len(confidence) == len(terminations)
//   0 <= confidence[i]; confidence[i] >= confidence[i+1] while not finalized
//   not finalized => confidence[i] < terminations[i].beta for every i
//   finalized     => confidence[i] >= terminations[i].beta for some i
//   preference is a known choice
//
// Not thread-safe; a plain value, intentionally copyable (simulations fork instances).
class Snowflake {
 public:
  // Requires validate_ignoring_k(parameters) == nullopt (asserted). `initial` becomes the
  // first known choice and the preference.
  Snowflake(const Parameters& parameters, Choice initial);

  // Makes `choice` known, so that polls may name it. Idempotent, and allowed after
  // finalization (it changes no decision), as avalanchego's Add.
  void add(Choice choice);

  // Records a poll in which `count` of the k sampled validators voted for `choice`.
  // Requires 0 <= count and a known choice (asserted). No effect once finalized.
  //   count < alpha_preference: as record_unsuccessful_poll().
  //   otherwise: a change of preference zeroes every counter; then choice becomes the
  //   preference and, for i ascending while count >= terminations[i].alpha_confidence,
  //   confidence[i] grows by one, finalizing (and stopping) as soon as it reaches beta_i;
  //   the counters of the conditions not reached are zeroed.
  void record_poll(int count, Choice choice);

  // Zeroes every confidence counter; no effect once finalized (see the header comment).
  void record_unsuccessful_poll();

  [[nodiscard]] Choice preference() const { return preference_; }
  [[nodiscard]] bool finalized() const { return finalized_; }
  // One counter per termination condition, in the order of Parameters::terminations.
  [[nodiscard]] const std::vector<int>& confidence() const { return confidence_; }
  [[nodiscard]] int alpha_preference() const { return alpha_preference_; }
  // The known choices, ascending.
  [[nodiscard]] const std::set<Choice>& choices() const { return choices_; }
  [[nodiscard]] bool knows(Choice choice) const { return choices_.contains(choice); }

 private:
  void check_invariants() const;

  int alpha_preference_;                   // votes out of k.
  std::vector<Termination> terminations_;  // as validated; never changes.
  std::set<Choice> choices_;               // every choice added, the initial one included.
  Choice preference_;                      // choice of the last successful poll.
  std::vector<int> confidence_;            // consecutive polls, one per termination.
  bool finalized_ = false;                 // once true, never false again.
};

// Snowball: a Snowflake plus, per choice, the total number of successful polls that named it
// (its strength). Its own preference moves to a choice only when that choice's strength
// becomes strictly greater than every other's, so ties keep the older preference.
// preference() reports the snowflake's choice once finalized, as avalanchego does: the two
// can differ, with low probability, when snowflake finalizes.
//
// Invariants (checked after every transition):
//   strength_max == max over choices of strength(choice)
//   strength(snowball preference) == strength_max
//
// Not thread-safe; a plain value, intentionally copyable.
class Snowball {
 public:
  // Requires validate_ignoring_k(parameters) == nullopt (asserted).
  Snowball(const Parameters& parameters, Choice initial);

  void add(Choice choice);  // as Snowflake::add.

  // A successful poll (count >= alpha_preference) adds one to the choice's strength, even
  // once finalized (as avalanchego; it no longer changes preference()); then the poll goes
  // to the snowflake. Requires 0 <= count and a known choice (asserted).
  void record_poll(int count, Choice choice);
  void record_unsuccessful_poll();  // as Snowflake's; strengths are totals, never reset.

  [[nodiscard]] Choice preference() const;
  [[nodiscard]] bool finalized() const { return snowflake_.finalized(); }
  [[nodiscard]] const std::vector<int>& confidence() const { return snowflake_.confidence(); }
  // Successful polls that named `choice`, over the instance's life. Requires a known choice.
  [[nodiscard]] int strength(Choice choice) const;
  // The wrapped snowflake, whose preference is the last successful poll's choice.
  [[nodiscard]] const Snowflake& snowflake() const { return snowflake_; }

  friend std::ostream& operator<<(std::ostream& out, const Snowball& snowball);

 private:
  void check_invariants() const;

  Snowflake snowflake_;
  Choice preference_;               // strongest choice; ties keep the earlier one.
  int strength_max_ = 0;            // successful polls; max of strength_.
  std::map<Choice, int> strength_;  // successful polls per choice; absent means 0.
};

// Renders the state as avalanchego's String() does, for doctest failure messages:
//   SF(Confidence = [2 1 0], Finalized = false, SL(Preference = 1))
//   SB(Preference = 1, PreferenceStrength[0] = 1, PreferenceStrength[1] = 3, SF(...))
// Snowball lists every known choice's strength, ascending by choice.
std::ostream& operator<<(std::ostream& out, const Snowflake& snowflake);
std::ostream& operator<<(std::ostream& out, const Snowball& snowball);

// What every variant offers; avalanchego's Nnary interface. Each variant is checked against
// it below, as Go's `var _ Nnary = (*nnarySnowflake)(nil)`.
template <class T>
concept Nnary = std::copyable<T> &&
                requires(T instance, const T& view, Choice choice, int count, std::ostream& out) {
                  instance.add(choice);
                  instance.record_poll(count, choice);
                  instance.record_unsuccessful_poll();
                  { view.preference() } -> std::same_as<Choice>;
                  { view.finalized() } -> std::same_as<bool>;
                  { view.confidence() } -> std::same_as<const std::vector<int>&>;
                  { out << view } -> std::same_as<std::ostream&>;
                };

static_assert(Nnary<Snowflake>);
static_assert(Nnary<Snowball>);

}  // namespace croupier::snowball
