// BlkClient: the vhost-user control sequence of a virtio-blk front-end (vhost-user.rst,
// "Starting and stopping rings" and "Feature negotiation") and synchronous request helpers.
#include "frontend/blk_client.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>

#include "base/log.hpp"
#include "frontend/mem_table.hpp"
#include "frontend/vring_setup.hpp"

namespace vhostd::frontend {

namespace vu = vhost_user;
namespace pf = vhost_user::protocol_feature;

namespace {

template <class T>
std::span<const std::byte> bytes_of(const T& value) {
    return std::as_bytes(std::span(&value, 1));
}

}  // namespace

Result<std::unique_ptr<BlkClient>> BlkClient::open(const Options& options) {
    if (options.num_queues == 0 || options.num_queues > vu::kMaxQueues) {
        return make_error(EINVAL, "{} queues requested, 1..{} allowed", options.num_queues,
                          vu::kMaxQueues);
    }
    GuestRam::Options ram_options = options.ram;
    if (ram_options.regions.empty()) {
        ram_options.regions.push_back({0, options.ram_size});
    }
    GuestRam ram = VHOSTD_TRY(GuestRam::create(ram_options));
    const GuestBuffer bounce =
        VHOSTD_TRY(ram.alloc(std::max<uint64_t>(options.bounce_size, 4096), 4096));
    Connection connection =
        VHOSTD_TRY(Connection::connect(options.socket_path, options.connection));
    return std::unique_ptr<BlkClient>(
        new BlkClient(options, std::move(connection), std::move(ram), bounce));
}

Result<std::unique_ptr<BlkClient>> BlkClient::connect(const Options& options) {
    auto client = VHOSTD_TRY(open(options));
    VHOSTD_TRY(client->negotiate());
    VHOSTD_TRY(client->set_inflight());
    VHOSTD_TRY(client->set_memory());
    VHOSTD_TRY(client->start_queues());
    return client;
}

Result<void> BlkClient::reconnect() {
    connection_.close();
    backend_channel_.reset();
    connection_ = VHOSTD_TRY(Connection::connect(options_.socket_path, options_.connection));
    const uint64_t features = features_;
    VHOSTD_TRY(negotiate());
    // The rings are laid out for the features of the first connection.
    if (features_ != features) {
        return make_error(ENOTSUP, "the back-end now negotiates features {:#x}, not {:#x}",
                          features_, features);
    }
    VHOSTD_TRY(set_inflight());
    VHOSTD_TRY(set_memory());
    for (uint16_t i = 0, n = static_cast<uint16_t>(queues_.size()); i < n; ++i) {
        // QEMU's vhost_virtqueue_stop found the back-end gone: it restarts each ring from what
        // it can know (vring_setup.hpp); the inflight region holds the rest.
        bases_[i] = reconnect_base(queues_[i].ring(), bases_[i]);
        VHOSTD_TRY(start_vring(connection_, i, queues_[i].ring(), bases_[i],
                               has_feature(vu::kFeatureProtocolFeatures)));
    }
    if (has_protocol_feature(pf::kStatus)) {
        VHOSTD_TRY(set_status(status_ | virtio::status::kDriverOk));
    }
    return {};
}

bool BlkClient::peer_closed() const {
    if (!connection_.connected()) {
        return true;
    }
    pollfd pfd{connection_.fd(), POLLRDHUP, 0};
    return ::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

Result<void> BlkClient::set_inflight() {
    if (!options_.inflight) {
        return {};
    }
    if (!has_protocol_feature(pf::kInflightShmfd)) {
        return make_error(ENOTSUP, "the back-end does not offer INFLIGHT_SHMFD");
    }
    // As QEMU's vhost-user-blk: the region is asked for once (per device reset) and kept.
    if (!inflight_) {
        inflight_ =
            VHOSTD_TRY(InflightFd::get(connection_, options_.num_queues, options_.queue_size));
    }
    return inflight_->set(connection_);
}

Result<void> BlkClient::open_backend_channel() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return errno_error("socketpair for the backend channel");
    }
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    const int fds[] = {theirs.get()};
    VHOSTD_TRY(connection_.request(vu::Request::set_backend_req_fd, {}, fds));
    backend_channel_ = Connection::adopt(std::move(ours), options_.connection);
    return {};
}

