// The vhost family's methods.
#include "targets/vhost/vhost_rpc.hpp"

#include <fmt/format.h>

#include "rpc/params.hpp"

namespace vhostd::targets {
namespace {

using rpc::invalid_params;
using rpc::operation_failed;
using rpc::Params;
using rpc::Reply;
using rpc::RpcResult;

// SPDK measures a queue's rate over 10 ms windows, so a threshold below 100 per second is
// zero requests per window; and it keeps the delay in 32-bit TSC ticks (about a second).
constexpr uint64_t kMinIopsThreshold = 100;
constexpr uint64_t kMaxDelayBaseUs = 1'000'000;

RpcResult vhost_get_controllers(const controller::ControllerRegistry& controllers,
                                const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    RPC_TRY(p.finish());
    auto listed = controller::list_family(controllers, "vhost", name);
    if (!listed) {
        return operation_failed(listed.error());
    }
    return *listed;
}

// Finishes later: the controller's queues drain before it is gone.
void vhost_delete_controller(controller::ControllerRegistry& controllers,
                             const nlohmann::json* json, Reply reply) {
    Params p(json);
    auto ctrlr = p.string("ctrlr");
    if (!ctrlr) {
        reply(std::unexpected(ctrlr.error()));
        return;
    }
    if (auto finished = p.finish(); !finished) {
        reply(std::unexpected(finished.error()));
        return;
    }
    if (auto found = find_vhost(controllers, *ctrlr); !found) {
        reply(operation_failed(found.error()));
        return;
    }
    controllers.remove(*ctrlr, [reply = std::move(reply)](Result<void> r) mutable {
        if (!r) {
            reply(operation_failed(r.error()));
            return;
        }
        reply(true);
    });
}

RpcResult vhost_controller_set_coalescing(const controller::ControllerRegistry& controllers,
                                          const nlohmann::json* json) {
    Params p(json);
    const std::string ctrlr = RPC_TRY(p.string("ctrlr"));
    const uint64_t delay = RPC_TRY(p.u64("delay_base_us"));
    const uint64_t iops = RPC_TRY(p.u64("iops_threshold"));
    RPC_TRY(p.finish());
    if (delay > kMaxDelayBaseUs) {
        return invalid_params(fmt::format("params.delay_base_us: at most {}", kMaxDelayBaseUs));
    }
    if (iops < kMinIopsThreshold || iops > UINT32_MAX) {
        return invalid_params(
            fmt::format("params.iops_threshold: expected {} to {}", kMinIopsThreshold, UINT32_MAX));
    }
    auto controller = find_vhost(controllers, ctrlr);
    if (!controller) {
        return operation_failed(controller.error());
    }
    (*controller)
        ->set_coalescing(Coalescing{
            .delay_base_us = static_cast<uint32_t>(delay),
            .iops_threshold = static_cast<uint32_t>(iops),
        });
    return true;
}

nlohmann::json controller_stats_json(const VhostController& controller) {
    nlohmann::json queues = nlohmann::json::array();
    queue::QueueCounters total;
    for (const queue::QueueCounters& q : controller.queue_counters()) {
        queues.push_back({{"queue", q.index},
                          {"reactor", q.reactor},
                          {"requests", q.requests},
                          {"completions", q.completions},
                          {"inflight", q.inflight},
                          {"busy_polls", q.busy_polls},
                          {"idle_polls", q.idle_polls},
                          {"interrupts", q.calls},
                          {"interrupts_deferred", q.calls_deferred}});
        total.requests += q.requests;
        total.completions += q.completions;
        total.inflight += q.inflight;
        total.busy_polls += q.busy_polls;
        total.idle_polls += q.idle_polls;
        total.calls += q.calls;
        total.calls_deferred += q.calls_deferred;
    }
    const Coalescing& coalescing = controller.coalescing();
    return {{"ctrlr", controller.name()},
            {"delay_base_us", coalescing.delay_base_us},
            {"iops_threshold", coalescing.iops_threshold},
            {"requests", total.requests},
            {"completions", total.completions},
            {"inflight", total.inflight},
            {"busy_polls", total.busy_polls},
            {"idle_polls", total.idle_polls},
            {"interrupts", total.calls},
            {"interrupts_deferred", total.calls_deferred},
            {"queues", std::move(queues)}};
}

RpcResult vhost_get_controller_stats(const controller::ControllerRegistry& controllers,
                                     const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("ctrlr"));
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    for (controller::Controller* c : controllers.list()) {
        auto* vhost = dynamic_cast<VhostController*>(c);
        if (vhost != nullptr && (!name || vhost->name() == *name)) {
            out.push_back(controller_stats_json(*vhost));
        }
    }
    if (name && out.empty()) {
        return operation_failed(make_error(ENODEV, "vhost controller {} not found", *name).error());
    }
    return out;
}

}  // namespace

Result<VhostController*> find_vhost(const controller::ControllerRegistry& controllers,
                                    std::string_view name) {
    auto* found = dynamic_cast<VhostController*>(controllers.find(name));
    if (found == nullptr) {
        return make_error(ENODEV, "vhost controller {} not found", name);
    }
    return found;
}

VhostControllerConfig vhost_config(const controller::ControllerContext& context, std::string name,
                                   CpuMask cpumask) {
    std::string path = context.socket_dir + "/" + name;
    return VhostControllerConfig{std::move(name), std::move(path), cpumask, context.sockets,
                                 context.handshake_timeout};
}

void register_vhost_family(controller::ControllerContext& context) {
    controller::ControllerRegistry& controllers = context.controllers;
    context.methods.add_sync("vhost_get_controllers", [&controllers](const nlohmann::json* p) {
        return vhost_get_controllers(controllers, p);
    });
    context.methods.add("vhost_delete_controller",
                        [&controllers](const nlohmann::json* p, Reply reply) {
                            vhost_delete_controller(controllers, p, std::move(reply));
                        });
    context.methods.add_sync("vhost_controller_set_coalescing",
                             [&controllers](const nlohmann::json* p) {
                                 return vhost_controller_set_coalescing(controllers, p);
                             });
    context.methods.add_sync("vhost_get_controller_stats", [&controllers](const nlohmann::json* p) {
        return vhost_get_controller_stats(controllers, p);
    });
}

}  // namespace vhostd::targets
