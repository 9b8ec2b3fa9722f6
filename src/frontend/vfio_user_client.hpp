// VfioUserClient: a vfio-user client (what QEMU's vfio-user-pci and SPDK's NVMe driver do),
// for vhostd's own NVMe driver and the tests. Connects and negotiates VERSION, maps the
// caller's memfd-backed memory for DMA, reads device, region and interrupt information, maps
// a region's sparse mmap areas, reads and writes registers, sets interrupt eventfds, and
// resets the device. Strict: a reply that breaks the protocol (wrong msg_id or command,
// inconsistent sizes, unexpected fds) is an error, never trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/vfio_user_channel.hpp"
#include "spec/vfio_user.hpp"

namespace vhostd::frontend {

// What the server answered to VERSION; capabilities it left out keep the spec's defaults.
struct VfioUserServerInfo {
    uint16_t major = 0;
    uint16_t minor = 0;
    uint64_t max_msg_fds = vfio_user::capability::kDefaultMaxMsgFds;
    uint64_t max_data_xfer_size = vfio_user::capability::kDefaultMaxDataXferSize;
    uint64_t max_dma_maps = vfio_user::capability::kDefaultMaxDmaMaps;
    uint64_t pgsizes = vfio_user::capability::kDefaultPgsizes;
};

// A region as DEVICE_GET_REGION_INFO describes it.
struct VfioUserRegion {
    uint32_t index = 0;
    uint32_t flags = 0;  // kRegion*
    uint64_t size = 0;
    uint64_t offset = 0;                                // mmap offset base in `fd`
    std::vector<vfio_user::SparseMmapArea> mmap_areas;  // from the sparse mmap capability
    UniqueFd fd;                                        // with kRegionMmap

    [[nodiscard]] bool readable() const { return (flags & vfio_user::kRegionRead) != 0; }
    [[nodiscard]] bool writable() const { return (flags & vfio_user::kRegionWrite) != 0; }
    [[nodiscard]] bool mappable() const { return fd.valid() && !mmap_areas.empty(); }
};

// The mmap()ed sparse areas of a region, unmapped on destruction.
class VfioUserMapping {
  public:
    struct Area {
        uint64_t offset = 0;  // in the region
        uint64_t size = 0;
        uint8_t* host = nullptr;
    };

    VfioUserMapping() = default;
    VfioUserMapping(VfioUserMapping&& other) noexcept : areas_(std::move(other.areas_)) {
        other.areas_.clear();
    }
    VfioUserMapping& operator=(VfioUserMapping&& other) noexcept;
    VfioUserMapping(const VfioUserMapping&) = delete;
    VfioUserMapping& operator=(const VfioUserMapping&) = delete;
    ~VfioUserMapping();

    // Maps every sparse area of `region` read/write as its flags allow (MAP_SHARED).
    static Result<VfioUserMapping> map(const VfioUserRegion& region);

    [[nodiscard]] std::span<const Area> areas() const { return areas_; }
    // Host address of region bytes [offset, offset + len) if one mapped area holds them all.
    [[nodiscard]] uint8_t* at(uint64_t offset, uint64_t len = 1) const;

  private:
    void release() noexcept;
    std::vector<Area> areas_;
};

class VfioUserClient {
  public:
    struct Options {
        VfioUserChannel::Options channel;
        // Send the JSON capabilities with VERSION (QEMU does; SPDK's client sends none).
        bool send_capabilities = true;
        // What we propose: the fds and data we take in one reply.
        uint64_t max_msg_fds = 16;
        uint64_t max_data_xfer_size = vfio_user::capability::kDefaultMaxDataXferSize;
    };

    // Connects to `path` and negotiates VERSION.
    static Result<VfioUserClient> connect(const std::string& path, const Options& options);
    static Result<VfioUserClient> connect(const std::string& path) {
        return connect(path, Options{});
    }
    // Negotiates VERSION on a connected channel.
    static Result<VfioUserClient> negotiate(VfioUserChannel channel, const Options& options);

    [[nodiscard]] const VfioUserServerInfo& server() const { return server_; }
    // Raw message access (tests).
    [[nodiscard]] VfioUserChannel& channel() { return channel_; }

    // --- DMA ---
    // DMA_MAP of [iova, iova + size) backed by `fd` at `offset` (fd -1: not mappable).
    Result<void> dma_map(uint64_t iova, uint64_t size, int fd, uint64_t offset,
                         uint32_t flags = vfio_user::kDmaRead | vfio_user::kDmaWrite);
    // Every region of `ram`, at its guest-physical address, read-write.
    Result<void> dma_map(const GuestRam& ram);
    Result<void> dma_unmap(uint64_t iova, uint64_t size);
    Result<void> dma_unmap_all();

    // --- device information ---
    Result<vfio_user::DeviceInfo> device_info();
    // Asks with room for the capabilities and asks again if the server needs more (argsz).
    Result<VfioUserRegion> region_info(uint32_t index);
    Result<vfio_user::IrqInfo> irq_info(uint32_t index);

    // --- region access (REGION_READ / REGION_WRITE) ---
    Result<void> region_read(uint32_t index, uint64_t offset, std::span<std::byte> out);
    Result<void> region_write(uint32_t index, uint64_t offset, std::span<const std::byte> data);
    // A write sent with No_reply (QEMU's posted writes): nothing tells whether it worked.
    Result<void> region_write_posted(uint32_t index, uint64_t offset,
                                     std::span<const std::byte> data);
    Result<uint32_t> read32(uint32_t index, uint64_t offset);
    Result<uint64_t> read64(uint32_t index, uint64_t offset);
    Result<void> write32(uint32_t index, uint64_t offset, uint32_t value);
    Result<void> write64(uint32_t index, uint64_t offset, uint64_t value);

    // --- interrupts (DEVICE_SET_IRQS) ---
    // Assigns eventfds to vectors start.. of `index`, in messages of at most the server's
    // max_msg_fds fds.
    Result<void> set_irq_eventfds(uint32_t index, uint32_t start, std::span<const int> fds);
    // DATA_EVENTFD without fds: de-assigns vectors [start, start + count).
    Result<void> unassign_irq_eventfds(uint32_t index, uint32_t start, uint32_t count);
    // count 0, DATA_NONE, ACTION_TRIGGER: disables every vector of `index`.
    Result<void> disable_irqs(uint32_t index);
    // Any DATA_NONE / DATA_BOOL request (mask, unmask, trigger); `bools` with DATA_BOOL.
    Result<void> set_irqs(uint32_t index, uint32_t start, uint32_t count, uint32_t flags,
                          std::span<const uint8_t> bools = {});

    // DEVICE_RESET.
    Result<void> reset();

  private:
    VfioUserClient(VfioUserChannel channel, VfioUserServerInfo server)
        : channel_(std::move(channel)), server_(server) {}
    Result<VfioUserMessage> call(vfio_user::Command command, std::span<const std::byte> payload,
                                 std::span<const int> fds = {});
    Result<void> call_expect_empty(vfio_user::Command command, std::span<const std::byte> payload,
                                   std::span<const int> fds = {});
    Result<VfioUserRegion> parse_region_info(const VfioUserMessage& reply, uint32_t index,
                                             uint32_t argsz);
    Result<void> check_access(uint64_t count) const;

    VfioUserChannel channel_;
    VfioUserServerInfo server_;
};

}  // namespace vhostd::frontend
