// VfioUserClient: VERSION negotiation, the commands, and strict checks of every reply.
#include "frontend/vfio_user_client.hpp"

#include <algorithm>
#include <limits>

#include <fcntl.h>
#include <sys/mman.h>

#include <nlohmann/json.hpp>

namespace vhostd::frontend {

namespace vu = vfio_user;
using nlohmann::json;

namespace {

template <class T>
std::span<const std::byte> bytes_of(const T& value) {
    return std::as_bytes(std::span(&value, 1));
}

// A capability in the server's reply that must be an unsigned integer (left alone if absent).
Result<void> server_capability(const json& caps, const char* key, uint64_t& out) {
    const auto it = caps.find(key);
    if (it == caps.end()) {
        return {};
    }
    if (!it->is_number_unsigned()) {
        return make_error(EPROTO, "VERSION reply: {} is not an unsigned integer", key);
    }
    out = it->get<uint64_t>();
    return {};
}

Result<VfioUserServerInfo> parse_version_reply(const VfioUserMessage& reply) {
    const auto version = VHOSTD_TRY(reply.prefix<vu::Version>());
    if (!reply.fds.empty()) {
        return make_error(EPROTO, "VERSION reply came with {} fds (no twin socket was proposed)",
                          reply.fds.size());
    }
    // Spec "Version": the same major, and a minor no higher than ours.
    if (version.major != vu::kMajor || version.minor > vu::kMinor) {
        return make_error(EPROTO, "server answered version {}.{} to our {}.{}", version.major,
                          version.minor, vu::kMajor, vu::kMinor);
    }
    VfioUserServerInfo info;
    info.major = version.major;
    info.minor = version.minor;
    const auto data = std::span(reply.payload).subspan(sizeof(vu::Version));
    if (data.empty()) {
        return info;
    }
    if (data.back() != std::byte{0}) {
        return make_error(EPROTO, "VERSION reply: version data is not NUL-terminated");
    }
    const auto* text = reinterpret_cast<const char*>(data.data());
    const json root = json::parse(text, text + data.size() - 1, nullptr, false);
    if (root.is_discarded() || !root.is_object()) {
        return make_error(EPROTO, "VERSION reply: version data is not a JSON object");
    }
    const auto caps = root.find(vu::capability::kCapabilities);
    if (caps == root.end()) {
        return info;
    }
    if (!caps->is_object()) {
        return make_error(EPROTO, "VERSION reply: capabilities is not an object");
    }
    namespace cap = vu::capability;
    VHOSTD_TRY(server_capability(*caps, cap::kMaxMsgFds, info.max_msg_fds));
    VHOSTD_TRY(server_capability(*caps, cap::kMaxDataXferSize, info.max_data_xfer_size));
    VHOSTD_TRY(server_capability(*caps, cap::kMaxDmaMaps, info.max_dma_maps));
    VHOSTD_TRY(server_capability(*caps, cap::kPgsizes, info.pgsizes));
    // 4 KiB pages must be among the DMA page sizes (as QEMU checks); a server that can move
    // no data at all is of no use.
    if ((info.pgsizes & (cap::kDefaultPgsizes - 1)) != 0 || info.pgsizes == 0 ||
        info.max_data_xfer_size == 0) {
        return make_error(EPROTO, "VERSION reply: pgsizes {:#x}, max_data_xfer_size {}",
                          info.pgsizes, info.max_data_xfer_size);
    }
    return info;
}

// Spec "VFIO region capabilities": walks the chain (forward only, so it ends) and returns the
// offset of capability `id`, or 0.
Result<size_t> find_capability(std::span<const std::byte> payload, uint32_t first, uint16_t id) {
    size_t offset = first;
    for (int steps = 0; offset != 0; ++steps) {
        if (steps == 64 || offset < sizeof(vu::RegionInfo) ||
            offset + sizeof(vu::CapHeader) > payload.size()) {
            return make_error(EPROTO, "region info capability chain is malformed at {}", offset);
        }
        vu::CapHeader header;
        std::memcpy(&header, payload.data() + offset, sizeof(header));
        if (header.id == id) {
            return offset;
        }
        if (header.next != 0 && header.next <= offset) {
            return make_error(EPROTO, "region info capability chain goes backwards at {}", offset);
        }
        offset = header.next;
    }
    return size_t{0};
}

}  // namespace

VfioUserMapping& VfioUserMapping::operator=(VfioUserMapping&& other) noexcept {
    if (this != &other) {
        release();
        areas_ = std::move(other.areas_);
        other.areas_.clear();
    }
    return *this;
}

VfioUserMapping::~VfioUserMapping() {
    release();
}

void VfioUserMapping::release() noexcept {
    for (const Area& area : areas_) {
        ::munmap(area.host, area.size);
    }
    areas_.clear();
}

Result<VfioUserMapping> VfioUserMapping::map(const VfioUserRegion& region) {
    if (!region.mappable()) {
        return make_error(EINVAL, "region {} offers nothing to map", region.index);
    }
    const int prot = (region.readable() ? PROT_READ : 0) | (region.writable() ? PROT_WRITE : 0);
    VfioUserMapping mapping;
    for (const vu::SparseMmapArea& area : region.mmap_areas) {
        void* host = ::mmap(nullptr, area.size, prot, MAP_SHARED, region.fd.get(),
                            static_cast<off_t>(region.offset + area.offset));
        if (host == MAP_FAILED) {
            return errno_error(fmt::format("mmap of region {} area {:#x}+{:#x}", region.index,
                                           area.offset, area.size));
        }
        mapping.areas_.push_back({area.offset, area.size, static_cast<uint8_t*>(host)});
    }
    return mapping;
}

uint8_t* VfioUserMapping::at(uint64_t offset, uint64_t len) const {
    for (const Area& area : areas_) {
        if (offset >= area.offset && offset - area.offset <= area.size &&
            len <= area.size - (offset - area.offset)) {
            return area.host + (offset - area.offset);
        }
    }
    return nullptr;
}

Result<VfioUserClient> VfioUserClient::connect(const std::string& path, const Options& options) {
    return negotiate(VHOSTD_TRY(VfioUserChannel::connect(path, options.channel)), options);
}

Result<VfioUserClient> VfioUserClient::negotiate(VfioUserChannel channel, const Options& options) {
    // Replies are bounded by what we propose to take.
    channel.set_max_message_size(sizeof(vu::Header) + sizeof(vu::RegionAccess) +
                                 options.max_data_xfer_size);
    std::vector<std::byte> payload(sizeof(vu::Version));
    const vu::Version version{vu::kMajor, vu::kMinor};
    std::memcpy(payload.data(), &version, sizeof(version));
    if (options.send_capabilities) {
        namespace cap = vu::capability;
        json caps = json::object();
        caps[cap::kMaxMsgFds] = options.max_msg_fds;
        caps[cap::kMaxDataXferSize] = options.max_data_xfer_size;
        caps[cap::kPgsizes] = cap::kDefaultPgsizes;
        caps[cap::kMaxDmaMaps] = cap::kDefaultMaxDmaMaps;
        json root = json::object();
        root[cap::kCapabilities] = std::move(caps);
        const std::string text = root.dump();
        const auto* p = reinterpret_cast<const std::byte*>(text.c_str());
        payload.insert(payload.end(), p, p + text.size() + 1);  // with its NUL
    }
    const VfioUserMessage reply = VHOSTD_TRY(channel.call(vu::Command::version, payload));
    const VfioUserServerInfo server = VHOSTD_TRY(parse_version_reply(reply));
    return VfioUserClient(std::move(channel), server);
}

Result<VfioUserMessage> VfioUserClient::call(vu::Command command,
                                             std::span<const std::byte> payload,
                                             std::span<const int> fds) {
    return channel_.call(command, payload, fds);
}

Result<void> VfioUserClient::call_expect_empty(vu::Command command,
                                               std::span<const std::byte> payload,
                                               std::span<const int> fds) {
    const VfioUserMessage reply = VHOSTD_TRY(call(command, payload, fds));
    if (!reply.payload.empty() || !reply.fds.empty()) {
        return make_error(EPROTO, "reply to {} has {} payload bytes and {} fds, expected none",
                          vu::to_string(command), reply.payload.size(), reply.fds.size());
    }
    return {};
}

Result<void> VfioUserClient::dma_map(uint64_t iova, uint64_t size, int fd, uint64_t offset,
                                     uint32_t flags) {
    const vu::DmaMap request{sizeof(vu::DmaMap), flags, fd >= 0 ? offset : 0, iova, size};
    const int fds[] = {fd};
    return call_expect_empty(vu::Command::dma_map, bytes_of(request),
                             fd >= 0 ? std::span<const int>(fds) : std::span<const int>());
}

Result<void> VfioUserClient::dma_map(const GuestRam& ram) {
    for (const GuestRam::Region& region : ram.regions()) {
        VHOSTD_TRY(dma_map(region.gpa, region.size, region.fd, region.mmap_offset));
    }
    return {};
}

Result<void> VfioUserClient::dma_unmap(uint64_t iova, uint64_t size) {
    const vu::DmaUnmap request{sizeof(vu::DmaUnmap), 0, iova, size};
    const VfioUserMessage reply = VHOSTD_TRY(call(vu::Command::dma_unmap, bytes_of(request)));
    // Spec DMA_UNMAP: "the server responds with the original DMA entry in the request".
    const auto echo = VHOSTD_TRY(reply.as<vu::DmaUnmap>());
    if (echo.addr != iova || echo.size != size || !reply.fds.empty()) {
        return make_error(EPROTO, "DMA_UNMAP reply does not echo {:#x}+{:#x}", iova, size);
    }
    return {};
}

Result<void> VfioUserClient::dma_unmap_all() {
    const vu::DmaUnmap request{sizeof(vu::DmaUnmap), vu::kUnmapAll, 0, 0};
    const VfioUserMessage reply = VHOSTD_TRY(call(vu::Command::dma_unmap, bytes_of(request)));
    const auto echo = VHOSTD_TRY(reply.as<vu::DmaUnmap>());
    if (echo.flags != vu::kUnmapAll || !reply.fds.empty()) {
        return make_error(EPROTO, "DMA_UNMAP reply does not echo the unmap-all request");
    }
    return {};
}

Result<vu::DeviceInfo> VfioUserClient::device_info() {
    const vu::DeviceInfo request{sizeof(vu::DeviceInfo), 0, 0, 0};
    const VfioUserMessage reply = VHOSTD_TRY(call(vu::Command::device_get_info, bytes_of(request)));
    const auto info = VHOSTD_TRY(reply.as<vu::DeviceInfo>());
    if (info.argsz < sizeof(vu::DeviceInfo) || !reply.fds.empty()) {
        return make_error(EPROTO, "DEVICE_GET_INFO reply: argsz {}, {} fds", info.argsz,
                          reply.fds.size());
    }
    return info;
}

Result<VfioUserRegion> VfioUserClient::parse_region_info(const VfioUserMessage& reply,
                                                         uint32_t index, uint32_t argsz) {
    const auto info = VHOSTD_TRY(reply.prefix<vu::RegionInfo>());
    constexpr uint32_t kKnownFlags =
        vu::kRegionRead | vu::kRegionWrite | vu::kRegionMmap | vu::kRegionCaps;
    if (info.index != index || info.argsz < sizeof(vu::RegionInfo) ||
        (info.flags & ~kKnownFlags) != 0 || reply.fds.size() > 1) {
        return make_error(EPROTO, "region {} info reply: index {}, argsz {}, flags {:#x}, {} fds",
                          index, info.index, info.argsz, info.flags, reply.fds.size());
    }
    // Spec "Message sizes": the whole reply when it fits in our argsz; else "the full payload
    // is not included" (vhostd sends the fixed part, libvfio-user as much as fits), there is
    // no fd, and the capabilities are left for the retry.
    const bool whole = info.argsz <= argsz;
    if (whole ? reply.payload.size() != info.argsz
              : reply.payload.size() > argsz || !reply.fds.empty()) {
        return make_error(EPROTO,
                          "region {} info reply: {} bytes and {} fds for argsz {} (ours {})", index,
                          reply.payload.size(), reply.fds.size(), info.argsz, argsz);
    }
    VfioUserRegion region;
    region.index = index;
    region.flags = info.flags;
    region.size = info.size;
    region.offset = info.offset;
    if (!reply.fds.empty() && (info.flags & vu::kRegionMmap) == 0) {
        return make_error(EPROTO, "region {} info reply carries an fd without MMAP", index);
    }
    if (!whole) {
        return region;
    }
    if ((info.flags & vu::kRegionCaps) != 0) {
        const size_t at =
            VHOSTD_TRY(find_capability(reply.payload, info.cap_offset, vu::kCapSparseMmap));
        if (at != 0) {
            vu::SparseMmapCap cap;
            if (at + sizeof(cap) > reply.payload.size()) {
                return make_error(EPROTO, "region {}: sparse mmap capability is cut short", index);
            }
            std::memcpy(&cap, reply.payload.data() + at, sizeof(cap));
            const size_t room =
                (reply.payload.size() - at - sizeof(cap)) / sizeof(vu::SparseMmapArea);
            if (cap.header.version != vu::kSparseMmapVersion || cap.nr_areas > room) {
                return make_error(EPROTO, "region {}: sparse mmap capability v{} with {} areas",
                                  index, cap.header.version, cap.nr_areas);
            }
            for (uint32_t i = 0; i < cap.nr_areas; ++i) {
                vu::SparseMmapArea area;
                std::memcpy(&area, reply.payload.data() + at + sizeof(cap) + i * sizeof(area),
                            sizeof(area));
                if (area.size == 0) {
                    continue;  // VFIO allows empty entries
                }
                if (area.offset > region.size || area.size > region.size - area.offset) {
                    return make_error(EPROTO, "region {}: mmap area {:#x}+{:#x} is outside it",
                                      index, area.offset, area.size);
                }
                region.mmap_areas.push_back(area);
            }
        }
    } else if ((info.flags & vu::kRegionMmap) != 0 && !reply.fds.empty()) {
        region.mmap_areas.push_back({0, region.size});  // the whole region
    }
    if (!region.mmap_areas.empty()) {
        if (reply.fds.size() != 1) {
            return make_error(EPROTO, "region {} has mmap areas but came without its fd", index);
        }
        region.fd = UniqueFd(::fcntl(reply.fds[0].get(), F_DUPFD_CLOEXEC, 0));
        if (!region.fd) {
            return errno_error("duplicating a region fd");
        }
    }
    return region;
}

Result<VfioUserRegion> VfioUserClient::region_info(uint32_t index) {
    // Room for a few sparse areas at once; a server that needs more says so in argsz.
    uint32_t argsz =
        sizeof(vu::RegionInfo) + sizeof(vu::SparseMmapCap) + 4 * sizeof(vu::SparseMmapArea);
    for (int attempt = 0;; ++attempt) {
        const vu::RegionInfo request{argsz, 0, index, 0, 0, 0};
        const VfioUserMessage reply =
            VHOSTD_TRY(call(vu::Command::device_get_region_info, bytes_of(request)));
        const auto info = VHOSTD_TRY(reply.prefix<vu::RegionInfo>());
        if (info.argsz <= argsz) {
            return parse_region_info(reply, index, argsz);
        }
        // The fixed part only: ask again with the size the server needs, once.
        VHOSTD_TRY(parse_region_info(reply, index, argsz));
        if (attempt == 1 || info.argsz > channel_.options().max_message_size) {
            return make_error(EPROTO, "region {} info needs argsz {}", index, info.argsz);
        }
        argsz = info.argsz;
    }
}

Result<vu::IrqInfo> VfioUserClient::irq_info(uint32_t index) {
    const vu::IrqInfo request{sizeof(vu::IrqInfo), 0, index, 0};
    const VfioUserMessage reply =
        VHOSTD_TRY(call(vu::Command::device_get_irq_info, bytes_of(request)));
    const auto info = VHOSTD_TRY(reply.as<vu::IrqInfo>());
    if (info.index != index || info.argsz < sizeof(vu::IrqInfo) || !reply.fds.empty()) {
        return make_error(EPROTO, "irq {} info reply: index {}, argsz {}", index, info.index,
                          info.argsz);
    }
    return info;
}

Result<void> VfioUserClient::check_access(uint64_t count) const {
    if (count > server_.max_data_xfer_size || count > std::numeric_limits<uint32_t>::max()) {
        return make_error(EINVAL, "{} bytes in one region access (server takes {})", count,
                          server_.max_data_xfer_size);
    }
    return {};
}

Result<void> VfioUserClient::region_read(uint32_t index, uint64_t offset,
                                         std::span<std::byte> out) {
    VHOSTD_TRY(check_access(out.size()));
    const vu::RegionAccess request{offset, index, static_cast<uint32_t>(out.size())};
    const VfioUserMessage reply = VHOSTD_TRY(call(vu::Command::region_read, bytes_of(request)));
    const auto echo = VHOSTD_TRY(reply.prefix<vu::RegionAccess>());
    if (echo.offset != offset || echo.region != index || echo.count != out.size() ||
        reply.payload.size() != sizeof(echo) + out.size() || !reply.fds.empty()) {
        return make_error(EPROTO, "REGION_READ reply does not match region {} {:#x}+{}", index,
                          offset, out.size());
    }
    if (!out.empty()) {
        std::memcpy(out.data(), reply.payload.data() + sizeof(echo), out.size());
    }
    return {};
}

Result<void> VfioUserClient::region_write(uint32_t index, uint64_t offset,
                                          std::span<const std::byte> data) {
    VHOSTD_TRY(check_access(data.size()));
    std::vector<std::byte> payload(sizeof(vu::RegionAccess) + data.size());
    const vu::RegionAccess request{offset, index, static_cast<uint32_t>(data.size())};
    std::memcpy(payload.data(), &request, sizeof(request));
    if (!data.empty()) {
        std::memcpy(payload.data() + sizeof(request), data.data(), data.size());
    }
    const VfioUserMessage reply = VHOSTD_TRY(call(vu::Command::region_write, payload));
    const auto echo = VHOSTD_TRY(reply.as<vu::RegionAccess>());
    if (echo.offset != offset || echo.region != index || echo.count != data.size() ||
        !reply.fds.empty()) {
        return make_error(EPROTO, "REGION_WRITE reply does not match region {} {:#x}+{}", index,
                          offset, data.size());
    }
    return {};
}

Result<void> VfioUserClient::region_write_posted(uint32_t index, uint64_t offset,
                                                 std::span<const std::byte> data) {
    VHOSTD_TRY(check_access(data.size()));
    std::vector<std::byte> payload(sizeof(vu::RegionAccess) + data.size());
    const vu::RegionAccess request{offset, index, static_cast<uint32_t>(data.size())};
    std::memcpy(payload.data(), &request, sizeof(request));
    if (!data.empty()) {
        std::memcpy(payload.data() + sizeof(request), data.data(), data.size());
    }
    VHOSTD_TRY(channel_.send(vu::Command::region_write, payload, {}, vu::kFlagNoReply));
    return {};
}

Result<uint32_t> VfioUserClient::read32(uint32_t index, uint64_t offset) {
    uint32_t value = 0;
    VHOSTD_TRY(region_read(index, offset, std::as_writable_bytes(std::span(&value, 1))));
    return value;
}

Result<uint64_t> VfioUserClient::read64(uint32_t index, uint64_t offset) {
    uint64_t value = 0;
    VHOSTD_TRY(region_read(index, offset, std::as_writable_bytes(std::span(&value, 1))));
    return value;
}

Result<void> VfioUserClient::write32(uint32_t index, uint64_t offset, uint32_t value) {
    return region_write(index, offset, bytes_of(value));
}

Result<void> VfioUserClient::write64(uint32_t index, uint64_t offset, uint64_t value) {
    return region_write(index, offset, bytes_of(value));
}

Result<void> VfioUserClient::set_irq_eventfds(uint32_t index, uint32_t start,
                                              std::span<const int> fds) {
    if (server_.max_msg_fds == 0) {
        return make_error(ENOTSUP, "the server takes no file descriptors");
    }
    // Spec "max_msg_fds": never more fds in one message than the server takes.
    for (size_t sent = 0; sent < fds.size();) {
        const size_t n = std::min<size_t>(fds.size() - sent, server_.max_msg_fds);
        const vu::IrqSet request{sizeof(vu::IrqSet), vu::kIrqDataEventfd | vu::kIrqActionTrigger,
                                 index, static_cast<uint32_t>(start + sent),
                                 static_cast<uint32_t>(n)};
        VHOSTD_TRY(call_expect_empty(vu::Command::device_set_irqs, bytes_of(request),
                                     fds.subspan(sent, n)));
        sent += n;
    }
    return {};
}

Result<void> VfioUserClient::unassign_irq_eventfds(uint32_t index, uint32_t start, uint32_t count) {
    const vu::IrqSet request{sizeof(vu::IrqSet), vu::kIrqDataEventfd | vu::kIrqActionTrigger, index,
                             start, count};
    return call_expect_empty(vu::Command::device_set_irqs, bytes_of(request));
}

Result<void> VfioUserClient::disable_irqs(uint32_t index) {
    const vu::IrqSet request{sizeof(vu::IrqSet), vu::kIrqDataNone | vu::kIrqActionTrigger, index, 0,
                             0};
    return call_expect_empty(vu::Command::device_set_irqs, bytes_of(request));
}

Result<void> VfioUserClient::set_irqs(uint32_t index, uint32_t start, uint32_t count,
                                      uint32_t flags, std::span<const uint8_t> bools) {
    const bool with_bools = (flags & vu::kIrqDataBool) != 0;
    if (with_bools ? bools.size() != count : !bools.empty()) {
        return make_error(EINVAL, "{} bools for {} vectors with flags {:#x}", bools.size(), count,
                          flags);
    }
    std::vector<std::byte> payload(sizeof(vu::IrqSet) + bools.size());
    const vu::IrqSet request{static_cast<uint32_t>(payload.size()), flags, index, start, count};
    std::memcpy(payload.data(), &request, sizeof(request));
    if (!bools.empty()) {
        std::memcpy(payload.data() + sizeof(request), bools.data(), bools.size());
    }
    return call_expect_empty(vu::Command::device_set_irqs, payload);
}

Result<void> VfioUserClient::reset() {
    return call_expect_empty(vu::Command::device_reset, {});
}

}  // namespace vhostd::frontend
