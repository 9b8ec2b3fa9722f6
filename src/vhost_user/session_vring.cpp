// Session: ring requests (size, addresses, base, notification fds, enable) and the rules that
// start and stop rings.
#include <bit>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "spec/virtio.hpp"
#include "vhost_user/session.hpp"
#include "virtio/split_queue.hpp"

namespace vhostd::vhost_user {

using virtio::bit;

namespace {

struct VringFile {
    uint16_t index;
    UniqueFd fd;  // invalid: the frontend passed none (bit 8)
};

}  // namespace

Result<uint16_t> Session::ring_index(uint64_t index) const {
    if (index >= vrings_.size()) {
        return make_error(EINVAL, "ring index {} out of range (the device has {} queues)", index,
                          vrings_.size());
    }
    return static_cast<uint16_t>(index);
}

Result<Session::Step> Session::set_vring_num(const Message& m) {
    const auto state = VHOSTD_TRY(m.payload_as<VringState>());
    VHOSTD_TRY(m.expect_fds(0));
    const uint16_t index = VHOSTD_TRY(ring_index(state.index));
    // Virtio 2.7: a split queue's size is a power of two, at most 32768; 2.8: a packed
    // queue's is any size up to 32768. The device may allow less. (QEMU negotiates features
    // first; a size that does not suit the layout finally negotiated fails at ring start.)
    const uint32_t max = std::min<uint32_t>(device_.max_queue_size(), virtio::kMaxSplitQueueSize);
    const bool packed_offered = (offered_features() & bit(virtio::feature::kRingPacked)) != 0;
    const bool any_size = packed_ring() || (packed_offered && acked_features_ == 0);
    if (state.num == 0 || state.num > max || (!any_size && !std::has_single_bit(state.num))) {
        return make_error(EINVAL, "ring {}: size {} is not {} in 1..{}", index, state.num,
                          any_size ? "a size" : "a power of two", max);
    }
    Vring& ring = vrings_[index];
    if (ring.running) {
        return make_error(EBUSY, "ring {}: size changed while the ring runs", index);
    }
    ring.num = state.num;
    VHOSTD_TRY(start_if_ready(index));
    return now();
}

Result<Session::Step> Session::set_vring_addr(const Message& m) {
    const auto addr = VHOSTD_TRY(m.payload_as<VringAddr>());
    VHOSTD_TRY(m.expect_fds(0));
    const uint16_t index = VHOSTD_TRY(ring_index(addr.index));
    // Spec "Migration": VHOST_VRING_F_LOG asks for the used ring's writes to be logged at
    // log_guest_addr (checked against the log when the ring starts). No other flag is defined.
    if ((addr.flags & ~kVringFlagLog) != 0) {
        return make_error(EINVAL, "ring {}: unknown address flags {:#x}", index, addr.flags);
    }
    Vring& ring = vrings_[index];
    if (ring.running) {
        const bool same = ring.addr.desc_user_addr == addr.desc_user_addr &&
                          ring.addr.avail_user_addr == addr.avail_user_addr &&
                          ring.addr.used_user_addr == addr.used_user_addr;
        if (!same) {
            return make_error(EBUSY, "ring {}: addresses changed while the ring runs", index);
        }
        if (ring.addr.flags == addr.flags && ring.addr.log_guest_addr == addr.log_guest_addr) {
            return now();
        }
        // QEMU sets and clears F_LOG on running rings when a migration starts and ends: the
        // ring restarts where it stopped, logging its used ring or not (session_log.cpp).
        return after_stopping({index}, [this, index, addr]() -> Outcome {
            vrings_[index].addr = addr;
            VHOSTD_TRY(start_if_ready(index));
            return std::nullopt;
        });
    }
    VHOSTD_TRY(check_ring_addresses(index, addr));
    ring.addr = addr;
    ring.addr_set = true;
    VHOSTD_TRY(start_if_ready(index));
    return now();
}

Result<void> Session::check_ring_addresses(uint16_t index, const VringAddr& addr) const {
    if (packed_ring()) {
        return check_packed_ring_addresses(index, addr);
    }
    // Virtio 2.7 (split virtqueues): descriptor table 16-byte, available ring 2-byte and used
    // ring 4-byte aligned.
    if (addr.desc_user_addr % virtio::kDescAlign != 0 ||
        addr.avail_user_addr % virtio::kAvailAlign != 0 ||
        addr.used_user_addr % virtio::kUsedAlign != 0) {
        return make_error(EINVAL, "ring {}: misaligned ring addresses", index);
    }
    const uint32_t num = vrings_[index].num;
    if (num == 0) {
        return {};  // sizes unknown yet: checked in full when the ring starts
    }
    // The used ring is the device's to write: it must not cover the driver's descriptor
    // table or available ring (a device that wrote over them would corrupt its own input).
    auto overlap = [](uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
        return a < b + b_len && b < a + a_len;
    };
    const uint64_t used_len = virtio::used_ring_bytes(num);
    if (overlap(addr.used_user_addr, used_len, addr.desc_user_addr,
                virtio::desc_table_bytes(num)) ||
        overlap(addr.used_user_addr, used_len, addr.avail_user_addr,
                virtio::avail_ring_bytes(num))) {
        return make_error(EINVAL,
                          "ring {}: the used ring overlaps the descriptor table or the "
                          "available ring",
                          index);
    }
    if (!memory_->is_empty()) {
        // With a memory table in place the rings must lie inside it now; otherwise a later
        // SET_MEM_TABLE is checked when the ring starts.
        auto translated = translate_ring(*memory_, addr, num);
        if (!translated) {
            return make_error(EINVAL, "ring {}: {}", index, translated.error().message);
        }
    }
    return {};
}

Result<void> Session::check_packed_ring_addresses(uint16_t index, const VringAddr& addr) const {
    // Virtio 2.8.10.1: descriptor ring 16-byte aligned, event suppression areas 4-byte.
    if (addr.desc_user_addr % virtio::kDescAlign != 0 ||
        addr.avail_user_addr % virtio::kEventSuppressAlign != 0 ||
        addr.used_user_addr % virtio::kEventSuppressAlign != 0) {
        return make_error(EINVAL, "ring {}: misaligned packed ring addresses", index);
    }
    const uint32_t num = vrings_[index].num;
    if (num == 0) {
        return {};  // sizes unknown yet: checked in full when the ring starts
    }
    // The device event area is the device's to write: it must not cover the descriptor ring
    // or the driver's area.
    auto overlap = [](uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
        return a < b + b_len && b < a + a_len;
    };
    if (overlap(addr.used_user_addr, virtio::kEventSuppressBytes, addr.desc_user_addr,
                virtio::packed_desc_ring_bytes(num)) ||
        overlap(addr.used_user_addr, virtio::kEventSuppressBytes, addr.avail_user_addr,
                virtio::kEventSuppressBytes)) {
        return make_error(EINVAL,
                          "ring {}: the device event area overlaps the descriptor ring or the "
                          "driver event area",
                          index);
    }
    if (!memory_->is_empty()) {
        auto translated = translate_packed_ring(*memory_, addr, num);
        if (!translated) {
            return make_error(EINVAL, "ring {}: {}", index, translated.error().message);
        }
    }
    return {};
}

Result<Session::Step> Session::set_vring_base(const Message& m) {
    const auto state = VHOSTD_TRY(m.payload_as<VringState>());
    VHOSTD_TRY(m.expect_fds(0));
    const uint16_t index = VHOSTD_TRY(ring_index(state.index));
    // A split ring's avail index is 16 bits (virtio 2.7.6); a packed ring's base is two 15-bit
    // slots with their wrap counters (virtio::PackedBase), checked against the size at start.
    if (!packed_ring() && state.num > 0xffff) {
        return make_error(EINVAL, "ring {}: base {:#x} is not a 16-bit index", index, state.num);
    }
    Vring& ring = vrings_[index];
    if (ring.running) {
        return make_error(EBUSY, "ring {}: base changed while the ring runs", index);
    }
    ring.base = state.num;
    VHOSTD_TRY(start_if_ready(index));
    return now();
}

Result<Session::Step> Session::get_vring_base(const Message& m) {
    const auto state = VHOSTD_TRY(m.payload_as<VringState>());
    VHOSTD_TRY(m.expect_fds(0));
    const uint16_t index = VHOSTD_TRY(ring_index(state.index));
    std::vector<uint16_t> stop;
    if (vrings_[index].running) {
        stop.push_back(index);
    }
    // Spec "Ring states": the ring stops on GET_VRING_BASE; it restarts on the next kick. The
    // reply carries where processing stopped, after the in-flight requests have completed.
    return after_stopping(std::move(stop), [this, index]() -> Outcome {
        Vring& ring = vrings_[index];
        ring.kicked = false;
        ring.kick.reset();
        // The frontend stops rings to reset or reconfigure them; a broken ring gets a fresh
        // chance once it is set up again.
        ring.broken = false;
        return Message::reply_with(Request::get_vring_base, VringState{index, ring.base});
    });
}

namespace {

// Spec SET_VRING_KICK/CALL/ERR: a u64 with the ring index in bits 0-7 and bit 8 meaning "no
// fd"; the other bits are reserved. Exactly one fd unless bit 8 is set, then none.
Result<VringFile> parse_vring_file(Message& m, size_t num_queues) {
    const uint64_t value = VHOSTD_TRY(m.payload_u64());
    if ((value & ~(kVringIndexMask | kVringNoFd)) != 0) {
        return make_error(EINVAL, "{}: reserved bits set in {:#x}", m.name(), value);
    }
    const uint64_t index = value & kVringIndexMask;
    if (index >= num_queues) {
        return make_error(EINVAL, "{}: ring index {} out of range (the device has {} queues)",
                          m.name(), index, num_queues);
    }
    if ((value & kVringNoFd) != 0) {
        VHOSTD_TRY(m.expect_fds(0));
        return VringFile{static_cast<uint16_t>(index), UniqueFd()};
    }
    VHOSTD_TRY(m.expect_fds(1));
    // The spec says "eventfd"; anything else (a pipe, a socket, a file) could block or fill up
    // and is refused. It becomes non-blocking here, though reads and writes never rely on it.
    if (auto adopted = adopt_peer_event_fd(m.fds[0].get()); !adopted) {
        return make_error(EINVAL, "{}: {}", m.name(), adopted.error().message);
    }
    return VringFile{static_cast<uint16_t>(index), std::move(m.fds[0])};
}

}  // namespace

Result<Session::Step> Session::set_vring_kick(Message& m) {
    auto file = VHOSTD_TRY(parse_vring_file(m, vrings_.size()));
    const uint16_t index = file.index;
    // A running queue cannot swap its kick fd in place: restart it with the new one where it
    // stopped.
    std::vector<uint16_t> stop;
    if (vrings_[index].running) {
        stop.push_back(index);
    }
    return after_stopping(std::move(stop),
                          [this, index, fd = std::move(file.fd)]() mutable -> Outcome {
                              Vring& ring = vrings_[index];
                              ring.kick = std::move(fd);
                              // No fd: the frontend relies on us polling the ring.
                              ring.kicked = true;
                              VHOSTD_TRY(start_if_ready(index));
                              return std::nullopt;
                          });
}

Result<Session::Step> Session::set_vring_call(Message& m) {
    auto file = VHOSTD_TRY(parse_vring_file(m, vrings_.size()));
    Vring& ring = vrings_[file.index];
    if (ring.running) {
        // QEMU swaps call fds on running rings when the guest masks interrupts.
        queues_.set_call_fd(file.index, VHOSTD_TRY(duplicate_fd(file.fd)));
    }
    ring.call = std::move(file.fd);
    return now();
}

Result<Session::Step> Session::set_vring_err(Message& m) {
    auto file = VHOSTD_TRY(parse_vring_file(m, vrings_.size()));
    const uint16_t index = file.index;
    std::vector<uint16_t> stop;
    if (vrings_[index].running) {
        stop.push_back(index);
    }
    return after_stopping(std::move(stop),
                          [this, index, fd = std::move(file.fd)]() mutable -> Outcome {
                              vrings_[index].err = std::move(fd);
                              VHOSTD_TRY(start_if_ready(index));
                              return std::nullopt;
                          });
}

Result<Session::Step> Session::set_vring_enable(const Message& m) {
    const auto state = VHOSTD_TRY(m.payload_as<VringState>());
    VHOSTD_TRY(m.expect_fds(0));
    const uint16_t index = VHOSTD_TRY(ring_index(state.index));
    if (state.num > 1) {
        return make_error(EINVAL, "ring {}: SET_VRING_ENABLE with {} (0 or 1 expected)", index,
                          state.num);
    }
    Vring& ring = vrings_[index];
    ring.enabled = state.num == 1;
    if (ring.enabled) {
        VHOSTD_TRY(start_if_ready(index));
        return now();
    }
    // Disabled: a block device cannot process a ring "without side effects", so the ring
    // stops (draining) and resumes where it stopped when re-enabled.
    std::vector<uint16_t> stop;
    if (ring.running && !ready(index)) {
        stop.push_back(index);
    }
    return after_stopping(std::move(stop), []() -> Outcome { return std::nullopt; });
}

bool Session::packed_ring() const {
    return (acked_features_ & bit(virtio::feature::kRingPacked)) != 0;
}

bool Session::protocol_features_acked() const {
    return (acked_features_ & bit(kFeatureProtocolFeatures)) != 0;
}

bool Session::ready(uint16_t index) const {
    const Vring& ring = vrings_[index];
    // While LOG_ALL is negotiated a ring runs only with a log to mark its writes in.
    return !teardown_.started() && ring.kicked && ring.num != 0 && ring.addr_set &&
           !memory_->is_empty() && (ring.enabled || !protocol_features_acked()) && !ring.broken &&
           (!logging_all() || log_ != nullptr);
}

Result<void> Session::start_if_ready(uint16_t index) {
    Vring& ring = vrings_[index];
    if (ring.running || !ready(index)) {
        return {};
    }
    virtio::VirtqueueConfig config;
    config.index = index;
    config.features = acked_features_ & ~(bit(kFeatureProtocolFeatures) | bit(kFeatureLogAll));
    config.base = ring.base;
    if (packed_ring()) {
        // 2.8.1: the base's slots index the ring.
        const auto base = virtio::PackedBase::decode(ring.base);
        if (base.avail.index >= ring.num || base.used.index >= ring.num) {
            return make_error(EINVAL, "ring {} cannot start: base {:#x} is outside its {} slots",
                              index, ring.base, ring.num);
        }
        auto translated = translate_packed_ring(*memory_, ring.addr, ring.num);
        if (!translated) {
            return make_error(translated.error().code, "ring {} cannot start: {}", index,
                              translated.error().message);
        }
        config.packed = *translated;
    } else {
        if (!std::has_single_bit(ring.num)) {
            return make_error(EINVAL, "ring {} cannot start: split ring of {} entries", index,
                              ring.num);
        }
        auto translated = translate_ring(*memory_, ring.addr, ring.num);
        if (!translated) {
            return make_error(translated.error().code, "ring {} cannot start: {}", index,
                              translated.error().message);
        }
        config.ring = *translated;
    }
    config.inflight = inflight_slot(index);
    config.memory = memory_;
    VHOSTD_TRY(add_log_config(index, config));
    // The queue gets duplicates: the originals stay here so the ring can restart after a stop.
    config.kick = VHOSTD_TRY(duplicate_fd(ring.kick));
    config.call = VHOSTD_TRY(duplicate_fd(ring.call));
    config.err = VHOSTD_TRY(duplicate_fd(ring.err));
    ring.running = true;
    LOG_RATELIMITED(vhost_user, debug, "{}: {} ring {} starts (size {}, base {:#x}, kick {}{}{})",
                    options_.name, packed_ring() ? "packed" : "split", index, ring.num, ring.base,
                    ring.kick ? "fd" : "none, polled", config.inflight ? ", inflight tracked" : "",
                    config.log ? ", dirty logged" : "");
    queues_.start_queue(std::move(config));
    return {};
}

void Session::start_ready_rings() {
    for (uint16_t i = 0, n = static_cast<uint16_t>(vrings_.size()); i < n; ++i) {
        if (auto started = start_if_ready(i); !started) {
            LOG_RATELIMITED(vhost_user, warn, "{}: {}; it waits for a memory table that has it",
                            options_.name, started.error().describe());
        }
    }
}

std::vector<uint16_t> Session::running_rings() const {
    std::vector<uint16_t> rings;
    for (uint16_t i = 0, n = static_cast<uint16_t>(vrings_.size()); i < n; ++i) {
        if (vrings_[i].running && !vrings_[i].stopping) {
            rings.push_back(i);
        }
    }
    return rings;
}

void Session::stop_rings(const std::vector<uint16_t>& rings, std::move_only_function<void()> then) {
    std::vector<uint16_t> stopping;
    for (uint16_t i : rings) {
        if (vrings_[i].running && !vrings_[i].stopping) {
            stopping.push_back(i);
        }
    }
    if (stopping.empty()) {
        then();
        return;
    }
    // Requests are serialised, so at most one batch of stops is in flight.
    stops_pending_ = stopping.size();
    after_stops_ = std::move(then);
    for (uint16_t i : stopping) {
        vrings_[i].stopping = true;
    }
    // Callbacks may run synchronously: the last one runs `then`, after which this function
    // touches nothing but its locals.
    for (uint16_t i : stopping) {
        queues_.stop_queue(
            i, [self = std::weak_ptr<Session*>(self_), i](virtio::QueueStopResult result) {
                if (auto alive = self.lock()) {
                    (*alive)->on_ring_stopped(i, result);
                }
            });
    }
}

void Session::on_ring_stopped(uint16_t index, virtio::QueueStopResult result) {
    Vring& ring = vrings_[index];
    if (!ring.stopping) {
        LOG_ERROR(vhost_user, "{}: unexpected stop callback for ring {}", options_.name, index);
        return;
    }
    ring.running = false;
    ring.stopping = false;
    ring.base = result.ring_base;
    ring.broken |= result.broken;
    LOG_RATELIMITED(vhost_user, debug, "{}: ring {} stopped at base {:#x}{}", options_.name, index,
                    result.ring_base, result.broken ? " (broken)" : "");
    if (--stops_pending_ == 0) {
        auto then = std::move(after_stops_);
        after_stops_ = nullptr;
        then();
    }
}

}  // namespace vhostd::vhost_user
