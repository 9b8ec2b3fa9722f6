// A hostile or broken driver: malformed requests get error statuses; corrupt rings stop only
// that queue and flag NEEDS_RESET; vhostd and its other devices carry on.
#include <array>
#include <chrono>
#include <cstring>
#include <thread>

#include "fixtures.hpp"

namespace vhostd::testing {
namespace {

using frontend::Segment;
using nlohmann::json;

constexpr uint8_t kNeedsReset = 0x40;
constexpr uint64_t kOutsideRam = 0x7f0000000000;

class BlkHostileTest : public ::testing::Test {
  protected:
    VhostdProcess vhostd{
        {.config =
             make_config(json::array({malloc_bdev("Malloc0", 4096), malloc_bdev("Malloc1", 4096)}),
                         json::array({blk_controller("vhost.0", "Malloc0"),
                                      blk_controller("vhost.1", "Malloc1")})),
         .sockets = {"vhost.0", "vhost.1"}}};
    std::unique_ptr<frontend::BlkClient> client;

    void SetUp() override {
        START_VHOSTD(vhostd);
        client = connect_client(client_options(vhostd.socket("vhost.0"), 2));
        ASSERT_TRUE(client);
    }
    void TearDown() override {
        client.reset();
        EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
    }

    // A 16-byte request header in guest RAM.
    uint64_t header(uint32_t type, uint64_t sector) {
        auto buf = client->ram().alloc(16, 16).value();
        const uint32_t words[2] = {type, 0};
        std::memcpy(buf.host, words, 8);
        std::memcpy(buf.host + 8, &sector, 8);
        return buf.gpa;
    }
    frontend::GuestBuffer status_byte() {
        auto buf = client->ram().alloc(1, 1).value();
        *buf.host = 0xff;
        return buf;
    }
    // Submits a hand-built chain on queue 0 and waits for its completion.
    std::optional<frontend::BlkCompletion> run_raw(
        std::span<const Segment> chain,
        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        frontend::BlkQueue& q = client->queue(0);
        if (!q.submit_raw(42, chain))
            return std::nullopt;
        q.kick();
        std::array<frontend::BlkCompletion, 1> out{};
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            (void)q.wait(std::chrono::milliseconds(100));
            auto n = q.poll(out);
            if (n && *n == 1)
                return out[0];
        }
        return std::nullopt;
    }
    bool wait_needs_reset() {
        for (int i = 0; i < 500; ++i) {
            auto status = client->get_status();
            if (status && (*status & kNeedsReset) != 0)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    // The other controller still serves I/O.
    void expect_other_controller_works() {
        auto other = connect_client(client_options(vhostd.socket("vhost.1")));
        ASSERT_TRUE(other);
        const auto data = pattern(11, 4096);
        ASSERT_EQ(other->write(8, data).value(), kOk);
        std::vector<std::byte> back(4096);
        ASSERT_EQ(other->read(8, back).value(), kOk);
        EXPECT_EQ(back, data);
    }
};

TEST_F(BlkHostileTest, OutOfRangeAndMisshapenRequestsGetIoErr) {
    std::vector<std::byte> buf(4096);
    EXPECT_EQ(client->read(4096, std::span(buf).first(512)).value(), kIoErr);  // at capacity
    EXPECT_EQ(client->read(4095, buf).value(), kIoErr);                        // runs past the end
    EXPECT_EQ(client->write(UINT64_MAX / 512, std::span(buf).first(512)).value(), kIoErr);
    auto data = client->ram().alloc(100, 64).value();
    const frontend::DataSegment odd{data.gpa, 100};
    EXPECT_EQ(client->execute(0, 0 /*IN*/, 0, {&odd, 1}).value().status, kIoErr);
    EXPECT_EQ(client->execute(0, 42, 0, {}).value().status, kUnsupp);
    EXPECT_EQ(client->execute(0, 14 /*SECURE_ERASE*/, 0, {}).value().status, kUnsupp);
    // The queue is still healthy.
    EXPECT_EQ(client->read(0, buf).value(), kOk);
}

TEST_F(BlkHostileTest, HeaderSplitAcrossDescriptorsIsFine) {
    const uint64_t hdr = header(0 /*IN*/, 0);
    auto data = client->ram().alloc(512, 512).value();
    auto status = status_byte();
    const std::array<Segment, 4> chain{
        {{hdr, 5, false}, {hdr + 5, 11, false}, {data.gpa, 512, true}, {status.gpa, 1, true}}};
    auto done = run_raw(chain);
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(*status.host, kOk);
    EXPECT_EQ(done->len, 513U);
}

TEST_F(BlkHostileTest, BufferOutsideGuestMemoryGetsIoErr) {
    const uint64_t hdr = header(0 /*IN*/, 0);
    auto status = status_byte();
    const std::array<Segment, 3> chain{
        {{hdr, 16, false}, {kOutsideRam, 4096, true}, {status.gpa, 1, true}}};
    ASSERT_TRUE(run_raw(chain).has_value());
    EXPECT_EQ(*status.host, kIoErr);
    std::vector<std::byte> buf(512);
    EXPECT_EQ(client->read(0, buf).value(), kOk);
}

TEST_F(BlkHostileTest, StatusByteOutsideGuestMemoryBreaksTheRing) {
    const uint64_t hdr = header(1 /*OUT*/, 0);
    auto data = client->ram().alloc(512, 512).value();
    const std::array<Segment, 3> chain{
        {{hdr, 16, false}, {data.gpa, 512, false}, {kOutsideRam, 1, true}}};
    EXPECT_FALSE(run_raw(chain, std::chrono::milliseconds(300)).has_value());
    EXPECT_TRUE(wait_needs_reset());
    expect_other_controller_works();
}

TEST_F(BlkHostileTest, RequestWithoutWritableStatusBreaksTheRing) {
    const uint64_t hdr = header(1 /*OUT*/, 0);
    auto data = client->ram().alloc(512, 512).value();
    const std::array<Segment, 2> chain{{{hdr, 16, false}, {data.gpa, 512, false}}};
    EXPECT_FALSE(run_raw(chain, std::chrono::milliseconds(300)).has_value());
    EXPECT_TRUE(wait_needs_reset());
    // The other queue of the same device still works.
    std::vector<std::byte> buf(512);
    EXPECT_EQ(client->read(0, buf, 1).value(), kOk);
}

TEST_F(BlkHostileTest, LoopingChainBreaksTheRingAndResetRecovers) {
    frontend::DriverQueue& ring = client->queue(0).ring();
    const uint64_t hdr = header(0, 0);
    // Descriptors 100 -> 101 -> 100 -> ...
    ring.write_desc(100, virtio::VringDesc{hdr, 16, virtio::desc_flags::kNext, 101});
    ring.write_desc(101, virtio::VringDesc{hdr, 16, virtio::desc_flags::kNext, 100});
    ring.push_avail_raw(100);
    (void)ring.publish();
    ring.kick();
    EXPECT_TRUE(wait_needs_reset());
    expect_other_controller_works();

    // The frontend resets the device and starts over: the device works again.
    ASSERT_TRUE(client->reset_device().has_value());
    client.reset();
    client = connect_client(client_options(vhostd.socket("vhost.0"), 2));
    ASSERT_TRUE(client);
    std::vector<std::byte> buf(512);
    EXPECT_EQ(client->read(0, buf).value(), kOk);
    EXPECT_EQ(client->get_status().value() & kNeedsReset, 0);
}

TEST_F(BlkHostileTest, AvailIndexJumpBreaksTheRing) {
    frontend::DriverQueue& ring = client->queue(0).ring();
    ring.set_avail_idx(static_cast<uint16_t>(ring.avail_idx() + 1000));
    ring.kick();
    EXPECT_TRUE(wait_needs_reset());
    expect_other_controller_works();
}

TEST_F(BlkHostileTest, NestedIndirectTableBreaksTheRing) {
    frontend::DriverQueue& ring = client->queue(0).ring();
    auto inner = client->ram().alloc(16, 16).value();
    auto outer = client->ram().alloc(16, 16).value();
    const virtio::VringDesc leaf{header(0, 0), 16, 0, 0};
    std::memcpy(inner.host, &leaf, sizeof(leaf));
    const virtio::VringDesc nested{inner.gpa, 16, virtio::desc_flags::kIndirect, 0};
    std::memcpy(outer.host, &nested, sizeof(nested));
    ring.write_desc(50, virtio::VringDesc{outer.gpa, 16, virtio::desc_flags::kIndirect, 0});
    ring.push_avail_raw(50);
    (void)ring.publish();
    ring.kick();
    EXPECT_TRUE(wait_needs_reset());
}

}  // namespace
}  // namespace vhostd::testing
