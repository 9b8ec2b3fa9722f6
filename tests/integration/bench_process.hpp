// Runs build/vhost-bench as a child process with --json and parses its report (the bench and
// NVMe driver integration tests).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vhostd::testing {

struct BenchRun {
    int exit_code = -1;
    nlohmann::json result;  // discarded if the output was not JSON
    std::string output;     // stdout then stderr, for failure messages
};

// Runs VHOST_BENCH_BINARY with `args` plus --json; its output files go to `dir`.
BenchRun run_bench(const std::string& dir, const std::vector<std::string>& args);

}  // namespace vhostd::testing
