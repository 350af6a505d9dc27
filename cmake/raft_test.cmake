# raft_add_test(NAME name LABEL label SOURCES a.cc b.cc LIBS lib... [TIMEOUT seconds])
#
# Builds one Catch2 test binary and registers every TEST_CASE in it with CTest under LABEL
# (unit | sim | integration | chaos), so `ctest -L LABEL` runs one tier. Every test gets a
# timeout: a hung test fails instead of stalling CI.
find_package(Catch2 2 REQUIRED)
include(Catch)

function(raft_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} Catch2::Catch2WithMain)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  catch_discover_tests(${T_NAME}
    EXTRA_ARGS --warn NoTests
    TEST_PREFIX "${T_LABEL}:"
    PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
endfunction()

# raft_uses_binaries(target): a test that starts real processes gets the paths of raft-node,
# raftctl and the launcher as RAFT_NODE_BIN, RAFTCTL_BIN and CLUSTER_SH, and is built after
# the two programs.
function(raft_uses_binaries target)
  target_compile_definitions(${target} PRIVATE
    RAFT_NODE_BIN="$<TARGET_FILE:raft-node>"
    RAFTCTL_BIN="$<TARGET_FILE:raftctl>"
    CLUSTER_SH="${PROJECT_SOURCE_DIR}/scripts/cluster.sh")
  add_dependencies(${target} raft-node raftctl)
endfunction()
