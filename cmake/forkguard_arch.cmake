# @file forkguard_arch.cmake
# @brief What differs between the architectures the library is built for: the fork/vfork stubs
# (fork, _Fork, vfork; assembly: a vfork-style child must return on its caller's own stack), the export map, and the
# glibc floor header. Sets FORKGUARD_ARCH (x86_64 | aarch64), FORKGUARD_ARCH_STUBS,
# FORKGUARD_EXPORT_MAP and FORKGUARD_GLIBC_FLOOR (compile options of the core and the shim).
# A cross build names its toolchain file (cmake/aarch64-linux-gnu.cmake); CMAKE_SYSTEM_PROCESSOR
# is then the target's.

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _fg_proc)
if(_fg_proc MATCHES "^(x86_64|amd64)$")
  set(FORKGUARD_ARCH x86_64)
elseif(_fg_proc MATCHES "^(aarch64|arm64)$")
  set(FORKGUARD_ARCH aarch64)
else()
  message(FATAL_ERROR "forkguard: no fork/vfork stubs for ${CMAKE_SYSTEM_PROCESSOR} (x86_64 and aarch64 only)")
endif()

set(FORKGUARD_ARCH_STUBS)
foreach(_fg_stub fork _Fork vfork)
  if(EXISTS ${CMAKE_SOURCE_DIR}/shim/${_fg_stub}_${FORKGUARD_ARCH}.S)
    list(APPEND FORKGUARD_ARCH_STUBS ${CMAKE_SOURCE_DIR}/shim/${_fg_stub}_${FORKGUARD_ARCH}.S)
  else()
    message(WARNING "forkguard: shim/${_fg_stub}_${FORKGUARD_ARCH}.S is missing: ${_fg_stub}() is not intercepted")
  endif()
endforeach()

# The fork-like stubs (fork, _Fork) expand one macro.
set_source_files_properties(${CMAKE_SOURCE_DIR}/shim/fork_${FORKGUARD_ARCH}.S ${CMAKE_SOURCE_DIR}/shim/_Fork_${FORKGUARD_ARCH}.S
  PROPERTIES OBJECT_DEPENDS ${CMAKE_SOURCE_DIR}/shim/fork_stub_${FORKGUARD_ARCH}.inc)

if(FORKGUARD_ARCH STREQUAL "x86_64")
  set(FORKGUARD_EXPORT_MAP ${CMAKE_SOURCE_DIR}/shim/libforkguard.map)
else()
  set(FORKGUARD_EXPORT_MAP ${CMAKE_SOURCE_DIR}/shim/libforkguard_${FORKGUARD_ARCH}.map)
endif()

# Every source of the core and the shim binds libc's moved functions to their glibc 2.17 versions.
set(FORKGUARD_GLIBC_FLOOR "$<$<COMPILE_LANGUAGE:C,CXX>:SHELL:-include ${CMAKE_SOURCE_DIR}/shim/glibc_floor.h>")
