// Session: negotiation, memory tables, ring start/stop rules, asynchronous completion, reset,
// configuration space, status and teardown, against a fake device and queue control.
#include "vhost_user/session.hpp"

#include <cstring>
#include <optional>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "base/event_fd.hpp"
#include "support/session_fixture.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::fd_closed;
using testing::make_memfd;
using testing::make_request;
using testing::make_request_with;
using virtio::bit;

class SessionTest : public testing::SessionFixture {};

TEST_F(SessionTest, OffersDeviceFeaturesAndProtocolFeatures) {
    auto r = call_empty(Request::get_features);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->header.request, static_cast<uint32_t>(Request::get_features));
    EXPECT_EQ(r.reply->header.flags, kVersion | kFlagReply);  // exactly: QEMU compares
    EXPECT_EQ(reply_u64(r), device.features_ | bit(kFeatureProtocolFeatures) | bit(kFeatureLogAll));

    using namespace protocol_feature;
    EXPECT_EQ(reply_u64(call_empty(Request::get_protocol_features)),
              bit(kMq) | bit(kReplyAck) | bit(kBackendReq) | bit(kConfig) |
                  bit(kConfigureMemSlots) | bit(kResetDevice) | bit(kStatus) | bit(kInflightShmfd) |
                  bit(kLogShmfd));
    EXPECT_EQ(reply_u64(call_empty(Request::get_queue_num)), 2U);
    EXPECT_EQ(reply_u64(call_empty(Request::get_max_mem_slots)), 509U);
}

TEST_F(SessionTest, TransportMasksFeaturesItCannotHonour) {
    device.features_ |= bit(virtio::feature::kAccessPlatform) | bit(kFeatureLogAll);
    const uint64_t offered = reply_u64(call_empty(Request::get_features));
    // Packed rings are the device's to offer (a controller's packed_ring): passed through.
    EXPECT_EQ(offered & bit(virtio::feature::kRingPacked), 0U);
    device.features_ |= bit(virtio::feature::kRingPacked);
    EXPECT_NE(reply_u64(call_empty(Request::get_features)) & bit(virtio::feature::kRingPacked), 0U);
    EXPECT_EQ(offered & bit(virtio::feature::kAccessPlatform), 0U);
    // LOG_ALL is the transport's (the dirty log), offered whatever the device says.
    EXPECT_NE(offered & bit(kFeatureLogAll), 0U);
}

TEST_F(SessionTest, SetFeaturesPassesDriverFeaturesWithoutProtocolBit) {
    negotiate();
    EXPECT_EQ(session->acked_features(), device.features_ | bit(kFeatureProtocolFeatures));
    EXPECT_EQ(device.driver_features_, device.features_);
    EXPECT_TRUE(session->owned());
    EXPECT_EQ(session->acked_protocol_features(), Session::offered_protocol_features());
}

TEST_F(SessionTest, UnofferedFeaturesAreRefused) {
    negotiate();
    expect_failed(call_with(Request::set_features, uint64_t{bit(40)}));
    expect_failed(
        call_with(Request::set_protocol_features, uint64_t{bit(protocol_feature::kPagefault)}));
    EXPECT_EQ(session->acked_protocol_features(), Session::offered_protocol_features());
}

TEST_F(SessionTest, NoAckWithoutReplyAckNegotiated) {
    negotiate(true, /*reply_ack=*/false);
    auto r = call_empty(Request::set_owner);  // NEED_REPLY set, but REPLY_ACK was not acked
    EXPECT_FALSE(r.reply);
    EXPECT_FALSE(r.close);
    // ... so a failure can only be reported by closing.
    expect_closed(call_with(Request::set_vring_num, VringState{0, 3}));
}

TEST_F(SessionTest, NoAckWithoutNeedReply) {
    negotiate();
    auto r = call(make_request_with(Request::set_vring_num, VringState{0, 64}));
    EXPECT_FALSE(r.reply);
    EXPECT_FALSE(r.close);
}

