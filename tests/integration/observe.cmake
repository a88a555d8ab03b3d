# @file observe.cmake
# @brief Integration tests of the shim in observe mode (issue 2, item 10): one helper program
# per entry point, run without and with the preload; records checked by fg_test_validate_records.
# Helpers land in <build>/tests/helpers/, each named after what it exercises.

set(FG_HELPER_DIR ${CMAKE_SOURCE_DIR}/tests/helpers)
set(FG_HELPER_OUT ${CMAKE_BINARY_DIR}/tests/helpers)

function(fg_add_helper name source)
  add_executable(${name} ${FG_HELPER_DIR}/${source})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_HELPER_OUT})
endfunction()

fg_add_helper(fg_helper_fork fork.c)
fg_add_helper(fg_helper__Fork _Fork.c)
fg_add_helper(fg_helper_vfork vfork.c)
fg_add_helper(fg_helper_system system.c)
fg_add_helper(fg_helper_popen popen.c)
fg_add_helper(fg_helper_spawn spawn.c)
fg_add_helper(fg_helper_daemon daemon.c)
fg_add_helper(fg_helper_threads threads.c)
target_link_libraries(fg_helper_threads PRIVATE Threads::Threads)
fg_add_helper(fg_helper_closefds closefds.c)
fg_add_helper(fg_helper_dup2 dup2.c)

# A library whose constructor forks and calls system() before the shim's constructor runs,
# and the program that needs it (DT_NEEDED, found through the build RPATH).
add_library(fg_helper_ctor_lib SHARED ${FG_HELPER_DIR}/ctor_lib.c)
set_target_properties(fg_helper_ctor_lib PROPERTIES OUTPUT_NAME fg_helper_ctor LIBRARY_OUTPUT_DIRECTORY ${FG_HELPER_OUT})
fg_add_helper(fg_helper_ctor ctor_main.c)
target_link_libraries(fg_helper_ctor PRIVATE fg_helper_ctor_lib)

add_executable(fg_test_validate_records ${FG_HELPER_DIR}/validate_records.cpp)
set_target_properties(fg_test_validate_records PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_HELPER_OUT})
target_link_libraries(fg_test_validate_records PRIVATE nlohmann_json::nlohmann_json)

set(FG_VALIDATOR $<TARGET_FILE:fg_test_validate_records>)
set(FG_SHIM $<TARGET_FILE:forkguard_shim>)
set(FG_IT ${CMAKE_CURRENT_LIST_DIR})

# fg_observe_entry(<test suffix> <helper target> [validator expectations...] [-- helper args])
function(fg_observe_entry suffix helper)
  set(expect)
  set(rest ${ARGN})
  set(args)
  list(FIND rest "--" dd)
  if(NOT dd EQUAL -1)
    math(EXPR after "${dd} + 1")
    list(SUBLIST rest ${after} -1 args)
    list(SUBLIST rest 0 ${dd} rest)
  endif()
  foreach(e IN LISTS rest)
    list(APPEND expect --expect ${e})
  endforeach()
  add_test(NAME "observe: ${suffix}"
           COMMAND bash ${FG_IT}/observe_entry.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:${helper}> ${expect} ${args})
  set_tests_properties("observe: ${suffix}" PROPERTIES TIMEOUT 120 LABELS integration)
endfunction()

fg_observe_entry("fork behaves identically, 2 valid fork records" fg_helper_fork
  --expect-count 2 --expect-call fork=2 --expect-failures 0)
fg_observe_entry("_Fork behaves identically, 2 valid _Fork records" fg_helper__Fork
  --expect-count 2 --expect-call _Fork=2 --expect-failures 0)
fg_observe_entry("vfork behaves identically, 2 valid vfork records" fg_helper_vfork
  --expect-count 2 --expect-call vfork=2 --expect-failures 0)
fg_observe_entry("system behaves identically, 3 valid system records" fg_helper_system
  --expect-count 3 --expect-call system=3 --expect-failures 0)
fg_observe_entry("popen behaves identically, 4 popen + 3 pclose records, 1 with errno EINVAL" fg_helper_popen
  --expect-count 7 --expect-call popen=4 --expect-call pclose=3 --expect-failures 1 --expect-errno EINVAL=1)
fg_observe_entry("posix_spawn[p] both versions behave identically, 5 records, 1 with errno ENOENT" fg_helper_spawn
  --expect-count 5 --expect-call posix_spawn=3 --expect-call posix_spawnp=2 --expect-failures 1 --expect-errno ENOENT=1)
fg_observe_entry("daemon behaves identically, 1 valid daemon record from the daemon" fg_helper_daemon
  --expect-count 1 --expect-call daemon=1 --expect-failures 0 --expect-field result=0
  -- --wait-line daemon.out "^daemon: running, session leader yes$" -- @DIR@/daemon.out)

# fg_script_test(<name> <timeout> <script> args...)
function(fg_script_test name timeout script)
  add_test(NAME "${name}" COMMAND bash ${FG_IT}/${script} ${ARGN})
  set_tests_properties("${name}" PROPERTIES TIMEOUT ${timeout} LABELS integration)
endfunction()

fg_script_test("observe: text format to a file, one 'forkguard: ' line per fork" 120 observe_text.sh
  ${FG_SHIM} $<TARGET_FILE:fg_helper_fork> 2 fork=2)
fg_script_test("observe: text format to a file, one 'forkguard: ' line per system/popen/pclose" 120 observe_text.sh
  ${FG_SHIM} $<TARGET_FILE:fg_helper_popen> 7 popen=4 pclose=3)
foreach(c IN ITEMS fork:2 vfork:2 spawn:5)
  string(REPLACE ":" ";" c "${c}")
  list(GET c 0 h)
  list(GET c 1 n)
  fg_script_test("observe: FORKGUARD_STACK=0 gives stack [] and still a site (${h})" 120 observe_stack0.sh
    ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_${h}> ${n})
endforeach()
foreach(c fork vfork _Fork)
  fg_script_test("observe: ${c} site is in the helper's main and ASLR-stable" 120 observe_site.sh
    ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_${c}> ${c} 2)
endforeach()
fg_script_test("observe: constructor of a DT_NEEDED library forks and calls system before the shim's" 120 observe_ctor.sh
  ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_ctor>)
fg_script_test("observe: 8 threads x 200 fork+exec give exactly 1600 valid records" 300 observe_threads.sh
  ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_threads>)
fg_script_test("observe: closing every fd neither loses records nor writes into the program's file" 120
  observe_closefds.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_closefds>)
fg_script_test("observe: dup2 over the log fd neither loses records nor writes into the program's file" 120
  observe_dup2.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_dup2>)
fg_script_test("observe: one log file shared by 6 concurrent processes holds only whole JSON lines" 400
  observe_shared.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_threads> $<TARGET_FILE:fg_helper_spawn>
  $<TARGET_FILE:fg_helper_system> $<TARGET_FILE:fg_helper_popen>)
fg_script_test("observe: the record validator rejects every kind of broken record" 180
  validator_selftest.sh ${FG_VALIDATOR})
