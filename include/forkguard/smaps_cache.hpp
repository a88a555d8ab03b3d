/// @file smaps_cache.hpp
/// @brief The last smaps walk of this process, reused while /proc/self/maps reads the same.
///
/// The exact charge needs each mapping's VmFlags ("ac", "dc"), which only smaps shows, and smaps
/// walks the page tables for Rss: 7.6 ms per call at 1 GiB written, 19 ms at 4 GiB. maps has the
/// same mappings without the walk (tens of microseconds), so a walk is reused while the maps text
/// is byte for byte what it was around that walk, for at most a short age. What maps cannot show,
/// a program's own MADV_DONTFORK/MADV_DOFORK of a whole mapping or a same-range, same-permission
/// replacement by a MAP_NORESERVE mapping, is therefore seen within that age.
#pragma once

#include <atomic>
#include <cstdint>

#include "forkguard/charge.hpp"

namespace forkguard {

/// A fingerprint of a maps text: its length and its 64-bit FNV-1a hash.
struct MapsKey {
  uint64_t len = 0;
  uint64_t hash = 0;
  bool operator==(const MapsKey& o) const { return len == o.len && hash == o.hash; }
};

/// Hashes `maps_path` (e.g. "/proc/self/maps"). 0 on success, -1 with errno when unreadable.
/// Allocation-free, syscalls only.
int read_maps_key(const char* maps_path, MapsKey& out);

/// One cached walk. Thread- and signal-safe by a try-lock: a caller that finds it busy (another
/// thread, or a handler interrupting the holder) simply walks smaps itself.
class SmapsCache {
 public:
  /// constexpr: constant-initialised, so a wrapper running before C++ initialisers finds it ready.
  constexpr explicit SmapsCache(int64_t max_age_ns) : max_age_ns_(max_age_ns) {}

  /// The generation a walk starts under: store() keeps it only if no clear() came in between.
  uint64_t generation() const { return gen_.load(std::memory_order_acquire); }

  /// Copies the cached walk into `out` when it was made under `key`, in the current generation,
  /// at most max_age_ns before `now_ns` (CLOCK_MONOTONIC). False: walk smaps.
  bool lookup(const MapsKey& key, int64_t now_ns, ChargeSummary& out);

  /// Keeps `walk`, made between two reads of maps that both gave `key`, begun at `now_ns` in
  /// generation `gen`.
  void store(const MapsKey& key, int64_t now_ns, uint64_t gen, const ChargeSummary& walk);

  /// Forgets every walk made so far (the library changed mappings' flags where maps does not
  /// show it: the slim fork's MADV_DONTFORK). One atomic add: async-signal-safe, never waits.
  void clear() { gen_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<bool> busy_{false};
  std::atomic<uint64_t> gen_{1};
  uint64_t walk_gen_ = 0;  ///< 0: nothing kept
  MapsKey key_;
  int64_t at_ns_ = 0;
  int64_t max_age_ns_;
  ChargeSummary walk_;
};

}  // namespace forkguard