TEST_F(SessionTest, SetMemTableMapsEveryRegion) {
    negotiate();
    MemoryTable table{};
    table.num_regions = 2;
    table.regions[0] = {0, 0x10000, 0x1000000, 0};
    table.regions[1] = {0x100000, 0x20000, 0x2000000, 0x10000};
    std::vector<UniqueFd> fds;
    fds.push_back(make_memfd(0x10000));
    fds.push_back(make_memfd(0x30000));
    const int second = fds[1].get();
    expect_ok(call(make_request(Request::set_mem_table,
                                std::as_bytes(std::span(&table, 1)).first(8 + 2 * 32),
                                std::move(fds), kVersion | kFlagNeedReply)));
    ASSERT_EQ(session->memory()->regions().size(), 2U);
    EXPECT_NE(session->memory()->host_address(0x100000 + 0x1ffff, 1), nullptr);
    EXPECT_EQ(session->memory()->host_address(0x10000, 1), nullptr);
    EXPECT_FALSE(fd_closed(second));  // the region keeps it
    // A new table replaces the old one (and releases its regions).
    expect_ok(set_memory());
    ASSERT_EQ(session->memory()->regions().size(), 1U);
    EXPECT_TRUE(fd_closed(second));
}

TEST_F(SessionTest, AddAndRemoveMemoryRegions) {
    negotiate();
    for (uint64_t i = 0; i < 3; ++i) {
        SingleMemoryRegion add{0, {i * 0x100000, 0x10000, kUva + i * 0x100000, 0}};
        std::vector<UniqueFd> fds;
        fds.push_back(make_memfd(0x10000));
        expect_ok(call_with(Request::add_mem_reg, add, std::move(fds)));
    }
    EXPECT_EQ(session->memory()->regions().size(), 3U);
    // REM_MEM_REG ignores the mmap offset; a stray fd is tolerated and closed (spec MAY).
    SingleMemoryRegion rem{0, {0x100000, 0x10000, kUva + 0x100000, 0x5000}};
    std::vector<UniqueFd> stray;
    stray.push_back(make_memfd(16));
    const int stray_fd = stray[0].get();
    expect_ok(call_with(Request::rem_mem_reg, rem, std::move(stray)));
    EXPECT_TRUE(fd_closed(stray_fd));
    EXPECT_EQ(session->memory()->regions().size(), 2U);
    EXPECT_EQ(session->memory()->host_address(0x100000, 1), nullptr);
    // Removing it again fails: it is not there.
    expect_failed(call_with(Request::rem_mem_reg, rem));
}

TEST_F(SessionTest, RingStartsOnlyOnceEnabledWithProtocolFeatures) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0, /*base=*/7, /*enable=*/false);
    EXPECT_FALSE(queues.running(0));
    expect_ok(call_with(Request::set_vring_enable, VringState{0, 1}));
    ASSERT_TRUE(queues.running(0));
    const auto& config = queues.config(0);
    EXPECT_EQ(config.index, 0);
    EXPECT_EQ(config.ring.size, kQueueSize);
    EXPECT_EQ(config.base, 7U);
    EXPECT_EQ(config.ring.desc, host(desc_uva(0)));
    EXPECT_EQ(config.ring.avail, host(avail_uva(0)));
    EXPECT_EQ(config.ring.used, host(used_uva(0)));
    EXPECT_EQ(config.features, device.features_);  // without the vhost-user bit 30
    EXPECT_EQ(config.memory, session->memory());
    // Duplicates: the session keeps its originals for restarts.
    ASSERT_TRUE(config.kick.valid());
    ASSERT_TRUE(config.call.valid());
    EXPECT_NE(config.kick.get(), session->vring(0).kick.get());
    EXPECT_FALSE(config.err.valid());
    EXPECT_FALSE(queues.contract_violated);
}

TEST_F(SessionTest, RingStartsOnKickWithoutProtocolFeatures) {
    negotiate(/*protocol_features=*/false);
    set_memory();
    setup_ring(1, 0, /*enable=*/false);
    EXPECT_TRUE(queues.running(1));  // spec: without PROTOCOL_FEATURES rings start enabled
}

TEST_F(SessionTest, KickWithoutFdMeansPolling) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0, 0, true, /*kick_fd=*/false);
    ASSERT_TRUE(queues.running(0));
    EXPECT_FALSE(queues.config(0).kick.valid());
}

