// RpcClient: blocking socket I/O bounded by poll() deadlines.
#include "rpc_client.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace vhostctl {
namespace {

using Clock = std::chrono::steady_clock;

std::unexpected<CallError> failure(std::string message) {
    return std::unexpected(CallError{0, std::move(message)});
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return true;  // let the following read/write report the error
        }
    }
}

}  // namespace

std::expected<RpcClient, CallError> RpcClient::connect(const std::string& path,
                                                       std::chrono::milliseconds timeout) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return failure(fmt::format("socket path '{}' is empty or too long", path));
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return failure(fmt::format("socket: {}", std::strerror(errno)));
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int err = errno;
        ::close(fd);
        return failure(fmt::format("cannot connect to {}: {}. Is vhostd running (-r {})?", path,
                                   std::strerror(err), path));
    }
    return RpcClient(fd, timeout);
}

RpcClient::RpcClient(RpcClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      next_id_(other.next_id_),
      buffer_(std::move(other.buffer_)) {}

RpcClient::~RpcClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::expected<void, CallError> RpcClient::send_all(const std::string& bytes) {
    const auto deadline = Clock::now() + timeout_;
    size_t sent = 0;
    while (sent < bytes.size()) {
        if (!wait_for(fd_, POLLOUT, deadline)) {
            return failure("timed out sending the request");
        }
        const ssize_t n =
            ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return failure(fmt::format("send: {}", std::strerror(errno)));
        }
        sent += n > 0 ? static_cast<size_t>(n) : 0;
    }
    return {};
}

// The server ends every response with a newline; a response is complete when the bytes up to
// a newline parse as JSON.
std::expected<nlohmann::json, CallError> RpcClient::receive_one() {
    const auto deadline = Clock::now() + timeout_;
    size_t searched = 0;
    for (;;) {
        for (size_t nl; (nl = buffer_.find('\n', searched)) != std::string::npos;) {
            nlohmann::json value = nlohmann::json::parse(
                buffer_.begin(), buffer_.begin() + static_cast<long>(nl), nullptr, false);
            searched = nl + 1;
            if (!value.is_discarded()) {
                buffer_.erase(0, nl + 1);
                return value;
            }
        }
        if (!wait_for(fd_, POLLIN, deadline)) {
            return failure(fmt::format("no response within {} s",
                                       static_cast<double>(timeout_.count()) / 1000.0));
        }
        char chunk[64 * 1024];
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n == 0) {
            return failure("the server closed the connection");
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            return failure(fmt::format("recv: {}", std::strerror(errno)));
        }
        buffer_.append(chunk, static_cast<size_t>(n));
    }
}

std::expected<nlohmann::json, CallError> RpcClient::call(const std::string& method,
                                                         const nlohmann::json& params) {
    const uint64_t id = next_id_++;
    nlohmann::json request = {{"jsonrpc", "2.0"}, {"method", method}, {"id", id}};
    if (!params.is_null()) {
        request["params"] = params;
    }
    if (auto sent = send_all(request.dump()); !sent) {
        return std::unexpected(sent.error());
    }
    auto response = receive_one();
    if (!response) {
        return response;
    }
    if (auto error = response->find("error"); error != response->end()) {
        return std::unexpected(CallError{error->value("code", 0), error->value("message", "")});
    }
    if (auto result = response->find("result"); result != response->end()) {
        return *result;
    }
    return failure("response has neither result nor error: " + response->dump());
}

}  // namespace vhostctl