Result<vu::BackendRequest> BlkClient::wait_backend_request() {
    if (!backend_channel_) {
        return make_error(ENOTCONN, "no backend channel (BACKEND_REQ not negotiated)");
    }
    const Message m = VHOSTD_TRY(backend_channel_->receive());
    return static_cast<vu::BackendRequest>(m.header.request);
}

Result<void> BlkClient::negotiate() {
    offered_features_ = VHOSTD_TRY(connection_.call_u64(vu::Request::get_features));
    const uint64_t wanted =
        options_.features | (options_.packed ? virtio::bit(virtio::feature::kRingPacked) : 0);
    features_ = offered_features_ & wanted;
    const bool protocol = (features_ & virtio::bit(vu::kFeatureProtocolFeatures)) != 0;
    if (protocol) {
        offered_protocol_ = VHOSTD_TRY(connection_.call_u64(vu::Request::get_protocol_features));
        const uint64_t wanted_protocol =
            options_.protocol_features | (options_.inflight ? virtio::bit(pf::kInflightShmfd) : 0);
        protocol_ = offered_protocol_ & wanted_protocol;
        VHOSTD_TRY(connection_.request_with(vu::Request::set_protocol_features, protocol_));
        // REPLY_ACK applies from the first request after it was negotiated.
        connection_.set_reply_ack(has_protocol_feature(pf::kReplyAck));
    }
    VHOSTD_TRY(connection_.request(vu::Request::set_owner));
    if (has_protocol_feature(pf::kBackendReq)) {
        VHOSTD_TRY(open_backend_channel());
    }

    queue_num_ = 1;
    if (has_protocol_feature(pf::kMq)) {
        queue_num_ = VHOSTD_TRY(connection_.call_u64(vu::Request::get_queue_num));
    }
    if (options_.num_queues > queue_num_) {
        return make_error(ENOTSUP, "{} queues requested, the back-end has {}", options_.num_queues,
                          queue_num_);
    }
    if (has_protocol_feature(pf::kConfigureMemSlots)) {
        max_mem_slots_ = VHOSTD_TRY(connection_.call_u64(vu::Request::get_max_mem_slots));
    }
    if (has_protocol_feature(pf::kConfig)) {
        config_ = VHOSTD_TRY(read_config());
    }
    // 5.2.3: without VIRTIO_BLK_F_MQ the device has exactly one request queue.
    if (options_.num_queues > 1) {
        if (!has_feature(blk::feature::kMq)) {
            return make_error(ENOTSUP, "{} queues requested without VIRTIO_BLK_F_MQ",
                              options_.num_queues);
        }
        if (config_.length != 0 && config_.num_queues < options_.num_queues) {
            return make_error(ENOTSUP, "{} queues requested, config num_queues is {}",
                              options_.num_queues, config_.num_queues);
        }
    }
    indirect_ = options_.indirect && has_feature(virtio::feature::kIndirectDesc);
    if (options_.indirect && !indirect_) {
        LOG_INFO(frontend, "back-end does not offer INDIRECT_DESC; sending direct chains");
    }

    LOG_INFO(frontend,
             "negotiated features {:#x} (offered {:#x}), protocol features {:#x} (offered {:#x}), "
             "{} queues",
             features_, offered_features_, protocol_, offered_protocol_, queue_num_);
    VHOSTD_TRY(connection_.request_with(vu::Request::set_features, features_));
    if (has_protocol_feature(pf::kStatus)) {
        // 3.1.1: the driver acknowledges, then sets FEATURES_OK and checks that it stuck.
        namespace st = virtio::status;
        VHOSTD_TRY(set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk));
        const uint8_t status = VHOSTD_TRY(get_status());
        if ((status & st::kFeaturesOk) == 0) {
            return make_error(ENOTSUP, "back-end rejected features {:#x} (status {:#x})", features_,
                              status);
        }
    }
    return {};
}

