#include "domain/batch.hpp"

#include <cassert>

namespace croupier {

std::string_view batch_status_name(BatchStatus s) {
  switch (s) {
    case BatchStatus::created: return "created";
    case BatchStatus::proved: return "proved";
    case BatchStatus::submitted: return "submitted";
    case BatchStatus::confirmed: return "confirmed";
    case BatchStatus::failed: return "failed";
  }
  return "unknown";
}

BatchLifecycle::BatchLifecycle(std::uint32_t max_attempts) : max_attempts_(max_attempts) {
  assert(max_attempts >= 1);
}

void BatchLifecycle::illegal(std::string_view what) const {
  throw BatchTransitionError("illegal batch transition: " + std::string(what) + " from " +
                             std::string(batch_status_name(status_)) + " (attempts " +
                             std::to_string(attempts_) + "/" + std::to_string(max_attempts_) + ")");
}

void BatchLifecycle::prove() {
  if (status_ != BatchStatus::created) illegal("prove");
  status_ = BatchStatus::proved;
}

void BatchLifecycle::submit(std::uint32_t attempt) {
  if (status_ != BatchStatus::proved && status_ != BatchStatus::submitted) illegal("submit");
  if (attempt != attempts_ + 1) illegal("submit attempt " + std::to_string(attempt));
  if (attempt > max_attempts_) illegal("submit beyond the last attempt");
  attempts_ = attempt;
  status_ = BatchStatus::submitted;
}

void BatchLifecycle::confirm(std::uint64_t height) {
  if (status_ != BatchStatus::submitted) illegal("confirm");
  status_ = BatchStatus::confirmed;
  height_ = height;
}

void BatchLifecycle::fail() {
  if (terminal()) illegal("fail");
  status_ = BatchStatus::failed;
}

std::ostream& operator<<(std::ostream& os, const BatchLifecycle& b) {
  os << batch_status_name(b.status_) << " attempts=" << b.attempts_ << "/" << b.max_attempts_;
  if (b.status_ == BatchStatus::confirmed) os << " height=" << b.height_;
  return os;
}

}  // namespace croupier
