/// @file test_owner_lock.cpp
/// @brief OwnerLock: exclusive between threads, re-entrant on one thread, taken over by a fork child.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "forkguard/owner_lock.hpp"

// [kernel]: forks while another thread runs (qemu-user may hang there).
TEST_CASE("a fork child takes over a lock its parent's other thread holds", "[owner_lock][concurrency][kernel]") {
  std::atomic<pid_t> word{0};
  std::atomic<bool> held{false}, release{false};
  std::thread holder([&] {
    forkguard::OwnerLockGuard g(word);
    held = true;
    while (!release) std::this_thread::yield();
  });
  while (!held) std::this_thread::yield();
  const pid_t pid = fork();
  if (pid == 0) {
    // The holder thread does not exist here; a plain spin lock would hang for ever.
    const bool got = forkguard::OwnerLock::acquire(word);
    _exit(got ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  release = true;
  holder.join();
  CHECK(word.load() == 0);
}

TEST_CASE("the same thread passes through a lock it holds, others wait", "[owner_lock][concurrency]") {
  std::atomic<pid_t> word{0};
  REQUIRE(forkguard::OwnerLock::acquire(word));
  CHECK_FALSE(forkguard::OwnerLock::acquire(word));  // nested: not acquired again
  std::atomic<int> order{0};
  std::thread other([&] {
    forkguard::OwnerLockGuard g(word);
    order = order == 1 ? 2 : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  order = 1;
  forkguard::OwnerLock::release(word);
  other.join();
  CHECK(order == 2);
}
