/// @file slim_child.hpp
/// @brief The slim fork's child, before any code of the program runs: zeros mapped again where
/// never-written memory was left out, and the fault handler that writes a record when the child
/// touches what it lacks.
///
/// The library's own pthread_atfork child handler does it. Registered first (from the
/// constructor), it runs before every handler a program registered later, and glibc runs it
/// before fork() returns into our wrapper. It acts only while a slim fork is in progress (armed
/// under the fork turn); a vfork-like child never runs atfork handlers, and the marks are gone
/// before a vfork substitute is tried.
#pragma once

#include <cstdint>

#include "forkguard/slim_plan.hpp"

namespace forkguard {

/// Registers the atfork child handler (once) and remembers the main thread's thread pointer
/// (its descriptor lives in ld.so's TLS block, which glibc's fork child writes). Call from the
/// constructor, which runs in the main thread; later calls only make sure it is registered.
void slim_register_atfork();

/// The main thread's thread pointer, as seen by slim_register_atfork() (0 before).
uintptr_t slim_main_thread_pointer();

/// The static TLS of the modules loaded when slim_register_atfork() first ran in the main thread
/// (their PT_TLS sizes and alignments summed): how far below a thread pointer its TLS reaches.
uintptr_t slim_static_tls_bytes();

/// What the child of the slim fork being made needs; set by slim_child_arm().
struct SlimChildState {
  bool armed = false;
  SlimPlan plan;
  bool zeros_writable = false;   ///< overcommit modes 0 and 1: MAP_NORESERVE is not charged there
  int parent_pagemap = -1;       ///< the parent's /proc/PID/pagemap (the child reads the parent's pages)
  uintptr_t alive_probe = 0;     ///< a page the parent wrote: present while its memory lives
  char site[160] = {};           ///< the fork's call site (module+0xoffset)
  int64_t fork_ns = 0;           ///< CLOCK_MONOTONIC at the fork
  bool parent_single_threaded = false;  ///< no lock of another thread can be held in the child
  // Filled in the child:
  static constexpr int kMaxHoles = 64;
  SlimRegion holes[kMaxHoles];   ///< never-written pages the parent wrote around the fork: no zeros
  int nholes = 0;
  int64_t zeros_kb = 0;          ///< how much was mapped again
};

/// The state the child handler and the fault handler read (one per process: forks take turns).
SlimChildState& slim_child_state();

/// Arms the handler for the fork about to be made. Caller holds the fork turn.
void slim_child_arm(const SlimPlan& plan, int overcommit_mode, int parent_pagemap, uintptr_t alive_probe,
                    const char* site);
/// In the parent after the fork: the handler acts no more.
void slim_child_disarm();

/// The child handler itself (exposed for tests): maps zeros again, installs the fault handler.
/// Async-signal-safe; preserves errno.
void slim_child_after_fork();

/// Maps a private anonymous zero mapping over the free parts of [start, end), never over
/// anything there (MAP_FIXED_NOREPLACE; an address the kernel moved elsewhere is given back).
/// Returns the bytes mapped. Async-signal-safe.
uintptr_t map_zeros_around(uintptr_t start, uintptr_t end, int prot);

}  // namespace forkguard
