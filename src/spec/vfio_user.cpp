// Names of vfio-user commands, for logs.
#include "spec/vfio_user.hpp"

namespace vhostd::vfio_user {

const char* to_string(Command command) {
    switch (command) {
        case Command::none:
            return "NONE";
        case Command::version:
            return "VERSION";
        case Command::dma_map:
            return "DMA_MAP";
        case Command::dma_unmap:
            return "DMA_UNMAP";
        case Command::device_get_info:
            return "DEVICE_GET_INFO";
        case Command::device_get_region_info:
            return "DEVICE_GET_REGION_INFO";
        case Command::device_get_region_io_fds:
            return "DEVICE_GET_REGION_IO_FDS";
        case Command::device_get_irq_info:
            return "DEVICE_GET_IRQ_INFO";
        case Command::device_set_irqs:
            return "DEVICE_SET_IRQS";
        case Command::region_read:
            return "REGION_READ";
        case Command::region_write:
            return "REGION_WRITE";
        case Command::dma_read:
            return "DMA_READ";
        case Command::dma_write:
            return "DMA_WRITE";
        case Command::device_reset:
            return "DEVICE_RESET";
        case Command::region_write_multi:
            return "REGION_WRITE_MULTI";
        case Command::device_feature:
            return "DEVICE_FEATURE";
        case Command::mig_data_read:
            return "MIG_DATA_READ";
        case Command::mig_data_write:
            return "MIG_DATA_WRITE";
    }
    return "UNKNOWN";
}

}  // namespace vhostd::vfio_user
