#pragma once
// The settlement batch lifecycle, a pure state machine:
//
//   Created --prove--> Proved --submit(1)--> Submitted --confirm--> Confirmed
//                                            Submitted --submit(n+1)--> Submitted   (retry, n < max)
//   Created | Proved | Submitted --fail--> Failed
//
// Confirmed and Failed are terminal. Anything else throws BatchTransitionError and leaves
// the machine unchanged.

#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace croupier {

enum class BatchStatus : std::uint8_t { created = 1, proved = 2, submitted = 3, confirmed = 4, failed = 5 };
std::string_view batch_status_name(BatchStatus s);

class BatchTransitionError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class BatchLifecycle {
 public:
  explicit BatchLifecycle(std::uint32_t max_attempts = 5);

  void prove();
  // `attempt` must be attempts() + 1 and at most max_attempts.
  void submit(std::uint32_t attempt);
  void confirm(std::uint64_t height);
  void fail();

  BatchStatus status() const { return status_; }
  std::uint32_t attempts() const { return attempts_; }
  std::uint32_t max_attempts() const { return max_attempts_; }
  std::uint64_t confirmed_height() const { return height_; }
  bool terminal() const { return status_ == BatchStatus::confirmed || status_ == BatchStatus::failed; }

  template <class A> void serialize(A& ar) { ar(status_, attempts_, max_attempts_, height_); }
  friend bool operator==(const BatchLifecycle&, const BatchLifecycle&) = default;
  friend std::ostream& operator<<(std::ostream& os, const BatchLifecycle& b);

 private:
  [[noreturn]] void illegal(std::string_view what) const;
  BatchStatus status_ = BatchStatus::created;
  std::uint32_t attempts_ = 0;      // Submissions so far.
  std::uint32_t max_attempts_ = 5;  // Submissions allowed before the batch must fail.
  std::uint64_t height_ = 0;        // Block height of the confirming block.
};

}  // namespace croupier
