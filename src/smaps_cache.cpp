/// @file smaps_cache.cpp
/// @brief The last smaps walk of this process, reused while /proc/self/maps reads the same.
#include "forkguard/smaps_cache.hpp"

#include "forkguard/probe.hpp"

namespace forkguard {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void hash_chunk(const char* data, size_t len, void* ctx) {
  auto* key = static_cast<MapsKey*>(ctx);
  uint64_t h = key->hash;
  for (size_t i = 0; i < len; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * kFnvPrime;
  key->hash = h;
  key->len += len;
}

}  // namespace

int read_maps_key(const char* maps_path, MapsKey& out) {
  out = MapsKey{0, kFnvOffset};
  return stream_file(maps_path, &hash_chunk, &out);
}

bool SmapsCache::lookup(const MapsKey& key, int64_t now_ns, ChargeSummary& out) {
  if (busy_.exchange(true, std::memory_order_acquire)) return false;
  const bool hit = walk_gen_ == generation() && key_ == key && now_ns >= at_ns_ && now_ns - at_ns_ <= max_age_ns_;
  if (hit) out = walk_;
  busy_.store(false, std::memory_order_release);
  return hit;
}

void SmapsCache::store(const MapsKey& key, int64_t now_ns, uint64_t gen, const ChargeSummary& walk) {
  if (gen != generation()) return;                              // cleared while it walked
  if (busy_.exchange(true, std::memory_order_acquire)) return;  // another caller's walk will do
  key_ = key;
  at_ns_ = now_ns;
  walk_ = walk;
  walk_gen_ = gen;  // a clear() from here on makes it stale: lookup compares generations
  busy_.store(false, std::memory_order_release);
}

}  // namespace forkguard
