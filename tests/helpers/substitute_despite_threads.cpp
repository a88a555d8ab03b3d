/// @file substitute_despite_threads.cpp
/// @brief Linked only into fg_test_shim_despite_threads, a copy of the library for one test: its
/// vfork substitute runs while other threads live, which the installed library never does, to
/// show that their stores into the forking thread's stack would be undone
/// (mitigate_threads_writes.sh).
extern "C" __attribute__((visibility("hidden"))) bool forkguard_test_substitute_despite_threads() { return true; }
