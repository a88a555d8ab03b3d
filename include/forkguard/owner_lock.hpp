/// @file owner_lock.hpp
/// @brief A spin lock that records its holder's tid, so that a fork child (where the holder
/// thread does not exist) takes it over instead of spinning for ever, and a thread that already
/// holds it (an atfork handler that forks again) passes straight through.
#pragma once

#include <sys/types.h>

#include <atomic>

namespace forkguard {

class OwnerLock {
 public:
  /// Acquires `word`; returns false (and holds nothing) when the calling thread already held it.
  static bool acquire(std::atomic<pid_t>& word);
  static void release(std::atomic<pid_t>& word) { word.store(0, std::memory_order_release); }
};

/// RAII holder over OwnerLock.
class OwnerLockGuard {
 public:
  explicit OwnerLockGuard(std::atomic<pid_t>& word) : word_(word), held_(OwnerLock::acquire(word)) {}
  ~OwnerLockGuard() {
    if (held_) OwnerLock::release(word_);
  }
  /// False when the calling thread already held the lock (it passed straight through).
  bool held() const { return held_; }
  OwnerLockGuard(const OwnerLockGuard&) = delete;
  OwnerLockGuard& operator=(const OwnerLockGuard&) = delete;

 private:
  std::atomic<pid_t>& word_;
  bool held_;
};

}  // namespace forkguard
