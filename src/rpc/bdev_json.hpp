// How bdevs appear in bdev_get_bdevs (SPDK's object) and in save_config (the calls that
// recreate them).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "block/bdev.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {

// "malloc", "null", "uring": the driver key of the bdev's driver_specific object.
std::string bdev_driver(const block::Bdev& bdev);

// {"name", "aliases", "product_name", "block_size", "num_blocks", "uuid",
//  "assigned_rate_limits", "claimed", "zoned", "supported_io_types", "driver_specific", ...}
nlohmann::json describe_bdev(const Service& service, const block::Bdev& bdev);

// bdev_<driver>_create with the parameters that recreate the bdev exactly (uuid included),
// then bdev_set_qos_limit when a limit is set.
nlohmann::json bdev_config_calls(const Service& service, const block::Bdev& bdev);

}  // namespace vhostd::rpc
