// Session: request dispatch, completion, negotiation, configuration space, status, memory
// table and teardown. Ring requests live in session_vring.cpp.
#include "vhost_user/session.hpp"

#include <algorithm>
#include <cstring>

#include <sys/stat.h>

#include "base/log.hpp"
#include "spec/virtio.hpp"
#include "vhost_user/memory_table.hpp"

namespace vhostd::vhost_user {

using guest_memory::GuestMemory;
using virtio::bit;

namespace {

// Requests whose reply is part of the request itself (spec "Communication"); REPLY_ACK does not
// change them.
bool has_own_reply(Request request) {
    switch (request) {
        case Request::get_features:
        case Request::get_protocol_features:
        case Request::get_vring_base:
        case Request::get_queue_num:
        case Request::get_config:
        case Request::get_max_mem_slots:
        case Request::get_status:
        case Request::get_inflight_fd:
        case Request::set_log_base:  // with LOG_SHMFD, the only way we take it
            return true;
        default:
            return false;
    }
}

// Feature bits this transport cannot honour whatever the device offers: ACCESS_PLATFORM (needs
// IOTLB messages). Ring layouts (split, and packed when the device offers VIRTIO_F_RING_PACKED)
// are both served. The transport's own bits (PROTOCOL_FEATURES, LOG_ALL) are the transport's to
// offer, not the device's.
constexpr uint64_t kTransportUnsupported =
    bit(virtio::feature::kAccessPlatform) | bit(kFeatureLogAll) | bit(kFeatureProtocolFeatures);
// vhost-user's bits in the virtio feature word: never passed to the device or its queues.
constexpr uint64_t kTransportBits = bit(kFeatureProtocolFeatures) | bit(kFeatureLogAll);

}  // namespace

Session::Session(virtio::Device& device, virtio::QueueControl& queues, Options options)
    : device_(device),
      queues_(queues),
      options_(std::move(options)),
      vrings_(std::min<size_t>(device.num_queues(), kMaxQueues)),
      memory_(GuestMemory::empty()),
      self_(std::make_shared<Session*>(this)) {}

Session::~Session() {
    if (!running_rings().empty()) {
        LOG_WARN(vhost_user, "{}: session destroyed with queues still running", options_.name);
    }
}

uint64_t Session::offered_features() const {
    // LOG_ALL: we keep the dirty log for live migration (session_log.cpp).
    return (device_.features() & ~kTransportUnsupported) | kTransportBits;
}

uint64_t Session::offered_protocol_features() {
    using namespace protocol_feature;
    return bit(kMq) | bit(kReplyAck) | bit(kBackendReq) | bit(kConfig) | bit(kConfigureMemSlots) |
           bit(kResetDevice) | bit(kStatus) | bit(kInflightShmfd) | bit(kLogShmfd);
}

uint8_t Session::device_status() const {
    const bool broken =
        std::any_of(vrings_.begin(), vrings_.end(), [](const Vring& r) { return r.broken; });
    return status_ | (broken ? virtio::status::kDeviceNeedsReset : 0);
}

Session::Step Session::now(std::optional<Message> reply) {
    Step step;
    step.reply = std::move(reply);
    return step;
}

Session::Step Session::after_stopping(std::vector<uint16_t> rings, Continuation then) {
    Step step;
    step.stop = std::move(rings);
    step.then = std::move(then);
    return step;
}

void Session::handle(Message request, Done done) {
    if (busy() || teardown_.requested()) {
        // A caller bug, not a frontend's: refuse rather than interleave two requests.
        LOG_ERROR(vhost_user, "{}: {} handed over while the session cannot take it", options_.name,
                  request.name());
        done(Response{.reply = std::nullopt, .close = true});
        return;
    }
    const Request code = request.request();
    const bool own_reply = has_own_reply(code);
    // Spec REPLY_ACK: with the extension negotiated, NEED_REPLY asks for a u64 status reply.
    const bool ack = !own_reply && request.need_reply() &&
                     (acked_protocol_features_ & bit(protocol_feature::kReplyAck)) != 0;
    current_ = Current{code, ack, own_reply, std::move(done)};
    LOG_TRACE(vhost_user, "{}: {} ({} payload bytes, {} fds)", options_.name, request.name(),
              request.header.size, request.fds.size());

    auto step = dispatch(request);
    if (!step) {
        finish(std::unexpected(std::move(step).error()));
        return;
    }
    if (!step->update.empty()) {
        update_rings(step->update, step->memory, step->drain_old,
                     [this, then = std::move(step->then)]() mutable { finish(then()); });
        return;
    }
    if (step->stop.empty()) {
        finish(step->then ? step->then() : Outcome(std::move(step->reply)));
        return;
    }
    // The continuation runs when the last ring has drained, maybe before stop_rings returns;
    // nothing may touch the session after this call.
    stop_rings(step->stop, [this, then = std::move(step->then)]() mutable { finish(then()); });
}

void Session::finish(Outcome outcome) {
    if (!current_) {
        return;  // only a request in progress finishes (busy()); a second call is a no-op
    }
    Current current = std::move(*current_);
    current_.reset();
    Response response;
    if (outcome) {
        if (std::optional<Message>& reply = *outcome; reply) {
            response.reply = std::move(*reply);
        } else if (current.ack) {
            response.reply = Message::reply_u64(current.request, 0);
        }
    } else {
        const Error& error = outcome.error();
        if (current.request == Request::get_config) {
            // Spec GET_CONFIG: a reply with an empty payload reports an error.
            response.reply = Message::reply(current.request, {});
        } else if (current.ack) {
            // Spec REPLY_ACK: non-zero on failure.
            response.reply = Message::reply_u64(current.request, error.code != 0 ? error.code : 1);
        } else {
            // The frontend expects no answer and would carry on as if the request had worked.
            response.close = true;
        }
        LOG_RATELIMITED(vhost_user, warn, "{}: {} failed: {}{}", options_.name,
                        to_string(current.request), error.describe(),
                        response.close ? "; closing the connection" : "");
    }
    current.done(std::move(response));
    if (teardown_.due(busy())) {
        begin_teardown();
    }
}

Result<Session::Step> Session::dispatch(Message& m) {
    switch (m.request()) {
        case Request::get_features:
            return reply_u64(m, offered_features());
        case Request::set_features:
            return set_features(m);
        case Request::get_protocol_features:
            return reply_u64(m, offered_protocol_features());
        case Request::set_protocol_features:
            return set_protocol_features(m);
        case Request::set_owner:
            return set_owner(m);
        case Request::reset_owner:
        case Request::reset_device:
            return reset_device(m);
        case Request::set_mem_table:
            return replace_memory(build_memory_table(m));
        case Request::add_mem_reg:
            return edit_memory(add_memory_region(*memory_, m), false);
        case Request::rem_mem_reg:
            return edit_memory(remove_memory_region(*memory_, m), true);
        case Request::get_max_mem_slots:
            return reply_u64(m, GuestMemory::kMaxRegions);
        case Request::get_queue_num:
            return reply_u64(m, vrings_.size());
        case Request::set_vring_num:
            return set_vring_num(m);
        case Request::set_vring_addr:
            return set_vring_addr(m);
        case Request::set_vring_base:
            return set_vring_base(m);
        case Request::get_vring_base:
            return get_vring_base(m);
        case Request::set_vring_kick:
            return set_vring_kick(m);
        case Request::set_vring_call:
            return set_vring_call(m);
        case Request::set_vring_err:
            return set_vring_err(m);
        case Request::set_vring_enable:
            return set_vring_enable(m);
        case Request::get_config:
            return get_config(m);
        case Request::set_config:
            return set_config(m);
        case Request::set_status:
            return set_status(m);
        case Request::set_backend_req_fd:
            return set_backend_req_fd(m);
        case Request::get_status:
            return reply_u64(m, device_status());
        case Request::get_inflight_fd:
            return get_inflight_fd(m);
        case Request::set_inflight_fd:
            return set_inflight_fd(m);
        case Request::set_log_base:
            return set_log_base(m);
        case Request::set_log_fd:
            return set_log_fd(m);
        case Request::send_rarp:
        case Request::net_set_mtu:
        case Request::iotlb_msg:
        case Request::set_vring_endian:
        case Request::create_crypto_session:
        case Request::close_crypto_session:
        case Request::postcopy_advise:
        case Request::postcopy_listen:
        case Request::postcopy_end:
        case Request::gpu_set_socket:
        case Request::vring_kick:
            // Gated by features (LOG_ALL, LOG_SHMFD, PAGEFAULT, ...) we never offer.
            return make_error(ENOTSUP, "{} is not supported (its feature is not offered)",
                              m.name());
        case Request::none:
            break;
    }
    return make_error(ENOSYS, "unknown request {}", m.header.request);
}

Result<Session::Step> Session::reply_u64(const Message& m, uint64_t value) {
    VHOSTD_TRY(m.expect_empty());
    VHOSTD_TRY(m.expect_fds(0));
    return now(Message::reply_u64(m.request(), value));
}

Result<Session::Step> Session::set_features(const Message& m) {
    const uint64_t features = VHOSTD_TRY(m.payload_u64());
    VHOSTD_TRY(m.expect_fds(0));
    // The driver may only accept features the device offered (virtio 2.2).
    if (const uint64_t extra = features & ~offered_features(); extra != 0) {
        return make_error(EINVAL, "SET_FEATURES: bits {:#x} were not offered", extra);
    }
    // Running queues were started with the negotiated features; they cannot change under them,
    // except LOG_ALL, which QEMU turns on and off on a running device when a migration starts
    // and ends ("Migration"): the rings restart with or without the log (session_log.cpp).
    const uint64_t changed = features ^ acked_features_;
    if (!running_rings().empty() && (changed & ~bit(kFeatureLogAll)) != 0) {
        return make_error(EBUSY, "SET_FEATURES: features change while rings are running");
    }
    auto apply = [this, features]() -> Outcome {
        acked_features_ = features;
        device_.set_driver_features(features & ~kTransportBits);
        // Without PROTOCOL_FEATURES rings start enabled: some may be ready now.
        start_ready_rings();
        return std::nullopt;
    };
    if ((changed & bit(kFeatureLogAll)) != 0 && !running_rings().empty()) {
        LOG_RATELIMITED(vhost_user, info, "{}: dirty logging {}", options_.name,
                        (features & bit(kFeatureLogAll)) != 0 ? "starts" : "stops");
        return after_stopping(running_rings(), std::move(apply));
    }
    if (auto applied = apply(); !applied) {
        return std::unexpected(std::move(applied).error());
    }
    return now();
}

Result<Session::Step> Session::set_protocol_features(const Message& m) {
    const uint64_t features = VHOSTD_TRY(m.payload_u64());
    VHOSTD_TRY(m.expect_fds(0));
    if (const uint64_t extra = features & ~offered_protocol_features(); extra != 0) {
        return make_error(EINVAL, "SET_PROTOCOL_FEATURES: bits {:#x} were not offered", extra);
    }
    acked_protocol_features_ = features;
    return now();
}

Result<Session::Step> Session::set_owner(const Message& m) {
    VHOSTD_TRY(m.expect_empty());
    VHOSTD_TRY(m.expect_fds(0));
    // Spec SET_OWNER marks the start of a session; a repeat on the same connection changes
    // nothing (there is only one frontend per connection).
    if (owner_) {
        LOG_RATELIMITED(vhost_user, info, "{}: repeated SET_OWNER ignored", options_.name);
    }
    owner_ = true;
    return now();
}

Result<Session::Step> Session::set_backend_req_fd(Message& m) {
    // Spec SET_BACKEND_REQ_FD: sent only when PROTOCOL_F_BACKEND_REQ was negotiated; the one
    // fd is the frontend's end of the channel. A later one replaces it.
    if ((acked_protocol_features_ & bit(protocol_feature::kBackendReq)) == 0) {
        return make_error(EINVAL, "SET_BACKEND_REQ_FD without PROTOCOL_F_BACKEND_REQ");
    }
    VHOSTD_TRY(m.expect_empty());
    VHOSTD_TRY(m.expect_fds(1));
    // The channel is a unix socket (sends use MSG_DONTWAIT, which only sockets honour).
    struct stat st {};
    if (::fstat(m.fds[0].get(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return make_error(EINVAL, "SET_BACKEND_REQ_FD: the fd is not a socket");
    }
    backend_channel_ = BackendChannel(std::move(m.fds[0]));
    return now();
}

Result<void> Session::notify_config_changed() {
    constexpr uint64_t kNeeded =
        bit(protocol_feature::kConfig) | bit(protocol_feature::kBackendReq);
    if ((acked_protocol_features_ & kNeeded) != kNeeded || !backend_channel_.open()) {
        return make_error(ENOTSUP, "the frontend takes no config-change notifications");
    }
    return backend_channel_.send(BackendRequest::config_change_msg);
}

Result<Session::Step> Session::reset_device(const Message& m) {
    VHOSTD_TRY(m.expect_empty());
    VHOSTD_TRY(m.expect_fds(0));
    // Spec RESET_DEVICE: disable all rings and return the device to its initial state; the
    // frontend keeps ownership. RESET_OWNER (deprecated) is treated the same way, as the spec
    // allows ("disable all rings").
    //
    // The memory table is kept: it describes the frontend's RAM, not device state, and QEMU
    // (CONFIGURE_MEM_SLOTS) only sends the regions that differ from what it believes we have,
    // so dropping it here would leave the restarted rings without memory. Negotiated
    // (protocol) features are kept too: QEMU negotiates protocol features once per connection.
    return after_stopping(running_rings(), [this]() -> Outcome {
        for (Vring& ring : vrings_) {
            ring.reset();
        }
        status_ = 0;
        // The rings start over: what the region says about the old ones no longer applies
        // (QEMU asks for a new region after a reset).
        inflight_.reset();
        device_.reset();
        return std::nullopt;
    });
}

void Session::note_new_memory(const GuestMemory& next) {
    if (!next.sealed() && !warned_unsealed_) {
        // Contained if it happens (guest_memory/fault_guard.hpp), but the guest's disk then
        // stops: say so once per frontend.
        warned_unsealed_ = true;
        LOG_RATELIMITED(vhost_user, warn,
                        "{}: guest memory is not sealed against shrinking (no F_SEAL_SHRINK); "
                        "if the frontend truncates it, this device stops with NEEDS_RESET",
                        options_.name);
    }
    if (logging_all() && log_ && !log_->covers(0, next.gpa_end())) {
        // QEMU sends a larger log right after a table change (vhost_commit); until then a
        // write to the new memory could not be marked (and is reported by the queue).
        LOG_RATELIMITED(vhost_user, warn,
                        "{}: guest memory now ends at {:#x}, past the dirty log; waiting for a "
                        "larger SET_LOG_BASE",
                        options_.name, next.gpa_end());
    }
}

Result<Session::Step> Session::replace_memory(Result<GuestMemory::Ptr> next) {
    // The new table is fully built (mapped, checked for overlaps) before any queue is touched:
    // a bad table fails without disturbing the running ones.
    if (!next) {
        return std::unexpected(std::move(next).error());
    }
    note_new_memory(**next);
    // Queues hold the snapshot they were started with: stop them, swap, restart them where
    // they stopped, with their rings translated in the new table.
    return after_stopping(running_rings(), [this, memory = std::move(*next)]() mutable -> Outcome {
        memory_ = std::move(memory);
        start_ready_rings();
        return std::nullopt;
    });
}

Result<Session::Step> Session::get_config(const Message& m) {
    VHOSTD_TRY(m.expect_fds(0));
    if (m.header.size < sizeof(ConfigHeader)) {
        return make_error(EINVAL, "GET_CONFIG: payload of {} bytes is too short", m.header.size);
    }
    ConfigHeader header;
    std::memcpy(&header, m.payload.data(), sizeof(header));
    // Spec GET_CONFIG: the reply's payload size must match the request's, so the request
    // carries room for `size` bytes; VHOST_USER_MAX_CONFIG_SIZE bounds it.
    if (header.size > kMaxConfigSize || m.header.size != sizeof(ConfigHeader) + header.size) {
        return make_error(EINVAL, "GET_CONFIG: {} config bytes in a payload of {} bytes",
                          header.size, m.header.size);
    }
    std::array<std::byte, kMaxPayloadSize> body{};
    std::memcpy(body.data(), &header, sizeof(header));
    // Bytes past the device's config space read as zero: QEMU may ask for the largest struct
    // it knows, which can be longer than ours.
    const uint32_t config_size = device_.config_size();
    if (header.offset < config_size) {
        const uint32_t n = std::min(header.size, config_size - header.offset);
        device_.read_config(header.offset,
                            std::span(reinterpret_cast<uint8_t*>(body.data() + sizeof(header)), n));
    }
    return now(Message::reply(m.request(), std::span(body.data(), sizeof(header) + header.size)));
}

Result<Session::Step> Session::set_config(const Message& m) {
    VHOSTD_TRY(m.expect_fds(0));
    if (m.header.size < sizeof(ConfigHeader)) {
        return make_error(EINVAL, "SET_CONFIG: payload of {} bytes is too short", m.header.size);
    }
    ConfigHeader header;
    std::memcpy(&header, m.payload.data(), sizeof(header));
    if (header.size > kMaxConfigSize || m.header.size != sizeof(ConfigHeader) + header.size) {
        return make_error(EINVAL, "SET_CONFIG: {} config bytes in a payload of {} bytes",
                          header.size, m.header.size);
    }
    // Spec "Virtio device config space": flags 0 (driver write) or 1 (live migration).
    if (header.flags > 1) {
        return make_error(EINVAL, "SET_CONFIG: unknown flags {:#x}", header.flags);
    }
    if (uint64_t{header.offset} + header.size > device_.config_size()) {
        return make_error(EINVAL, "SET_CONFIG: bytes {}..{} are outside the {}-byte config space",
                          header.offset, uint64_t{header.offset} + header.size,
                          device_.config_size());
    }
    // The device refuses writes to read-only fields (spec: back-ends MUST NOT accept them).
    VHOSTD_TRY(device_.write_config(header.offset, std::span(reinterpret_cast<const uint8_t*>(
                                                                 m.payload.data() + sizeof(header)),
                                                             header.size)));
    return now();
}

Result<Session::Step> Session::set_status(const Message& m) {
    const uint64_t status = VHOSTD_TRY(m.payload_u64());
    VHOSTD_TRY(m.expect_fds(0));
    // Spec SET_STATUS: the virtio device status, an 8-bit field (virtio 2.1).
    if (status > 0xff) {
        return make_error(EINVAL, "SET_STATUS: {:#x} is not a device status", status);
    }
    status_ = static_cast<uint8_t>(status & ~virtio::status::kDeviceNeedsReset);
    // Virtio 2.1.1: writing 0 resets the device, which clears DEVICE_NEEDS_RESET. Broken rings
    // that are still running keep their breakage and report it again when they stop.
    if (status == 0) {
        for (Vring& ring : vrings_) {
            ring.broken = false;
        }
    }
    return now();
}

void Session::queue_broken(uint16_t index) {
    if (index >= vrings_.size()) {
        return;
    }
    LOG_RATELIMITED(vhost_user, warn, "{}: ring {} broken; device needs reset", options_.name,
                    index);
    vrings_[index].broken = true;
}

void Session::disconnect(std::move_only_function<void()> done) {
    // A request waiting for queues finishes first (finish() then starts the teardown).
    if (teardown_.request(std::move(done), busy())) {
        begin_teardown();
    }
}

void Session::begin_teardown() {
    teardown_.begin();
    stop_rings(running_rings(), [this] {
        for (Vring& ring : vrings_) {
            ring.reset();
        }
        memory_ = GuestMemory::empty();
        acked_features_ = 0;
        acked_protocol_features_ = 0;
        owner_ = false;
        status_ = 0;
        backend_channel_.close();
        inflight_.reset();  // the frontend keeps its fd for the next connection
        log_.reset();
        log_call_.reset();
        device_.reset();
        teardown_.finish();
    });
}

}  // namespace vhostd::vhost_user
