// MethodTable: registration and dispatch.
#include "rpc/method_table.hpp"

#include <fmt/format.h>

namespace vhostd::rpc {

void MethodTable::add(std::string name, Handler handler) {
    methods_.insert_or_assign(std::move(name), std::move(handler));
}

void MethodTable::add_sync(std::string name, SyncHandler handler) {
    add(std::move(name), [handler = std::move(handler)](const nlohmann::json* params, Reply reply) {
        reply(handler(params));
    });
}

bool MethodTable::contains(std::string_view name) const {
    return methods_.contains(name);
}

std::vector<std::string> MethodTable::names() const {
    std::vector<std::string> out;
    out.reserve(methods_.size());
    for (const auto& [name, handler] : methods_) {
        out.push_back(name);
    }
    return out;
}

void MethodTable::call(std::string_view name, const nlohmann::json* params, Reply reply) const {
    auto it = methods_.find(name);
    if (it == methods_.end()) {
        reply(std::unexpected(
            RpcError{code::kMethodNotFound, fmt::format("Method not found: {}", name)}));
        return;
    }
    it->second(params, std::move(reply));
}

}  // namespace vhostd::rpc
