// ScsiClient: the vhost-user control sequence of a virtio-scsi front-end and the layouts of
// its requests (VIRTIO 1.2, 5.6.6) in guest RAM.
#include "frontend/scsi_client.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "frontend/mem_table.hpp"
#include "frontend/vring_setup.hpp"

namespace vhostd::frontend {

namespace vu = vhost_user;
namespace pf = vhost_user::protocol_feature;

namespace {

constexpr uint64_t kProtocolFeatures = virtio::bit(pf::kMq) | virtio::bit(pf::kReplyAck) |
                                       virtio::bit(pf::kConfig) | virtio::bit(pf::kStatus);

template <class T>
std::span<const std::byte> bytes_of(const T& value) {
    return std::as_bytes(std::span(&value, 1));
}

}  // namespace

ScsiClient::ScsiClient(Options options, Connection connection, GuestRam ram)
    : options_(std::move(options)), connection_(std::move(connection)), ram_(std::move(ram)) {}

ScsiClient::~ScsiClient() = default;

Result<std::unique_ptr<ScsiClient>> ScsiClient::connect(const Options& options) {
    GuestRam ram = VHOSTD_TRY(GuestRam::create(options.ram_size));
    Connection connection =
        VHOSTD_TRY(Connection::connect(options.socket_path, options.connection));
    std::unique_ptr<ScsiClient> client(
        new ScsiClient(options, std::move(connection), std::move(ram)));
    VHOSTD_TRY(client->negotiate());
    VHOSTD_TRY(client->set_inflight());
    VHOSTD_TRY(client->set_memory());
    const uint16_t total = scsi::kFirstRequestQueue + options.request_queues;
    for (uint16_t i = 0; i < total; ++i) {
        Queue q{.ring = VHOSTD_TRY(DriverQueue::create(
                    client->ram_, {.size = options.queue_size,
                                   .packed = client->has_feature(virtio::feature::kRingPacked),
                                   .event_idx = client->has_feature(virtio::feature::kEventIdx)}))};
        q.slots = VHOSTD_TRY(client->ram_.alloc(options.queue_size * kSlotStride, 4096));
        q.data = VHOSTD_TRY(
            client->ram_.alloc(uint64_t{options.queue_size} * options.data_per_slot, 4096));
        for (uint16_t s = options.queue_size; s-- > 0;) {
            q.free.push_back(s);
        }
        q.done.resize(options.queue_size);
        q.data_in_length.resize(options.queue_size);
        client->bases_.push_back(initial_base(q.ring));
        client->queues_.push_back(std::move(q));
    }
    for (uint16_t i = 0; i < total; ++i) {
        VHOSTD_TRY(client->start_queue(i, client->bases_[i]));
    }
    if ((client->protocol_ & virtio::bit(pf::kStatus)) != 0) {
        namespace st = virtio::status;
        const uint64_t status = st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk;
        VHOSTD_TRY(client->connection_.request_with(vu::Request::set_status, status));
    }
    for (uint16_t i = 0; i < std::min(options.event_buffers, options.queue_size); ++i) {
        Queue& events = client->queues_[scsi::kEventQueue];
        events.free.pop_back();
        VHOSTD_TRY(client->post_event_buffer(i));
    }
    return client;
}

Result<void> ScsiClient::reconnect() {
    connection_.close();
    connection_ = VHOSTD_TRY(Connection::connect(options_.socket_path, options_.connection));
    const uint64_t features = features_;
    VHOSTD_TRY(negotiate());
    if (features_ != features) {
        return make_error(ENOTSUP, "the back-end now negotiates features {:#x}, not {:#x}",
                          features_, features);
    }
    VHOSTD_TRY(set_inflight());
    VHOSTD_TRY(set_memory());
    for (uint16_t i = 0, n = static_cast<uint16_t>(queues_.size()); i < n; ++i) {
        bases_[i] = reconnect_base(queues_[i].ring, bases_[i]);
        VHOSTD_TRY(start_queue(i, bases_[i]));
    }
    if ((protocol_ & virtio::bit(pf::kStatus)) != 0) {
        namespace st = virtio::status;
        const uint64_t status = st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk;
        VHOSTD_TRY(connection_.request_with(vu::Request::set_status, status));
    }
    return {};
}

Result<void> ScsiClient::set_inflight() {
    if (!options_.inflight) {
        return {};
    }
    if ((protocol_ & virtio::bit(pf::kInflightShmfd)) == 0) {
        return make_error(ENOTSUP, "the back-end does not offer INFLIGHT_SHMFD");
    }
    if (!inflight_) {
        const auto queues =
            static_cast<uint16_t>(scsi::kFirstRequestQueue + options_.request_queues);
        inflight_ = VHOSTD_TRY(InflightFd::get(connection_, queues, options_.queue_size));
    }
    return inflight_->set(connection_);
}

Result<void> ScsiClient::negotiate() {
    offered_ = VHOSTD_TRY(connection_.call_u64(vu::Request::get_features));
    features_ = offered_ & (options_.features |
                            (options_.packed ? virtio::bit(virtio::feature::kRingPacked) : 0));
    if ((features_ & virtio::bit(vu::kFeatureProtocolFeatures)) == 0) {
        return make_error(ENOTSUP, "back-end offers no protocol features");
    }
    const uint64_t offered_protocol =
        VHOSTD_TRY(connection_.call_u64(vu::Request::get_protocol_features));
    protocol_ = offered_protocol &
                (kProtocolFeatures | (options_.inflight ? virtio::bit(pf::kInflightShmfd) : 0));
    VHOSTD_TRY(connection_.request_with(vu::Request::set_protocol_features, protocol_));
    connection_.set_reply_ack((protocol_ & virtio::bit(pf::kReplyAck)) != 0);
    VHOSTD_TRY(connection_.request(vu::Request::set_owner));
    if ((protocol_ & virtio::bit(pf::kMq)) != 0) {
        queue_num_ = VHOSTD_TRY(connection_.call_u64(vu::Request::get_queue_num));
    }
    if (uint64_t{scsi::kFirstRequestQueue} + options_.request_queues > queue_num_) {
        return make_error(ENOTSUP, "{} request queues requested, the back-end has {} queues",
                          options_.request_queues, queue_num_);
    }
    if ((protocol_ & virtio::bit(pf::kConfig)) != 0) {
        struct {
            vu::ConfigHeader header;
            scsi::Config space;
        } __attribute__((packed)) request{{0, sizeof(scsi::Config), 0}, {}};
        const Message reply =
            VHOSTD_TRY(connection_.call(vu::Request::get_config, bytes_of(request)));
        if (reply.header.size != sizeof(request)) {
            return make_error(EPROTO, "GET_CONFIG reply has {} bytes, expected {}",
                              reply.header.size, sizeof(request));
        }
        std::memcpy(&config_, reply.payload.data() + sizeof(vu::ConfigHeader), sizeof(config_));
    }
    VHOSTD_TRY(connection_.request_with(vu::Request::set_features, features_));
    return {};
}

Result<void> ScsiClient::set_memory() {
    return send_mem_table(connection_, ram_.regions());
}

Result<void> ScsiClient::start_queue(uint16_t index, uint32_t base) {
    return start_vring(connection_, index, queues_[index].ring, base, true);
}

uint8_t* ScsiClient::slot_host(Queue& q, uint16_t slot, uint64_t offset) const {
    return q.slots.host + slot * kSlotStride + offset;
}

uint64_t ScsiClient::slot_gpa(const Queue& q, uint16_t slot, uint64_t offset) const {
    return q.slots.gpa + slot * kSlotStride + offset;
}

Result<uint16_t> ScsiClient::send(Queue& q, std::span<const Segment> segments, uint16_t slot) {
    q.done[slot].reset();
    if (!q.ring.add(segments, slot)) {
        q.free.push_back(slot);
        return make_error(E2BIG, "chain of {} segments does not fit the queue", segments.size());
    }
    q.ring.publish_and_kick();
    return slot;
}

Result<void> ScsiClient::harvest(Queue& q) {
    std::array<UsedEntry, 16> used;
    for (;;) {
        const size_t n = VHOSTD_TRY(q.ring.poll(used));
        for (size_t i = 0; i < n; ++i) {
            q.done[used[i].cookie] = used[i].len;
        }
        if (n < used.size()) {
            return {};
        }
    }
}

Result<uint32_t> ScsiClient::wait_slot(Queue& q, uint16_t slot) {
    const auto deadline = std::chrono::steady_clock::now() + options_.io_timeout;
    for (;;) {
        VHOSTD_TRY(harvest(q));
        if (std::optional<uint32_t>& done = q.done[slot]; done) {
            const uint32_t len = *done;
            done.reset();
            return len;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return make_error(ETIMEDOUT, "no completion within {} ms", options_.io_timeout.count());
        }
        if (auto waited = q.ring.wait(left); !waited && waited.error().code != ETIMEDOUT) {
            return std::unexpected(waited.error());
        }
    }
}

Result<uint16_t> ScsiClient::submit(const ScsiCommand& command, uint16_t request_queue) {
    if (request_queue >= options_.request_queues) {
        return make_error(EINVAL, "request queue {} was not started", request_queue);
    }
    Queue& q = queues_[scsi::kFirstRequestQueue + request_queue];
    const uint32_t cdb_size = config_.cdb_size != 0 ? config_.cdb_size : scsi::kDefaultCdbSize;
    const uint32_t sense_size =
        config_.sense_size != 0 ? config_.sense_size : scsi::kDefaultSenseSize;
    const uint64_t data = std::max<uint64_t>(command.data_out.size(), command.data_in_length);
    if (q.free.empty() || data > options_.data_per_slot || command.cdb.size() > cdb_size) {
        return make_error(E2BIG, "no slot for the command (or its data or CDB is too large)");
    }
    const uint16_t slot = q.free.back();
    q.free.pop_back();
    // 5.6.6.1: header + CDB, data-out | response + sense, data-in.
    scsi::CmdHeader header{};
    const auto lun = command.raw_lun
                         ? *command.raw_lun
                         : std::array<uint8_t, 8>{1, command.target,
                                                  static_cast<uint8_t>(0x40 | (command.lun >> 8)),
                                                  static_cast<uint8_t>(command.lun)};
    std::memcpy(header.lun, lun.data(), sizeof(header.lun));
    header.id = command.tag;
    uint8_t* req = slot_host(q, slot, 0);
    std::memset(req, 0, kResponseOffset);
    std::memcpy(req, &header, sizeof(header));
    if (!command.cdb.empty()) {  // an empty span's data() may be null: memcpy's UB
        std::memcpy(req + sizeof(header), command.cdb.data(), command.cdb.size());
    }
    std::memset(slot_host(q, slot, kResponseOffset), 0xff, sizeof(scsi::CmdResponse));
    uint8_t* data_host = q.data.host + uint64_t{slot} * options_.data_per_slot;
    const uint64_t data_gpa = q.data.gpa + uint64_t{slot} * options_.data_per_slot;
    if (!command.data_out.empty()) {
        std::memcpy(data_host, command.data_out.data(), command.data_out.size());
    }
    q.data_in_length[slot] = command.data_in_length;

    std::vector<Segment> segments;
    segments.push_back(
        {slot_gpa(q, slot, 0), static_cast<uint32_t>(sizeof(header) + cdb_size), false});
    if (!command.data_out.empty()) {
        segments.push_back({data_gpa, static_cast<uint32_t>(command.data_out.size()), false});
    }
    segments.push_back({slot_gpa(q, slot, kResponseOffset),
                        static_cast<uint32_t>(sizeof(scsi::CmdResponse) + sense_size), true});
    if (command.data_in_length != 0) {
        segments.push_back({data_gpa, command.data_in_length, true});
    }
    return send(q, segments, slot);
}

Result<ScsiResult> ScsiClient::wait(uint16_t handle, uint16_t request_queue) {
    Queue& q = queues_.at(scsi::kFirstRequestQueue + request_queue);
    const uint32_t len = VHOSTD_TRY(wait_slot(q, handle));
    q.free.push_back(handle);
    scsi::CmdResponse response;
    std::memcpy(&response, slot_host(q, handle, kResponseOffset), sizeof(response));
    ScsiResult result;
    result.response = response.response;
    result.status = response.status;
    result.residual = response.residual;
    result.used_len = len;
    const uint8_t* sense = slot_host(q, handle, kResponseOffset + sizeof(response));
    result.sense.assign(sense, sense + std::min<uint32_t>(response.sense_len, 252));
    const uint32_t in = q.data_in_length[handle];
    if (in != 0 && response.residual <= in) {
        const auto* data = reinterpret_cast<const std::byte*>(
            q.data.host + uint64_t{handle} * options_.data_per_slot);
        result.data_in.assign(data, data + (in - response.residual));
    }
    return result;
}

Result<ScsiResult> ScsiClient::execute(const ScsiCommand& command, uint16_t request_queue) {
    const uint16_t handle = VHOSTD_TRY(submit(command, request_queue));
    return wait(handle, request_queue);
}

Result<uint8_t> ScsiClient::task_management(uint32_t subtype, uint8_t target, uint16_t lun,
                                            uint64_t tag) {
    Queue& q = queues_[scsi::kControlQueue];
    if (q.free.empty()) {
        return make_error(EBUSY, "control queue full");
    }
    const uint16_t slot = q.free.back();
    q.free.pop_back();
    scsi::TmfRequest tmf{scsi::control_type::kTmf, subtype, {}, tag};
    const std::array<uint8_t, 8> field{1, target, static_cast<uint8_t>(0x40 | (lun >> 8)),
                                       static_cast<uint8_t>(lun)};
    std::memcpy(tmf.lun, field.data(), sizeof(tmf.lun));
    std::memcpy(slot_host(q, slot, 0), &tmf, sizeof(tmf));
    *slot_host(q, slot, kResponseOffset) = 0xff;
    const std::array<Segment, 2> segments{Segment{slot_gpa(q, slot, 0), sizeof(tmf), false},
                                          Segment{slot_gpa(q, slot, kResponseOffset), 1, true}};
    VHOSTD_TRY(send(q, segments, slot));
    VHOSTD_TRY(wait_slot(q, slot));
    q.free.push_back(slot);
    return *slot_host(q, slot, kResponseOffset);
}

Result<scsi::AnResponse> ScsiClient::async_notification(bool subscribe, uint8_t target,
                                                        uint32_t events) {
    Queue& q = queues_[scsi::kControlQueue];
    if (q.free.empty()) {
        return make_error(EBUSY, "control queue full");
    }
    const uint16_t slot = q.free.back();
    q.free.pop_back();
    scsi::AnRequest an{subscribe ? scsi::control_type::kAnSubscribe : scsi::control_type::kAnQuery,
                       {1, target, 0x40, 0, 0, 0, 0, 0},
                       events};
    std::memcpy(slot_host(q, slot, 0), &an, sizeof(an));
    std::memset(slot_host(q, slot, kResponseOffset), 0xff, sizeof(scsi::AnResponse));
    const std::array<Segment, 2> segments{
        Segment{slot_gpa(q, slot, 0), sizeof(an), false},
        Segment{slot_gpa(q, slot, kResponseOffset), sizeof(scsi::AnResponse), true}};
    VHOSTD_TRY(send(q, segments, slot));
    VHOSTD_TRY(wait_slot(q, slot));
    q.free.push_back(slot);
    scsi::AnResponse response;
    std::memcpy(&response, slot_host(q, slot, kResponseOffset), sizeof(response));
    return response;
}

Result<void> ScsiClient::post_event_buffer(uint16_t slot) {
    Queue& q = queues_[scsi::kEventQueue];
    std::memset(slot_host(q, slot, kResponseOffset), 0, sizeof(scsi::Event));
    const Segment segment{slot_gpa(q, slot, kResponseOffset), sizeof(scsi::Event), true};
    VHOSTD_TRY(send(q, {&segment, 1}, slot));
    return {};
}

Result<scsi::Event> ScsiClient::next_event(std::chrono::milliseconds timeout) {
    Queue& q = queues_[scsi::kEventQueue];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        VHOSTD_TRY(harvest(q));
        for (uint16_t slot = 0, n = static_cast<uint16_t>(q.done.size()); slot < n; ++slot) {
            if (q.done[slot]) {
                q.done[slot].reset();
                scsi::Event event;
                std::memcpy(&event, slot_host(q, slot, kResponseOffset), sizeof(event));
                VHOSTD_TRY(post_event_buffer(slot));
                return event;
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return make_error(ETIMEDOUT, "no event within {} ms", timeout.count());
        }
        if (auto waited = q.ring.wait(left); !waited && waited.error().code != ETIMEDOUT) {
            return std::unexpected(waited.error());
        }
    }
}

Result<uint32_t> ScsiClient::exchange_raw(uint16_t index, std::span<const Segment> segments) {
    Queue& q = queues_.at(index);
    if (q.free.empty()) {
        return make_error(EBUSY, "queue {} full", index);
    }
    const uint16_t slot = q.free.back();
    q.free.pop_back();
    VHOSTD_TRY(send(q, segments, slot));
    const uint32_t len = VHOSTD_TRY(wait_slot(q, slot));
    q.free.push_back(slot);
    return len;
}

}  // namespace vhostd::frontend
