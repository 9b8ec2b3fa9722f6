// virtio-scsi methods (SPDK names): vhost_create_scsi_controller,
// vhost_scsi_controller_add_target, vhost_scsi_controller_remove_target.
#include "rpc/service.hpp"

namespace vhostd::rpc {

void register_scsi_methods(MethodTable& /*table*/, Service& /*service*/) {}

}  // namespace vhostd::rpc
