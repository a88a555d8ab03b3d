/// @file libgcc_floor.hpp
/// @brief libgcc's unwinder (linked in statically) bound to glibc 2.17's functions: GCC 12's
/// libgcc_eh calls _dl_find_object (glibc 2.35) and, weakly, pthread_once and __pthread_key_create
/// (versioned anew at 2.34). libgcc_floor.cpp defines them hidden inside libforkguard.so, so the
/// link binds libgcc's references there and the library needs no glibc newer than 2.17 for them.
#pragma once

namespace forkguard {

/// Whether libgcc's object lookups go to glibc's own _dl_find_object (2.35 and later: lock-free
/// and async-signal-safe), found once without the loader's lock; where glibc lacks it, the hidden
/// one walks dl_iterate_phdr, as libgcc itself does on such systems. Async-signal-safe.
/// (stack.cpp calls it: that reference is what keeps these definitions in the link, ahead of the
/// libgcc_eh objects whose references they must satisfy.)
bool libgcc_uses_glibc_find_object();

}  // namespace forkguard
