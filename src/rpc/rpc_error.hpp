// RpcError: a JSON-RPC 2.0 error (code + message). Method handlers fail with these; the same
// values are printed by config replay and returned by the RPC server.
#pragma once

#include <expected>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace vhostd::rpc {

namespace code {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
}  // namespace code

struct RpcError {
    int code = code::kInternalError;
    std::string message;
};

using RpcResult = std::expected<nlohmann::json, RpcError>;

inline std::unexpected<RpcError> invalid_params(std::string message) {
    return std::unexpected(RpcError{code::kInvalidParams, std::move(message)});
}

// A failure of the operation itself (name taken, file missing): SPDK answers these with the
// negated errno as the code.
inline std::unexpected<RpcError> operation_failed(const Error& error) {
    return std::unexpected(RpcError{-error.code, error.message});
}

}  // namespace vhostd::rpc
