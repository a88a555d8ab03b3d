# CLI tests: `forkguard run` (exit status, LD_PRELOAD, settings), `check` (verdict, errors), help texts.
# Each case is one invocation of a small bash script under tests/integration/.
set(FG_CLI_SCRIPTS ${CMAKE_CURRENT_LIST_DIR})

foreach(case status preload nested settings command-options not-found not-executable usage)
  add_test(NAME "cli: run ${case}"
           COMMAND bash ${FG_CLI_SCRIPTS}/cli_run.sh ${case} $<TARGET_FILE:forkguard_cli> $<TARGET_FILE:forkguard_shim>)
endforeach()

foreach(case self parent json no-process bad-pid)
  add_test(NAME "cli: check ${case}"
           COMMAND bash ${FG_CLI_SCRIPTS}/cli_check.sh ${case} $<TARGET_FILE:forkguard_cli>)
endforeach()

foreach(case version help options-markdown)
  add_test(NAME "cli: ${case}"
           COMMAND bash ${FG_CLI_SCRIPTS}/cli_help.sh ${case} $<TARGET_FILE:forkguard_cli>)
endforeach()
