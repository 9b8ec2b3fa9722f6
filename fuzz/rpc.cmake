# JSON-RPC request path: a fuzzed byte stream cut into fuzzed reads, framed by JsonStream,
# decoded by decode_request, its params read through Params as the methods do, and answered.
# Only the parsing sources are compiled in: the methods' side effects are not part of it.
vhostd_fuzzer(rpc_request_fuzz
  SOURCES rpc_request_fuzz.cpp ${PROJECT_SOURCE_DIR}/src/rpc/json_stream.cpp
          ${PROJECT_SOURCE_DIR}/src/rpc/request.cpp ${PROJECT_SOURCE_DIR}/src/rpc/params.cpp
          ${PROJECT_SOURCE_DIR}/src/rpc/method_table.cpp
  DEPS vhostd_base nlohmann_json::nlohmann_json)