TEST_F(SessionTest, RingStartsWhenMemoryArrivesLast) {
    negotiate();
    setup_ring(0);
    EXPECT_FALSE(queues.running(0));
    expect_ok(set_memory());
    EXPECT_TRUE(queues.running(0));
}

TEST_F(SessionTest, DisableStopsTheRingAsynchronouslyAndEnableResumesIt) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0, 10);
    ASSERT_TRUE(queues.running(0));
    queues.progress[0] = 5;

    auto pending = send(make_request_with(Request::set_vring_enable, VringState{0, 0}, {},
                                          kVersion | kFlagNeedReply));
    EXPECT_FALSE(pending->completed);  // waits for the queue to drain
    EXPECT_TRUE(session->busy());
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    expect_ok(pending->response);
    EXPECT_FALSE(queues.running(0));

    expect_ok(call_with(Request::set_vring_enable, VringState{0, 1}));
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).base, 15U);
    EXPECT_FALSE(queues.contract_violated);
}

TEST_F(SessionTest, GetVringBaseRepliesAfterTheQueueDrained) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0, 100);
    queues.progress[0] = 23;
    auto pending = send(make_request_with(Request::get_vring_base, VringState{0, 0}));
    EXPECT_FALSE(pending->completed);
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    ASSERT_TRUE(pending->response.reply);
    auto state = pending->response.reply->payload_as<VringState>();
    ASSERT_TRUE(state);
    EXPECT_EQ(state->index, 0U);
    EXPECT_EQ(state->num, 123U);
    EXPECT_FALSE(queues.running(0));
    // Stopped for good: enabling again does not restart it without a new kick.
    expect_ok(call_with(Request::set_vring_enable, VringState{0, 1}));
    EXPECT_FALSE(queues.running(0));
    std::vector<UniqueFd> kick;
    kick.push_back(std::move(*make_event_fd()));
    expect_ok(call_with(Request::set_vring_kick, uint64_t{0}, std::move(kick)));
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).base, 123U);
}

TEST_F(SessionTest, GetVringBaseOfAStoppedRingRepliesAtOnce) {
    negotiate();
    expect_ok(call_with(Request::set_vring_base, VringState{1, 0x1234}));
    auto r = call(make_request_with(Request::get_vring_base, VringState{1, 0}));
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->payload_as<VringState>()->num, 0x1234U);
    EXPECT_TRUE(queues.stops.empty());
}

TEST_F(SessionTest, MemoryTableChangeRestartsRunningRingsWhereTheyStopped) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0, 3);
    setup_ring(1, 9);
    queues.progress[0] = 4;
    queues.progress[1] = 1;
    auto* old_desc = queues.config(0).ring.desc;

    // Same guest layout, new fd (e.g. QEMU re-sending the table after hotplug elsewhere).
    MemoryTable table{};
    table.num_regions = 1;
    table.regions[0] = {0, kRamSize, kUva, 0};
    std::vector<UniqueFd> fds;
    fds.push_back(make_memfd(kRamSize));
    auto pending =
        send(make_request(Request::set_mem_table, std::as_bytes(std::span(&table, 1)).first(8 + 32),
                          std::move(fds), kVersion | kFlagNeedReply));
    EXPECT_FALSE(pending->completed);
    EXPECT_EQ(queues.stops.size(), 2U);
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    expect_ok(pending->response);
    ASSERT_TRUE(queues.running(0));
    ASSERT_TRUE(queues.running(1));
    EXPECT_EQ(queues.config(0).base, 7U);
    EXPECT_EQ(queues.config(1).base, 10U);
    EXPECT_EQ(queues.config(0).memory, session->memory());
    EXPECT_NE(queues.config(0).ring.desc, old_desc);  // translated in the new mapping
    EXPECT_EQ(queues.config(0).ring.desc, host(desc_uva(0)));
    EXPECT_FALSE(queues.contract_violated);
}

