// Request: envelope checks (JSON-RPC 2.0 section 4) with SPDK's choices where it deviates.
#include "rpc/request.hpp"

#include <fmt/format.h>

namespace vhostd::rpc {
namespace {

std::unexpected<RequestFailure> invalid(nlohmann::json id, std::string message) {
    return std::unexpected(
        RequestFailure{RpcError{code::kInvalidRequest, std::move(message)}, std::move(id), false});
}

// JSON-RPC 2.0 section 4: an id is a string, a number or null. SPDK also bounds its length.
bool valid_id(const nlohmann::json& id) {
    if (id.is_null()) {
        return true;
    }
    if (!id.is_string() && !id.is_number()) {
        return false;
    }
    return id.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() <= kMaxIdChars;
}

// One request object (JSON-RPC 2.0 section 4), alone or inside a batch.
std::expected<Request, RequestFailure> decode_value(nlohmann::json value) {
    if (!value.is_object()) {
        return invalid(nullptr, "Invalid request: expected a JSON object");
    }

    Request request;
    nlohmann::json id = nullptr;
    if (auto it = value.find("id"); it != value.end()) {
        if (!valid_id(*it)) {
            return invalid(nullptr,
                           "Invalid request: id must be a string, a number or null of at "
                           "most 128 characters");
        }
        id = *it;
        request.id = *it;
    }
    for (const auto& [key, field] : value.items()) {
        if (key != "jsonrpc" && key != "method" && key != "params" && key != "id") {
            return invalid(id, "Invalid request: unknown member \"" + key + "\"");
        }
    }
    auto version = value.find("jsonrpc");
    if (version == value.end() || *version != "2.0") {
        return invalid(id, "Invalid request: \"jsonrpc\" must be \"2.0\"");
    }
    auto method = value.find("method");
    if (method == value.end() || !method->is_string()) {
        return invalid(id, "Invalid request: \"method\" must be a string");
    }
    request.method = method->get<std::string>();
    if (auto params = value.find("params"); params != value.end()) {
        if (!params->is_object() && !params->is_array()) {
            return invalid(id, "Invalid request: \"params\" must be an object or an array");
        }
        request.params = std::move(*params);
    }
    return request;
}

}  // namespace

std::expected<std::variant<Request, Batch>, RequestFailure> decode_message(std::string_view text) {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
        return std::unexpected(
            RequestFailure{RpcError{code::kParseError, "Parse error"}, nullptr, true});
    }
    if (!value.is_array()) {
        return decode_value(std::move(value));
    }
    // JSON-RPC 2.0 section 6: "an empty Array" is an invalid request, answered by one error.
    if (value.empty()) {
        return invalid(nullptr, "Invalid request: empty batch");
    }
    if (value.size() > kMaxBatchItems) {
        return invalid(
            nullptr, fmt::format("Invalid request: more than {} calls in a batch", kMaxBatchItems));
    }
    Batch batch;
    batch.items.reserve(value.size());
    for (auto& item : value) {
        batch.items.push_back(decode_value(std::move(item)));
    }
    return batch;
}

std::expected<Request, RequestFailure> decode_request(std::string_view text) {
    auto message = decode_message(text);
    if (!message) {
        return std::unexpected(std::move(message).error());
    }
    if (auto* request = std::get_if<Request>(&*message)) {
        return std::move(*request);
    }
    return invalid(nullptr, "Invalid request: a batch where one request was expected");
}

nlohmann::json response_object(const nlohmann::json& id, const RpcResult& result) {
    nlohmann::json response = {{"jsonrpc", "2.0"}, {"id", id}};
    if (result) {
        response["result"] = *result;
    } else {
        response["error"] = {{"code", result.error().code}, {"message", result.error().message}};
    }
    return response;
}

std::string encode_response(const nlohmann::json& id, const RpcResult& result) {
    return encode_json_line(response_object(id, result));
}

std::string encode_json_line(const nlohmann::json& response) {
    // Messages may quote client bytes; never let an encoding problem throw.
    std::string out = response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back('\n');
    return out;
}

}  // namespace vhostd::rpc
