// Statistics, QoS and coalescing methods (SPDK names): bdev_get_iostat, bdev_set_qos_limit,
// vhost_controller_set_coalescing; and vhostd's vhost_get_controller_stats (per-queue
// counters, which SPDK has no method for).
#include <fmt/format.h>

#include "block/stats/clock.hpp"
#include "block/stats/iostat_json.hpp"
#include "rpc/bdev_json.hpp"
#include "rpc/params.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {
namespace {

// SPDK measures a queue's rate over 10 ms windows, so a threshold below 100 per second is
// zero requests per window; and it keeps the delay in 32-bit TSC ticks (about a second).
constexpr uint64_t kMinIopsThreshold = 100;
constexpr uint64_t kMaxDelayBaseUs = 1'000'000;

RpcResult bdev_get_iostat(Service& service, const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    RPC_TRY(p.only_default("per_channel", false));
    // vhostd's extension: the latency histogram of each bdev.
    const bool histogram = RPC_TRY(p.optional_bool("include_histogram")).value_or(false);
    RPC_TRY(p.finish());
    nlohmann::json bdevs = nlohmann::json::array();
    if (name) {
        const auto bdev = RPC_TRY(find_bdev(service, *name));
        bdevs.push_back(
            block::stats::iostat_json(bdev->name(), bdev->stats().snapshot(), histogram));
    } else {
        for (const auto& bdev : service.bdevs.list()) {
            bdevs.push_back(
                block::stats::iostat_json(bdev->name(), bdev->stats().snapshot(), histogram));
        }
    }
    return nlohmann::json{{"tick_rate", block::stats::kTickRate},
                          {"ticks", block::stats::now_ticks()},
                          {"bdevs", std::move(bdevs)}};
}

// Limits the call leaves out keep their current value, as in SPDK; at least one is needed.
RpcResult bdev_set_qos_limit(Service& service, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const auto bdev = service.bdevs.find(name);
    block::qos::QosLimits limits = bdev ? bdev->qos().limits() : block::qos::QosLimits{};
    bool any = false;
    for (auto [key, field] :
         {std::pair{"rw_ios_per_sec", &block::qos::QosLimits::rw_ios_per_sec},
          std::pair{"rw_mbytes_per_sec", &block::qos::QosLimits::rw_mbytes_per_sec},
          std::pair{"r_mbytes_per_sec", &block::qos::QosLimits::r_mbytes_per_sec},
          std::pair{"w_mbytes_per_sec", &block::qos::QosLimits::w_mbytes_per_sec}}) {
        if (const auto value = RPC_TRY(p.optional_u64(key))) {
            limits.*field = *value;
            any = true;
        }
    }
    RPC_TRY(p.finish());
    if (!any) {
        return invalid_params(
            "params: expected at least one of rw_ios_per_sec, rw_mbytes_per_sec, "
            "r_mbytes_per_sec, w_mbytes_per_sec");
    }
    if (auto valid = block::qos::validate(limits); !valid) {
        return invalid_params(fmt::format("params.{}", valid.error().message));
    }
    if (!bdev) {
        return no_bdev(name);
    }
    bdev->qos().set_limits(limits);
    return true;
}

RpcResult vhost_controller_set_coalescing(Service& service, const nlohmann::json* json) {
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
    const auto* entry = service.targets.find(ctrlr);
    if (entry == nullptr) {
        return operation_failed(make_error(ENODEV, "vhost controller {} not found", ctrlr).error());
    }
    entry->controller->set_coalescing(targets::Coalescing{
        .delay_base_us = static_cast<uint32_t>(delay),
        .iops_threshold = static_cast<uint32_t>(iops),
    });
    return true;
}

nlohmann::json controller_stats_json(const targets::VhostController& controller) {
    nlohmann::json queues = nlohmann::json::array();
    targets::QueueCounters total;
    for (const targets::QueueCounters& q : controller.queue_counters()) {
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
    const targets::Coalescing& coalescing = controller.coalescing();
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

RpcResult vhost_get_controller_stats(Service& service, const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("ctrlr"));
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& entry : service.targets.controllers()) {
        if (!name || entry.controller->name() == *name) {
            out.push_back(controller_stats_json(*entry.controller));
        }
    }
    if (name && out.empty()) {
        return operation_failed(make_error(ENODEV, "vhost controller {} not found", *name).error());
    }
    return out;
}

}  // namespace

void register_stats_methods(MethodTable& table, Service& service) {
    // bdev_get_bdevs' "assigned_rate_limits".
    service.hooks.rate_limits = [](const block::Bdev& bdev) -> nlohmann::json {
        const block::qos::QosLimits limits = bdev.qos().limits();
        return {{"rw_ios_per_sec", limits.rw_ios_per_sec},
                {"rw_mbytes_per_sec", limits.rw_mbytes_per_sec},
                {"r_mbytes_per_sec", limits.r_mbytes_per_sec},
                {"w_mbytes_per_sec", limits.w_mbytes_per_sec}};
    };
    table.add_sync("bdev_get_iostat",
                   [&service](const nlohmann::json* p) { return bdev_get_iostat(service, p); });
    table.add_sync("bdev_set_qos_limit",
                   [&service](const nlohmann::json* p) { return bdev_set_qos_limit(service, p); });
    table.add_sync("vhost_controller_set_coalescing", [&service](const nlohmann::json* p) {
        return vhost_controller_set_coalescing(service, p);
    });
    table.add_sync("vhost_get_controller_stats", [&service](const nlohmann::json* p) {
        return vhost_get_controller_stats(service, p);
    });
}

}  // namespace vhostd::rpc
