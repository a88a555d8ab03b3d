# @file report.cmake
# @brief `forkguard report` (issue 5, items 1-2): its logic as a Catch2 executable of its own
# (cli/report_*.cpp do not belong to the core, so they stay out of forkguard_unit), and the CLI on
# live records and fixtures, the SVG checked well formed and rendered by headless Chromium.
set(FG_REPORT_SOURCES
  ${CMAKE_SOURCE_DIR}/cli/report_model.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_render.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_svg.cpp
  ${CMAKE_SOURCE_DIR}/cli/report_symbolize.cpp
  ${CMAKE_SOURCE_DIR}/cli/humanize.cpp)
add_executable(fg_report_unit ${CMAKE_CURRENT_LIST_DIR}/report_unit.cpp ${FG_REPORT_SOURCES})
set_target_properties(fg_report_unit PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_include_directories(fg_report_unit PRIVATE ${CMAKE_SOURCE_DIR}/cli)
target_link_libraries(fg_report_unit PRIVATE fg_thirdparty Catch2::Catch2 nlohmann_json::nlohmann_json)
target_compile_definitions(fg_report_unit PRIVATE FG_RECORD_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures/records")
catch_discover_tests(fg_report_unit TEST_PREFIX "report unit: " EXTRA_ARGS --warn NoTests)

set(FG_RECORD_FIXTURES ${CMAKE_SOURCE_DIR}/tests/fixtures/records)
foreach(case live fixtures stdin-and-errors svg-render html)
  add_test(NAME "report: ${case}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/report_cli.sh ${case} $<TARGET_FILE:forkguard_cli>
                   $<TARGET_FILE:forkguard-demo> ${FG_RECORD_FIXTURES})
  set_tests_properties("report: ${case}" PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
