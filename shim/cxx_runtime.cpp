/// @file cxx_runtime.cpp
/// @brief The C++ runtime pieces the library uses, without exceptions. libstdc++'s own operator
/// new throws std::bad_alloc, which links in its exception support and, through it, libgcc's
/// unwinder (unwind-dw2-fde-dip.o), whose _dl_find_object needs GLIBC_2.35 and whose emergency
/// pool every exec'd child would set up. The library is built with -fno-exceptions and only ever
/// allocates with new (std::nothrow), so these definitions are all it needs. The version script
/// (shim/libforkguard.map) keeps them local: the host program's operator new stays its own.
#include <cstdlib>
#include <new>

void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n != 0 ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n != 0 ? n : 1); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
