// VhostdProcess: fork/exec of vhostd with a scratch directory and captured output.
#include "vhostd_process.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace vhostd::testing {

std::string VhostdProcess::binary() {
    return VHOSTD_BINARY;
}

VhostdProcess::VhostdProcess(Options options) : options_(std::move(options)) {
    char tmpl[] = "/tmp/vhostd-it.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
}

VhostdProcess::~VhostdProcess() {
    if (pid_ > 0 && running()) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void VhostdProcess::launch() {
    status_ = -1;  // a restart: the previous process's exit status no longer applies
    std::vector<std::string> args = {binary(), "-S", socket_dir()};
    if (!options_.config.is_null()) {
        const std::string config = dir_ + "/vhostd.json";
        std::ofstream(config) << options_.config.dump(2);
        args.insert(args.end(), {"-c", config});
    }
    if (!own_rpc_socket()) {
        args.insert(args.end(), {"-r", rpc_socket()});
    }
    args.insert(args.end(), options_.args.begin(), options_.args.end());

    pid_ = ::fork();
    if (pid_ == 0) {
        const int log = ::open((dir_ + "/output.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
        ::chdir(dir_.c_str());
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
}

bool VhostdProcess::start() {
    launch();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) {
            return false;
        }
        struct stat rpc {};
        bool all =
            own_rpc_socket() || (::stat(rpc_socket().c_str(), &rpc) == 0 && S_ISSOCK(rpc.st_mode));
        for (const auto& name : options_.sockets) {
            struct stat st {};
            all = all && ::stat(socket(name).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
        }
        if (all) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

bool VhostdProcess::own_rpc_socket() const {
    return std::find(options_.args.begin(), options_.args.end(), "-r") != options_.args.end();
}

bool VhostdProcess::running() {
    if (pid_ <= 0 || status_ != -1) {
        return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

int VhostdProcess::wait_exit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
}

int VhostdProcess::stop(std::chrono::seconds timeout) {
    if (running()) {
        ::kill(pid_, SIGTERM);
    }
    return wait_exit(timeout);
}

int VhostdProcess::kill_hard() {
    if (running()) {
        ::kill(pid_, SIGKILL);
    }
    return wait_exit(std::chrono::seconds(20));
}

std::string VhostdProcess::output() const {
    std::ifstream in(dir_ + "/output.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace vhostd::testing
