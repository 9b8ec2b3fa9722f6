// Stacked bdevs: letting go of the base.
#include "block/backends/fault/stacked_backend.hpp"

#include "block/backends/fault/fault_bdevs.hpp"

namespace vhostd::block {

void release_fault_base(Bdev& bdev, BdevRegistry& bdevs) {
    if (auto* stacked = BdevModuleAccess::backend<StackedBackend>(bdev)) {
        (void)bdevs.release(stacked->base().name(), stacked->holder());
    }
}

}  // namespace vhostd::block