Result<BlkConfig> BlkClient::read_config() {
    struct {
        vu::ConfigHeader header;
        std::array<std::byte, blk::kConfigSize> space;
    } __attribute__((packed)) request{{0, blk::kConfigSize, 0}, {}};
    const Message reply = VHOSTD_TRY(connection_.call(vu::Request::get_config, bytes_of(request)));
    // vhost-user.rst: the reply repeats the header; a size of 0 (or any other mismatch)
    // means the back-end failed the request.
    if (reply.header.size != sizeof(request)) {
        return make_error(EPROTO, "GET_CONFIG reply has {} bytes, expected {}", reply.header.size,
                          sizeof(request));
    }
    vu::ConfigHeader header;
    std::memcpy(&header, reply.payload.data(), sizeof(header));
    if (header.offset != 0 || header.size != blk::kConfigSize) {
        return make_error(EPROTO, "GET_CONFIG reply covers [{}, +{})", header.offset, header.size);
    }
    return BlkConfig::parse(reply.body().subspan(sizeof(header)));
}

Result<uint8_t> BlkClient::get_status() {
    if (!has_protocol_feature(pf::kStatus)) {
        return make_error(ENOTSUP, "STATUS protocol feature not negotiated");
    }
    const uint64_t status = VHOSTD_TRY(connection_.call_u64(vu::Request::get_status));
    return static_cast<uint8_t>(status);
}

Result<void> BlkClient::set_status(uint8_t status) {
    VHOSTD_TRY(connection_.request_with(vu::Request::set_status, uint64_t{status}));
    status_ = status;
    return {};
}

Result<void> BlkClient::set_memory() {
    const auto regions = ram_.regions();
    if (options_.memory_mode == MemoryMode::add_mem_reg) {
        if (!has_protocol_feature(pf::kConfigureMemSlots)) {
            return make_error(ENOTSUP, "ADD_MEM_REG needs CONFIGURE_MEM_SLOTS");
        }
        if (regions.size() > max_mem_slots_) {
            return make_error(ENOSPC, "{} regions, the back-end has {} memory slots",
                              regions.size(), max_mem_slots_);
        }
        for (const auto& r : regions) {
            const vu::SingleMemoryRegion msg{0, r.wire()};
            const int fd = r.fd;
            VHOSTD_TRY(connection_.request(vu::Request::add_mem_reg, bytes_of(msg), {&fd, 1}));
        }
        return {};
    }
    return send_mem_table(connection_, regions);
}

Result<void> BlkClient::start_queues() {
    if (queues_.empty()) {
        queues_.reserve(options_.num_queues);
        for (uint16_t i = 0; i < options_.num_queues; ++i) {
            BlkQueue::Options q;
            q.size = options_.queue_size;
            q.packed = packed();
            q.event_idx = has_feature(virtio::feature::kEventIdx);
            q.indirect = indirect_;
            q.max_data_segments = options_.max_data_segments;
            queues_.push_back(VHOSTD_TRY(BlkQueue::create(ram_, q)));
            bases_.push_back(initial_base(queues_.back().ring()));
        }
    }
    for (uint16_t i = 0, n = static_cast<uint16_t>(queues_.size()); i < n; ++i) {
        VHOSTD_TRY(start_queue(i));
    }
    if (has_protocol_feature(pf::kStatus)) {
        VHOSTD_TRY(set_status(status_ | virtio::status::kDriverOk));
    }
    return {};
}

