// Session: packed rings (sizes, addresses, the two-position base) and inflight tracking
// (GET/SET_INFLIGHT_FD: sizing, sealing, adoption, checks, and the slice each ring starts with).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base/event_fd.hpp"
#include "spec/vhost_user_inflight.hpp"
#include "support/session_fixture.hpp"
#include "vhost_user/session.hpp"
#include "virtio/packed_position.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::make_request;
using testing::make_request_with;
using virtio::bit;

class SessionPackedTest : public testing::SessionFixture {
  protected:
    void SetUp() override { device.features_ |= bit(virtio::feature::kRingPacked); }

    // A packed ring of `num` at the fixture's addresses: descriptor ring at desc_uva, driver
    // area at avail_uva, device area at used_uva (QEMU's order).
    void setup_packed_ring(uint16_t i, uint32_t num, uint32_t base) {
        expect_ok(call_with(Request::set_vring_num, VringState{i, num}));
        expect_ok(call_with(Request::set_vring_base, VringState{i, base}));
        expect_ok(call_with(Request::set_vring_addr,
                            VringAddr{i, 0, desc_uva(i), used_uva(i), avail_uva(i), 0}));
        std::vector<UniqueFd> kick;
        kick.push_back(std::move(*make_event_fd()));
        expect_ok(call_with(Request::set_vring_kick, uint64_t{i}, std::move(kick)));
        expect_ok(call_with(Request::set_vring_enable, VringState{i, 1}));
    }
};

TEST_F(SessionPackedTest, PackedRingOfAnySizeStartsWithItsAreasAndBase) {
    negotiate();
    ASSERT_NE(session->acked_features() & bit(virtio::feature::kRingPacked), 0U);
    expect_ok(set_memory());
    const uint32_t base = virtio::PackedBase{{5, false}, {3, true}}.encode();
    setup_packed_ring(0, 100, base);
    ASSERT_TRUE(queues.running(0));
    const auto& config = queues.config(0);
    EXPECT_NE(config.features & bit(virtio::feature::kRingPacked), 0U);
    EXPECT_EQ(config.packed.size, 100);
    EXPECT_EQ(config.packed.desc, host(desc_uva(0)));
    EXPECT_EQ(config.packed.driver_event, host(avail_uva(0)));
    EXPECT_EQ(config.packed.device_event, host(used_uva(0)));
    EXPECT_EQ(config.base, base);
    // GET_VRING_BASE answers with both positions (the whole 32 bits).
    queues.auto_complete = true;
    auto r = call_with(Request::get_vring_base, VringState{0, 0});
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->payload_as<VringState>()->num, base);
}

TEST_F(SessionPackedTest, SplitRingsStillNeedPowerOfTwoSizes) {
    negotiate();
    expect_ok(call_with(Request::set_vring_num, VringState{0, 100}));
    // Acked without packed rings: split sizes only.
    expect_ok(call(make_request_with(Request::set_features,
                                     session->acked_features() & ~bit(virtio::feature::kRingPacked),
                                     {}, kVersion | kFlagNeedReply)));
    expect_failed(call_with(Request::set_vring_num, VringState{0, 100}));
    expect_ok(call_with(Request::set_vring_num, VringState{0, 64}));
    // A split base is 16 bits.
    expect_failed(call_with(Request::set_vring_base, VringState{0, 0x10000}));
}

TEST_F(SessionPackedTest, PackedAddressesAndBaseAreChecked) {
    negotiate();
    expect_ok(set_memory());
    expect_ok(call_with(Request::set_vring_num, VringState{0, 16}));
    // 2.8.10.1: event areas 4-byte aligned, descriptor ring 16.
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 0, desc_uva(0), used_uva(0), avail_uva(0) + 2, 0}));
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 0, desc_uva(0) + 8, used_uva(0), avail_uva(0), 0}));
    // The device area may not overlap the descriptor ring.
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 0, desc_uva(0), desc_uva(0) + 64, avail_uva(0), 0}));
    // A base whose slot is outside the ring cannot start.
    expect_ok(call_with(Request::set_vring_base,
                        VringState{0, virtio::PackedBase{{16, true}, {0, true}}.encode()}));
    expect_ok(call_with(Request::set_vring_addr,
                        VringAddr{0, 0, desc_uva(0), used_uva(0), avail_uva(0), 0}));
    std::vector<UniqueFd> kick;
    kick.push_back(std::move(*make_event_fd()));
    expect_ok(call_with(Request::set_vring_kick, uint64_t{0}, std::move(kick)));
    expect_failed(call_with(Request::set_vring_enable, VringState{0, 1}));
    EXPECT_FALSE(queues.running(0));
}

class SessionInflightTest : public testing::SessionFixture {
  protected:
    // GET_INFLIGHT_FD for `num_queues` x `queue_size`.
    Session::Response get_inflight(uint16_t num_queues, uint16_t queue_size) {
        return call_with(Request::get_inflight_fd, Inflight{0, 0, num_queues, queue_size});
    }
};

