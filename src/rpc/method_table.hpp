// MethodTable: the named operations of vhostd (SPDK's RPC method names). The JSON-RPC server
// and config replay both dispatch through it, so a config file is literally a replay of calls.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rpc/rpc_error.hpp"

namespace vhostd::rpc {

// Delivers a method's outcome exactly once, on the control reactor (possibly later).
using Reply = std::move_only_function<void(RpcResult)>;
// `params` is null when the request had none.
using Handler = std::function<void(const nlohmann::json* params, Reply reply)>;
// Most methods finish at once; they are written as plain functions.
using SyncHandler = std::function<RpcResult(const nlohmann::json* params)>;

class MethodTable {
  public:
    void add(std::string name, Handler handler);
    void add_sync(std::string name, SyncHandler handler);

    [[nodiscard]] bool contains(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> names() const;
    // Unknown methods are answered with -32601.
    void call(std::string_view name, const nlohmann::json* params, Reply reply) const;

  private:
    std::map<std::string, Handler, std::less<>> methods_;
};

}  // namespace vhostd::rpc

// Inside a handler returning RpcResult: unwraps an expected<T, RpcError> or returns its error.
#define RPC_TRY(expr)                                                   \
    ({                                                                  \
        auto rpc_try_result_ = (expr);                                  \
        if (!rpc_try_result_) [[unlikely]]                              \
            return std::unexpected(std::move(rpc_try_result_).error()); \
        std::move(rpc_try_result_).value();                             \
    })
