/// @file advice.hpp
/// @brief What would make a refused fork fit: by how much its charge must shrink, the largest
/// accountable mappings with their resident and swapped sizes, what a slim fork would leave out of
/// each (never-written memory first, written memory only while the kernel's rule still refuses)
/// and whether that is enough. Shared by `forkguard check` and the refused call's record.
///
/// The slim fork's choice is modelled here from smaps and pagemap, following its rule
/// (slim_fork.hpp): whole never-written mappings, then the never-written runs of partly written
/// ones, then written pieces largest first. Fixed sizes, no allocation: usable in the parent right
/// after a refused fork.
#pragma once

#include <cstdint>

#include "forkguard/commit_rule.hpp"
#include "forkguard/probe.hpp"

namespace forkguard {

struct MappingAdvice {
  uint64_t start = 0, end = 0;
  int64_t size_kb = 0;
  int64_t rss_kb = -1, swap_kb = -1;  ///< -1 when smaps did not say
  int64_t slim_kb = 0;                ///< what a slim fork would leave out of it
  int64_t slim_written_kb = 0;        ///< of which written (the child would have nothing there)
  char path[96] = {};                 ///< "[anon]" for an anonymous mapping, cut when longer
};

/// Where the fork would be made from, and FORKGUARD_SLIM_MIN.
struct AdviceLimits {
  int64_t slim_min_kb = 64 * 1024;  ///< the smallest mapping or never-written run left out
  /// An address on the forking thread's stack: its mapping stays whole. 0: the main thread
  /// (whose stack is "[stack]", never left out), as for `check PID`.
  uintptr_t keep_address = 0;
  /// The forking thread's thread pointer: the written pages of the mapping holding it stay.
  uintptr_t tls_address = 0;
  int max_split = 16;  ///< at most this many mappings are split by one fork
};

/// One mapping a slim fork may take memory from, and a range it takes.
struct SlimCandidate {
  uint64_t start = 0, end = 0;
  bool never_written = false;  ///< nothing resident, nothing swapped (smaps Rss + Swap = 0)
  bool keep_written = false;   ///< above a guard page (a thread stack?) or holding the TCB: written pages stay
  int first_run = 0, nruns = 0;  ///< its never-written runs in Advice::runs
};
struct SlimRange {
  uint64_t start = 0, end = 0;
  bool written = false;
};

struct Advice {
  /// Mode 2: how much the charge must shrink; mode 0: how much the largest accountable mapping
  /// must (every one must be at most RAM + swap). 0: the fork fits; -1: cannot tell.
  int64_t shrink_kb = -1;
  int64_t charge_kb = 0;   ///< the exact charge (smaps)
  int64_t largest_kb = 0;  ///< the largest accountable mapping
  static constexpr int kTop = 5;
  MappingAdvice top[kTop];  ///< the largest accountable mappings, largest first
  int ntop = 0;
  int64_t slim_kb = 0;          ///< what a slim fork would leave out, over all mappings
  int64_t slim_written_kb = 0;  ///< of which written: only because the rule required it
  int slim_mappings = 0;        ///< how many mappings would lose memory
  int64_t slim_kept_largest_kb = 0;  ///< the largest accountable mapping (or piece) it would keep
  CommitVerdict slim;                ///< the kernel's verdict on what it would keep
  const char* slim_written_rule = nullptr;  ///< why written memory had to go; nullptr: none did
  /// More mappings or runs than the model holds, or a mapping's pages could not be read: a slim
  /// fork might leave out more never-written memory than said.
  bool slim_partial = false;
  bool enough() const { return slim.verdict == Verdict::ok; }

  // The slim fork's view, filled by advice_add()/advice_add_run(), chosen by advice_finish().
  static constexpr int kMaxCandidates = 32, kMaxRuns = 64, kMaxChosen = 64;
  SlimCandidate cand[kMaxCandidates];
  int ncand = 0;
  SlimRange runs[kMaxRuns];  ///< never-written runs inside partly written candidates
  int nruns = 0;
  SlimRange chosen[kMaxChosen];  ///< what the slim fork would leave out
  int nchosen = 0;
  int64_t other_largest_kb = 0;  ///< the largest charged mapping that is not a candidate
};

/// Whether a slim fork may take memory from `v` at all: charged, private, writable, anonymous
/// (not the heap, a stack or a file), at least FORKGUARD_SLIM_MIN, not the forking thread's stack,
/// not a glibc arena heap (allocator free space the child's malloc writes next).
bool slim_may_take(const Vma& v, const AdviceLimits& lim);

/// Feeds one VMA with its Rss and Swap (kB, -1 unknown); `after_guard`: it starts right where a
/// ---p private mapping ends. Returns the candidate's index when it is partly written and its
/// never-written runs are wanted (advice_add_run, right after), else -1. Pure: tests use it.
int advice_add(Advice& a, const Vma& v, int64_t rss_kb, int64_t swap_kb, const AdviceLimits& lim,
               bool after_guard = false);
/// A never-written run [start, end) inside candidate `c` (kept only when at least
/// FORKGUARD_SLIM_MIN and below the mapping's top 16 KiB, which a slim fork never leaves out).
void advice_add_run(Advice& a, int c, uint64_t start, uint64_t end, const AdviceLimits& lim);
/// Chooses what a slim fork would leave out and completes `a` against the commit rule: `in` gives
/// the system's figures; its charge and largest mapping are replaced by the walk's.
void advice_finish(Advice& a, CommitInputs in, const AdviceLimits& lim);

/// Walks `smaps_path` (e.g. "/proc/self/smaps") into `a`, finds the never-written runs of partly
/// written candidates through `pagemap_path` (nullptr: none are looked for) and finishes it.
/// 0, or -1 with errno (smaps unreadable).
int advise_from_proc(const char* smaps_path, const char* pagemap_path, const CommitInputs& in,
                     const AdviceLimits& lim, Advice& a);

}  // namespace forkguard
