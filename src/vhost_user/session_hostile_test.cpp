// Session against a hostile frontend: wrong payload sizes, wrong fd counts, out-of-range
// indices and sizes, bad addresses, overlapping memory, unknown requests. Every rejected
// message's fds are closed; a failure is reported when the frontend expects a reply and closes
// the connection otherwise.
#include <gtest/gtest.h>

#include "base/event_fd.hpp"
#include "support/session_fixture.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::count_open_fds;
using testing::fd_closed;
using testing::make_memfd;
using testing::make_request;
using testing::make_request_with;

class SessionHostileTest : public testing::SessionFixture {
  protected:
    void SetUp() override { negotiate(); }

    // A request of `payload_size` zero bytes with NEED_REPLY.
    Session::Response call_sized(Request r, size_t payload_size, std::vector<UniqueFd> fds = {}) {
        std::vector<std::byte> payload(payload_size);
        return call(make_request(r, payload, std::move(fds), kVersion | kFlagNeedReply));
    }
    static std::vector<UniqueFd> event_fds(size_t n, std::vector<int>* numbers = nullptr) {
        std::vector<UniqueFd> fds;
        for (size_t i = 0; i < n; ++i) {
            fds.push_back(std::move(*make_event_fd()));
            if (numbers != nullptr) {
                numbers->push_back(fds.back().get());
            }
        }
        return fds;
    }
};

struct Sized {
    Request request;
    size_t size;  // the one valid payload size
};

TEST_F(SessionHostileTest, WrongPayloadSizesAreRejected) {
    const Sized requests[] = {
        {Request::set_features, 8},    {Request::set_protocol_features, 8},
        {Request::set_owner, 0},       {Request::reset_owner, 0},
        {Request::reset_device, 0},    {Request::set_vring_num, 8},
        {Request::set_vring_addr, 40}, {Request::set_vring_base, 8},
        {Request::set_vring_kick, 8},  {Request::set_vring_call, 8},
        {Request::set_vring_err, 8},   {Request::set_vring_enable, 8},
        {Request::set_status, 8},      {Request::add_mem_reg, 40},
        {Request::rem_mem_reg, 40},    {Request::set_inflight_fd, 24},
    };
    for (const auto& [request, size] : requests) {
        SCOPED_TRACE(to_string(request));
        if (size > 0) {
            expect_failed(call_sized(request, size - 1));
        }
        expect_failed(call_sized(request, size + 1));
        expect_failed(call_sized(request, kMaxPayloadSize));
    }
}

TEST_F(SessionHostileTest, MalformedRequestsWithOwnRepliesCloseTheConnection) {
    // GET_* have no failure value: the connection closes instead.
    const Sized requests[] = {
        {Request::get_features, 0},     {Request::get_protocol_features, 0},
        {Request::get_queue_num, 0},    {Request::get_max_mem_slots, 0},
        {Request::get_status, 0},       {Request::get_vring_base, 8},
        {Request::get_inflight_fd, 24},
    };
    for (const auto& [request, size] : requests) {
        SCOPED_TRACE(to_string(request));
        expect_closed(call_sized(request, size + 1));
        if (size > 0) {
            expect_closed(call_sized(request, size - 1));
        }
    }
    expect_closed(call_with(Request::get_vring_base, VringState{2, 0}));  // index out of range
}

TEST_F(SessionHostileTest, MalformedGetConfigGetsAnEmptyReply) {
    auto check_empty = [](const Session::Response& r) {
        ASSERT_TRUE(r.reply);
        EXPECT_FALSE(r.close);
        EXPECT_EQ(r.reply->header.size, 0U);  // spec: zero-length payload signals an error
    };
    check_empty(call_sized(Request::get_config, 11));  // shorter than the config header
    struct {
        ConfigHeader header;
        uint8_t data[8];
    } __attribute__((packed)) request{{0, 9, 0}, {}};  // announces 9 bytes, carries 8
    check_empty(call_with(Request::get_config, request));
    request.header.size = 300;  // more than VHOST_USER_MAX_CONFIG_SIZE
    check_empty(call_with(Request::get_config, request));
    std::vector<int> numbers;
    check_empty(
        call(make_request(Request::get_config, std::as_bytes(std::span(&request, 1)).first(12),
                          event_fds(1, &numbers), kVersion)));
    EXPECT_TRUE(fd_closed(numbers[0]));
}

TEST_F(SessionHostileTest, SetConfigOutsideTheConfigSpaceIsRefused) {
    struct {
        ConfigHeader header;
        uint8_t data[16];
    } __attribute__((packed)) request{{56, 16, 0}, {}};  // 56 + 16 > 60
    expect_failed(call_with(Request::set_config, request));
    request.header = {0xfffffff8, 16, 0};  // offset + size wraps 32 bits
    expect_failed(call_with(Request::set_config, request));
    request.header = {testing::FakeDevice::kWritableOffset, 16, 2};  // unknown flags
    expect_failed(call_with(Request::set_config, request));
    EXPECT_FALSE(device.contract_violated);
}

