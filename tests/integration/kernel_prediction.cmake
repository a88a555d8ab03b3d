# @file kernel_prediction.cmake
# @brief The prediction against the real kernel (DESIGN.md, "Testing against the real kernel",
# method 1) with the bundled demo; skipped (77) unless overcommit mode is 0 and ulimit -v unset.
set(fg_kp_name "kernel: demo's fork refused with ENOMEM and predicted refuse; mitigate makes a slim fork")
add_test(NAME "${fg_kp_name}"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kernel_prediction.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:forkguard-demo> $<TARGET_FILE:fg_helper_fork>)
set_tests_properties("${fg_kp_name}" PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS integration)
