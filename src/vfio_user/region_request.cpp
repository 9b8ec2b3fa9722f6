// Device and region commands: argsz handling, the sparse mmap capability, access checks.
#include "vfio_user/region_request.hpp"

#include <fcntl.h>

#include "base/log.hpp"

namespace vhostd::vfio_user {

namespace {

static_assert(pci::kBar0 == pci_region::kBar0 && pci::kBar5 == pci_region::kBar5 &&
              pci::kRom == pci_region::kRom && pci::kConfig == pci_region::kConfig &&
              pci::kVga == pci_region::kVga && pci::kNumRegions == pci_region::kCount);

Result<uint32_t> region_index(uint32_t index, const char* what) {
    if (index >= pci_region::kCount) {
        return make_error(EINVAL, "{}: region index {} (the device has {})", what, index,
                          pci_region::kCount);
    }
    return index;
}

// The function's mmap areas are usable: inside the region, non-empty, with an fd. A function
// that declares otherwise has a bug; its region is then offered without mmap.
bool mappable(const pci::RegionInfo& info, uint32_t index) {
    if (info.mmap_areas.empty() || info.size == 0) {
        return false;
    }
    bool ok = info.fd >= 0;
    for (const pci::MmapArea& area : info.mmap_areas) {
        ok = ok && area.size != 0 && area.offset <= info.size &&
             area.size <= info.size - area.offset;
    }
    if (!ok) {
        LOG_RATELIMITED(vfio_user, err, "region {}: the function declares unusable mmap areas",
                        index);
    }
    return ok;
}

// Checks the access header shared by REGION_READ and REGION_WRITE against the region.
Result<pci::RegionInfo> check_access(const RegionAccess& access, const pci::Function& function,
                                     const char* what, bool write) {
    const uint32_t index = VHOSTD_TRY(region_index(access.region, what));
    // Spec "Read and Write Operations": count must not exceed our max_data_xfer_size.
    if (access.count > kMaxDataXferSize) {
        return make_error(EINVAL, "{}: {} bytes (max_data_xfer_size is {})", what, access.count,
                          kMaxDataXferSize);
    }
    pci::RegionInfo info = function.region_info(index);
    if (access.offset > info.size || access.count > info.size - access.offset) {
        return make_error(EINVAL, "{}: bytes {:#x}+{} outside region {} ({:#x} bytes)", what,
                          access.offset, access.count, index, info.size);
    }
    if (write ? !info.writable : !info.readable) {
        return make_error(EACCES, "{}: region {} is not {}", what, index,
                          write ? "writable" : "readable");
    }
    return info;
}

}  // namespace

Result<Reply> device_info_reply(const Message& message) {
    // The request's other fields "must be zero"; they carry nothing we use, so they are not
    // held against the client.
    const auto request = VHOSTD_TRY(message.prefix_as<DeviceInfo>());
    VHOSTD_TRY(message.expect_at_most_fds(0));
    // Spec "Message sizes": the whole 16-byte reply is the fixed part.
    if (request.argsz < sizeof(DeviceInfo)) {
        return make_error(EINVAL, "DEVICE_GET_INFO: argsz {} cannot hold the {}-byte reply",
                          request.argsz, sizeof(DeviceInfo));
    }
    Reply reply;
    reply.append(DeviceInfo{sizeof(DeviceInfo), kDeviceFlagReset | kDeviceFlagPci,
                            pci_region::kCount, pci_irq::kCount});
    return reply;
}

Result<Reply> region_info_reply(const Message& message, const pci::Function& function,
                                bool can_send_fd) {
    const auto request = VHOSTD_TRY(message.prefix_as<RegionInfo>());
    VHOSTD_TRY(message.expect_at_most_fds(0));
    // Spec "Message sizes": argsz is at least the fixed reply; a smaller one gets nothing.
    if (request.argsz < sizeof(RegionInfo)) {
        return make_error(EINVAL, "DEVICE_GET_REGION_INFO: argsz {} cannot hold the {}-byte reply",
                          request.argsz, sizeof(RegionInfo));
    }
    const uint32_t index = VHOSTD_TRY(region_index(request.index, "DEVICE_GET_REGION_INFO"));
    const pci::RegionInfo info = function.region_info(index);
    const bool mmap = can_send_fd && mappable(info, index);

    RegionInfo out{};
    out.index = index;
    out.size = info.size;
    if (info.size != 0) {
        out.flags = (info.readable ? kRegionRead : 0) | (info.writable ? kRegionWrite : 0);
    }
    const size_t caps_size =
        mmap ? sizeof(SparseMmapCap) + info.mmap_areas.size() * sizeof(SparseMmapArea) : 0;
    // Spec: the reply's argsz is the size of the full reply, whatever the client asked for.
    out.argsz = static_cast<uint32_t>(sizeof(RegionInfo) + caps_size);
    Reply reply;
    if (mmap) {
        out.flags |= kRegionMmap;
        out.offset = info.fd_offset;
    }
    // Spec "Message sizes": if the client's argsz is too small for the capabilities, the reply
    // holds the fixed part only, and argsz tells the client what to ask for. The fd comes
    // with the full reply (as libvfio-user does), so a client that retries leaks nothing.
    if (!mmap || request.argsz < out.argsz) {
        reply.append(out);
        return reply;
    }
    const int fd = ::fcntl(info.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return errno_error(fmt::format("duplicating the fd of region {}", index));
    }
    reply.fds.emplace_back(fd);
    out.flags |= kRegionCaps;
    out.cap_offset = sizeof(RegionInfo);
    reply.append(out);
    reply.append(SparseMmapCap{
        {kCapSparseMmap, kSparseMmapVersion, 0}, static_cast<uint32_t>(info.mmap_areas.size()), 0});
    for (const pci::MmapArea& area : info.mmap_areas) {
        reply.append(SparseMmapArea{area.offset, area.size});
    }
    return reply;
}

Result<Reply> region_io_fds_reply(const Message& message) {
    const auto request = VHOSTD_TRY(message.prefix_as<RegionIoFds>());
    VHOSTD_TRY(message.expect_at_most_fds(0));
    VHOSTD_TRY(region_index(request.index, "DEVICE_GET_REGION_IO_FDS"));
    return make_error(ENOTSUP, "DEVICE_GET_REGION_IO_FDS: no ioeventfds are offered");
}

Result<Reply> region_read(const Message& message, pci::Function& function) {
    const auto access = VHOSTD_TRY(message.payload_as<RegionAccess>());
    VHOSTD_TRY(message.expect_at_most_fds(0));
    VHOSTD_TRY(check_access(access, function, "REGION_READ", false));
    Reply reply;
    reply.append(access);
    if (access.count == 0) {
        return reply;  // nothing to read: the header alone
    }
    reply.body.resize(sizeof(RegionAccess) + access.count);
    const auto out = std::span(reinterpret_cast<uint8_t*>(reply.body.data()) + sizeof(RegionAccess),
                               access.count);
    VHOSTD_TRY(function.read(access.region, access.offset, out));
    return reply;
}

Result<Reply> region_write(const Message& message, pci::Function& function) {
    const auto access = VHOSTD_TRY(message.prefix_as<RegionAccess>());
    VHOSTD_TRY(message.expect_at_most_fds(0));
    // Spec REGION_WRITE: count data bytes follow the access header, no more, no fewer.
    if (message.payload.size() - sizeof(RegionAccess) != access.count) {
        return make_error(EINVAL, "REGION_WRITE: count {} with {} data bytes", access.count,
                          message.payload.size() - sizeof(RegionAccess));
    }
    VHOSTD_TRY(check_access(access, function, "REGION_WRITE", true));
    if (access.count != 0) {
        const auto data = std::span(
            reinterpret_cast<const uint8_t*>(message.payload.data()) + sizeof(RegionAccess),
            access.count);
        VHOSTD_TRY(function.write(access.region, access.offset, data));
    }
    Reply reply;
    reply.append(access);
    return reply;
}

}  // namespace vhostd::vfio_user
