// One line per backend module and per controller kind (see DEVELOPERS.md).
#include "app/modules.hpp"

#include "block/backends/fault/fault_bdevs.hpp"
#include "block/backends/malloc/malloc_bdev.hpp"
#include "block/backends/nbd/nbd_bdev.hpp"
#include "block/backends/null/null_bdev.hpp"
#include "block/backends/rbd/rbd_module.hpp"
#include "block/backends/uring/uring_bdev.hpp"
#include "targets/nvmf/nvmf_rpc.hpp"
#include "targets/vhost/vhost_rpc.hpp"
#include "targets/vhost_blk/blk_controller.hpp"
#include "targets/vhost_scsi/scsi_controller.hpp"

namespace vhostd::app {

void register_modules(block::ModuleContext& bdev_modules, controller::ControllerContext& kinds) {
    block::register_malloc_module(bdev_modules);
    block::register_null_module(bdev_modules);
    block::register_uring_module(bdev_modules);
    block::register_fault_module(bdev_modules);
    block::register_nbd_module(bdev_modules);
    block::register_rbd_module(bdev_modules);

    targets::register_vhost_family(kinds);
    targets::register_vhost_blk(kinds);
    targets::register_vhost_scsi(kinds);
    targets::nvmf::register_nvmf(kinds);
}

}  // namespace vhostd::app
