// Params: typed, checked access to a method's "params" object. Every failure names the field
// and what was expected ("params.num_blocks: expected an unsigned integer"), and fields the
// method does not know are refused, as SPDK's JSON decoder does.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rpc/rpc_error.hpp"

namespace vhostd::rpc {

class Params {
  public:
    // `params` may be null/absent (no parameters) or must be an object.
    explicit Params(const nlohmann::json* params);

    std::expected<std::string, RpcError> string(std::string_view key);
    std::expected<std::optional<std::string>, RpcError> optional_string(std::string_view key);
    std::expected<uint64_t, RpcError> u64(std::string_view key);
    std::expected<std::optional<uint64_t>, RpcError> optional_u64(std::string_view key);
    std::expected<std::optional<bool>, RpcError> optional_bool(std::string_view key);
    std::expected<std::optional<std::vector<std::string>>, RpcError> optional_string_array(
        std::string_view key);

    // An SPDK parameter vhostd has no use for: accepted only with its default value.
    std::expected<void, RpcError> only_default(std::string_view key, const nlohmann::json& value);

    // Call after reading every known field: refuses the rest.
    std::expected<void, RpcError> finish() const;

  private:
    const nlohmann::json* find(std::string_view key);
    static std::unexpected<RpcError> wrong(std::string_view key, std::string_view expected);

    const nlohmann::json* params_;
    std::set<std::string, std::less<>> seen_;
    std::optional<RpcError> shape_error_;
};

}  // namespace vhostd::rpc
