// RawFrontend and RawGuest: sendmsg/recvmsg by hand and a split ring written byte by byte.
#include "raw_frontend.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "spec/virtio.hpp"
#include "spec/virtio_blk.hpp"
#include "spec/virtio_scsi.hpp"

namespace vhostd::testing {

namespace vu = vhost_user;
using Clock = std::chrono::steady_clock;

size_t count_process_fds(pid_t pid) {
    size_t n = 0;
    std::error_code ec;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
        ++n;
    }
    return n;
}

uint64_t RawReply::u64() const {
    uint64_t v = UINT64_MAX;
    if (payload.size() >= sizeof(v)) {
        std::memcpy(&v, payload.data(), sizeof(v));
    }
    return v;
}

std::unique_ptr<RawFrontend> RawFrontend::connect(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        return nullptr;
    }
    return std::unique_ptr<RawFrontend>(new RawFrontend(fd));
}

RawFrontend::~RawFrontend() {
    ::close(fd_);
}

bool RawFrontend::send(vu::Request request, std::span<const std::byte> payload,
                       std::span<const int> fds, bool need_reply) {
    vu::MessageHeader header{static_cast<uint32_t>(request),
                             vu::kVersion | (need_reply ? vu::kFlagNeedReply : 0U),
                             static_cast<uint32_t>(payload.size())};
    std::vector<std::byte> bytes(sizeof(header) + payload.size());
    std::memcpy(bytes.data(), &header, sizeof(header));
    if (!payload.empty()) {
        std::memcpy(bytes.data() + sizeof(header), payload.data(), payload.size());
    }
    iovec iov{bytes.data(), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<std::byte> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    return ::sendmsg(fd_, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

bool RawFrontend::send_u64(vu::Request request, uint64_t value, std::span<const int> fds,
                           bool need_reply) {
    return send_struct(request, value, fds, need_reply);
}

bool RawFrontend::send_raw(std::span<const std::byte> bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
}

namespace {

// Reads exactly `n` bytes before `deadline`; false on EOF, error or timeout.
bool read_exact(int fd, std::byte* out, size_t n, Clock::time_point deadline) {
    while (n > 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return false;
        }
        const ssize_t got = ::recv(fd, out, n, 0);
        if (got <= 0) {
            return false;
        }
        out += got;
        n -= static_cast<size_t>(got);
    }
    return true;
}

}  // namespace

std::optional<RawReply> RawFrontend::receive(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    RawReply reply;
    if (!read_exact(fd_, reinterpret_cast<std::byte*>(&reply.header), sizeof(reply.header),
                    deadline) ||
        reply.header.size > 4096) {
        return std::nullopt;
    }
    reply.payload.resize(reply.header.size);
    if (!read_exact(fd_, reply.payload.data(), reply.payload.size(), deadline)) {
        return std::nullopt;
    }
    return reply;
}

std::optional<uint64_t> RawFrontend::ack_u64(vu::Request request, uint64_t value,
                                             std::span<const int> fds) {
    return ack_struct(request, value, fds);
}

bool RawFrontend::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return false;
        }
        std::byte sink[256];
        const ssize_t got = ::recv(fd_, sink, sizeof(sink), 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            return true;
        }
    }
}

RawGuest::RawGuest(size_t size, Layout layout) : size_(size), layout_(layout) {
    memfd_ = ::memfd_create("raw-guest", MFD_CLOEXEC);  // not sealed: it can shrink
    if (memfd_ >= 0 && ::ftruncate(memfd_, static_cast<off_t>(size)) == 0) {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0);
        base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    }
}

RawGuest::~RawGuest() {
    if (base_ != nullptr) {
        ::munmap(base_, size_);
    }
    if (memfd_ >= 0) {
        ::close(memfd_);
    }
}

bool RawFrontend::negotiate() {
    const uint64_t features =
        virtio::bit(virtio::feature::kVersion1) | virtio::bit(vu::kFeatureProtocolFeatures);
    const uint64_t protocol = virtio::bit(vu::protocol_feature::kReplyAck);
    if (!send(vu::Request::get_features, {}) || !receive() ||
        !send_u64(vu::Request::set_features, features)) {
        return false;
    }
    if (!send(vu::Request::get_protocol_features, {}) || !receive()) {
        return false;
    }
    if (!send_u64(vu::Request::set_protocol_features, protocol)) {
        return false;
    }
    if (!send(vu::Request::set_owner, {}, {}, true)) {
        return false;
    }
    auto owner = receive();
    return owner && owner->u64() == 0;
}

bool RawGuest::set_up_blk(RawFrontend& f, int kick_fd, int call_fd, int err_fd) {
    return base_ != nullptr && f.negotiate() && set_up_ring(f, 0, kick_fd, call_fd, err_fd);
}

bool RawGuest::set_up_scsi(RawFrontend& f, int kick_fd, int call_fd, int err_fd) {
    return base_ != nullptr && f.negotiate() &&
           set_up_ring(f, virtio_scsi::kFirstRequestQueue, kick_fd, call_fd, err_fd);
}

