/// @file slim_plan.hpp
/// @brief What a slim fork leaves out of the child: never-written memory first (the child gets
/// zeros there, uncharged), written memory only when the kernel's rule still refuses, largest
/// first and only as much as needed.
///
/// Two steps. The layout (slow: a smaps walk and a never-written scan of the large mappings) lists
/// the mappings that may lose memory and their never-written runs; it is cached while the
/// process's layout is unchanged. The choice (fast, no system call) picks from a layout the
/// regions for one fork, given the calling thread's stack and the commit picture of the moment.
#pragma once

#include <cstdint>

#include "forkguard/commit_rule.hpp"
#include "forkguard/probe.hpp"

namespace forkguard {

/// A range left out of the child. `written`: it held data (excluded only because the commit rule
/// required it): the child has nothing there. Otherwise the child gets zeros there.
struct SlimRegion {
  uintptr_t start = 0, end = 0;
  bool written = false;
  bool executable = false;  ///< the mapping was PROT_EXEC too (the child's zeros are too)
};

/// One mapping that may lose memory (private, anonymous, charged, at least FORKGUARD_SLIM_MIN).
struct SlimMapping {
  uintptr_t start = 0, end = 0;
  int first_run = 0, nruns = 0;  ///< its never-written runs in SlimLayout::runs
  bool never_written = false;    ///< nothing resident, nothing swapped (smaps Rss + Swap = 0)
  bool keep_written = false;     ///< its written pages never leave: perhaps a thread stack (above a guard)
  bool executable = false;
};

/// The process's mappings as a slim fork sees them. Fixed size: usable on the fork path.
struct SlimLayout {
  static constexpr int kMaxMappings = 64;
  static constexpr int kMaxRuns = 256;
  SlimMapping maps[kMaxMappings];
  int nmaps = 0;
  SlimRegion runs[kMaxRuns];  ///< never-written runs inside partly written mappings (>= min_kb each)
  int nruns = 0;
  /// Written pages here never leave: the loaded objects' .bss (the kernel merges a library's
  /// .bss with an anonymous mapping right above it: a library dlopen'ed late, such as libunwind,
  /// lands right below the program's large mappings). Filled for this process only.
  static constexpr int kMaxKeep = 32;
  SlimRegion keep[kMaxKeep];
  int nkeep = 0;
  int64_t charge_kb = 0;         ///< what a full fork is charged (every accountable mapping)
  int64_t other_largest_kb = 0;  ///< the largest charged mapping that is not in `maps`
  bool truncated = false;        ///< more candidates than fit (the rest stay in the child)
  bool walk_changed = false;     ///< the layout changed during the walk (a repeated mapping stayed; not reused)
};

/// What must stay, and the rule's inputs.
struct SlimLimits {
  int64_t min_kb = 64 * 1024;  ///< FORKGUARD_SLIM_MIN: the smallest run or mapping excluded
  /// An address on the calling thread's stack: its mapping stays whole, since the child's calls
  /// may go deeper than the parent's ever did.
  uintptr_t keep_address = 0;
  /// The calling thread's and the main thread's thread pointers. The main thread's static TLS and
  /// descriptor lie in ld.so's own allocations, an anonymous mapping the kernel may merge with a
  /// large neighbour the program maps later (below it): in the mapping that holds a thread
  /// pointer, written pages from `tls_keep_below` bytes under it up to the mapping's end never
  /// leave (the TLS blocks lie below the pointer, the descriptor and ld.so's data above it).
  uintptr_t tls_address = 0;
  uintptr_t main_tp = 0;
  uintptr_t tls_keep_below = 1 << 20;
  /// At most this many mappings are split by one fork (each split adds a VMA towards
  /// vm.max_map_count and slows every later fork); whole mappings do not count.
  int max_split = 16;
};

/// The regions chosen for one fork and what they do to its charge.
struct SlimPlan {
  static constexpr int kMax = 64;
  SlimRegion regions[kMax];
  int n = 0;
  int64_t excluded_kb = 0;          ///< all excluded memory
  int64_t excluded_written_kb = 0;  ///< of which written (the child has nothing there)
  int mappings = 0;                 ///< how many mappings lost memory
  int64_t remaining_charge_kb = 0;   ///< charge of the fork with the plan applied
  int64_t remaining_largest_kb = 0;  ///< largest charged VMA left (mode 0's rule)
  Verdict verdict = Verdict::unknown;  ///< the kernel's rule on what remains
  /// Why written memory had to go (the rule that still refused without it); nullptr when none did.
  const char* written_rule = nullptr;
};

/// Whether one VMA may lose memory at all (pure: unit tested on parsed smaps text).
bool slim_candidate(const Vma& v, const SlimLimits& limits);

/// Builds the layout from `smaps_path` (normally /proc/self/smaps), finding never-written runs
/// inside partly written candidates through `pagemap_fd` (/proc/self/pagemap). `also`, when
/// given, sees every VMA of the walk too. 0, or -1 with errno.
int build_slim_layout(const char* smaps_path, int pagemap_fd, const SlimLimits& limits, SlimLayout& layout,
                      void (*also)(const Vma& v, void* ctx) = nullptr, void* also_ctx = nullptr);

/// Splits each written region of `plan` into its written runs and its never-written runs (of at
/// least 1 MiB, as room in the plan allows), read through `pagemap_fd` now: when written memory
/// must go, the never-written memory inside it (a reservation below FORKGUARD_SLIM_MIN, say)
/// still comes back as zeros in the child. A region that cannot be scanned stays written.
void split_never_written(SlimPlan& plan, int pagemap_fd);

/// Adds to `layout.keep` the .bss of every object loaded in this process that lies in one of its
/// mappings (dl_iterate_phdr: in the parent, never in a fork child).
void add_loaded_bss(SlimLayout& layout);

/// Chooses the regions for one fork: never-written runs and mappings (leaving out the caller's
/// stack mapping and the top 16 KiB of every mapping), then, while `rule` (the commit picture;
/// its charge and largest mapping are replaced by what remains) still refuses in mode 0 or 2,
/// written pieces largest first. Pure: no system call.
void choose_slim_regions(const SlimLayout& layout, const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan);

}  // namespace forkguard