TEST_F(SessionTest, RingWhoseMemoryIsRemovedWaitsForItToReturn) {
    negotiate();
    SingleMemoryRegion region{0, {0, kRamSize, kUva, 0}};
    std::vector<UniqueFd> fds;
    fds.push_back(make_memfd(kRamSize));
    expect_ok(call_with(Request::add_mem_reg, region, std::move(fds)));
    setup_ring(0);
    ASSERT_TRUE(queues.running(0));
    queues.auto_complete = true;
    // QEMU updates a region by removing it and adding the new one.
    expect_ok(call_with(Request::rem_mem_reg, region));
    EXPECT_FALSE(queues.running(0));
    fds.push_back(make_memfd(kRamSize));
    expect_ok(call_with(Request::add_mem_reg, region, std::move(fds)));
    EXPECT_TRUE(queues.running(0));
    EXPECT_FALSE(queues.contract_violated);
}

TEST_F(SessionTest, ResetDeviceStopsRingsAndKeepsMemoryAndOwnership) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    expect_ok(call_with(Request::set_status, uint64_t{0xf}));
    const int resets = device.resets;
    const int kick = session->vring(0).kick.get();
    auto pending = send(make_request(Request::reset_device, {}, {}, kVersion | kFlagNeedReply));
    EXPECT_FALSE(pending->completed);
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    expect_ok(pending->response);
    EXPECT_EQ(device.resets, resets + 1);
    EXPECT_FALSE(queues.running(0));
    EXPECT_TRUE(fd_closed(kick));
    EXPECT_EQ(session->vring(0).num, 0U);
    EXPECT_FALSE(session->vring(0).kicked);
    EXPECT_EQ(session->device_status(), 0);
    EXPECT_TRUE(session->owned());
    EXPECT_FALSE(session->memory()->is_empty());
    // Ready to be set up again.
    setup_ring(0);
    EXPECT_TRUE(queues.running(0));
}

TEST_F(SessionTest, ResetOwnerActsLikeResetDevice) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(1);
    queues.auto_complete = true;
    expect_ok(call_empty(Request::reset_owner));
    EXPECT_FALSE(queues.running(1));
    EXPECT_EQ(session->vring(1).num, 0U);
}

TEST_F(SessionTest, ConfigReadsPastTheDeviceConfigSpaceAreZero) {
    negotiate();
    struct {
        ConfigHeader header;
        uint8_t data[100];
    } __attribute__((packed)) request{{50, 100, 0}, {}};
    auto r = call(make_request_with(Request::get_config, request));
    ASSERT_TRUE(r.reply);
    ASSERT_EQ(r.reply->header.size, sizeof(request));
    const auto* body = reinterpret_cast<const uint8_t*>(r.reply->payload.data());
    ConfigHeader echoed;
    std::memcpy(&echoed, body, sizeof(echoed));
    EXPECT_EQ(echoed.offset, 50U);
    EXPECT_EQ(echoed.size, 100U);
    for (uint32_t i = 0; i < 100; ++i) {
        const uint8_t expected = 50 + i < 60 ? static_cast<uint8_t>(0x80 + 50 + i) : 0;
        EXPECT_EQ(body[sizeof(ConfigHeader) + i], expected) << "byte " << i;
    }
    // Entirely past the end.
    request.header = {200, 56, 0};
    auto r2 = call(
        make_request(Request::get_config, std::as_bytes(std::span(&request, 1)).first(12 + 56)));
    ASSERT_TRUE(r2.reply);
    ASSERT_EQ(r2.reply->header.size, 12U + 56);
    for (uint32_t i = 0; i < 56; ++i) {
        EXPECT_EQ(r2.reply->payload[12 + i], std::byte{0});
    }
    EXPECT_FALSE(device.contract_violated);
}

TEST_F(SessionTest, SetConfigWritesWritableFieldsOnly) {
    negotiate();
    struct {
        ConfigHeader header;
        uint8_t value;
    } __attribute__((packed)) write{{testing::FakeDevice::kWritableOffset, 1, 0}, 0x42};
    expect_ok(call_with(Request::set_config, write));
    EXPECT_EQ(device.config_[testing::FakeDevice::kWritableOffset], 0x42);
    write.header.offset = 3;
    expect_failed(call_with(Request::set_config, write));
    EXPECT_EQ(device.config_[3], 0x83);
}

