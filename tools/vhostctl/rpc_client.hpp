// RpcClient: one JSON-RPC 2.0 connection to vhostd (or SPDK) over a unix socket, with a
// deadline on every call.
#pragma once

#include <chrono>
#include <expected>
#include <string>

#include <nlohmann/json.hpp>

namespace vhostctl {

// A failed call: the server's error (code and message) or a transport problem (code 0).
struct CallError {
    int code = 0;
    std::string message;
};

class RpcClient {
  public:
    static std::expected<RpcClient, CallError> connect(const std::string& path,
                                                       std::chrono::milliseconds timeout);
    RpcClient(RpcClient&& other) noexcept;
    RpcClient& operator=(RpcClient&&) = delete;
    ~RpcClient();

    // Sends the call and returns its "result"; `params` null sends none.
    std::expected<nlohmann::json, CallError> call(const std::string& method,
                                                  const nlohmann::json& params = nullptr);

  private:
    RpcClient(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
    std::expected<void, CallError> send_all(const std::string& bytes);
    std::expected<nlohmann::json, CallError> receive_one();

    int fd_ = -1;
    std::chrono::milliseconds timeout_;
    uint64_t next_id_ = 1;
    std::string buffer_;  // bytes received after the last response
};

}  // namespace vhostctl