TEST_F(SessionInflightTest, GetCreatesASealedRegionThatRingsRecordInto) {
    negotiate();
    ASSERT_NE(session->acked_protocol_features() & bit(protocol_feature::kInflightShmfd), 0U);
    auto r = get_inflight(2, kQueueSize);
    ASSERT_FALSE(r.close);
    ASSERT_TRUE(r.reply);
    const auto desc = r.reply->payload_as<Inflight>();
    ASSERT_TRUE(desc.has_value());
    EXPECT_EQ(desc->mmap_size, 2 * inflight::split_queue_region_bytes(kQueueSize));
    EXPECT_EQ(desc->mmap_offset, 0U);
    EXPECT_EQ(desc->num_queues, 2);
    EXPECT_EQ(desc->queue_size, kQueueSize);
    ASSERT_EQ(r.reply->fds.size(), 1U);
    const int fd = r.reply->fds[0].get();
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), desc->mmap_size);
    EXPECT_NE(::fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK, 0);
    ASSERT_TRUE(session->inflight());
    // QEMU's payload is its padded C struct (24 bytes); the 20 bytes vhost-user.rst lists work
    // too.
    const Inflight twenty{0, 0, 2, kQueueSize, 0};
    auto short_form =
        call(make_request(Request::get_inflight_fd, std::as_bytes(std::span(&twenty, 1)).first(20),
                          {}, kVersion | kFlagNeedReply));
    ASSERT_TRUE(short_form.reply);
    EXPECT_EQ(short_form.reply->header.size, sizeof(Inflight));

    expect_ok(set_memory());
    setup_ring(1);
    ASSERT_TRUE(queues.running(1));
    EXPECT_EQ(queues.config(1).inflight.region, session->inflight());
    EXPECT_EQ(queues.config(1).inflight.queue, 1);
}

TEST_F(SessionInflightTest, SetAdoptsTheRegionTheFrontendKept) {
    negotiate();
    auto r = get_inflight(2, kQueueSize);
    ASSERT_TRUE(r.reply);
    const auto desc = *r.reply->payload_as<Inflight>();
    const auto* created = session->inflight().get();
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(r.reply->fds[0]));
    expect_ok(call_with(Request::set_inflight_fd, desc, std::move(fds)));
    ASSERT_TRUE(session->inflight());
    EXPECT_NE(session->inflight().get(), created);
    EXPECT_EQ(session->inflight()->mmap_size(), desc.mmap_size);
    // RESET_DEVICE starts the rings over: the region no longer applies.
    expect_ok(call_empty(Request::reset_device));
    EXPECT_FALSE(session->inflight());
}

TEST_F(SessionInflightTest, BadRegionsAreRefused) {
    negotiate();
    auto r = get_inflight(2, kQueueSize);
    ASSERT_TRUE(r.reply);
    const auto desc = *r.reply->payload_as<Inflight>();
    const int fd = r.reply->fds[0].get();
    auto dup_fd = [fd] {
        std::vector<UniqueFd> fds;
        fds.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
        return fds;
    };
    Inflight wrong = desc;
    wrong.mmap_size -= 64;  // not two slices of this size
    expect_failed(call_with(Request::set_inflight_fd, wrong, dup_fd()));
    wrong = desc;
    wrong.mmap_offset = 64;  // past the end of the file
    expect_failed(call_with(Request::set_inflight_fd, wrong, dup_fd()));
    wrong = desc;
    wrong.num_queues = 3;  // more than the device has
    expect_failed(call_with(Request::set_inflight_fd, wrong, dup_fd()));
    expect_failed(call_with(Request::set_inflight_fd, desc));  // no fd
    // A slice with an unknown version.
    auto* header = static_cast<uint8_t*>(
        ::mmap(nullptr, desc.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ASSERT_NE(header, MAP_FAILED);
    header[offsetof(inflight::SplitHeader, version)] = 9;
    expect_failed(call_with(Request::set_inflight_fd, desc, dup_fd()));
    ::munmap(header, desc.mmap_size);
    // GET_INFLIGHT_FD has a reply of its own: a bad one closes the connection.
    expect_closed(get_inflight(0, kQueueSize));
    expect_closed(get_inflight(3, kQueueSize));
    expect_closed(get_inflight(2, 0));
    expect_closed(get_inflight(2, 257));  // over the device's maximum queue size
}

TEST_F(SessionInflightTest, RegionCannotChangeUnderRunningRings) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    ASSERT_TRUE(queues.running(0));
    expect_closed(get_inflight(2, kQueueSize));
}

TEST_F(SessionInflightTest, RefusedUnlessNegotiated) {
    negotiate(/*protocol_features=*/true);
    // Renegotiate protocol features without INFLIGHT_SHMFD.
    auto r = call(make_request_with(
        Request::set_protocol_features,
        Session::offered_protocol_features() & ~bit(protocol_feature::kInflightShmfd)));
    ASSERT_FALSE(r.close);
    expect_closed(get_inflight(2, kQueueSize));
    std::vector<UniqueFd> fds;
    fds.push_back(testing::make_memfd(4096));
    expect_failed(call_with(Request::set_inflight_fd, Inflight{4096, 0, 1, 8}, std::move(fds)));
}

}  // namespace
}  // namespace vhostd::vhost_user
