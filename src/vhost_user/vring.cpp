// Vring: ring address translation (split and packed layouts).
#include "vhost_user/vring.hpp"

#include <fcntl.h>

#include "spec/virtio.hpp"

namespace vhostd::vhost_user {
namespace {

Result<void*> translate_part(const guest_memory::GuestMemory& memory, const char* what,
                             uint64_t uva, uint64_t len, uint64_t align) {
    void* host = memory.host_address_from_user(uva, len);
    if (host == nullptr) {
        return make_error(EFAULT, "{} at {:#x} ({} bytes) is not inside one guest memory region",
                          what, uva, len);
    }
    if (reinterpret_cast<uintptr_t>(host) % align != 0) {
        return make_error(EINVAL, "{} at {:#x} is not {}-byte aligned", what, uva, align);
    }
    return host;
}

}  // namespace

Result<virtio::SplitRing> translate_ring(const guest_memory::GuestMemory& memory,
                                         const VringAddr& addr, uint32_t num) {
    virtio::SplitRing ring;
    ring.size = static_cast<uint16_t>(num);
    ring.desc = VHOSTD_TRY(translate_part(memory, "descriptor table", addr.desc_user_addr,
                                          virtio::desc_table_bytes(num), virtio::kDescAlign));
    ring.avail = VHOSTD_TRY(translate_part(memory, "available ring", addr.avail_user_addr,
                                           virtio::avail_ring_bytes(num), virtio::kAvailAlign));
    ring.used = VHOSTD_TRY(translate_part(memory, "used ring", addr.used_user_addr,
                                          virtio::used_ring_bytes(num), virtio::kUsedAlign));
    return ring;
}

Result<virtio::PackedRing> translate_packed_ring(const guest_memory::GuestMemory& memory,
                                                 const VringAddr& addr, uint32_t num) {
    virtio::PackedRing ring;
    ring.size = static_cast<uint16_t>(num);
    ring.desc = VHOSTD_TRY(translate_part(memory, "descriptor ring", addr.desc_user_addr,
                                          virtio::packed_desc_ring_bytes(num), virtio::kDescAlign));
    ring.driver_event =
        VHOSTD_TRY(translate_part(memory, "driver event area", addr.avail_user_addr,
                                  virtio::kEventSuppressBytes, virtio::kEventSuppressAlign));
    ring.device_event =
        VHOSTD_TRY(translate_part(memory, "device event area", addr.used_user_addr,
                                  virtio::kEventSuppressBytes, virtio::kEventSuppressAlign));
    return ring;
}

Result<UniqueFd> duplicate_fd(const UniqueFd& fd) {
    if (!fd) {
        return UniqueFd();
    }
    const int copy = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        return errno_error("duplicating a vring notification fd");
    }
    return UniqueFd(copy);
}

}  // namespace vhostd::vhost_user
