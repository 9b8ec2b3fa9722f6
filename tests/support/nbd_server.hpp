// NbdServer: nbdkit in the foreground on a unix socket in its own scratch directory, for the
// NBD backend's tests. It dies with the thread that started it (--exit-with-parent is the
// parent-death signal, which follows the forking thread): start it from the test's thread.
#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace vhostd::testing {

class NbdServer {
  public:
    explicit NbdServer(std::vector<std::string> plugin_args = {}, bool read_only = false)
        : args_(std::move(plugin_args)), read_only_(read_only) {
        char tmpl[] = "/tmp/vhostd-nbd.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        socket_ = dir_ + "/nbd.sock";
    }
    ~NbdServer() {
        stop();
        std::filesystem::remove_all(dir_);
    }
    bool start() {
        std::filesystem::remove(socket_);
        std::vector<std::string> argv = {"nbdkit", "--foreground", "--exit-with-parent", "-U",
                                         socket_};
        if (read_only_) {
            argv.push_back("-r");
        }
        argv.insert(argv.end(), args_.begin(), args_.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            std::vector<char*> c;
            for (auto& a : argv) {
                c.push_back(a.data());
            }
            c.push_back(nullptr);
            ::execvp("nbdkit", c.data());
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (std::filesystem::exists(socket_)) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGCONT);
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    void signal(int sig) const { ::kill(pid_, sig); }
    // SIGSTOP, then waits until the kernel reports the server stopped (state T), so that no
    // thread of it can still answer a request sent afterwards.
    void freeze() const {
        ::kill(pid_, SIGSTOP);
        for (int i = 0; i < 500; ++i) {
            std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
            std::string pid, comm, state;
            stat >> pid >> comm >> state;
            if (state == "T" || state == "t") {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    void set_args(std::vector<std::string> plugin_args) { args_ = std::move(plugin_args); }
    [[nodiscard]] std::string uri() const { return "nbd+unix:///?socket=" + socket_; }
    [[nodiscard]] const std::string& dir() const { return dir_; }

  private:
    std::vector<std::string> args_;
    bool read_only_;
    std::string dir_;
    std::string socket_;
    pid_t pid_ = -1;
};

}  // namespace vhostd::testing
