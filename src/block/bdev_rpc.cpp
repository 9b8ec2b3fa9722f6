// Bdev methods with SPDK's parameter names and result shapes: bdev_get_bdevs, bdev_get_iostat,
// bdev_set_qos_limit; the module helpers; and the "bdev" subsystem of save_config.
#include "block/bdev_rpc.hpp"

#include <fmt/format.h>

#include "block/stats/clock.hpp"
#include "block/stats/iostat_json.hpp"

namespace vhostd::block {

using rpc::invalid_params;
using rpc::operation_failed;
using rpc::Params;
using rpc::RpcError;
using rpc::RpcResult;

std::unexpected<RpcError> no_bdev(std::string_view name) {
    return operation_failed(make_error(ENODEV, "bdev {} not found", name).error());
}

std::expected<std::shared_ptr<Bdev>, RpcError> find_bdev(const BdevRegistry& bdevs,
                                                         std::string_view name) {
    std::shared_ptr<Bdev> bdev = bdevs.find(name);
    if (!bdev) {
        return no_bdev(name);
    }
    return bdev;
}

RpcResult add_bdev(BdevRegistry& bdevs, Result<std::shared_ptr<Bdev>> bdev) {
    if (!bdev) {
        return operation_failed(bdev.error());
    }
    std::string name = (*bdev)->name();
    if (auto added = bdevs.add(std::move(*bdev)); !added) {
        return operation_failed(added.error());
    }
    return name;
}

void register_delete_method(ModuleContext& context, std::string driver,
                            std::function<void(Bdev&)> removed) {
    BdevRegistry& bdevs = context.bdevs;
    context.methods.add_sync(
        fmt::format("bdev_{}_delete", driver),
        [&bdevs, driver, removed = std::move(removed)](const nlohmann::json* json) -> RpcResult {
            Params p(json);
            const std::string name = RPC_TRY(p.string("name"));
            RPC_TRY(p.finish());
            std::shared_ptr<Bdev> bdev = bdevs.find(name);
            if (!bdev || bdev->name() != name) {  // by name only: a UUID does not delete
                return no_bdev(name);
            }
            if (bdev->driver() != driver) {
                return operation_failed(make_error(ENODEV, "bdev {} is a {} bdev, not a {} bdev",
                                                   name, bdev->driver(), driver)
                                            .error());
            }
            auto gone = bdevs.remove(name);
            if (!gone) {
                return operation_failed(gone.error());
            }
            if (removed) {
                removed(**gone);
            }
            return true;
        });
}

std::expected<uint32_t, RpcError> block_size_param(Params& p, bool required) {
    auto value = RPC_TRY(p.optional_u64("block_size"));
    if (!value) {
        if (required) {
            return invalid_params("params.block_size: expected an unsigned integer (required)");
        }
        return 0;
    }
    if (*value > UINT32_MAX) {
        return invalid_params("params.block_size: too large");
    }
    return static_cast<uint32_t>(*value);
}

std::expected<void, RpcError> refuse_metadata(Params& p) {
    for (const char* key : {"md_size", "dif_type", "dif_pi_format"}) {
        RPC_TRY(p.only_default(key, 0));
    }
    for (const char* key : {"md_interleave", "dif_is_head_of_md"}) {
        RPC_TRY(p.only_default(key, false));
    }
    return {};
}

namespace {

// SPDK's "assigned_rate_limits" (0 = off).
nlohmann::json rate_limits(const Bdev& bdev) {
    const qos::QosLimits limits = bdev.qos().limits();
    return {{"rw_ios_per_sec", limits.rw_ios_per_sec},
            {"rw_mbytes_per_sec", limits.rw_mbytes_per_sec},
            {"r_mbytes_per_sec", limits.r_mbytes_per_sec},
            {"w_mbytes_per_sec", limits.w_mbytes_per_sec}};
}

// The calls that recreate `bdev`: its module's, then bdev_set_qos_limit when a limit is set.
nlohmann::json bdev_config_calls(const Bdev& bdev) {
    nlohmann::json calls = bdev.config_calls();
    nlohmann::json limits = rate_limits(bdev);
    bool limited = false;
    for (const auto& [key, value] : limits.items()) {
        limited = limited || (value.is_number() && value != 0);
    }
    if (limited) {
        limits["name"] = bdev.name();
        calls.push_back({{"method", "bdev_set_qos_limit"}, {"params", std::move(limits)}});
    }
    return calls;
}

// bdev_get_bdevs {"name"?, "timeout"?}: every bdev, or the one named (by name or UUID).
RpcResult bdev_get_bdevs(const BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    RPC_TRY(p.optional_u64("timeout"));  // SPDK waits for a bdev to appear; ours exist or not
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    if (name) {
        const auto bdev = RPC_TRY(find_bdev(bdevs, *name));
        out.push_back(describe_bdev(bdevs, *bdev));
        return out;
    }
    for (const auto& bdev : bdevs.list()) {
        out.push_back(describe_bdev(bdevs, *bdev));
    }
    return out;
}

RpcResult bdev_get_iostat(const BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    // Current SPDK names the bdevs in an array (rpc.py --names) and can reset after reading.
    const auto names = RPC_TRY(p.optional_string_array("names"));
    RPC_TRY(p.only_default("per_channel", false));
    RPC_TRY(p.only_default("reset_mode", "none"));
    // vhostd's extension: the latency histogram of each bdev.
    const bool histogram = RPC_TRY(p.optional_bool("include_histogram")).value_or(false);
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    if (names) {
        for (const std::string& n : *names) {
            const auto bdev = RPC_TRY(find_bdev(bdevs, n));
            out.push_back(stats::iostat_json(bdev->name(), bdev->stats().snapshot(), histogram));
        }
    } else if (name) {
        const auto bdev = RPC_TRY(find_bdev(bdevs, *name));
        out.push_back(stats::iostat_json(bdev->name(), bdev->stats().snapshot(), histogram));
    } else {
        for (const auto& bdev : bdevs.list()) {
            out.push_back(stats::iostat_json(bdev->name(), bdev->stats().snapshot(), histogram));
        }
    }
    return nlohmann::json{
        {"tick_rate", stats::kTickRate}, {"ticks", stats::now_ticks()}, {"bdevs", std::move(out)}};
}

// Limits the call leaves out keep their current value, as in SPDK; at least one is needed.
RpcResult bdev_set_qos_limit(const BdevRegistry& bdevs, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const auto bdev = bdevs.find(name);
    qos::QosLimits limits = bdev ? bdev->qos().limits() : qos::QosLimits{};
    bool any = false;
    for (auto [key, field] : {std::pair{"rw_ios_per_sec", &qos::QosLimits::rw_ios_per_sec},
                              std::pair{"rw_mbytes_per_sec", &qos::QosLimits::rw_mbytes_per_sec},
                              std::pair{"r_mbytes_per_sec", &qos::QosLimits::r_mbytes_per_sec},
                              std::pair{"w_mbytes_per_sec", &qos::QosLimits::w_mbytes_per_sec}}) {
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
    if (auto valid = qos::validate(limits); !valid) {
        return invalid_params(fmt::format("params.{}", valid.error().message));
    }
    if (!bdev) {
        return no_bdev(name);
    }
    bdev->qos().set_limits(limits);
    return true;
}

}  // namespace

nlohmann::json describe_bdev(const BdevRegistry& bdevs, const Bdev& bdev) {
    const Capabilities& caps = bdev.capabilities();
    const std::string* holder = bdevs.claimed_by(bdev.name());
    nlohmann::json out = {
        {"name", bdev.name()},
        {"aliases", nlohmann::json::array()},
        {"product_name", bdev.product_name()},
        {"block_size", bdev.block_size()},
        {"num_blocks", bdev.num_blocks()},
        {"uuid", bdev.uuid()},
        {"assigned_rate_limits", rate_limits(bdev)},
        {"claimed", holder != nullptr},
        {"zoned", false},
        {"supported_io_types",
         {{"read", true},
          {"write", !caps.read_only},
          {"unmap", caps.discard},
          {"flush", caps.flush},
          {"reset", false},
          {"nvme_admin", false},
          {"nvme_io", false},
          {"write_zeroes", caps.write_zeroes},
          {"zcopy", false},
          {"compare", false},
          {"compare_and_write", false},
          {"abort", false},
          {"seek_hole", false},
          {"seek_data", false},
          {"copy", false}}},
        {"driver_specific", bdev.driver_specific()},
        // vhostd's extension: whether the bdev serves I/O (online, failed, removed).
        {"vhostd_state", to_string(bdev.state())},
    };
    if (caps.optimal_io_blocks != 0) {
        out["optimal_io_boundary"] = caps.optimal_io_blocks;
    }
    if (nlohmann::json status = bdev.backend_status(); !status.is_null()) {
        out["vhostd_backend"] = std::move(status);
    }
    if (holder != nullptr) {
        // SPDK names the claim type; vhostd's claims are exclusive (one holder per bdev).
        out["claim_type"] = "exclusive_write";
        out["vhostd_claimed_by"] = *holder;
    }
    return out;
}

void register_bdev_methods(rpc::MethodTable& methods, rpc::ConfigRegistry& config,
                           BdevRegistry& bdevs) {
    methods.add_sync("bdev_get_bdevs",
                     [&bdevs](const nlohmann::json* p) { return bdev_get_bdevs(bdevs, p); });
    methods.add_sync("bdev_get_iostat",
                     [&bdevs](const nlohmann::json* p) { return bdev_get_iostat(bdevs, p); });
    methods.add_sync("bdev_set_qos_limit",
                     [&bdevs](const nlohmann::json* p) { return bdev_set_qos_limit(bdevs, p); });
    config.add("bdev", {}, [&bdevs] {
        nlohmann::json calls = nlohmann::json::array();
        for (const auto& prelude : bdevs.config_preludes()) {
            for (auto& call : prelude()) {
                calls.push_back(std::move(call));
            }
        }
        for (const auto& bdev : bdevs.list()) {
            for (auto& call : bdev_config_calls(*bdev)) {
                calls.push_back(std::move(call));
            }
        }
        return calls;
    });
}

}  // namespace vhostd::block