TEST_F(SessionHostileTest, ExtraFdsAreRefusedAndClosed) {
    std::vector<int> numbers;
    expect_failed(
        call_with(Request::set_features, session->acked_features(), event_fds(2, &numbers)));
    expect_failed(call_with(Request::set_vring_num, VringState{0, 64}, event_fds(1, &numbers)));
    expect_failed(call_with(Request::set_status, uint64_t{1}, event_fds(8, &numbers)));
    expect_closed(call(make_request(Request::get_features, {}, event_fds(1, &numbers))));
    for (int fd : numbers) {
        EXPECT_TRUE(fd_closed(fd)) << fd;
    }
}

TEST_F(SessionHostileTest, VringFdMessagesCheckTheirFdCount) {
    std::vector<int> numbers;
    for (Request r : {Request::set_vring_kick, Request::set_vring_call, Request::set_vring_err}) {
        SCOPED_TRACE(to_string(r));
        expect_failed(call_with(r, uint64_t{0}));                          // fd missing
        expect_failed(call_with(r, uint64_t{0}, event_fds(2, &numbers)));  // two fds
        expect_failed(
            call_with(r, uint64_t{0} | kVringNoFd, event_fds(1, &numbers)));    // no-fd flag + fd
        expect_failed(call_with(r, uint64_t{1} << 9, event_fds(1, &numbers)));  // reserved bit
        expect_failed(call_with(r, uint64_t{2}, event_fds(1, &numbers)));       // ring 2 of 2
        expect_failed(call_with(r, uint64_t{0xff}, event_fds(1, &numbers)));
    }
    for (int fd : numbers) {
        EXPECT_TRUE(fd_closed(fd)) << fd;
    }
    EXPECT_FALSE(session->vring(0).kicked);
}

TEST_F(SessionHostileTest, RingIndicesOutOfRangeAreRefused) {
    for (uint32_t index : {2U, 255U, 256U, 0xffffffffU}) {
        expect_failed(call_with(Request::set_vring_num, VringState{index, 64}));
        expect_failed(call_with(Request::set_vring_base, VringState{index, 0}));
        expect_failed(call_with(Request::set_vring_enable, VringState{index, 1}));
        expect_failed(call_with(Request::set_vring_addr, VringAddr{index, 0, kUva, kUva, kUva, 0}));
    }
}

TEST_F(SessionHostileTest, QueueSizesMustBePowersOfTwoWithinTheDeviceLimit) {
    for (uint32_t num : {0U, 3U, 100U, 512U, 32768U, 65536U, 0x80000000U}) {
        SCOPED_TRACE(num);
        expect_failed(call_with(Request::set_vring_num, VringState{0, num}));
    }
    expect_ok(call_with(Request::set_vring_num, VringState{0, 1}));
    expect_ok(call_with(Request::set_vring_num, VringState{0, 256}));  // device maximum
}

TEST_F(SessionHostileTest, BaseAndEnableValuesAreChecked) {
    expect_failed(call_with(Request::set_vring_base, VringState{0, 0x10000}));
    expect_failed(call_with(Request::set_vring_enable, VringState{0, 2}));
    expect_failed(call_with(Request::set_status, uint64_t{0x100}));
}

TEST_F(SessionHostileTest, UnknownAddressFlagsAreRefused) {
    // Bit 0 is VHOST_VRING_F_LOG (session_log_test.cpp); nothing else is defined.
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 2, desc_uva(0), used_uva(0), avail_uva(0), 0}));
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 3, desc_uva(0), used_uva(0), avail_uva(0), 0}));
    EXPECT_FALSE(session->vring(0).addr_set);
}