bool RawGuest::set_up_ring(RawFrontend& f, uint16_t ring, int kick_fd, int call_fd, int err_fd) {
    ring_ = ring;
    struct {
        uint32_t num_regions = 1;
        uint32_t padding = 0;
        vu::MemoryRegion region{};
    } table;
    table.region = {0, size_, user_addr(0), 0};
    const int memfd = memfd_;
    if (f.ack_struct(vu::Request::set_mem_table, table, std::span(&memfd, 1)) != 0) {
        return false;
    }
    if (f.ack_struct(vu::Request::set_vring_num, vu::VringState{ring, kQueueSize}) != 0 ||
        f.ack_struct(vu::Request::set_vring_base, vu::VringState{ring, 0}) != 0) {
        return false;
    }
    vu::VringAddr addr{
        ring, 0, user_addr(layout_.desc), user_addr(layout_.used), user_addr(layout_.avail), 0};
    if (f.ack_struct(vu::Request::set_vring_addr, addr) != 0) {
        return false;
    }
    if (err_fd >= 0 && f.ack_u64(vu::Request::set_vring_err, ring, std::span(&err_fd, 1)) != 0) {
        return false;
    }
    if (f.ack_u64(vu::Request::set_vring_call, ring, std::span(&call_fd, 1)) != 0 ||
        f.ack_u64(vu::Request::set_vring_kick, ring, std::span(&kick_fd, 1)) != 0) {
        return false;
    }
    return f.ack_struct(vu::Request::set_vring_enable, vu::VringState{ring, 1}) == 0;
}

uint16_t RawGuest::post_chain(std::span<const Segment> segments, uint64_t writable_end) {
    const uint16_t head = static_cast<uint16_t>((avail_idx_ * 3) % kQueueSize);
    if (layout_.desc + sizeof(virtio::VringDesc) * kQueueSize <= writable_end) {
        auto* desc = reinterpret_cast<virtio::VringDesc*>(at(layout_.desc));
        for (size_t i = 0; i < segments.size(); ++i) {
            const bool last = i + 1 == segments.size();
            const auto slot = static_cast<uint16_t>((head + i) % kQueueSize);
            const uint16_t flags =
                static_cast<uint16_t>((segments[i].device_writes ? virtio::desc_flags::kWrite : 0) |
                                      (last ? 0 : virtio::desc_flags::kNext));
            desc[slot] = {segments[i].offset, segments[i].length, flags,
                          static_cast<uint16_t>((slot + 1) % kQueueSize)};
        }
    }
    ++avail_idx_;
    if (layout_.avail + 4 + 2 * kQueueSize <= writable_end) {
        auto* ring = reinterpret_cast<uint16_t*>(at(layout_.avail));
        ring[2 + (avail_idx_ - 1) % kQueueSize] = head;
        std::atomic_thread_fence(std::memory_order_release);
        ring[1] = avail_idx_;
    }
    return avail_idx_;
}

uint16_t RawGuest::post_request(uint32_t type, uint64_t sector, uint32_t length,
                                uint64_t writable_end) {
    const Layout& l = layout_;
    if (l.header + 16 <= writable_end) {
        virtio_blk::RequestHeader header{type, 0, sector};
        std::memcpy(at(l.header), &header, sizeof(header));
    }
    if (l.status < writable_end) {
        *at(l.status) = 0xff;
    }
    const Segment chain[] = {{l.header, 16, false},
                             {l.data, length, type == virtio_blk::request_type::kIn},
                             {l.status, 1, true}};
    return post_chain(chain, writable_end);
}

uint16_t RawGuest::post_scsi_request(bool write, uint64_t lba, uint32_t blocks,
                                     uint64_t writable_end) {
    const Layout& l = layout_;
    constexpr uint32_t kRequestBytes =
        sizeof(virtio_scsi::CmdHeader) + virtio_scsi::kDefaultCdbSize;
    constexpr uint32_t kResponseBytes =
        sizeof(virtio_scsi::CmdResponse) + virtio_scsi::kDefaultSenseSize;
    if (l.header + kRequestBytes <= writable_end) {
        std::array<uint8_t, kRequestBytes> request{};
        request[0] = 1;  // LUN field: target 0, LUN 0 (5.6.6.1)
        uint8_t* cdb = request.data() + sizeof(virtio_scsi::CmdHeader);
        cdb[0] = write ? 0x8a : 0x88;  // WRITE(16) / READ(16)
        for (int i = 0; i < 8; ++i) {
            cdb[2 + i] = static_cast<uint8_t>(lba >> (56 - 8 * i));
        }
        for (int i = 0; i < 4; ++i) {
            cdb[10 + i] = static_cast<uint8_t>(blocks >> (24 - 8 * i));
        }
        std::memcpy(at(l.header), request.data(), request.size());
    }
    if (l.status + kResponseBytes <= writable_end) {
        std::memset(at(l.status), 0xff, kResponseBytes);
    }
    const uint32_t length = blocks * 512;
    const Segment chain[] = {{l.header, kRequestBytes, false},
                             {l.data, length, !write},
                             {l.status, kResponseBytes, true}};
    // Virtio 5.6.6.1: device-readable parts (command, data-out) before device-writable ones.
    const Segment read_chain[] = {
        {l.header, kRequestBytes, false}, {l.status, kResponseBytes, true}, {l.data, length, true}};
    return write ? post_chain(chain, writable_end) : post_chain(read_chain, writable_end);
}

uint8_t RawGuest::scsi_response() const {
    return *at(layout_.status + offsetof(virtio_scsi::CmdResponse, response));
}

uint8_t RawGuest::scsi_status() const {
    return *at(layout_.status + offsetof(virtio_scsi::CmdResponse, status));
}

uint16_t RawGuest::used_idx() const {
    const auto* ring = reinterpret_cast<const volatile uint16_t*>(at(layout_.used));
    return ring[1];
}

bool RawGuest::shrink(size_t size) {
    return ::ftruncate(memfd_, static_cast<off_t>(size)) == 0;
}

}  // namespace vhostd::testing
