/// @file got_patch.hpp
/// @brief Re-pointing what a loaded shared object imports: each relocation that binds one of its
/// undefined symbols (PLT and GOT slots, absolute pointers) is judged by the symbol's name, and
/// the caller's replacements are written into those slots (the RELRO page made writable around the
/// write). Meant for a dependency the library loads RTLD_LOCAL for itself (libunwind).
#pragma once

namespace forkguard {

/// A policy's answer for an import it knows to be harmless: left bound where ld.so bound it.
inline void* const kKeepImport = reinterpret_cast<void*>(1);

/// For one imported name: the function to call instead, kKeepImport, or nullptr (unknown).
using ImportPolicy = void* (*)(const char* name);

/// Applies `policy` to every import of the loaded object that holds the address `inside` (one of
/// its functions). All or nothing: false, with nothing written, when one import is unknown, a
/// relocation that binds a replaced name is of a kind not understood, or a slot cannot be made
/// writable; then `refused` (when given) names the import or the reason. Takes ld.so's lock
/// (dl_iterate_phdr): never from a signal handler.
bool redirect_imports(const void* inside, ImportPolicy policy, const char** refused = nullptr);

}  // namespace forkguard
