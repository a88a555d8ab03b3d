# @file exports.cmake
# @brief Symbol hygiene of the shim: the export allow-list and the NEEDED list (exports.sh).
add_test(NAME "exports: libforkguard.so exports exactly the wrappers and needs only libc (and libdl, libpthread)"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/exports.sh $<TARGET_FILE:forkguard_shim>)
set_tests_properties("exports: libforkguard.so exports exactly the wrappers and needs only libc (and libdl, libpthread)"
                     PROPERTIES TIMEOUT 60 LABELS integration)
