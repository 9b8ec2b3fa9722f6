// Statistics, QoS and coalescing methods (SPDK names): bdev_get_iostat, bdev_set_qos_limit,
// vhost_controller_set_coalescing.
#include "rpc/service.hpp"

namespace vhostd::rpc {

void register_stats_methods(MethodTable& /*table*/, Service& /*service*/) {}

}  // namespace vhostd::rpc