// The frontend's end of a backend channel: a socketpair whose other end the session gets.
struct ChannelPair {
    ChannelPair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        frontend = UniqueFd(fds[0]);
        backend = UniqueFd(fds[1]);
    }
    // The next header the backend sent, if any arrived.
    std::optional<MessageHeader> read_header() const {
        MessageHeader h{};
        if (::recv(frontend.get(), &h, sizeof(h), MSG_DONTWAIT) != sizeof(h)) {
            return std::nullopt;
        }
        return h;
    }
    UniqueFd frontend;
    UniqueFd backend;
};

TEST_F(SessionTest, BackendChannelCarriesConfigChangeNotifications) {
    negotiate();
    EXPECT_EQ(session->notify_config_changed().error().code, ENOTSUP);  // no channel yet
    ChannelPair pair;
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(pair.backend));
    expect_ok(call(
        make_request(Request::set_backend_req_fd, {}, std::move(fds), kVersion | kFlagNeedReply)));
    ASSERT_TRUE(session->notify_config_changed().has_value());
    const auto header = pair.read_header();
    ASSERT_TRUE(header);
    EXPECT_EQ(header->request, static_cast<uint32_t>(BackendRequest::config_change_msg));
    EXPECT_EQ(header->flags, kVersion);  // no NEED_REPLY: vhostd never waits for the frontend
    EXPECT_EQ(header->size, 0U);

    // The frontend has gone: an error, never SIGPIPE.
    pair.frontend.reset();
    EXPECT_FALSE(session->notify_config_changed().has_value());
}

TEST_F(SessionTest, BackendChannelRules) {
    // Spec: SET_BACKEND_REQ_FD only with PROTOCOL_F_BACKEND_REQ negotiated.
    const uint64_t offered = reply_u64(call_empty(Request::get_features));
    ASSERT_FALSE(call(make_request_with(Request::set_protocol_features,
                                        uint64_t{bit(protocol_feature::kReplyAck) |
                                                 bit(protocol_feature::kConfig)}))
                     .close);
    ASSERT_FALSE(call(make_request_with(Request::set_features, offered)).close);
    ChannelPair pair;
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(pair.backend));
    expect_failed(call(
        make_request(Request::set_backend_req_fd, {}, std::move(fds), kVersion | kFlagNeedReply)));
    EXPECT_EQ(session->notify_config_changed().error().code, ENOTSUP);

    // Negotiated: exactly one fd and no payload.
    ASSERT_FALSE(call(make_request_with(Request::set_protocol_features,
                                        Session::offered_protocol_features()))
                     .close);
    expect_failed(
        call(make_request(Request::set_backend_req_fd, {}, {}, kVersion | kFlagNeedReply)));
    int numbers[2] = {-1, -1};
    std::vector<UniqueFd> two;
    for (int& n : numbers) {
        auto fd = make_event_fd();
        ASSERT_TRUE(fd);
        n = fd->get();
        two.push_back(std::move(*fd));
    }
    expect_failed(call(
        make_request(Request::set_backend_req_fd, {}, std::move(two), kVersion | kFlagNeedReply)));
    for (int n : numbers) {
        EXPECT_TRUE(fd_closed(n)) << n;  // refused fds are not leaked
    }
}

TEST_F(SessionTest, SetVringCallOnARunningRingSwapsTheFd) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(*make_event_fd()));
    const int original = fds[0].get();
    expect_ok(call_with(Request::set_vring_call, uint64_t{0}, std::move(fds)));
    ASSERT_EQ(queues.call_fd_changes.size(), 1U);
    EXPECT_TRUE(queues.config(0).call.valid());
    EXPECT_NE(queues.config(0).call.get(), original);  // a duplicate
    EXPECT_EQ(session->vring(0).call.get(), original);
    EXPECT_TRUE(queues.stops.empty());
}

TEST_F(SessionTest, SetVringKickOnARunningRingRestartsIt) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0, 2);
    queues.progress[0] = 6;
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(*make_event_fd()));
    auto pending = send(make_request_with(Request::set_vring_kick, uint64_t{0}, std::move(fds),
                                          kVersion | kFlagNeedReply));
    EXPECT_FALSE(pending->completed);
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    expect_ok(pending->response);
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).base, 8U);
}

