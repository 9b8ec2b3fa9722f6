// Application methods (SPDK names and shapes): rpc_get_methods, spdk_get_version,
// framework_get_reactors, and the log methods (log_set_level, log_get_level, the print_level
// pair, which vhostd's single sink shares, and the per-component log_*_flag methods).
#include "app/app_methods.hpp"

#include <cctype>

#include <unistd.h>

#include "base/log.hpp"
#include "rpc/params.hpp"

namespace vhostd::app {
namespace {

using rpc::invalid_params;
using rpc::MethodTable;
using rpc::Params;
using rpc::RpcError;
using rpc::RpcResult;

RpcResult rpc_get_methods(const MethodTable& table, const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.optional_bool("current"));  // every vhostd method is callable at runtime
    RPC_TRY(p.optional_bool("include_aliases"));
    RPC_TRY(p.finish());
    return table.names();
}

RpcResult spdk_get_version(const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    return nlohmann::json{
        {"version", fmt::format("vhostd v{}", VHOSTD_VERSION)},
        {"fields",
         {{"major", VHOSTD_VERSION_MAJOR},
          {"minor", VHOSTD_VERSION_MINOR},
          {"patch", VHOSTD_VERSION_PATCH},
          {"suffix", ""}}},
    };
}

// SPDK reports busy/idle as time in TSC ticks with their rate; vhostd reports nanoseconds
// (tick_rate 1e9), and the loop iterations that found work or none.
RpcResult framework_get_reactors(reactor::ReactorGroup& group,
                                 const controller::ControllerRegistry& controllers,
                                 const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    nlohmann::json reactors = nlohmann::json::array();
    for (size_t i = 0; i < group.size(); ++i) {
        const reactor::Reactor& r = group.at(i);
        const reactor::ReactorStats& stats = r.stats();
        nlohmann::json threads = nlohmann::json::array();
        for (const controller::Controller* c : controllers.list()) {
            if (r.core() >= 0 && c->cpumask().test(static_cast<unsigned>(r.core()))) {
                threads.push_back({{"name", c->name()}, {"cpumask", c->cpumask().to_string()}});
            }
        }
        reactors.push_back({
            {"lcore", r.core()},
            {"busy", stats.busy_ns.load(std::memory_order_relaxed)},
            {"idle", stats.idle_ns.load(std::memory_order_relaxed)},
            {"busy_iterations", stats.busy_iterations.load(std::memory_order_relaxed)},
            {"idle_iterations", stats.idle_iterations.load(std::memory_order_relaxed)},
            {"sleeps", stats.sleeps.load(std::memory_order_relaxed)},
            {"messages", stats.messages.load(std::memory_order_relaxed)},
            {"in_interrupt", r.mode() == reactor::PollMode::never},
            {"poll_mode", reactor::to_string(r.mode())},
            {"lw_threads", std::move(threads)},
        });
    }
    return nlohmann::json{
        {"tick_rate", 1'000'000'000}, {"pid", ::getpid()}, {"reactors", std::move(reactors)}};
}

// SPDK's level names; NOTICE is spdlog's info.
std::string spdk_level_name(log::Level level) {
    switch (level) {
        case log::Level::trace:
        case log::Level::debug:
            return "DEBUG";
        case log::Level::info:
            return "INFO";
        case log::Level::warn:
            return "WARNING";
        default:
            return "ERROR";
    }
}

RpcResult log_set_level(const nlohmann::json* json) {
    Params p(json);
    std::string level = RPC_TRY(p.string("level"));
    RPC_TRY(p.finish());
    // SPDK compares level names without regard to case.
    std::string upper = level;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    auto parsed = log::parse_level(upper);
    if (!parsed) {
        parsed = log::parse_level(level);
    }
    if (!parsed) {
        return invalid_params(fmt::format(
            "params.level: expected ERROR, WARNING, NOTICE, INFO or DEBUG, not \"{}\"", level));
    }
    log::set_level(*parsed);
    LOG_INFO(rpc, "log level set to {}", upper);
    return true;
}

RpcResult log_get_level(const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    return spdk_level_name(log::level());
}

// Flags are component names: setting one logs that component at DEBUG whatever the level.
std::expected<log::Component, RpcError> component(Params& p) {
    const std::string flag = RPC_TRY(p.string("flag"));
    RPC_TRY(p.finish());
    const auto names = log::component_names();
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == flag) {
            return static_cast<log::Component>(i);
        }
    }
    return invalid_params(fmt::format("params.flag: unknown log flag \"{}\"", flag));
}

RpcResult log_set_flag(const nlohmann::json* json, bool on) {
    Params p(json);
    const log::Component c = RPC_TRY(component(p));
    log::set_component_level(c, on ? log::Level::debug : log::level());
    return true;
}

RpcResult log_get_flags(const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::object();
    const auto names = log::component_names();
    for (size_t i = 0; i < names.size(); ++i) {
        out[std::string(names[i])] =
            log::component_level(static_cast<log::Component>(i)) <= log::Level::debug;
    }
    return out;
}

}  // namespace

void register_app_methods(MethodTable& table, reactor::ReactorGroup& reactors,
                          const controller::ControllerRegistry& controllers) {
    table.add_sync("rpc_get_methods",
                   [&table](const nlohmann::json* p) { return rpc_get_methods(table, p); });
    table.add_sync("spdk_get_version", spdk_get_version);
    table.add_sync("framework_get_reactors", [&reactors, &controllers](const nlohmann::json* p) {
        return framework_get_reactors(reactors, controllers, p);
    });
    for (const char* name : {"log_set_level", "log_set_print_level"}) {
        table.add_sync(name, log_set_level);
    }
    for (const char* name : {"log_get_level", "log_get_print_level"}) {
        table.add_sync(name, log_get_level);
    }
    table.add_sync("log_set_flag", [](const nlohmann::json* p) { return log_set_flag(p, true); });
    table.add_sync("log_clear_flag",
                   [](const nlohmann::json* p) { return log_set_flag(p, false); });
    table.add_sync("log_get_flags", log_get_flags);
}

}  // namespace vhostd::app