TEST_F(SessionHostileTest, RingsOutsideMemoryOrMisalignedAreRefused) {
    expect_ok(set_memory());
    struct Case {
        uint64_t desc, avail, used;
    };
    const Case cases[] = {
        {desc_uva(0) + 8, avail_uva(0), used_uva(0)},       // desc not 16-aligned
        {desc_uva(0), avail_uva(0) + 1, used_uva(0)},       // avail not 2-aligned
        {desc_uva(0), avail_uva(0), used_uva(0) + 2},       // used not 4-aligned
        {kUva - 0x1000, avail_uva(0), used_uva(0)},         // before RAM
        {kUva + kRamSize - 16, avail_uva(0), used_uva(0)},  // runs past the end
        {desc_uva(0), 0xfffffffffffffff0, used_uva(0)},     // wraps
        {desc_uva(0), avail_uva(0), 0},                     // null
        {desc_uva(0), avail_uva(0), desc_uva(0)},           // used over the descriptors
        {desc_uva(0), avail_uva(0), avail_uva(0)},          // used over the avail ring
    };
    expect_ok(call_with(Request::set_vring_num, VringState{0, kQueueSize}));
    expect_ok(call_with(Request::set_vring_kick, uint64_t{0} | kVringNoFd));
    for (const auto& c : cases) {
        expect_ok(call_with(Request::set_vring_enable, VringState{0, 0}));
        // Refused when the address arrives, with memory in place (not only when the ring
        // would start).
        expect_failed(
            call_with(Request::set_vring_addr, VringAddr{0, 0, c.desc, c.used, c.avail, 0}));
        expect_ok(call_with(Request::set_vring_enable, VringState{0, 1}));
        EXPECT_FALSE(queues.running(0));
    }
    EXPECT_TRUE(queues.starts.empty());
}

TEST_F(SessionHostileTest, ChangingARunningRingIsRefused) {
    expect_ok(set_memory());
    setup_ring(0);
    expect_failed(call_with(Request::set_vring_num, VringState{0, 64}));
    expect_failed(call_with(Request::set_vring_base, VringState{0, 5}));
    expect_failed(call_with(Request::set_vring_addr,
                            VringAddr{0, 0, desc_uva(1), used_uva(1), avail_uva(1), 0}));
    // The same addresses again are harmless.
    expect_ok(call_with(Request::set_vring_addr,
                        VringAddr{0, 0, desc_uva(0), used_uva(0), avail_uva(0), 0}));
    // Features cannot change under running queues.
    expect_failed(call_with(Request::set_features, uint64_t{virtio::bit(32)}));
    EXPECT_TRUE(queues.running(0));
    EXPECT_TRUE(queues.stops.empty());
}

TEST_F(SessionHostileTest, BadMemoryTablesAreRefusedAndTheirFdsClosed) {
    expect_ok(set_memory());
    auto* before = session->memory().get();
    std::vector<int> numbers;
    auto memfds = [&](size_t n, size_t size = 0x10000) {
        std::vector<UniqueFd> fds;
        for (size_t i = 0; i < n; ++i) {
            fds.push_back(make_memfd(size));
            numbers.push_back(fds.back().get());
        }
        return fds;
    };
    auto send_table = [&](uint32_t count, size_t regions_sent, std::vector<UniqueFd> fds,
                          std::initializer_list<MemoryRegion> regions) {
        MemoryTable table{};
        table.num_regions = count;
        size_t i = 0;
        for (const auto& r : regions)
            table.regions[i++] = r;
        return call(make_request(Request::set_mem_table,
                                 std::as_bytes(std::span(&table, 1)).first(8 + 32 * regions_sent),
                                 std::move(fds), kVersion | kFlagNeedReply));
    };
    const MemoryRegion a{0, 0x10000, 0x10000000, 0};
    const MemoryRegion b{0x10000, 0x10000, 0x20000000, 0};
    expect_failed(send_table(0, 0, {}, {}));             // empty
    expect_failed(send_table(9, 8, memfds(8), {a}));     // too many
    expect_failed(send_table(2, 1, memfds(2), {a, b}));  // size says 1 region
    expect_failed(send_table(2, 2, memfds(1), {a, b}));  // one fd short
    expect_failed(send_table(1, 1, memfds(2), {a}));     // one fd extra
    // Overlap in guest-physical space, then in the frontend's address space.
    expect_failed(send_table(2, 2, memfds(2), {a, {0x8000, 0x10000, 0x30000000, 0}}));
    expect_failed(send_table(2, 2, memfds(2), {a, {0x40000, 0x10000, 0x10008000, 0}}));
    // Regions larger than their file, empty, wrapping.
    expect_failed(send_table(1, 1, memfds(1, 0x1000), {a}));
    expect_failed(send_table(1, 1, memfds(1), {{0, 0, 0x10000000, 0}}));
    expect_failed(send_table(1, 1, memfds(1), {{~0ULL - 0x100, 0x10000, 0x10000000, 0}}));
    expect_failed(send_table(1, 1, memfds(1), {{0, 0x10000, 0x10000000, ~0ULL - 0x10}}));
    // Not a mappable fd.
    {
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(*make_event_fd()));
        numbers.push_back(fds.back().get());
        expect_failed(send_table(1, 1, std::move(fds), {a}));
    }
    EXPECT_EQ(session->memory().get(), before);  // unchanged
    for (int fd : numbers) {
        EXPECT_TRUE(fd_closed(fd)) << fd;
    }
}

