// BenchProcess and run_bench: vhost-bench as a child process, its JSON report parsed.
#include "bench_process.hpp"

#include <csignal>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace vhostd::testing {

using nlohmann::json;

namespace {
int exit_code_of(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

BenchProcess::BenchProcess(const std::string& dir, const std::vector<std::string>& args)
    : dir_(dir) {
    std::vector<std::string> all = {VHOST_BENCH_BINARY, "--json"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (dir_ + "/bench.out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (dir_ + "/bench.err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
        pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
}

BenchProcess::~BenchProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

int BenchProcess::finish() {
    ::kill(pid_, SIGTERM);
    return wait();
}

int BenchProcess::wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return exit_code_of(status);
}

json BenchProcess::result() const {
    return json::parse(read("bench.out"), nullptr, false);
}

std::string BenchProcess::output() const {
    return read("bench.out") + read("bench.err");
}

std::string BenchProcess::read(const std::string& name) const {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

BenchRun run_bench(const std::string& dir, const std::vector<std::string>& args) {
    BenchProcess bench(dir, args);
    BenchRun run;
    if (!bench.started()) {
        run.output = "posix_spawn failed";
        return run;
    }
    run.exit_code = bench.wait();
    run.output = bench.output();
    run.result = bench.result();
    return run;
}

void expect_clean(const BenchRun& run, bool verified) {
    ASSERT_FALSE(run.result.is_discarded()) << run.output;
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(run.result["errors"], 0) << run.output;
    EXPECT_EQ(run.result["lost"], 0) << run.output;
    EXPECT_EQ(run.result["failure"], "") << run.output;
    EXPECT_EQ(run.result["verify"]["errors"], 0) << run.output;
    EXPECT_GT(run.result["read_ios"].get<uint64_t>() + run.result["write_ios"].get<uint64_t>(), 0U)
        << run.output;
    if (verified) {
        EXPECT_GT(run.result["verify"]["checked"].get<uint64_t>(), 0U) << run.output;
    }
}

}  // namespace vhostd::testing
