include(GoogleTest)

# salesops_proto_library(<target> PROTOS <files relative to proto/> [DEPS <targets>] [GRPC])
# Generates C++ (and gRPC stubs when GRPC is given) into the build tree; include paths are
# rooted at the build tree's proto directory, so code includes "salesops/v1/x.pb.h".
function(salesops_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "IMPORT_DIR" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_IMPORT_DIR)
    set(ARG_IMPORT_DIR ${PROJECT_SOURCE_DIR}/proto)
  endif()
  add_library(${target} STATIC)
  target_sources(${target} PRIVATE ${ARG_PROTOS})
  set(out ${PROJECT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  target_include_directories(${target} PUBLIC ${out})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${ARG_DEPS})
  set(imports ${ARG_IMPORT_DIR} ${PROJECT_SOURCE_DIR}/proto ${Protobuf_INCLUDE_DIRS})
  protobuf_generate(TARGET ${target} LANGUAGE cpp IMPORT_DIRS ${imports}
                    PROTOC_OUT_DIR ${out})
  if(ARG_GRPC)
    protobuf_generate(TARGET ${target} LANGUAGE grpc IMPORT_DIRS ${imports}
                      PROTOC_OUT_DIR ${out}
                      GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
                      PLUGIN protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
  endif()
endfunction()

# salesops_test(<name> SOURCES <files> DEPS <targets>)
# One gtest binary; each test case becomes its own ctest test. ctest counts a test as skipped only
# when it printed "SALESOPS_SKIPPED:" (GTEST_SKIP() << "SALESOPS_SKIPPED: <why>"), not on gtest's
# "[  SKIPPED ]", which gtest also prints for every test of a suite whose SetUpTestSuite failed:
# such a failure must fail the test, not hide as a skip.
function(salesops_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES TIMEOUT ${ARG_TIMEOUT}
                                  SKIP_REGULAR_EXPRESSION "SALESOPS_SKIPPED:"
                       ENVIRONMENT "SALESOPS_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
