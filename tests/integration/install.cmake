# @file install.cmake
# @brief A real install (issues 5 and 12): `cmake --install` into a fresh prefix, the CPack .deb
# unpacked into a fresh root, and the relocatable tarball unpacked anywhere; in each the installed
# `forkguard run` finds the installed library and diagnoses the installed demo's refused fork; the
# manual page lists every variable.
foreach(case cmake-install deb tgz)
  add_test(NAME "install: ${case}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install.sh ${case} ${CMAKE_BINARY_DIR} $<TARGET_FILE:forkguard_cli>)
  set_tests_properties("install: ${case}" PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
# cpack runs the install step of the whole build tree: not alongside the other install test.
set_tests_properties("install: deb" PROPERTIES RESOURCE_LOCK forkguard_install)
set_tests_properties("install: cmake-install" PROPERTIES RESOURCE_LOCK forkguard_install)
set_tests_properties("install: tgz" PROPERTIES RESOURCE_LOCK forkguard_install)
