// run_bench: vhost-bench as a child process, its JSON report parsed.
#include "bench_process.hpp"

#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace vhostd::testing {

using nlohmann::json;

// Runs build/vhost-bench with `args` plus --json and parses what it printed.
BenchRun run_bench(const std::string& dir, const std::vector<std::string>& args) {
    const std::string out_path = dir + "/bench.out";
    std::vector<std::string> all = {VHOST_BENCH_BINARY, "--json"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (out_path + ".err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    BenchRun run;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        run.output = "posix_spawn failed";
        return run;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream out(out_path);
    std::stringstream text;
    text << out.rdbuf();
    std::ifstream err(out_path + ".err");
    std::stringstream err_text;
    err_text << err.rdbuf();
    run.output = text.str() + err_text.str();
    run.result = json::parse(text.str(), nullptr, false);
    return run;
}

}  // namespace vhostd::testing