TEST_F(SessionTest, BrokenQueueSetsNeedsResetUntilTheRingIsReset) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    expect_ok(call_with(Request::set_status, uint64_t{0xf}));
    session->queue_broken(0);
    session->queue_broken(999);  // ignored
    EXPECT_EQ(reply_u64(call_empty(Request::get_status)), 0x4fU);
    // A memory change does not restart a broken ring.
    queues.auto_complete = true;
    expect_ok(set_memory());
    EXPECT_FALSE(queues.running(0));
    // GET_VRING_BASE (the frontend resetting the ring) clears it.
    call(make_request_with(Request::get_vring_base, VringState{0, 0}));
    EXPECT_EQ(reply_u64(call_empty(Request::get_status)), 0xfU);
}

TEST_F(SessionTest, StopResultReportingBrokenAlsoSetsNeedsReset) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    queues.auto_complete = true;
    queues.report_broken = true;
    expect_ok(call_with(Request::set_vring_enable, VringState{0, 0}));
    EXPECT_EQ(session->device_status() & virtio::status::kDeviceNeedsReset,
              virtio::status::kDeviceNeedsReset);
    // Writing status 0 (a virtio reset) clears it.
    expect_ok(call_with(Request::set_status, uint64_t{0}));
    EXPECT_EQ(session->device_status(), 0);
}

TEST_F(SessionTest, RingOutsideMemoryIsRefusedWhenItsAddressArrives) {
    negotiate();
    expect_ok(set_memory());
    expect_ok(call_with(Request::set_vring_num, VringState{0, kQueueSize}));
    // Used ring runs past the end of guest RAM.
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 0, desc_uva(0), kUva + kRamSize - 8, avail_uva(0), 0}));
    EXPECT_TRUE(queues.starts.empty());
}

TEST_F(SessionTest, TranslationFailureFailsTheStart) {
    negotiate();
    expect_ok(call_with(Request::set_vring_num, VringState{0, kQueueSize}));
    // Without a memory table the address can only be checked for alignment; the memory that
    // arrives later does not hold the used ring.
    expect_ok(call_with(Request::set_vring_addr,
                        VringAddr{0, 0, desc_uva(0), kUva + kRamSize - 8, avail_uva(0), 0}));
    expect_ok(set_memory());
    expect_ok(call_with(Request::set_vring_kick, uint64_t{0} | kVringNoFd));
    expect_failed(call_with(Request::set_vring_enable, VringState{0, 1}));
    EXPECT_FALSE(queues.running(0));
    EXPECT_TRUE(queues.starts.empty());
}

TEST_F(SessionTest, DisconnectStopsQueuesReleasesMemoryAndResetsTheDevice) {
    const size_t fds_before = testing::count_open_fds();
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    setup_ring(1);
    const int resets = device.resets;
    bool done = false;
    session->disconnect([&] { done = true; });
    EXPECT_FALSE(done);  // queues drain first
    queues.complete_stops();
    EXPECT_TRUE(done);
    EXPECT_EQ(queues.running_count(), 0U);
    EXPECT_TRUE(session->memory()->is_empty());
    EXPECT_EQ(device.resets, resets + 1);
    EXPECT_EQ(testing::count_open_fds(), fds_before);
    // No more requests.
    expect_closed(call_empty(Request::get_features));
}

TEST_F(SessionTest, DisconnectWhileARequestWaitsFinishesItFirst) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    setup_ring(1);
    auto pending = send(make_request_with(Request::get_vring_base, VringState{0, 0}));
    bool done = false;
    session->disconnect([&] { done = true; });
    EXPECT_FALSE(done);
    queues.complete_stops();  // ring 0 (GET_VRING_BASE) ...
    EXPECT_TRUE(pending->completed);
    queues.complete_stops();  // ... then ring 1 (teardown)
    EXPECT_TRUE(done);
    EXPECT_EQ(queues.running_count(), 0U);
    EXPECT_FALSE(queues.contract_violated);
}

TEST_F(SessionTest, SynchronousStopsCompleteInsideHandle) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    queues.auto_complete = true;
    auto r = call(make_request_with(Request::get_vring_base, VringState{0, 0}));
    ASSERT_TRUE(r.reply);
    EXPECT_FALSE(queues.running(0));
}

}  // namespace
}  // namespace vhostd::vhost_user
