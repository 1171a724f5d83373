#  Included by tests/CMakeLists.txt (the normal build, any compiler): each
#  fuzz target built as a plain replay program, fuzz_replay_NAME, and the
#  test fuzz_regressions, which runs every seed and every kept regression
#  input through them. So a crash once found and fixed stays fixed in the
#  normal test run, without clang or libFuzzer.

set (FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)
set (FUZZ_REPLAYS)

function (rumor_fuzz_replay name)
    add_executable (fuzz_replay_${name} ${FUZZ_DIR}/fuzz_${name}.c
        ${FUZZ_DIR}/fuzz_replay.c ${ARGN})
    target_include_directories (fuzz_replay_${name} PRIVATE ${FUZZ_DIR}
        ${CMAKE_SOURCE_DIR}/tools)
    target_link_libraries (fuzz_replay_${name} PRIVATE rumor_objects)
    set (FUZZ_REPLAYS ${FUZZ_REPLAYS}
        ${name}=$<TARGET_FILE:fuzz_replay_${name}> PARENT_SCOPE)
endfunction ()

rumor_fuzz_replay (decode)
rumor_fuzz_replay (membership ${FUZZ_DIR}/fuzz_core.c)
rumor_fuzz_replay (detector ${FUZZ_DIR}/fuzz_core.c)
rumor_fuzz_replay (anti_entropy ${FUZZ_DIR}/fuzz_core.c)
rumor_fuzz_replay (app ${FUZZ_DIR}/fuzz_core.c)
rumor_fuzz_replay (beacon ${FUZZ_DIR}/fuzz_core.c)
if (TARGET rumor_control)
    rumor_fuzz_replay (control ${CMAKE_SOURCE_DIR}/tools/control_check.c)
    target_link_libraries (fuzz_replay_control PRIVATE rumor_control)
endif ()

add_test (NAME fuzz_regressions
    COMMAND sh ${FUZZ_DIR}/replay.sh ${FUZZ_DIR} ${FUZZ_REPLAYS})
set_tests_properties (fuzz_regressions PROPERTIES TIMEOUT 120)
