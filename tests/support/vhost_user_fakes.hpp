// Test doubles for the vhost-user session (a virtio device with a plain config space, a
// QueueControl that records starts and lets the test decide when stops complete) and
// frontend-side helpers. Shared by the unit tests and the fuzzer.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"
#include "support/socket_support.hpp"
#include "vhost_user/message.hpp"
#include "virtio/device.hpp"
#include "virtio/queue_control.hpp"

namespace vhostd::vhost_user::testing {

class FakeDevice : public virtio::Device {
  public:
    FakeDevice(uint16_t num_queues = 2, uint16_t max_queue_size = 256, uint32_t config_size = 60);

    [[nodiscard]] uint32_t device_type() const override { return 2; }
    [[nodiscard]] uint64_t features() const override { return features_; }
    [[nodiscard]] uint16_t num_queues() const override { return num_queues_; }
    [[nodiscard]] uint16_t max_queue_size() const override { return max_queue_size_; }
    [[nodiscard]] uint32_t config_size() const override {
        return static_cast<uint32_t>(config_.size());
    }
    void read_config(uint32_t offset, std::span<uint8_t> out) const override;
    // Only byte kWritableOffset is writable.
    Result<void> write_config(uint32_t offset, std::span<const uint8_t> data) override;
    void set_driver_features(uint64_t features) override { driver_features_ = features; }
    void reset() override;
    Result<std::unique_ptr<virtio::QueueHandler>> create_queue_handler(
        reactor::Reactor&, virtio::RunningQueue) override;

    static constexpr uint32_t kWritableOffset = 20;

    uint64_t features_;
    uint16_t num_queues_;
    uint16_t max_queue_size_;
    std::vector<uint8_t> config_;  // byte i is 0x80 + i after reset
    uint64_t driver_features_ = 0;
    int resets = 0;
    // Set when the transport broke the Device contract (access past config_size()).
    mutable bool contract_violated = false;
};

class FakeQueueControl : public virtio::QueueControl {
  public:
    void start_queue(virtio::VirtqueueConfig config) override;
    void stop_queue(uint16_t index, StoppedCallback done) override;
    void set_call_fd(uint16_t index, UniqueFd call) override;
    // Records the update (the running queue's config gets the new memory) and completes it at
    // once, or, when `hold_updates` is set, at complete_updates().
    void update_memory(uint16_t index, guest_memory::GuestMemory::Ptr memory, bool drain_old,
                       std::move_only_function<void()> done) override;
    void complete_updates();

    // Completes every stop requested so far; a stopped split queue reports the avail index it
    // was started with plus `progress[index]`, a packed one the base it was started with.
    void complete_stops();
    [[nodiscard]] bool running(uint16_t index) const { return running_.contains(index); }
    [[nodiscard]] size_t running_count() const { return running_.size(); }
    [[nodiscard]] const virtio::VirtqueueConfig& config(uint16_t index) const {
        return running_.at(index);
    }

    bool auto_complete = false;  // complete stops inside stop_queue()
    bool report_broken = false;  // stops report a broken ring
    std::map<uint16_t, uint16_t> progress;
    std::vector<std::pair<uint16_t, uint32_t>> starts;  // (index, base), in order
    std::vector<uint16_t> stops;                        // indices, in order of request
    std::vector<uint16_t> call_fd_changes;
    std::vector<std::pair<uint16_t, bool>> updates;  // (index, drain_old), in order
    bool hold_updates = false;
    // Set when the session broke the QueueControl contract (double start, stop of a queue that
    // is not running, ...).
    bool contract_violated = false;

  private:
    std::map<uint16_t, virtio::VirtqueueConfig> running_;
    std::vector<std::pair<uint16_t, StoppedCallback>> pending_;
    std::vector<std::move_only_function<void()>> pending_updates_;
};

// A request as a frontend would send it.
Message make_request(Request request, std::span<const std::byte> payload = {},
                     std::vector<UniqueFd> fds = {}, uint32_t flags = kVersion);
template <class T>
Message make_request_with(Request request, const T& payload, std::vector<UniqueFd> fds = {},
                          uint32_t flags = kVersion) {
    return make_request(request, std::as_bytes(std::span(&payload, 1)), std::move(fds), flags);
}

// The bytes a frontend writes for `message` (header and payload; fds travel separately).
std::vector<std::byte> encode(const Message& message);
// Socket helpers every transport shares (support/socket_support.hpp).
using vhostd::testing::count_open_fds;
using vhostd::testing::make_memfd;
using vhostd::testing::send_bytes;

}  // namespace vhostd::vhost_user::testing
