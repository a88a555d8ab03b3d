# The README's settings table is generated from the option table (src/config.cpp) and must match it.
add_test(NAME "readme: settings table matches forkguard options --markdown"
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/readme-options.sh --check $<TARGET_FILE:forkguard_cli>
                 ${CMAKE_SOURCE_DIR}/README.md)
