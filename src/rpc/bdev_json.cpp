// Bdev listings and save_config calls, built from the bdev and its driver's description.
#include "rpc/bdev_json.hpp"

namespace vhostd::rpc {

std::unexpected<RpcError> no_bdev(std::string_view name) {
    return operation_failed(make_error(ENODEV, "bdev {} not found", name).error());
}

std::expected<std::shared_ptr<block::Bdev>, RpcError> find_bdev(const Service& service,
                                                                std::string_view name) {
    std::shared_ptr<block::Bdev> bdev = service.bdevs.find(name);
    if (!bdev) {
        return no_bdev(name);
    }
    return bdev;
}
namespace {

nlohmann::json driver_specific(const block::Bdev& bdev) {
    nlohmann::json out = nlohmann::json::object();
    bdev.describe(out);
    return out;
}

nlohmann::json rate_limits(const Service& service, const block::Bdev& bdev) {
    if (service.hooks.rate_limits) {
        return service.hooks.rate_limits(bdev);
    }
    return {{"rw_ios_per_sec", 0},
            {"rw_mbytes_per_sec", 0},
            {"r_mbytes_per_sec", 0},
            {"w_mbytes_per_sec", 0}};
}

}  // namespace

std::string bdev_driver(const block::Bdev& bdev) {
    const nlohmann::json specific = driver_specific(bdev);
    return specific.empty() ? std::string() : specific.begin().key();
}

nlohmann::json describe_bdev(const Service& service, const block::Bdev& bdev) {
    const block::Capabilities& caps = bdev.capabilities();
    const bool claimed = service.bdevs.claimed_by(bdev.name()) != nullptr;
    nlohmann::json out = {
        {"name", bdev.name()},
        {"aliases", nlohmann::json::array()},
        {"product_name", bdev.product_name()},
        {"block_size", bdev.block_size()},
        {"num_blocks", bdev.num_blocks()},
        {"uuid", bdev.uuid()},
        {"assigned_rate_limits", rate_limits(service, bdev)},
        {"claimed", claimed},
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
        {"driver_specific", driver_specific(bdev)},
    };
    if (caps.optimal_io_blocks != 0) {
        out["optimal_io_boundary"] = caps.optimal_io_blocks;
    }
    if (claimed) {
        // SPDK names the claim type; vhostd's claims are exclusive (one controller per bdev).
        out["claim_type"] = "exclusive_write";
        out["vhostd_claimed_by"] = *service.bdevs.claimed_by(bdev.name());
    }
    return out;
}

nlohmann::json bdev_config_calls(const Service& service, const block::Bdev& bdev) {
    nlohmann::json calls = nlohmann::json::array();
    const nlohmann::json specific = driver_specific(bdev);
    if (specific.empty()) {
        return calls;
    }
    calls.push_back({{"method", fmt::format("bdev_{}_create", specific.begin().key())},
                     {"params", specific.begin().value()}});
    nlohmann::json limits = rate_limits(service, bdev);
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

}  // namespace vhostd::rpc
