// Function: a PCI function as a transport drives it (vfio-user today): its regions (BARs and
// configuration space) read and written by the driver, which parts of them the client may map,
// its interrupt types and the eventfds that deliver them, the client memory it may reach for
// DMA, and reset. Transports and PCI devices (the NVMe controller) meet only through this
// interface, as vhost-user and virtio devices meet through virtio::Device.
//
// Everything here runs on the control reactor. The transport checks every message against
// what the function declares (region_info(), irq_info()) before it calls read/write/set_irqs,
// so implementations see only in-range accesses and well-formed interrupt sets.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "guest_memory/guest_memory.hpp"

namespace vhostd::pci {

// Region indexes, as VFIO numbers them for PCI devices (linux/vfio.h VFIO_PCI_*_REGION_INDEX).
enum RegionIndex : uint32_t {
    kBar0 = 0,
    kBar5 = 5,
    kRom = 6,
    kConfig = 7,
    kVga = 8,
    kNumRegions = 9,
};

// Interrupt types (VFIO_PCI_*_IRQ_INDEX).
enum IrqIndex : uint32_t {
    kIntx = 0,
    kMsi = 1,
    kMsix = 2,
    kErr = 3,
    kReq = 4,
    kNumIrqs = 5,
};

// A part of a region the client may mmap(), relative to the region's start.
struct MmapArea {
    uint64_t offset = 0;
    uint64_t size = 0;
};

struct RegionInfo {
    uint64_t size = 0;  // 0: the function has no such region
    bool readable = false;
    bool writable = false;
    // The mappable parts: the client mmaps `fd` at file offset `fd_offset + area.offset`.
    // No areas: nothing is mappable and every access comes as a message. `fd` stays owned
    // by the function (the transport duplicates it into its reply) and lives as long as it.
    int fd = -1;
    uint64_t fd_offset = 0;
    std::vector<MmapArea> mmap_areas;
};

struct IrqInfo {
    uint32_t count = 0;  // 0: the function has no interrupts of this type
    bool eventfd = false;
    bool maskable = false;
    bool automasked = false;
    bool noresize = false;
};

// VFIO_USER_DEVICE_SET_IRQS as the transport parsed and checked it: index < kNumIrqs,
// start + count <= irq_info(index).count, exactly one data and one action kind, `bools`
// only with data == boolean and `fds` only with data == eventfd, one entry per sub-index.
enum class IrqAction : uint8_t { mask, unmask, trigger };
enum class IrqData : uint8_t { none, boolean, eventfd };
struct IrqSet {
    uint32_t index = 0;
    uint32_t start = 0;
    uint32_t count = 0;  // 0 with data == none and action == trigger: disable every vector
    IrqAction action = IrqAction::trigger;
    IrqData data = IrqData::none;
    std::vector<bool> bools;
    std::vector<UniqueFd> fds;  // an invalid entry (-1) unassigns that vector's eventfd
};

class Function {
  public:
    virtual ~Function() = default;

    [[nodiscard]] virtual RegionInfo region_info(uint32_t index) const = 0;
    // A driver access of out.size() / data.size() bytes (1 to the transport's maximum) at
    // `offset`, inside the region and allowed by its flags. Errors become error replies.
    virtual Result<void> read(uint32_t index, uint64_t offset, std::span<uint8_t> out) = 0;
    virtual Result<void> write(uint32_t index, uint64_t offset, std::span<const uint8_t> data) = 0;

    [[nodiscard]] virtual IrqInfo irq_info(uint32_t index) const = 0;
    virtual Result<void> set_irqs(IrqSet set) = 0;

    // DMA_MAP / DMA_UNMAP: the client memory the function may reach from now on (addresses
    // are the client's I/O virtual addresses). `done` runs on the control reactor once no
    // request still points into memory that `memory` lacks; the transport replies only then.
    virtual void set_memory(guest_memory::GuestMemory::Ptr memory,
                            std::move_only_function<void()> done) = 0;

    // DEVICE_RESET, or the client went away: back to the state after power-on (config space,
    // registers, every queue stopped after its requests in flight), interrupt eventfds
    // released. `done` runs on the control reactor once that state is reached.
    virtual void reset(std::move_only_function<void()> done) = 0;
};

}  // namespace vhostd::pci
