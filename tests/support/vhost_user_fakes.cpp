// Test doubles for the vhost-user session.
#include "support/vhost_user_fakes.hpp"

#include <cstring>

#include <dirent.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spec/virtio.hpp"

namespace vhostd::vhost_user::testing {

FakeDevice::FakeDevice(uint16_t num_queues, uint16_t max_queue_size, uint32_t config_size)
    : features_(virtio::bit(virtio::feature::kVersion1) | virtio::bit(virtio::feature::kEventIdx) |
                virtio::bit(virtio::feature::kIndirectDesc) | virtio::bit(9)),
      num_queues_(num_queues),
      max_queue_size_(max_queue_size),
      config_(config_size) {
    reset();
    resets = 0;
}

void FakeDevice::read_config(uint32_t offset, std::span<uint8_t> out) const {
    if (offset > config_.size() || out.size() > config_.size() - offset) {
        contract_violated = true;
        return;
    }
    std::memcpy(out.data(), config_.data() + offset, out.size());
}

Result<void> FakeDevice::write_config(uint32_t offset, std::span<const uint8_t> data) {
    if (offset > config_.size() || data.size() > config_.size() - offset) {
        contract_violated = true;
        return make_error(EINVAL, "write past the config space");
    }
    if (data.empty()) {
        return {};
    }
    if (offset != kWritableOffset || data.size() != 1) {
        return make_error(EPERM, "config bytes {}..{} are read-only", offset, offset + data.size());
    }
    config_[offset] = data[0];
    return {};
}

void FakeDevice::reset() {
    for (size_t i = 0; i < config_.size(); ++i) {
        config_[i] = static_cast<uint8_t>(0x80 + i);
    }
    driver_features_ = 0;
    ++resets;
}

Result<std::unique_ptr<virtio::QueueHandler>> FakeDevice::create_queue_handler(
    reactor::Reactor&, virtio::RunningQueue) {
    return make_error(ENOTSUP, "the fake device runs no queues");
}

void FakeQueueControl::start_queue(virtio::VirtqueueConfig config) {
    const uint16_t index = config.index;
    if (running_.contains(index)) {
        contract_violated = true;
    }
    starts.emplace_back(index, config.base);
    running_.insert_or_assign(index, std::move(config));
}

void FakeQueueControl::update_memory(uint16_t index, guest_memory::GuestMemory::Ptr memory,
                                     bool drain_old, std::move_only_function<void()> done) {
    updates.emplace_back(index, drain_old);
    auto it = running_.find(index);
    if (it == running_.end()) {
        contract_violated = true;
    } else {
        it->second.memory = std::move(memory);
    }
    if (hold_updates) {
        pending_updates_.push_back(std::move(done));
    } else {
        done();
    }
}

void FakeQueueControl::complete_updates() {
    auto pending = std::move(pending_updates_);
    pending_updates_.clear();
    for (auto& done : pending) {
        done();
    }
}

void FakeQueueControl::stop_queue(uint16_t index, StoppedCallback done) {
    stops.push_back(index);
    if (!running_.contains(index)) {
        contract_violated = true;
    }
    for (const auto& [pending, callback] : pending_) {
        if (pending == index) {
            contract_violated = true;
        }
    }
    pending_.emplace_back(index, std::move(done));
    if (auto_complete) {
        complete_stops();
    }
}

void FakeQueueControl::set_call_fd(uint16_t index, UniqueFd call) {
    if (!running_.contains(index)) {
        contract_violated = true;
        return;
    }
    call_fd_changes.push_back(index);
    running_.at(index).call = std::move(call);
}

void FakeQueueControl::complete_stops() {
    // Callbacks may request more stops: complete only the ones pending now, each exactly once.
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [index, done] : pending) {
        virtio::QueueStopResult result;
        if (auto it = running_.find(index); it != running_.end()) {
            // A split ring's avail index moves by `progress`; a packed ring's base is returned
            // as it was set.
            const bool packed =
                (it->second.features & virtio::bit(virtio::feature::kRingPacked)) != 0;
            result.ring_base =
                packed ? it->second.base : static_cast<uint16_t>(it->second.base + progress[index]);
            running_.erase(it);
        }
        result.broken = report_broken;
        done(result);
    }
}

Message make_request(Request request, std::span<const std::byte> payload, std::vector<UniqueFd> fds,
                     uint32_t flags) {
    Message m;
    m.header.request = static_cast<uint32_t>(request);
    m.header.flags = flags;
    const size_t n = std::min(payload.size(), m.payload.size());
    m.header.size = static_cast<uint32_t>(n);
    if (n != 0) {
        std::memcpy(m.payload.data(), payload.data(), n);
    }
    m.fds = std::move(fds);
    return m;
}

std::vector<std::byte> encode(const Message& message) {
    std::vector<std::byte> bytes(sizeof(MessageHeader) + message.header.size);
    std::memcpy(bytes.data(), &message.header, sizeof(MessageHeader));
    std::memcpy(bytes.data() + sizeof(MessageHeader), message.payload.data(), message.header.size);
    return bytes;
}

}  // namespace vhostd::vhost_user::testing