Result<void> BlkClient::start_queue(uint16_t index) {
    if (index >= queues_.size()) {
        return make_error(EINVAL, "queue {} does not exist", index);
    }
    const DriverQueue& ring = queues_[index].ring();
    // A split ring continues where the driver stands; a packed one where it last stopped.
    const uint32_t base = ring.packed() ? bases_[index] : ring.avail_idx();
    VHOSTD_TRY(
        start_vring(connection_, index, ring, base, has_feature(vu::kFeatureProtocolFeatures)));
    bases_[index] = base;
    return {};
}

Result<uint32_t> BlkClient::stop_queue(uint16_t index) {
    const Message reply = VHOSTD_TRY(
        connection_.call(vu::Request::get_vring_base, bytes_of(vu::VringState{index, 0})));
    const auto state = VHOSTD_TRY(reply.as<vu::VringState>());
    if (state.index != index) {
        return make_error(EPROTO, "GET_VRING_BASE for queue {} answered for queue {}", index,
                          state.index);
    }
    if (index < bases_.size()) {
        bases_[index] = state.num;
    }
    return state.num;
}

Result<void> BlkClient::stop_queues() {
    for (uint16_t i = 0, n = static_cast<uint16_t>(queues_.size()); i < n; ++i) {
        VHOSTD_TRY(stop_queue(i));
    }
    return {};
}

Result<void> BlkClient::start_logging(const DirtyLog& log) {
    if (!has_protocol_feature(pf::kLogShmfd)) {
        return make_error(ENOTSUP, "PROTOCOL_F_LOG_SHMFD was not negotiated");
    }
    if ((offered_features_ & virtio::bit(vu::kFeatureLogAll)) == 0) {
        return make_error(ENOTSUP, "the back-end does not offer VHOST_F_LOG_ALL");
    }
    // vhost-user.rst "Communication": with LOG_SHMFD the back-end replies to SET_LOG_BASE.
    const int fd = log.fd();
    const vu::LogDescription desc = log.wire();
    VHOSTD_TRY(connection_.call(vu::Request::set_log_base, bytes_of(desc), {&fd, 1}));
    VHOSTD_TRY(connection_.request_with(vu::Request::set_features,
                                        features_ | virtio::bit(vu::kFeatureLogAll)));
    for (uint16_t i = 0, n = static_cast<uint16_t>(queues_.size()); i < n; ++i) {
        VHOSTD_TRY(set_vring_addr(connection_, i, queues_[i].ring(), true));
    }
    return {};
}

Result<void> BlkClient::stop_logging() {
    VHOSTD_TRY(connection_.request_with(vu::Request::set_features, features_));
    for (uint16_t i = 0, n = static_cast<uint16_t>(queues_.size()); i < n; ++i) {
        VHOSTD_TRY(set_vring_addr(connection_, i, queues_[i].ring(), false));
    }
    return {};
}

Result<void> BlkClient::reset_device() {
    if (!has_protocol_feature(pf::kResetDevice)) {
        return make_error(ENOTSUP, "RESET_DEVICE protocol feature not negotiated");
    }
    return connection_.request(vu::Request::reset_device);
}

// --- synchronous helpers ---

Result<BlkQueue*> BlkClient::idle_queue(uint16_t index) {
    if (index >= queues_.size()) {
        return make_error(EINVAL, "queue {} does not exist (started {})", index, queues_.size());
    }
    BlkQueue& q = queues_[index];
    if (q.in_flight() != 0) {
        return make_error(EBUSY, "queue {} has {} requests in flight", index, q.in_flight());
    }
    return &q;
}

Result<BlkCompletion> BlkClient::complete(BlkQueue& queue, uint64_t tag) {
    queue.kick();
    for (;;) {
        BlkCompletion done;
        const size_t n = VHOSTD_TRY(queue.poll({&done, 1}));
        if (n == 1) {
            if (done.tag != tag) {
                return make_error(EPROTO, "completion for tag {} while waiting for {}", done.tag,
                                  tag);
            }
            return done;
        }
        VHOSTD_TRY(queue.wait(options_.io_timeout));
    }
}