TEST_F(SessionHostileTest, BadRegionEditsAreRefused) {
    std::vector<int> numbers;
    SingleMemoryRegion region{0, {0, 0x10000, kUva, 0}};
    std::vector<UniqueFd> fds;
    fds.push_back(make_memfd(0x10000));
    expect_ok(call_with(Request::add_mem_reg, region, std::move(fds)));
    // Same region again: overlap.
    fds.push_back(make_memfd(0x10000));
    numbers.push_back(fds.back().get());
    expect_failed(call_with(Request::add_mem_reg, region, std::move(fds)));
    // No fd, two fds.
    expect_failed(call_with(Request::add_mem_reg, SingleMemoryRegion{0, {0x10000, 0x1000, 0, 0}}));
    for (int i = 0; i < 2; ++i) {
        fds.push_back(make_memfd(0x10000));
        numbers.push_back(fds.back().get());
    }
    expect_failed(call_with(Request::add_mem_reg, SingleMemoryRegion{0, {0x10000, 0x1000, 0, 0}},
                            std::move(fds)));
    // REM_MEM_REG with two fds, or naming a region that does not exist.
    for (int i = 0; i < 2; ++i) {
        fds.push_back(make_memfd(16));
        numbers.push_back(fds.back().get());
    }
    expect_failed(call_with(Request::rem_mem_reg, region, std::move(fds)));
    expect_failed(call_with(Request::rem_mem_reg, SingleMemoryRegion{0, {0, 0x1000, kUva, 0}}));
    EXPECT_EQ(session->memory()->regions().size(), 1U);
    for (int fd : numbers) {
        EXPECT_TRUE(fd_closed(fd)) << fd;
    }
}

TEST_F(SessionHostileTest, MemorySlotsAreCapped) {
    // 509 regions of one page each, then one more.
    for (uint64_t i = 0; i < guest_memory::GuestMemory::kMaxRegions; ++i) {
        std::vector<UniqueFd> fds;
        fds.push_back(make_memfd(0x1000));
        auto r = call(make_request_with(
            Request::add_mem_reg, SingleMemoryRegion{0, {i * 0x1000, 0x1000, kUva + i * 0x1000, 0}},
            std::move(fds)));
        ASSERT_FALSE(r.close) << i;
    }
    const uint64_t i = guest_memory::GuestMemory::kMaxRegions;
    std::vector<UniqueFd> fds;
    fds.push_back(make_memfd(0x1000));
    expect_failed(call_with(Request::add_mem_reg,
                            SingleMemoryRegion{0, {i * 0x1000, 0x1000, kUva + i * 0x1000, 0}},
                            std::move(fds)));
    EXPECT_EQ(session->memory()->regions().size(), guest_memory::GuestMemory::kMaxRegions);
}

TEST_F(SessionHostileTest, UnknownAndUnsupportedRequestsAreRefused) {
    std::vector<int> numbers;
    for (uint32_t code : {0U, 41U, 42U, 1000U, 0xffffffffU}) {
        expect_failed(call(make_request(static_cast<Request>(code), {}, event_fds(1, &numbers),
                                        kVersion | kFlagNeedReply)));
    }
    // Requests gated by features we do not offer, or malformed (an 8-byte SET_LOG_FD); fds
    // closed. (SET_LOG_BASE has its own tests: session_log_test.cpp.)
    for (Request r : {Request::set_log_fd, Request::iotlb_msg, Request::postcopy_advise,
                      Request::set_vring_endian, Request::vring_kick, Request::send_rarp,
                      Request::net_set_mtu, Request::gpu_set_socket}) {
        SCOPED_TRACE(to_string(r));
        expect_failed(call_sized(r, 8, event_fds(1, &numbers)));
    }
    // Without NEED_REPLY nobody would learn of the failure: close.
    expect_closed(call(make_request(Request::set_log_base, {}, event_fds(1, &numbers))));
    for (int fd : numbers) {
        EXPECT_TRUE(fd_closed(fd)) << fd;
    }
}

TEST_F(SessionHostileTest, NoFdLeaksAcrossAHostileSequence) {
    const size_t before = count_open_fds();
    for (int round = 0; round < 3; ++round) {
        expect_ok(set_memory());
        setup_ring(0);
        setup_ring(1, 0, true, false);
        expect_failed(call_with(Request::set_vring_call, uint64_t{7}, event_fds(3)));
        queues.auto_complete = true;
        expect_ok(set_memory());
        expect_ok(call_empty(Request::reset_device));
        queues.auto_complete = false;
    }
    bool done = false;
    session->disconnect([&] { done = true; });
    queues.complete_stops();
    ASSERT_TRUE(done);
    EXPECT_EQ(count_open_fds(), before);
}

}  // namespace
}  // namespace vhostd::vhost_user
