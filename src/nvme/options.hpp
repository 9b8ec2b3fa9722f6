// Controller options: what an NVMe controller is built with (the nvmf_* RPCs fill them from
// SPDK's subsystem and transport parameters), and what a namespace is made of.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "block/bdev.hpp"

namespace vhostd::nvme {

// How the driver's doorbell writes reach the controller (SPDK's VFIOUSER transport modes).
enum class DoorbellMode : uint8_t {
    // BAR0's doorbell page is a shared memory area the client maps: a doorbell is a plain
    // store, which the controller sees by polling. No doorbell ever wakes a sleeping reactor,
    // so queues in this mode never let their reactor sleep.
    mapped,
    // Doorbell writes arrive as region writes on the control reactor (disable_mappable_bar0),
    // which wake the queue's reactor when it sleeps; with shadow doorbells the driver writes
    // them only when the EventIdx asks for it.
    trapped,
};
const char* to_string(DoorbellMode mode);

struct ControllerOptions {
    std::string serial_number = "VHOSTD00000000000001";          // SN: at most 20 ASCII characters
    std::string model_number = "vhostd NVMe controller";         // MN: at most 40
    std::string subsystem_nqn = "nqn.2019-07.io.vhostd:cnode0";  // SUBNQN: at most 223
    uint32_t max_namespaces = 32;                                // NN: NSIDs 1..max_namespaces
    uint16_t num_io_queues = 16;  // I/O queue pairs offered (Number of Queues), 1..255
    uint16_t mqes = 255;          // CAP.MQES: 0's based I/O queue entries, 1..4095
    DoorbellMode doorbell_mode = DoorbellMode::mapped;
    bool shadow_doorbells = true;  // OACS bit 8: Doorbell Buffer Config
    uint16_t cntlid = 1;
};

struct NamespaceOptions {
    uint32_t nsid = 0;  // 0: the lowest free NSID
    std::shared_ptr<block::Bdev> bdev;
    std::string uuid;  // empty: the bdev's UUID (NGUID and EUI-64 derive from it too)
};

}  // namespace vhostd::nvme
