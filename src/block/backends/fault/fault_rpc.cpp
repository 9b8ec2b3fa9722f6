// The fault modules' methods, with SPDK's names and parameters: bdev_delay_create (the new
// bdev's name), bdev_delay_delete, bdev_delay_update_latency; bdev_error_create,
// bdev_error_delete, bdev_error_inject_error, bdev_error_resume_pending (true); and vhostd's
// bdev_error_set_state {"name", "state": "failed" | "online" | "removed"}, which makes the
// error bdev report a failure, a recovery or a hot-removal to its users.
#include "block/backends/fault/fault_bdevs.hpp"
#include "block/bdev_rpc.hpp"
#include "block/module/bdev_module.hpp"

namespace vhostd::block {
namespace {

using rpc::invalid_params;
using rpc::operation_failed;
using rpc::Params;
using rpc::RpcResult;

// Registers a stacked bdev just created; if that fails, its claim on the base goes too.
RpcResult add_stacked(BdevRegistry& bdevs, Result<std::shared_ptr<Bdev>> bdev) {
    if (!bdev) {
        return operation_failed(bdev.error());
    }
    std::shared_ptr<Bdev> created = *bdev;
    auto added = add_bdev(bdevs, std::move(bdev));
    if (!added) {
        release_fault_base(*created, bdevs);
    }
    return added;
}

RpcResult delay_create(BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    DelayParams params;
    params.base_bdev_name = RPC_TRY(p.string("base_bdev_name"));
    params.name = RPC_TRY(p.string("name"));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    params.avg_read_latency_us = RPC_TRY(p.u64("avg_read_latency"));
    params.p99_read_latency_us = RPC_TRY(p.u64("p99_read_latency"));
    params.avg_write_latency_us = RPC_TRY(p.u64("avg_write_latency"));
    params.p99_write_latency_us = RPC_TRY(p.u64("p99_write_latency"));
    RPC_TRY(p.finish());
    return add_stacked(bdevs, bdev_delay_create(params, bdevs));
}

RpcResult delay_update_latency(BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("delay_bdev_name"));
    const std::string type = RPC_TRY(p.string("latency_type"));
    const uint64_t latency = RPC_TRY(p.u64("latency_us"));
    RPC_TRY(p.finish());
    LatencyKind kind{};
    if (type == "avg_read") {
        kind = LatencyKind::avg_read;
    } else if (type == "p99_read") {
        kind = LatencyKind::p99_read;
    } else if (type == "avg_write") {
        kind = LatencyKind::avg_write;
    } else if (type == "p99_write") {
        kind = LatencyKind::p99_write;
    } else {
        return invalid_params(
            "params.latency_type: expected avg_read, p99_read, avg_write or p99_write");
    }
    auto bdev = RPC_TRY(find_bdev(bdevs, name));
    if (auto updated = bdev_delay_update_latency(*bdev, kind, latency); !updated) {
        return operation_failed(updated.error());
    }
    return true;
}

RpcResult error_create(BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const std::string base = RPC_TRY(p.string("base_name"));
    const std::string uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.finish());
    auto added = add_stacked(bdevs, bdev_error_create(base, uuid, bdevs));
    if (!added) {
        return added;
    }
    return true;  // SPDK answers true, not the name (it is always EE_<base>)
}

