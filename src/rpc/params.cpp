// Params: field-level validation of method parameters.
#include "rpc/params.hpp"

#include <fmt/format.h>

namespace vhostd::rpc {

Params::Params(const nlohmann::json* params) : params_(params) {
    if (params_ != nullptr && !params_->is_null() && !params_->is_object()) {
        shape_error_ = RpcError{code::kInvalidParams, "params: expected an object"};
    }
}

std::unexpected<RpcError> Params::wrong(std::string_view key, std::string_view expected) {
    return invalid_params(fmt::format("params.{}: expected {}", key, expected));
}

const nlohmann::json* Params::find(std::string_view key) {
    seen_.emplace(key);
    if (params_ == nullptr || !params_->is_object()) {
        return nullptr;
    }
    auto it = params_->find(key);
    return it == params_->end() ? nullptr : &*it;
}

std::expected<std::string, RpcError> Params::string(std::string_view key) {
    auto value = optional_string(key);
    if (!value)
        return std::unexpected(value.error());
    std::optional<std::string>& text = *value;
    if (!text)
        return wrong(key, "a string (required)");
    return std::move(*text);
}

std::expected<std::optional<std::string>, RpcError> Params::optional_string(std::string_view key) {
    if (shape_error_)
        return std::unexpected(*shape_error_);
    const nlohmann::json* v = find(key);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_string())
        return wrong(key, "a string");
    return v->get<std::string>();
}

std::expected<std::optional<std::vector<std::string>>, RpcError> Params::optional_string_array(
    std::string_view key) {
    if (shape_error_)
        return std::unexpected(*shape_error_);
    const nlohmann::json* v = find(key);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_array())
        return wrong(key, "an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *v) {
        if (!item.is_string())
            return wrong(key, "an array of strings");
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::expected<uint64_t, RpcError> Params::u64(std::string_view key) {
    auto value = optional_u64(key);
    if (!value)
        return std::unexpected(value.error());
    const std::optional<uint64_t> number = *value;
    if (!number)
        return wrong(key, "an unsigned integer (required)");
    return *number;
}

std::expected<std::optional<uint64_t>, RpcError> Params::optional_u64(std::string_view key) {
    if (shape_error_)
        return std::unexpected(*shape_error_);
    const nlohmann::json* v = find(key);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
        return wrong(key, "an unsigned integer");
    }
    return v->get<uint64_t>();
}

std::expected<std::optional<bool>, RpcError> Params::optional_bool(std::string_view key) {
    if (shape_error_)
        return std::unexpected(*shape_error_);
    const nlohmann::json* v = find(key);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_boolean())
        return wrong(key, "true or false");
    return v->get<bool>();
}

std::expected<void, RpcError> Params::only_default(std::string_view key,
                                                   const nlohmann::json& value) {
    if (shape_error_)
        return std::unexpected(*shape_error_);
    const nlohmann::json* v = find(key);
    if (v != nullptr && *v != value) {
        return invalid_params(
            fmt::format("params.{}: only {} is supported by vhostd", key, value.dump()));
    }
    return {};
}

std::expected<void, RpcError> Params::finish() const {
    if (shape_error_)
        return std::unexpected(*shape_error_);
    if (params_ == nullptr || !params_->is_object())
        return {};
    for (const auto& [key, value] : params_->items()) {
        if (!seen_.contains(key)) {
            return invalid_params(fmt::format("params.{}: unknown parameter", key));
        }
    }
    return {};
}

}  // namespace vhostd::rpc
