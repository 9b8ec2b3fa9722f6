// vhost-bench as a child process (integration tests): run to the end with its JSON report
// parsed (run_bench), or in the background and told to finish (BenchProcess), and the checks
// of a clean verified run.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace vhostd::testing {

// VHOST_BENCH_BINARY started with --json and `args`; stdout and stderr go to files in `dir`.
class BenchProcess {
  public:
    BenchProcess(const std::string& dir, const std::vector<std::string>& args);
    ~BenchProcess();  // SIGKILLs it if it still runs
    BenchProcess(const BenchProcess&) = delete;
    BenchProcess& operator=(const BenchProcess&) = delete;

    [[nodiscard]] bool started() const { return pid_ > 0; }
    // SIGTERM ends its timed phase; it drains, reads back and reports. The exit code.
    int finish();
    // Waits for it to end by itself. The exit code (128 + signal if killed).
    int wait();
    [[nodiscard]] nlohmann::json result() const;  // discarded if not JSON
    [[nodiscard]] std::string output() const;     // stdout then stderr

  private:
    [[nodiscard]] std::string read(const std::string& name) const;

    std::string dir_;
    pid_t pid_ = -1;
};

struct BenchRun {
    int exit_code = -1;
    nlohmann::json result;  // discarded if the output was not JSON
    std::string output;     // stdout then stderr, for failure messages
};

// Runs vhost-bench with `args` plus --json to the end.
BenchRun run_bench(const std::string& dir, const std::vector<std::string>& args);

// Exit code 0, no errors, nothing lost, no failure, no verify errors, some I/O done (and,
// with `verified`, some blocks checked).
void expect_clean(const BenchRun& run, bool verified);

}  // namespace vhostd::testing
