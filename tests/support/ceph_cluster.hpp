// CephCluster: a single-node Ceph cluster for tests (one monitor on 127.0.0.1, one OSD, pool
// "rbd"), started and stopped through tests/support/ceph_cluster.sh in a scratch directory of
// its own. The script's watcher stops the daemons when the test process exits, whatever the
// way, so nothing outlives a crashed test. Link vhostd_testing_ceph (it names the script).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace vhostd::testing {

class CephCluster {
  public:
    // bluestore: the OSD keeps its data in a file and survives SIGKILL (default: memstore, in
    // the OSD's memory, saved on a clean stop only).
    explicit CephCluster(bool bluestore = false) : bluestore_(bluestore) {
        char tmpl[] = "/tmp/vhostd-ceph.XXXXXX";
        top_ = ::mkdtemp(tmpl);
        dir_ = top_ + "/cluster";
    }
    ~CephCluster() {
        if (started_) {
            script({"stop", dir_});
        }
        std::error_code ignored;
        std::filesystem::remove_all(top_, ignored);
    }
    CephCluster(const CephCluster&) = delete;
    CephCluster& operator=(const CephCluster&) = delete;

    // Whether this machine has the Ceph daemons (tests skip without them).
    static bool available() {
        return std::system(
                   "command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && "
                   "command -v rbd >/dev/null") == 0;
    }

    // Starts the cluster (a few seconds); false with the script's output in output().
    bool start() {
        std::vector<std::string> args = {"start", dir_, "--owner-pid", std::to_string(::getpid())};
        if (bluestore_) {
            args.insert(args.end(), {"--objectstore", "bluestore"});
        }
        started_ = true;
        return script(args);
    }
    [[nodiscard]] std::string conf() const { return dir_ + "/ceph.conf"; }
    // The monitor's address, as librados' mon_host option takes it.
    [[nodiscard]] std::string mon_host() const {
        std::ifstream in(conf());
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("mon host = ", 0) == 0) {
                return line.substr(11);
            }
        }
        return {};
    }
    [[nodiscard]] const std::string& output() const { return output_; }

    // `rbd -c CONF args...` (bounded); true on success.
    bool rbd(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {"timeout", "60", "rbd", "-c", conf()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    }
    bool create_image(const std::string& name, uint64_t size_mib) {
        return rbd({"create", "--size", std::to_string(size_mib) + "M", "rbd/" + name});
    }
    // Another client's resize (the rbd tool), as an operator would do it.
    bool resize_image(const std::string& name, uint64_t size_mib) {
        return rbd(
            {"resize", "--allow-shrink", "--size", std::to_string(size_mib) + "M", "rbd/" + name});
    }

    // The OSD: "stop" (SIGTERM, a clean shutdown), "kill" (SIGKILL), "start".
    bool osd(const std::string& action) { return script({"osd", dir_, action}); }
    [[nodiscard]] pid_t osd_pid() const {
        std::ifstream in(dir_ + "/run/osd.0.pid");
        pid_t pid = -1;
        in >> pid;
        return pid;
    }
    // SIGSTOP to the OSD, and waits until the kernel shows it stopped: after this no thread of
    // it answers anything.
    void freeze_osd() const {
        const pid_t pid = osd_pid();
        ::kill(pid, SIGSTOP);
        for (int i = 0; i < 500; ++i) {
            std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
            std::string id, comm, state;
            stat >> id >> comm >> state;
            if (state == "T" || state == "t") {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    void thaw_osd() const { ::kill(osd_pid(), SIGCONT); }

  private:
    bool script(std::vector<std::string> args) {
        args.insert(args.begin(), VHOSTD_CEPH_CLUSTER_SCRIPT);
        return run(args);
    }
    // Runs argv, collecting its output; true on exit status 0.
    bool run(const std::vector<std::string>& argv) {
        const std::string log = top_ + "/command.log";
        const pid_t pid = ::fork();
        if (pid == 0) {
            std::FILE* out = std::freopen(log.c_str(), "w", stdout);
            if (out != nullptr) {
                ::dup2(::fileno(stdout), STDERR_FILENO);
            }
            std::vector<char*> c;
            for (const auto& a : argv) {
                c.push_back(const_cast<char*>(a.c_str()));
            }
            c.push_back(nullptr);
            ::execvp(c[0], c.data());
            ::_exit(127);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        std::ifstream in(log);
        output_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }

    bool bluestore_;
    std::string top_;
    std::string dir_;
    std::string output_;
    bool started_ = false;
};

}  // namespace vhostd::testing
