# @file report.cmake
# @brief `forkguard report` (issue 5, items 1-2): its logic as a Catch2 executable of its own
# (cli/report_*.cpp do not belong to the core, so they stay out of forkguard_unit), and the CLI on
# live records and fixtures, the SVG checked well formed and rendered by headless Chromium.
set(FG_REPORT_SOURCES
  ${CMAKE_SOURCE_DIR}/cli/report_model.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_render.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_svg.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_symbolize.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_dwarf.cpp
  ${CMAKE_SOURCE_DIR}/cli/humanize.cpp)
add_executable(fg_report_unit ${CMAKE_CURRENT_LIST_DIR}/report_unit.cpp ${FG_REPORT_SOURCES})
set_target_properties(fg_report_unit PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_include_directories(fg_report_unit PRIVATE ${CMAKE_SOURCE_DIR}/cli)
target_link_libraries(fg_report_unit PRIVATE fg_thirdparty Catch2::Catch2 nlohmann_json::nlohmann_json fg_elfutils)
target_compile_definitions(fg_report_unit PRIVATE FG_RECORD_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures/records")
catch_discover_tests(fg_report_unit TEST_PREFIX "report unit: " EXTRA_ARGS --warn NoTests)

set(FG_RECORD_FIXTURES ${CMAKE_SOURCE_DIR}/tests/fixtures/records)
foreach(case live fixtures stdin-and-errors svg-render html)
  add_test(NAME "report: ${case}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/report_cli.sh ${case} $<TARGET_FILE:forkguard_cli>
                   $<TARGET_FILE:forkguard-demo> ${FG_RECORD_FIXTURES})
  set_tests_properties("report: ${case}" PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()

if(NOT FORKGUARD_SANITIZE)
  # Two builds of one library (same file name, different build ids and layout) and a program that
  # loads either: the report never prints a name or line from the build that did not run.
  foreach(build a b)
    add_library(fg_twin_${build} SHARED ${CMAKE_SOURCE_DIR}/tests/helpers/twin_lib.c)
    set_target_properties(fg_twin_${build} PROPERTIES OUTPUT_NAME fg_twin
                          LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers/twin_${build})
  endforeach()
  target_compile_definitions(fg_twin_b PRIVATE TWIN_B)
  add_executable(fg_helper_twin ${CMAKE_SOURCE_DIR}/tests/helpers/twin.c)
  set_target_properties(fg_helper_twin PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
  target_link_libraries(fg_helper_twin PRIVATE ${CMAKE_DL_LIBS})
  add_test(NAME "report: two builds of one library: names and lines only from the build that ran"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/report_twin.sh $<TARGET_FILE:forkguard_cli> $<TARGET_FILE:forkguard_shim>
                   $<TARGET_FILE:fg_helper_twin> $<TARGET_FILE:fg_twin_a> $<TARGET_FILE:fg_twin_b>
                   $<TARGET_FILE:fg_test_validate_records>)
  set_tests_properties("report: two builds of one library: names and lines only from the build that ran"
                       PROPERTIES TIMEOUT 120 LABELS integration)
endif()
