// How bdevs appear in bdev_get_bdevs (SPDK's object) and in save_config (the calls that
// recreate them), and how a method names a bdev that does not exist.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "block/bdev.hpp"
#include "rpc/rpc_error.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {

// The error every method answers for an unknown bdev: -ENODEV "bdev NAME not found".
std::unexpected<RpcError> no_bdev(std::string_view name);
// The bdev named `name` (or with that UUID), or no_bdev(name).
std::expected<std::shared_ptr<block::Bdev>, RpcError> find_bdev(const Service& service,
                                                                std::string_view name);

// "malloc", "null", "uring": the driver key of the bdev's driver_specific object.
std::string bdev_driver(const block::Bdev& bdev);

// {"name", "aliases", "product_name", "block_size", "num_blocks", "uuid",
//  "assigned_rate_limits", "claimed", "zoned", "supported_io_types", "driver_specific", ...}
nlohmann::json describe_bdev(const Service& service, const block::Bdev& bdev);

// bdev_<driver>_create with the parameters that recreate the bdev exactly (uuid included),
// then bdev_set_qos_limit when a limit is set.
nlohmann::json bdev_config_calls(const Service& service, const block::Bdev& bdev);

}  // namespace vhostd::rpc
