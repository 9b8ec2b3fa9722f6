// Request: the JSON-RPC 2.0 envelope of one call, checked as SPDK's server checks it, and the
// encoding of the one response object that answers it.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rpc/rpc_error.hpp"

namespace vhostd::rpc {

struct Request {
    std::string method;
    std::optional<nlohmann::json> params;  // an object or an array when present
    std::optional<nlohmann::json> id;      // absent: a notification, answered with nothing
};

// Why a value is not a request: the error to answer with (id null unless the id itself was
// valid) and whether the connection must be closed (after a parse error the stream has no
// resync point).
struct RequestFailure {
    RpcError error;
    nlohmann::json id;  // null when unknown
    bool close = false;
};

// SPDK copies ids of at most this many characters and refuses longer ones.
constexpr size_t kMaxIdChars = 128;

// Parses one complete value cut from the stream by JsonStream.
std::expected<Request, RequestFailure> decode_request(std::string_view text);

// {"jsonrpc":"2.0","id":...,"result":...} or {..."error":{"code","message"}}, plus the '\n'
// SPDK writes after every response.
std::string encode_response(const nlohmann::json& id, const RpcResult& result);

}  // namespace vhostd::rpc
