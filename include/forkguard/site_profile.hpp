/// @file site_profile.hpp
/// @brief Learning which fork() sites are spawn-like: in observe mode a sampled child tracks the
/// pages it writes (userfaultfd async write-protect + PAGEMAP_SCAN, Linux >= 6.7) and appends one
/// observation to FORKGUARD_PROFILE when it reaches exec, _exit or exit; in mitigate mode a site
/// is "learned" when every observed child reached exec or _exit having written nothing outside
/// its stack, its TLS and the loader's lazy-binding slots.
///
/// Profile format: one line per observation, appended with one write(2) (O_APPEND, far below
/// PIPE_BUF), so any number of processes may add to it at once:
///   fgp1 <site> <outcome exec|_exit|exit> <written pages> <method uffd-wp|exec-only>
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkguard {

enum class LearnMethod { exec_only, uffd_wp };
const char* learn_method_name(LearnMethod m);  ///< "exec-only" | "uffd-wp"

/// What this kernel offers, probed once per process (a throwaway userfaultfd and PAGEMAP_SCAN).
/// exec-only: the outcome is recorded but writes cannot be seen, so such a site is never learned.
LearnMethod learn_method_available();

/// Parent, before a sampled fork: remembers the site and the pages a spawn-like child writes
/// anyway (the thread's TLS, lazy-binding GOT slots, the loader's link maps). Not in a child.
void learn_prepare(const char* site, const char* profile_path, uintptr_t stack_address);
/// Parent, after the fork: the child (if any) has its own copy of what prepare() set.
void learn_parent_done();

/// Child, right after fork: write-protects every private writable mapping but its stack.
/// Only syscalls and fixed buffers (async-signal-safe). No-op unless prepare() ran for it.
void learn_child_start();

/// Child, at exec / _exit / exit: counts written pages, appends the observation once.
void learn_child_finish(const char* outcome);

/// One site's observations.
struct SiteStats {
  int children = 0;
  int spawn_like = 0;  ///< reached exec or _exit, wrote nothing, judged by uffd-wp
  const char* method = nullptr;  ///< "uffd-wp" or "exec-only"; nullptr when nothing was seen
  bool learned() const { return children > 0 && spawn_like == children; }
};

/// Parses profile text. Returns false for a foreign or corrupt text (then nothing is learned).
/// `visit` is called for each observation line.
bool parse_profile(std::string_view text, void (*visit)(std::string_view site, bool spawn_like,
                                                       std::string_view method, void* ctx),
                   void* ctx);

/// Mitigate mode: the statistics of `site` in the profile at `path` (read once per process;
/// a foreign or corrupt file gives one warning and counts as empty).
SiteStats profile_site(const char* path, std::string_view site);

}  // namespace forkguard
