/// @file owner_lock.cpp
/// @brief OwnerLock: a tid-recording spin lock that survives fork.
#include "forkguard/owner_lock.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace forkguard {

bool OwnerLock::acquire(std::atomic<pid_t>& word) {
  const auto me = static_cast<pid_t>(syscall(SYS_gettid));
  for (;;) {
    pid_t holder = 0;
    if (word.compare_exchange_weak(holder, me, std::memory_order_acquire)) return true;
    if (holder == me) return false;  // re-entered on the same thread: already ours
    // A holder that is no thread of this process (we are a fork child) will never release it.
    if (holder != 0 && syscall(SYS_tgkill, getpid(), holder, 0) != 0) {
      if (word.compare_exchange_weak(holder, me, std::memory_order_acquire)) return true;
      continue;
    }
    sched_yield();
  }
}

}  // namespace forkguard