Result<BlkCompletion> BlkClient::execute(uint16_t queue, uint32_t type, uint64_t sector,
                                         std::span<const DataSegment> data) {
    BlkQueue* q = VHOSTD_TRY(idle_queue(queue));
    const uint64_t tag = ++next_tag_;
    if (!q->submit(tag, type, sector, data)) {
        return make_error(E2BIG, "request with {} segments does not fit queue {}", data.size(),
                          queue);
    }
    return complete(*q, tag);
}

Result<uint8_t> BlkClient::read(uint64_t sector, std::span<std::byte> out, uint16_t queue) {
    if (out.size() > bounce_.size) {
        return make_error(EINVAL, "read of {} bytes exceeds the {}-byte bounce buffer", out.size(),
                          bounce_.size);
    }
    const DataSegment seg{bounce_.gpa, static_cast<uint32_t>(out.size())};
    const BlkCompletion done =
        VHOSTD_TRY(execute(queue, static_cast<uint32_t>(blk::RequestType::in), sector, {&seg, 1}));
    if (done.status == blk::status::kOk) {
        std::memcpy(out.data(), bounce_.host, out.size());
    }
    return done.status;
}

Result<uint8_t> BlkClient::write(uint64_t sector, std::span<const std::byte> data, uint16_t queue) {
    if (data.size() > bounce_.size) {
        return make_error(EINVAL, "write of {} bytes exceeds the {}-byte bounce buffer",
                          data.size(), bounce_.size);
    }
    std::memcpy(bounce_.host, data.data(), data.size());
    const DataSegment seg{bounce_.gpa, static_cast<uint32_t>(data.size())};
    const BlkCompletion done =
        VHOSTD_TRY(execute(queue, static_cast<uint32_t>(blk::RequestType::out), sector, {&seg, 1}));
    return done.status;
}

Result<uint8_t> BlkClient::flush(uint16_t queue) {
    const BlkCompletion done =
        VHOSTD_TRY(execute(queue, static_cast<uint32_t>(blk::RequestType::flush), 0, {}));
    return done.status;
}

Result<uint8_t> BlkClient::discard(uint64_t sector, uint32_t num_sectors, uint16_t queue) {
    BlkQueue* q = VHOSTD_TRY(idle_queue(queue));
    const uint64_t tag = ++next_tag_;
    if (!q->submit_discard(tag, sector, num_sectors)) {
        return make_error(E2BIG, "discard does not fit queue {}", queue);
    }
    const BlkCompletion done = VHOSTD_TRY(complete(*q, tag));
    return done.status;
}

Result<uint8_t> BlkClient::write_zeroes(uint64_t sector, uint32_t num_sectors, bool unmap,
                                        uint16_t queue) {
    BlkQueue* q = VHOSTD_TRY(idle_queue(queue));
    const uint64_t tag = ++next_tag_;
    if (!q->submit_write_zeroes(tag, sector, num_sectors, unmap)) {
        return make_error(E2BIG, "write-zeroes does not fit queue {}", queue);
    }
    const BlkCompletion done = VHOSTD_TRY(complete(*q, tag));
    return done.status;
}

Result<uint8_t> BlkClient::get_id(std::string& id, uint16_t queue) {
    std::memset(bounce_.host, 0, blk::kIdBytes);
    const DataSegment seg{bounce_.gpa, blk::kIdBytes};
    const BlkCompletion done =
        VHOSTD_TRY(execute(queue, static_cast<uint32_t>(blk::RequestType::get_id), 0, {&seg, 1}));
    if (done.status == blk::status::kOk) {
        // 5.2.6: the serial is NUL-terminated only when shorter than 20 bytes.
        const char* text = reinterpret_cast<const char*>(bounce_.host);
        id.assign(text, ::strnlen(text, blk::kIdBytes));
    }
    return done.status;
}

}  // namespace vhostd::frontend
