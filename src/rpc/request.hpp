// Request: the JSON-RPC 2.0 envelope of one call, checked as SPDK's server checks it, and the
// encoding of the one response object that answers it.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

// JSON-RPC 2.0 section 6: an array of requests sent together, answered by one array of the
// responses to those that have an id (nothing at all if none has). Each element is checked on
// its own: a bad one gets its error in the answer, the others are still called.
struct Batch {
    std::vector<std::expected<Request, RequestFailure>> items;
};

// At most this many calls in one batch (each is bounded by the stream's value size anyway).
constexpr size_t kMaxBatchItems = 4096;

// Parses one complete value cut from the stream by JsonStream: a request, or a batch (an empty
// array is an invalid request, as the specification says).
std::expected<std::variant<Request, Batch>, RequestFailure> decode_message(std::string_view text);
// The same for a value that must be a single request (an array is refused).
std::expected<Request, RequestFailure> decode_request(std::string_view text);

// {"jsonrpc":"2.0","id":...,"result":...} or {..."error":{"code","message"}}.
nlohmann::json response_object(const nlohmann::json& id, const RpcResult& result);
// A response (object or batch array) as sent: the JSON text plus the '\n' SPDK writes after
// every response.
std::string encode_json_line(const nlohmann::json& response);
std::string encode_response(const nlohmann::json& id, const RpcResult& result);

}  // namespace vhostd::rpc
