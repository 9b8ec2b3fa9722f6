// Helpers for the RPC integration tests: a raw JSON-RPC socket (to write arbitrary bytes) and
// running build/vhostctl against a started vhostd.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vhostd_process.hpp"

namespace vhostd::testing {

// One client connection that writes raw bytes and reads newline-terminated responses.
class RawRpc {
  public:
    explicit RawRpc(const std::string& path);
    ~RawRpc();
    RawRpc(const RawRpc&) = delete;
    RawRpc& operator=(const RawRpc&) = delete;

    [[nodiscard]] bool connected() const { return fd_ >= 0; }
    // Writes everything (false if the server hung up first).
    bool send(std::string_view bytes);
    // The next response object, or nullopt on timeout or when the server closed.
    std::optional<nlohmann::json> receive(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // A full call: {"jsonrpc":"2.0","method","params"?,"id"} and its response.
    std::optional<nlohmann::json> call(const std::string& method,
                                       const nlohmann::json& params = nullptr, int id = 1);
    // True once the server has closed the connection (within `timeout`).
    bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  private:
    int fd_ = -1;
    std::string buffer_;
};

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs build/vhostctl -s <vhostd's RPC socket> args...
CommandResult vhostctl(const VhostdProcess& vhostd, const std::vector<std::string>& args);
// The same, parsing stdout as JSON (null if it is not).
nlohmann::json vhostctl_json(const VhostdProcess& vhostd, const std::vector<std::string>& args);

std::string vhostctl_binary();

}  // namespace vhostd::testing
