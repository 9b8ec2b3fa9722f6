// The vfio-user wire protocol (QEMU docs/interop/vfio-user.rst, protocol 0.x as QEMU 10.1 and
// libvfio-user speak it): commands, header flags, payload layouts (most borrowed from
// <linux/vfio.h>), the VERSION capability names and their defaults, and the PCI region and
// interrupt indexes. Shared by the server (vhostd) and the frontend's client. Native byte
// order, packed as the peers send them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vhostd::vfio_user {

// Spec "Commands". 14 (the old DIRTY_PAGES) is retired.
enum class Command : uint16_t {
    none = 0,
    version = 1,
    dma_map = 2,
    dma_unmap = 3,
    device_get_info = 4,
    device_get_region_info = 5,
    device_get_region_io_fds = 6,
    device_get_irq_info = 7,
    device_set_irqs = 8,
    region_read = 9,
    region_write = 10,
    dma_read = 11,   // server -> client
    dma_write = 12,  // server -> client
    device_reset = 13,
    region_write_multi = 15,
    device_feature = 16,
    mig_data_read = 17,
    mig_data_write = 18,
};
const char* to_string(Command command);

// Spec "Header": flags bits 0-3 are the message type, bit 4 No_reply, bit 5 Error.
constexpr uint32_t kTypeMask = 0xf;
constexpr uint32_t kTypeCommand = 0x0;
constexpr uint32_t kTypeReply = 0x1;
constexpr uint32_t kFlagNoReply = 1U << 4;
constexpr uint32_t kFlagError = 1U << 5;

// Protocol version: QEMU 10.1 proposes 0.0 and refuses a reply with a higher minor;
// libvfio-user (SPDK's target) implements 0.2.
constexpr uint16_t kMajor = 0;
constexpr uint16_t kMinor = 0;

// Spec "Version": capability names and the values a peer assumes when one is absent.
namespace capability {
constexpr const char* kCapabilities = "capabilities";
constexpr const char* kMaxMsgFds = "max_msg_fds";
constexpr const char* kMaxDataXferSize = "max_data_xfer_size";
constexpr const char* kMaxDmaMaps = "max_dma_maps";
constexpr const char* kPgsizes = "pgsizes";
constexpr const char* kMigration = "migration";
constexpr const char* kTwinSocket = "twin_socket";
constexpr const char* kWriteMultiple = "write_multiple";

constexpr uint64_t kDefaultMaxMsgFds = 1;
constexpr uint64_t kDefaultMaxDataXferSize = 1024 * 1024;
constexpr uint64_t kDefaultMaxDmaMaps = 65535;
constexpr uint64_t kDefaultPgsizes = 4096;
}  // namespace capability

// DMA_MAP flags (spec: bit 0 readable, bit 1 writeable).
constexpr uint32_t kDmaRead = 1U << 0;
constexpr uint32_t kDmaWrite = 1U << 1;
// DMA_UNMAP flags (VFIO_DMA_UNMAP_FLAG_*).
constexpr uint32_t kUnmapGetDirtyBitmap = 1U << 0;
constexpr uint32_t kUnmapAll = 1U << 1;

// DEVICE_GET_INFO flags (VFIO_DEVICE_FLAGS_*).
constexpr uint32_t kDeviceFlagReset = 1U << 0;
constexpr uint32_t kDeviceFlagPci = 1U << 1;

// DEVICE_GET_REGION_INFO flags (VFIO_REGION_INFO_FLAG_*) and capability ids.
constexpr uint32_t kRegionRead = 1U << 0;
constexpr uint32_t kRegionWrite = 1U << 1;
constexpr uint32_t kRegionMmap = 1U << 2;
constexpr uint32_t kRegionCaps = 1U << 3;
constexpr uint16_t kCapSparseMmap = 1;  // VFIO_REGION_INFO_CAP_SPARSE_MMAP
constexpr uint16_t kCapType = 2;        // VFIO_REGION_INFO_CAP_TYPE
constexpr uint16_t kSparseMmapVersion = 1;

// DEVICE_GET_IRQ_INFO flags (VFIO_IRQ_INFO_*).
constexpr uint32_t kIrqInfoEventfd = 1U << 0;
constexpr uint32_t kIrqInfoMaskable = 1U << 1;
constexpr uint32_t kIrqInfoAutomasked = 1U << 2;
constexpr uint32_t kIrqInfoNoresize = 1U << 3;

