// RawFrontend: a vhost-user frontend written for attacking, straight from the spec and not
// from the project's frontend library: it sends whatever bytes and fds a test asks for, in any
// order, and can set a blk queue up by hand in a memfd it can shrink afterwards. RawGuest: the
// memfd-backed "guest RAM" with the split ring laid out where a test wants each part.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sys/types.h>

#include "spec/vhost_user.hpp"

namespace vhostd::testing {

// Open fds of process `pid` (the daemon's, to check that attacks leak none).
size_t count_process_fds(pid_t pid);

struct RawReply {
    vhost_user::MessageHeader header{};
    std::vector<std::byte> payload;
    [[nodiscard]] uint64_t u64() const;
};

class RawFrontend {
  public:
    // nullptr if the socket cannot be reached.
    static std::unique_ptr<RawFrontend> connect(const std::string& path);
    ~RawFrontend();
    RawFrontend(const RawFrontend&) = delete;
    RawFrontend& operator=(const RawFrontend&) = delete;

    // One message: header (version 1, NEED_REPLY if asked) + payload + fds as SCM_RIGHTS.
    bool send(vhost_user::Request request, std::span<const std::byte> payload,
              std::span<const int> fds = {}, bool need_reply = false);
    bool send_u64(vhost_user::Request request, uint64_t value, std::span<const int> fds = {},
                  bool need_reply = false);
    template <typename T>
    bool send_struct(vhost_user::Request request, const T& value, std::span<const int> fds = {},
                     bool need_reply = false) {
        return send(request, std::as_bytes(std::span(&value, 1)), fds, need_reply);
    }
    // Bytes as they are (half a header, garbage).
    bool send_raw(std::span<const std::byte> bytes);

    std::optional<RawReply> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Sends with NEED_REPLY and returns the REPLY_ACK status (nullopt: no reply).
    std::optional<uint64_t> ack_u64(vhost_user::Request request, uint64_t value,
                                    std::span<const int> fds = {});
    template <typename T>
    std::optional<uint64_t> ack_struct(vhost_user::Request request, const T& value,
                                       std::span<const int> fds = {}) {
        if (!send_struct(request, value, fds, true)) {
            return std::nullopt;
        }
        auto reply = receive();
        return reply ? std::optional(reply->u64()) : std::nullopt;
    }
    // GET/SET_FEATURES (VERSION_1, PROTOCOL_FEATURES), GET/SET_PROTOCOL_FEATURES (REPLY_ACK)
    // and SET_OWNER, as a frontend starts; false unless SET_OWNER is acked with 0.
    bool negotiate();
    // True once the daemon has closed the connection (EOF) within `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout);

  private:
    explicit RawFrontend(int fd) : fd_(fd) {}
    int fd_;
};

// Where each part of ring 0 and of the one request lives (offsets in the memfd).
struct RawLayout {
    uint64_t desc = 0x0000;
    uint64_t avail = 0x1000;
    uint64_t used = 0x2000;
    uint64_t header = 0x3000;
    uint64_t status = 0x3100;
    uint64_t data = 0x10000;
};

// Guest RAM in a memfd, mapped in this process; guest-physical = offset in the memfd, and the
// frontend-virtual address reported to vhostd is the local mapping's address.
class RawGuest {
  public:
    using Layout = RawLayout;
    static constexpr uint16_t kQueueSize = 16;

    explicit RawGuest(size_t size, Layout layout = {});
    ~RawGuest();
    RawGuest(const RawGuest&) = delete;
    RawGuest& operator=(const RawGuest&) = delete;

    [[nodiscard]] int memfd() const { return memfd_; }
    [[nodiscard]] uint8_t* at(uint64_t offset) const { return base_ + offset; }
    [[nodiscard]] uint64_t user_addr(uint64_t offset) const {
        return reinterpret_cast<uint64_t>(base_) + offset;
    }
    [[nodiscard]] const Layout& layout() const { return layout_; }

    // The handshake of a virtio-blk frontend up to a running ring 0 (negotiate(), one
    // region, ring 0 with the given fds). Every step must be acked with 0; false otherwise.
    bool set_up_blk(RawFrontend& frontend, int kick_fd, int call_fd, int err_fd = -1);
    // The same for a virtio-scsi frontend, on its first request queue (ring 2).
    bool set_up_scsi(RawFrontend& frontend, int kick_fd, int call_fd, int err_fd = -1);
    // Writes a blk request (type, sector, `length` data bytes) as a 3-descriptor chain and
    // makes it available, skipping parts that lie at or beyond `writable_end` (they are cut off
    // in the memfd); returns the avail index the driver published.
    uint16_t post_request(uint32_t type, uint64_t sector, uint32_t length,
                          uint64_t writable_end = UINT64_MAX);
    // A SCSI READ(16) or WRITE(16) of `blocks` 512-byte blocks to target 0 LUN 0: command at
    // layout.header, data at layout.data, response at layout.status.
    uint16_t post_scsi_request(bool write, uint64_t lba, uint32_t blocks,
                               uint64_t writable_end = UINT64_MAX);
    // The response and SCSI status bytes of the last SCSI request.
    [[nodiscard]] uint8_t scsi_response() const;
    [[nodiscard]] uint8_t scsi_status() const;
    // The used index, if its page is still readable.
    [[nodiscard]] uint16_t used_idx() const;
    // Cuts the memfd to `size` bytes under the daemon's mapping.
    bool shrink(size_t size);

  private:
    struct Segment {
        uint64_t offset;
        uint32_t length;
        bool device_writes;
    };
    bool set_up_ring(RawFrontend& frontend, uint16_t ring, int kick_fd, int call_fd, int err_fd);
    // Up to three descriptors from the ring's next free slots, made available.
    uint16_t post_chain(std::span<const Segment> segments, uint64_t writable_end);

    int memfd_ = -1;
    uint16_t ring_ = 0;
    uint8_t* base_ = nullptr;
    size_t size_;
    Layout layout_;
    uint16_t avail_idx_ = 0;
};

}  // namespace vhostd::testing
