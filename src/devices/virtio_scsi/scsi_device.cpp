// ScsiDevice: features, configuration space, targets and queue handlers of virtio-scsi.
#include "devices/virtio_scsi/scsi_device.hpp"

#include <algorithm>
#include <cstring>

#include "base/log.hpp"
#include "devices/virtio_scsi/scsi_control_queue.hpp"
#include "devices/virtio_scsi/scsi_event_queue.hpp"
#include "devices/virtio_scsi/scsi_request_queue.hpp"
#include "spec/virtio.hpp"

namespace vhostd::virtio_scsi {
namespace {

using virtio::bit;

// SBC-3 4.10 / SPC-4: CAPACITY DATA HAS CHANGED, as a PARAM_CHANGE reason (asc | ascq << 8).
constexpr uint32_t kCapacityChangedReason = 0x2a | (0x09 << 8);

Event make_event(uint32_t type, uint8_t target, uint32_t reason) {
    Event event{.event = type, .lun = {}, .reason = reason};
    const auto field = make_lun_field(ScsiAddress{target, 0});
    std::copy(field.begin(), field.end(), event.lun);
    return event;
}

}  // namespace

ScsiDevice::ScsiDevice(reactor::Reactor& control, std::vector<reactor::Reactor*> reactors,
                       const ScsiDeviceOptions& options)
    : control_(control), reactors_(std::move(reactors)), options_(options) {
    for (reactor::Reactor* r : reactors_) {
        if (!state_of(*r)) {
            states_.push_back(std::make_shared<ScsiReactorState>(*r));
        }
    }
}

ScsiDevice::~ScsiDevice() = default;

uint32_t ScsiDevice::device_type() const {
    return virtio::device_id::kScsi;
}

uint64_t ScsiDevice::features() const {
    // T10_PI is not offered: the SCSI target keeps no protection information.
    return bit(virtio::feature::kVersion1) | bit(virtio::feature::kIndirectDesc) |
           bit(virtio::feature::kEventIdx) | bit(feature::kInout) | bit(feature::kHotplug) |
           bit(feature::kChange) | (options_.packed_ring ? bit(virtio::feature::kRingPacked) : 0);
}

void ScsiDevice::read_config(uint32_t offset, std::span<uint8_t> out) const {
    const Config config{
        .num_queues = options_.num_request_queues,
        .seg_max = options_.seg_max,
        .max_sectors = options_.max_sectors,
        .cmd_per_lun = options_.cmd_per_lun,
        .event_info_size = sizeof(Event),
        .sense_size = sense_size_.load(std::memory_order_relaxed),
        .cdb_size = cdb_size_.load(std::memory_order_relaxed),
        .max_channel = 0,
        .max_target = kMaxTarget,
        .max_lun = 0,  // one LUN per target, as SPDK's addressing
    };
    const auto* bytes = reinterpret_cast<const uint8_t*>(&config);
    std::memcpy(out.data(), bytes + offset, std::min<size_t>(out.size(), sizeof(config) - offset));
}

Result<void> ScsiDevice::write_config(uint32_t offset, std::span<const uint8_t> data) {
    // 5.6.4: sense_size and cdb_size are the only driver-writable fields.
    uint32_t value = 0;
    if (data.size() != sizeof(value) ||
        (offset != offsetof(Config, sense_size) && offset != offsetof(Config, cdb_size))) {
        return make_error(EPERM, "virtio-scsi config offset {} (size {}) is read-only", offset,
                          data.size());
    }
    std::memcpy(&value, data.data(), sizeof(value));
    if (offset == offsetof(Config, cdb_size)) {
        // SPC-4 4.2: CDBs are 6 to 32 bytes (variable-length ones included).
        if (value < 6 || value > kMaxCdbSize) {
            return make_error(EINVAL, "cdb_size {} outside 6..{}", value, kMaxCdbSize);
        }
        cdb_size_.store(value, std::memory_order_relaxed);
        return {};
    }
    if (value > kMaxSenseSize) {
        return make_error(EINVAL, "sense_size {} over {}", value, kMaxSenseSize);
    }
    sense_size_.store(value, std::memory_order_relaxed);
    return {};
}

void ScsiDevice::set_driver_features(uint64_t features) {
    driver_features_.store(features, std::memory_order_relaxed);
}

void ScsiDevice::reset() {
    cdb_size_.store(kDefaultCdbSize, std::memory_order_relaxed);
    sense_size_.store(kDefaultSenseSize, std::memory_order_relaxed);
    driver_features_.store(0, std::memory_order_relaxed);
}

std::shared_ptr<ScsiReactorState> ScsiDevice::state_of(const reactor::Reactor& r) const {
    for (const auto& state : states_) {
        if (&state->reactor() == &r) {
            return state;
        }
    }
    return nullptr;
}

Result<std::unique_ptr<virtio::QueueHandler>> ScsiDevice::create_queue_handler(
    reactor::Reactor& reactor, virtio::RunningQueue queue) {
    std::shared_ptr<ScsiReactorState> state = state_of(reactor);
    if (!state) {
        return make_error(EINVAL, "reactor {} does not serve this virtio-scsi device",
                          reactor.id());
    }
    switch (queue.index()) {
        case kControlQueue:
            return std::make_unique<ScsiControlQueue>(reactor, std::move(queue), *this,
                                                      std::move(state));
        case kEventQueue:
            return std::make_unique<ScsiEventQueue>(reactor, std::move(queue), std::move(state));
        default:
            return std::make_unique<ScsiRequestQueue>(reactor, std::move(queue), *this,
                                                      std::move(state));
    }
}

void ScsiDevice::post_event(const Event& event) {
    // The event queue runs where the controller places queue 1.
    const reactor::Reactor& home = *reactors_[kEventQueue % reactors_.size()];
    std::shared_ptr<ScsiReactorState> state = state_of(home);
    state->reactor().post([state, event] { state->post_event(event); });
}

std::optional<uint8_t> ScsiDevice::first_free_target() const {
    for (size_t id = 0; id < kMaxTargets; ++id) {
        if (!targets_[id].target) {
            return static_cast<uint8_t>(id);
        }
    }
    return std::nullopt;
}

std::shared_ptr<block::Bdev> ScsiDevice::target_bdev(uint8_t id) const {
    if (!targets_[id].target) {
        return nullptr;
    }
    const auto unit = targets_[id].target->find(0);
    return unit ? unit->bdev() : nullptr;
}

Result<void> ScsiDevice::add_target(uint8_t id, std::shared_ptr<block::Bdev> bdev) {
    TargetSlot& slot = targets_[id];
    if (slot.target) {
        return make_error(EEXIST, "SCSI target {} {}", id,
                          slot.removing ? "is being removed" : "already exists");
    }
    auto target = std::make_unique<scsi::Target>(id);
    std::shared_ptr<scsi::LogicalUnit> unit = VHOSTD_TRY(target->add_lun(0, std::move(bdev)));
    slot.target = std::move(target);
    for (const auto& state : states_) {
        state->reactor().post([state, id, unit] { state->add_target(id, unit); });
    }
    // 5.6.6.3.1: with HOTPLUG the driver rescans the target on TRANSPORT_RESET / RESCAN.
    post_event(make_event(event::kTransportReset, id, event::kResetRescan));
    return {};
}

Result<void> ScsiDevice::remove_target(uint8_t id, std::move_only_function<void()> done) {
    TargetSlot& slot = targets_[id];
    if (!slot.target) {
        return make_error(ENODEV, "SCSI target {} does not exist", id);
    }
    if (slot.removing) {
        return make_error(EBUSY, "SCSI target {} is already being removed", id);
    }
    slot.removing = true;
    // Keeps the device (and so the slot) alive until every reactor has let go.
    auto fanout = Fanout::create(control_, [self = shared_from_this(), id,
                                            done = std::move(done)](scsi::TmfResponse) mutable {
        self->targets_[id] = TargetSlot{};
        done();
    });
    for (const auto& state : states_) {
        state->reactor().post([state, id, fanout] { state->remove_target(id, fanout); });
    }
    // 5.6.6.3.1: TRANSPORT_RESET / REMOVED makes the driver drop the device.
    post_event(make_event(event::kTransportReset, id, event::kResetRemoved));
    return {};
}

Result<void> ScsiDevice::notify_resized(uint8_t id) {
    TargetSlot& slot = targets_[id];
    if (!slot.target || slot.removing) {
        return make_error(ENODEV, "SCSI target {} does not exist", id);
    }
    for (const auto& [lun, unit] : slot.target->luns()) {
        unit->notify_resized();
    }
    // 5.6.6.3.2: with CHANGE, the sense code of the unit attention as PARAM_CHANGE.
    post_event(make_event(event::kParamChange, id, kCapacityChangedReason));
    return {};
}

}  // namespace vhostd::virtio_scsi
