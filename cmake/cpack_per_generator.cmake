# @file cpack_per_generator.cmake
# @brief Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE): the Debian package installs
# under /usr; the relocatable tarball holds bin/, lib/ and share/ directly under its top directory.
if(CPACK_GENERATOR STREQUAL "TGZ")
  set(CPACK_PACKAGING_INSTALL_PREFIX "")
endif()
