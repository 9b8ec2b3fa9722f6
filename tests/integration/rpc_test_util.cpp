// RPC integration-test helpers: raw socket I/O with deadlines and vhostctl runs.
#include "rpc_test_util.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace vhostd::testing {

std::string vhostctl_binary() {
    return VHOSTCTL_BINARY;
}

RawRpc::RawRpc(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

RawRpc::~RawRpc() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool RawRpc::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

std::optional<nlohmann::json> RawRpc::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
            auto value = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
            buffer_.erase(0, nl + 1);
            if (value.is_discarded()) {
                return std::nullopt;
            }
            return value;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            return std::nullopt;
        }
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            return std::nullopt;
        }
        buffer_.append(chunk, static_cast<size_t>(n));
    }
}

std::optional<nlohmann::json> RawRpc::call(const std::string& method, const nlohmann::json& params,
                                           int id) {
    nlohmann::json request = {{"jsonrpc", "2.0"}, {"method", method}, {"id", id}};
    if (!params.is_null()) {
        request["params"] = params;
    }
    if (!send(request.dump())) {
        return std::nullopt;
    }
    return receive();
}

bool RawRpc::closed_by_server(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
            char c[4096];
            const ssize_t n = ::recv(fd_, c, sizeof(c), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                return true;
            }
        }
    }
    return false;
}

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

CommandResult vhostctl(const VhostdProcess& vhostd, const std::vector<std::string>& args) {
    static int counter = 0;
    const std::string base = vhostd.dir() + "/vhostctl." + std::to_string(++counter);
    std::vector<std::string> argv = {vhostctl_binary(), "-s", vhostd.rpc_socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::freopen((base + ".out").c_str(), "w", stdout);
        std::freopen((base + ".err").c_str(), "w", stderr);
        std::vector<char*> raw;
        for (auto& a : argv) {
            raw.push_back(a.data());
        }
        raw.push_back(nullptr);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return CommandResult{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                         slurp(base + ".out"), slurp(base + ".err")};
}

nlohmann::json vhostctl_json(const VhostdProcess& vhostd, const std::vector<std::string>& args) {
    const CommandResult r = vhostctl(vhostd, args);
    auto value = nlohmann::json::parse(r.out, nullptr, false);
    return value.is_discarded() ? nlohmann::json() : value;
}

}  // namespace vhostd::testing
