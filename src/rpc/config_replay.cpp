// Config replay: structure checks, then each call dispatched in file order.
#include "rpc/config_replay.hpp"

#include <chrono>
#include <fstream>
#include <optional>

namespace vhostd::rpc {
namespace {

// Calls one method and waits for its reply, pumping the control reactor meanwhile.
RpcResult call_and_wait(const MethodTable& methods, const std::string& method,
                        const nlohmann::json* params, reactor::Reactor& control) {
    std::optional<RpcResult> outcome;
    methods.call(method, params, [&](RpcResult r) { outcome = std::move(r); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!outcome && std::chrono::steady_clock::now() < deadline) {
        control.run_once();
    }
    if (!outcome) {
        return std::unexpected(RpcError{code::kInternalError, "timed out"});
    }
    return std::move(*outcome);
}

}  // namespace

Result<void> replay_config(const nlohmann::json& config, const std::string& source,
                           const MethodTable& methods, reactor::Reactor& control) {
    if (!config.is_object() || !config.contains("subsystems") || !config["subsystems"].is_array()) {
        return make_error(EINVAL, "{}: expected an object with a \"subsystems\" array", source);
    }
    size_t subsystem_index = 0;
    for (const nlohmann::json& subsystem : config["subsystems"]) {
        ++subsystem_index;
        if (!subsystem.is_object() || !subsystem.contains("subsystem") ||
            !subsystem["subsystem"].is_string()) {
            return make_error(EINVAL,
                              "{}: subsystems[{}]: expected an object with a \"subsystem\" name",
                              source, subsystem_index - 1);
        }
        const std::string name = subsystem["subsystem"].get<std::string>();
        auto calls = subsystem.find("config");
        if (calls == subsystem.end() || calls->is_null()) {
            continue;  // SPDK writes "config": null for subsystems with nothing to set
        }
        if (!calls->is_array()) {
            return make_error(EINVAL, "{}: subsystem \"{}\": \"config\" must be an array", source,
                              name);
        }
        size_t call_index = 0;
        auto replay_one = [&](const nlohmann::json& call) -> Result<void> {
            ++call_index;
            if (!call.is_object() || !call.contains("method") || !call["method"].is_string()) {
                return make_error(
                    EINVAL, "{}: subsystem \"{}\" call #{}: expected {{\"method\", \"params\"}}",
                    source, name, call_index);
            }
            const std::string method = call["method"].get<std::string>();
            auto params = call.find("params");
            const nlohmann::json* params_ptr = params == call.end() ? nullptr : &*params;
            RpcResult result = call_and_wait(methods, method, params_ptr, control);
            if (!result) {
                return make_error(EINVAL, "{}: subsystem \"{}\" call #{} \"{}\": {}", source, name,
                                  call_index, method, result.error().message);
            }
            return {};
        };
        for (const nlohmann::json& entry : *calls) {
            // Current SPDK's configs may hold batches: an array of calls sent together. Their
            // calls are replayed in order like any others (nested batches are not a thing).
            if (entry.is_array()) {
                if (entry.empty()) {
                    return make_error(EINVAL, "{}: subsystem \"{}\": an empty batch", source, name);
                }
                for (const nlohmann::json& call : entry) {
                    VHOSTD_TRY(replay_one(call));
                }
                continue;
            }
            VHOSTD_TRY(replay_one(entry));
        }
    }
    return {};
}

Result<void> replay_config_file(const std::string& path, const MethodTable& methods,
                                reactor::Reactor& control) {
    std::ifstream in(path);
    if (!in) {
        return errno_error(fmt::format("{}: cannot open config", path));
    }
    nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false,
                                                  /*ignore_comments=*/true);
    if (config.is_discarded()) {
        return make_error(EINVAL, "{}: not valid JSON", path);
    }
    return replay_config(config, path, methods, control);
}

}  // namespace vhostd::rpc