RpcResult error_inject(BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const std::string io_type = RPC_TRY(p.string("io_type"));
    const std::string error_type = RPC_TRY(p.string("error_type"));
    ErrorInjection injection;
    injection.num = static_cast<uint32_t>(
        std::min<uint64_t>(RPC_TRY(p.optional_u64("num")).value_or(1), UINT32_MAX));
    injection.queue_depth = static_cast<uint32_t>(
        std::min<uint64_t>(RPC_TRY(p.optional_u64("queue_depth")).value_or(0), UINT32_MAX));
    injection.corrupt_offset = RPC_TRY(p.optional_u64("corrupt_offset")).value_or(0);
    const uint64_t value = RPC_TRY(p.optional_u64("corrupt_value")).value_or(0);
    RPC_TRY(p.only_default("nvme_sct", 0));
    RPC_TRY(p.only_default("nvme_sc", 0));
    RPC_TRY(p.finish());
    if (io_type == "read") {
        injection.read = true;
    } else if (io_type == "write") {
        injection.write = true;
    } else if (io_type == "unmap") {
        injection.unmap = true;
    } else if (io_type == "flush") {
        injection.flush = true;
    } else if (io_type == "all") {
        injection.read = injection.write = injection.unmap = injection.flush = true;
    } else if (io_type != "clear") {
        return invalid_params("params.io_type: expected clear, read, write, unmap, flush or all");
    }
    if (error_type == "failure") {
        injection.type = ErrorType::failure;
    } else if (error_type == "pending") {
        injection.type = ErrorType::pending;
    } else if (error_type == "corrupt_data") {
        injection.type = ErrorType::corrupt_data;
    } else if (error_type == "nomem" || error_type == "nvme_failure") {
        // SPDK's bdev layer retries NOMEM and has NVMe statuses; vhostd's has neither.
        return invalid_params(
            fmt::format("params.error_type: {} is not supported by vhostd", error_type));
    } else {
        return invalid_params("params.error_type: expected failure, pending or corrupt_data");
    }
    if (value > 255) {
        return invalid_params("params.corrupt_value: expected 1 to 255");
    }
    injection.corrupt_value = static_cast<uint8_t>(value);
    auto bdev = RPC_TRY(find_bdev(bdevs, name));
    if (auto injected = bdev_error_inject(*bdev, injection); !injected) {
        return operation_failed(injected.error());
    }
    return true;
}

RpcResult error_resume(BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    RPC_TRY(p.finish());
    auto bdev = RPC_TRY(find_bdev(bdevs, name));
    if (auto resumed = bdev_error_resume_pending(*bdev); !resumed) {
        return operation_failed(resumed.error());
    }
    return true;
}

RpcResult error_set_state(BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const std::string state = RPC_TRY(p.string("state"));
    RPC_TRY(p.finish());
    BdevEvent event{};
    if (state == "failed") {
        event = BdevEvent::failed;
    } else if (state == "online") {
        event = BdevEvent::recovered;
    } else if (state == "removed") {
        event = BdevEvent::removed;
    } else {
        return invalid_params("params.state: expected failed, online or removed");
    }
    auto bdev = RPC_TRY(find_bdev(bdevs, name));
    if (bdev->driver() != "error") {
        return operation_failed(
            make_error(ENODEV, "bdev {} is not an error bdev", bdev->name()).error());
    }
    if (bdev->state() == BdevState::removed && event != BdevEvent::removed) {
        return operation_failed(
            make_error(EINVAL, "bdev {} was removed; it cannot come back", name).error());
    }
    BdevModuleAccess::report(*bdev, event);
    return true;
}

}  // namespace

void register_fault_module(ModuleContext& context) {
    BdevRegistry& bdevs = context.bdevs;
    auto add = [&](const char* name, RpcResult (*fn)(BdevRegistry&, const nlohmann::json*)) {
        context.methods.add_sync(name,
                                 [&bdevs, fn](const nlohmann::json* p) { return fn(bdevs, p); });
    };
    add("bdev_delay_create", delay_create);
    add("bdev_delay_update_latency", delay_update_latency);
    add("bdev_error_create", error_create);
    add("bdev_error_inject_error", error_inject);
    add("bdev_error_resume_pending", error_resume);
    add("bdev_error_set_state", error_set_state);
    // A stacked bdev that goes lets go of its base.
    auto release_base = [&bdevs](Bdev& bdev) { release_fault_base(bdev, bdevs); };
    register_delete_method(context, "delay", release_base);
    register_delete_method(context, "error", release_base);
}

}  // namespace vhostd::block
