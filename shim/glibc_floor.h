/* @file glibc_floor.h
 * @brief The glibc floor of libforkguard.so (2.17): force-included (-include) into every source
 * of the core and the shim, it binds each libc function whose default version is newer than
 * GLIBC_2.17 to the version glibc 2.17 had. The build machine's headers and libc.so.6 are newer:
 * without this, the linker takes the newest version (dlopen@GLIBC_2.34, pthread_sigmask@GLIBC_2.32)
 * and the library no longer loads on RHEL 8, Debian 11 or CentOS 7.
 *
 * Why these are safe: each symbol here is the same function under two versions. glibc 2.32-2.34
 * moved it from libdl.so.2, libpthread.so.0 or librt.so.1 into libc.so.6 and gave it a new default
 * version there, keeping the old one as a compat symbol. An old version binds on any glibc: on 2.34
 * and later to libc's compat symbol, before that to the library that held the function, which is
 * why libforkguard.so names libdl.so.2 and libpthread.so.0 in DT_NEEDED (CMakeLists.txt).
 * Functions whose versions differ in behaviour (glob, fmemopen, quick_exit) are not listed.
 *
 * A .symver on a symbol a file does not use emits nothing, so the list may be longer than what
 * the library uses today. A symbol not listed here that the library starts to use with a newer
 * version fails the floor test (tests/integration/portability.cmake), which names it: add it here
 * when it is one of those moved functions, or look it up at run time (shim/real.hpp, optional
 * features) when glibc 2.17 did not have it at all. fstat (2.33) has no older version: the shim
 * defines it (shim/libc_nonshared.cpp), as old glibcs' libc_nonshared.a did.
 */
#ifndef FORKGUARD_GLIBC_FLOOR_H
#define FORKGUARD_GLIBC_FLOOR_H

#if defined(__x86_64__) && !defined(__ILP32__)
#define FG_V2_2_5 "GLIBC_2.2.5"
#define FG_V2_3_3 "GLIBC_2.3.3"
#define FG_V2_3_4 "GLIBC_2.3.4"
#define FG_V2_12 "GLIBC_2.12"
#elif defined(__aarch64__)
/* aarch64's first glibc was 2.17: every old version is GLIBC_2.17. */
#define FG_V2_2_5 "GLIBC_2.17"
#define FG_V2_3_3 "GLIBC_2.17"
#define FG_V2_3_4 "GLIBC_2.17"
#define FG_V2_12 "GLIBC_2.17"
#else
#error "forkguard: the glibc floor is defined for x86_64 and aarch64 only"
#endif

#define FG_SYMVER(sym, ver) __asm__(".symver " #sym "," #sym "@" ver);

/* libdl.so.2 before glibc 2.34 */
FG_SYMVER(dladdr, FG_V2_2_5)
FG_SYMVER(dladdr1, FG_V2_3_3)
FG_SYMVER(dlclose, FG_V2_2_5)
FG_SYMVER(dlerror, FG_V2_2_5)
FG_SYMVER(dlinfo, FG_V2_3_3)
FG_SYMVER(dlmopen, FG_V2_3_4)
FG_SYMVER(dlopen, FG_V2_2_5)
FG_SYMVER(dlsym, FG_V2_2_5)
FG_SYMVER(dlvsym, FG_V2_2_5)

/* libpthread.so.0 before glibc 2.32 / 2.34. Not pthread_once and __pthread_key_create: the core
   defines them itself, hidden, as forwarders to these same old versions for libgcc_eh
   (src/libgcc_floor.cpp); a .symver here would rename those definitions into self-calls. */
FG_SYMVER(__pthread_register_cancel, FG_V2_3_3)
FG_SYMVER(__pthread_unregister_cancel, FG_V2_3_3)
FG_SYMVER(__pthread_unwind_next, FG_V2_3_3)
FG_SYMVER(pthread_attr_getguardsize, FG_V2_2_5)
FG_SYMVER(pthread_attr_getstack, FG_V2_2_5)
FG_SYMVER(pthread_attr_getstacksize, FG_V2_2_5)
FG_SYMVER(pthread_attr_setstacksize, FG_V2_2_5)
FG_SYMVER(pthread_cancel, FG_V2_2_5)
FG_SYMVER(pthread_create, FG_V2_2_5)
FG_SYMVER(pthread_detach, FG_V2_2_5)
FG_SYMVER(pthread_getattr_np, FG_V2_2_5)
FG_SYMVER(pthread_getname_np, FG_V2_12)
FG_SYMVER(pthread_getspecific, FG_V2_2_5)
FG_SYMVER(pthread_join, FG_V2_2_5)
FG_SYMVER(pthread_key_create, FG_V2_2_5)
FG_SYMVER(pthread_key_delete, FG_V2_2_5)
FG_SYMVER(pthread_kill, FG_V2_2_5)
FG_SYMVER(pthread_mutex_trylock, FG_V2_2_5)
FG_SYMVER(pthread_mutexattr_destroy, FG_V2_2_5)
FG_SYMVER(pthread_mutexattr_init, FG_V2_2_5)
FG_SYMVER(pthread_mutexattr_settype, FG_V2_2_5)
FG_SYMVER(pthread_rwlock_rdlock, FG_V2_2_5)
FG_SYMVER(pthread_rwlock_unlock, FG_V2_2_5)
FG_SYMVER(pthread_rwlock_wrlock, FG_V2_2_5)
FG_SYMVER(pthread_setspecific, FG_V2_2_5)
FG_SYMVER(pthread_sigmask, FG_V2_2_5)
FG_SYMVER(pthread_spin_lock, FG_V2_2_5)
FG_SYMVER(pthread_spin_unlock, FG_V2_2_5)
FG_SYMVER(sem_destroy, FG_V2_2_5)
FG_SYMVER(sem_init, FG_V2_2_5)
FG_SYMVER(sem_post, FG_V2_2_5)
FG_SYMVER(sem_wait, FG_V2_2_5)

/* Not librt.so.1 (timer_*, mq_*, shm_*): the library does not name it in DT_NEEDED, so on glibc
   before 2.34 those would not be found; the fork path arms its timer with the raw system call. */

#undef FG_SYMVER

#endif /* FORKGUARD_GLIBC_FLOOR_H */
