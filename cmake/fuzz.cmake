# Fuzz targets over each service's request validation (DECISIONS.md D26).
#
# libFuzzer needs clang, the main build uses g++: the fuzz targets are built by
# a second configuration of this same source tree with clang, in
# ${CMAKE_BINARY_DIR}/fuzz-build, run as the ExternalProject salesops_fuzz of
# the main build; the main build registers one ctest test per target, so
# scripts/test.sh builds and runs them with everything else. This file plays
# both roles:
#   SALESOPS_FUZZ=ON  the clang configuration: everything is compiled with
#                     ASan, UBSan (fatal) and libFuzzer's coverage; the top
#                     level adds fuzz/ and skips tools/ and bench/.
#   otherwise         with tests on and clang + libFuzzer present: the
#                     ExternalProject and the Fuzz.<service> tests.

option(SALESOPS_FUZZ "This is the clang configuration of the fuzz targets" OFF)
set(SALESOPS_FUZZ_SECONDS 60 CACHE STRING
    "How long each Fuzz.<service> test fuzzes (seconds)")

set(salesops_fuzz_services accounts pipeline forecast credit)

if(SALESOPS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SALESOPS_FUZZ=ON needs clang (libFuzzer)")
  endif()
  # -O1 and line tables only (libFuzzer's usual flags): cold, the four
  # targets build in 215 s on 2 cores against 250 s with -O2 -g, with a third
  # less disk; line tables are all the sanitizers' stack traces need.
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only -DNDEBUG")
  set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only -DNDEBUG")
  add_compile_options(-fsanitize=address,undefined -fsanitize=fuzzer-no-link
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  return()
endif()

if(NOT SALESOPS_BUILD_TESTS)
  return()
endif()

find_program(SALESOPS_CLANGXX NAMES clang++ clang++-14)
find_program(SALESOPS_CLANG NAMES clang clang-14)
# Can clang link a libFuzzer binary with ASan and UBSan (the runtimes come
# with libclang-rt-14-dev)? Asked once per build directory.
if(SALESOPS_CLANGXX AND SALESOPS_CLANG AND NOT SALESOPS_LIBFUZZER_WORKS)
  set(probe_dir ${CMAKE_BINARY_DIR}/CMakeFiles/libfuzzer-probe)
  file(WRITE ${probe_dir}/probe.cc
       "#include <cstddef>\n#include <cstdint>\n"
       "extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) "
       "{ return 0; }\n")
  execute_process(
    COMMAND ${SALESOPS_CLANGXX} -fsanitize=fuzzer,address,undefined
            ${probe_dir}/probe.cc -o ${probe_dir}/probe
    RESULT_VARIABLE probe_result OUTPUT_QUIET ERROR_QUIET)
  if(probe_result EQUAL 0)
    set(SALESOPS_LIBFUZZER_WORKS ON CACHE INTERNAL "clang links libFuzzer")
  endif()
endif()
if(NOT SALESOPS_LIBFUZZER_WORKS)
  message(WARNING "No fuzz tests: clang++ with the libFuzzer runtime is "
                  "missing (scripts/setup.sh installs clang and "
                  "libclang-rt-14-dev).")
  return()
endif()

include(ExternalProject)
# salesops_fuzzers (fuzz/CMakeLists.txt) builds the four targets. With
# Makefiles, $(MAKE) makes the clang build a recursive make that takes its
# jobs from the main build's jobserver (-j2 stays 2 in total).
if(CMAKE_GENERATOR MATCHES "Makefiles")
  set(fuzz_build_command $(MAKE) salesops_fuzzers)
else()
  set(fuzz_build_command ${CMAKE_COMMAND} --build <BINARY_DIR> --target
                         salesops_fuzzers)
endif()
ExternalProject_Add(salesops_fuzz
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz-build
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${SALESOPS_CLANGXX}
             -DCMAKE_C_COMPILER=${SALESOPS_CLANG}
             -DCMAKE_BUILD_TYPE=RelWithDebInfo
             -DSALESOPS_FUZZ=ON
             -DSALESOPS_BUILD_TESTS=OFF
  BUILD_COMMAND ${fuzz_build_command}
  # The build step runs every time; the clang build itself is incremental.
  BUILD_ALWAYS ON
  INSTALL_COMMAND "")

foreach(svc IN LISTS salesops_fuzz_services)
  add_test(NAME Fuzz.${svc}
           COMMAND bash ${PROJECT_SOURCE_DIR}/fuzz/run_fuzz.sh
                   ${CMAKE_BINARY_DIR}/fuzz-build/fuzz/${svc}_fuzz
                   ${PROJECT_SOURCE_DIR}/fuzz/corpus/${svc}
                   ${CMAKE_BINARY_DIR}/fuzz-runs/${svc}
                   ${SALESOPS_FUZZ_SECONDS})
  # The budget, plus start-up and libFuzzer's final pass.
  math(EXPR fuzz_timeout "${SALESOPS_FUZZ_SECONDS} + 120")
  set_tests_properties(Fuzz.${svc} PROPERTIES TIMEOUT ${fuzz_timeout}
                       LABELS fuzz)
endforeach()