// DEVICE_SET_IRQS flags (VFIO_IRQ_SET_*): exactly one data kind and one action.
constexpr uint32_t kIrqDataNone = 1U << 0;
constexpr uint32_t kIrqDataBool = 1U << 1;
constexpr uint32_t kIrqDataEventfd = 1U << 2;
constexpr uint32_t kIrqActionMask = 1U << 3;
constexpr uint32_t kIrqActionUnmask = 1U << 4;
constexpr uint32_t kIrqActionTrigger = 1U << 5;
constexpr uint32_t kIrqDataTypeMask = kIrqDataNone | kIrqDataBool | kIrqDataEventfd;
constexpr uint32_t kIrqActionTypeMask = kIrqActionMask | kIrqActionUnmask | kIrqActionTrigger;

// PCI region indexes (VFIO_PCI_*_REGION_INDEX) and interrupt types (VFIO_PCI_*_IRQ_INDEX).
namespace pci_region {
constexpr uint32_t kBar0 = 0;
constexpr uint32_t kBar5 = 5;
constexpr uint32_t kRom = 6;
constexpr uint32_t kConfig = 7;
constexpr uint32_t kVga = 8;
constexpr uint32_t kCount = 9;
}  // namespace pci_region
namespace pci_irq {
constexpr uint32_t kIntx = 0;
constexpr uint32_t kMsi = 1;
constexpr uint32_t kMsix = 2;
constexpr uint32_t kErr = 3;
constexpr uint32_t kReq = 4;
constexpr uint32_t kCount = 5;
}  // namespace pci_irq

#pragma pack(push, 1)

struct Header {
    uint16_t msg_id;
    uint16_t command;
    uint32_t msg_size;  // the whole message, this header included
    uint32_t flags;
    uint32_t error_no;  // replies with kFlagError; reserved in commands
};
static_assert(sizeof(Header) == 16);

// VERSION, followed by optional NUL-terminated JSON.
struct Version {
    uint16_t major;
    uint16_t minor;
};
static_assert(sizeof(Version) == 4);

struct DmaMap {
    uint32_t argsz;
    uint32_t flags;
    uint64_t offset;  // in the fd; 0 without one
    uint64_t addr;
    uint64_t size;
};
static_assert(sizeof(DmaMap) == 32);

struct DmaUnmap {
    uint32_t argsz;
    uint32_t flags;
    uint64_t addr;
    uint64_t size;
};
static_assert(sizeof(DmaUnmap) == 24);

// Follows DmaUnmap with kUnmapGetDirtyBitmap (struct vfio_bitmap).
struct DirtyBitmap {
    uint64_t pgsize;
    uint64_t size;
};
static_assert(sizeof(DirtyBitmap) == 16);

struct DeviceInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t num_regions;
    uint32_t num_irqs;
};
static_assert(sizeof(DeviceInfo) == 16);

struct RegionInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t cap_offset;  // from the start of this struct; 0: no capability
    uint64_t size;
    uint64_t offset;  // mmap offset in the region's fd
};
static_assert(sizeof(RegionInfo) == 32);

// struct vfio_info_cap_header: `next` is an offset from the start of RegionInfo, 0 ends.
struct CapHeader {
    uint16_t id;
    uint16_t version;
    uint32_t next;
};
static_assert(sizeof(CapHeader) == 8);

// struct vfio_region_info_cap_sparse_mmap, followed by nr_areas SparseMmapArea.
struct SparseMmapCap {
    CapHeader header;
    uint32_t nr_areas;
    uint32_t reserved;
};
static_assert(sizeof(SparseMmapCap) == 16);

struct SparseMmapArea {
    uint64_t offset;  // added to RegionInfo::offset for mmap()
    uint64_t size;
};
static_assert(sizeof(SparseMmapArea) == 16);

struct RegionIoFds {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t count;
};
static_assert(sizeof(RegionIoFds) == 16);

struct IrqInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t count;
};
static_assert(sizeof(IrqInfo) == 16);

// DEVICE_SET_IRQS, followed by `count` bool bytes with kIrqDataBool; eventfds travel as
// SCM_RIGHTS.
struct IrqSet {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t start;
    uint32_t count;
};
static_assert(sizeof(IrqSet) == 20);

// REGION_READ / REGION_WRITE, followed by `count` data bytes in a write and a read's reply.
struct RegionAccess {
    uint64_t offset;
    uint32_t region;
    uint32_t count;
};
static_assert(sizeof(RegionAccess) == 16);

// DMA_READ / DMA_WRITE (server -> client), followed by data.
struct DmaAccess {
    uint64_t addr;
    uint64_t count;
};
static_assert(sizeof(DmaAccess) == 16);

#pragma pack(pop)

}  // namespace vhostd::vfio_user
