# @file aarch64-linux-gnu.cmake
# @brief Cross-build for 64-bit ARM with Debian's toolchain (g++-aarch64-linux-gnu) and its arm64
# multiarch libraries (dpkg --add-architecture arm64; libunwind-dev:arm64, libstdc++6:arm64):
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build-aarch64 -j2
# scripts/install-deps.sh --aarch64 installs what it needs. The unit tests run under qemu-user
# (qemu-aarch64-static, the emulator below); the tests that need an aarch64 kernel run in a guest
# (scripts/vm-test --arch aarch64). Header-only dependencies (Catch2, CLI11, nlohmann-json,
# spdlog, fmt) are architecture-independent and come from /usr/include and /usr/share.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# Debian multiarch: no separate sysroot. Programs (gzip, qemu) are the build machine's; libraries
# are looked up in the aarch64 directories first (CMAKE_LIBRARY_ARCHITECTURE); CMake package
# configurations of header-only packages live in the shared /usr/lib/cmake and /usr/share.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# ctest runs the target's test executables (and Catch2's test discovery) under user-mode QEMU;
# no binfmt registration is needed. The programs run with the multiarch loader and libc
# (/lib/ld-linux-aarch64.so.1, libc6:arm64). Never `-L /usr/aarch64-linux-gnu` as well: that
# loader (libc6-arm64-cross) with the multiarch libc.so.6 it then finds is a mismatched pair, and
# the first pthread_create or fork loops forever in glibc's stack cache.
find_program(FORKGUARD_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(FORKGUARD_QEMU_AARCH64)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${FORKGUARD_QEMU_AARCH64})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${FORKGUARD_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
  endif()
endif()
