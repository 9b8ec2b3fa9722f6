// vhostd + the frontend library over a real socket: every virtio-blk operation with data read
// back, on several queues, memory layouts, poll modes and backends.
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

constexpr uint64_t kBlocks = 16384;  // 8 MiB of 512-byte blocks

class BlkIoTest : public ::testing::TestWithParam<std::string> {
  protected:
    VhostdProcess vhostd{
        {.config = make_config(json::array({malloc_bdev("Malloc0", kBlocks)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .args = {"--poll", GetParam()},
         .sockets = {"vhost.0"}}};

    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }
};

TEST_P(BlkIoTest, ConfigDescribesTheBdev) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0"), 2));
    ASSERT_TRUE(client);
    const auto& config = client->config();
    EXPECT_EQ(config.capacity, kBlocks);
    EXPECT_EQ(config.blk_size, 512U);
    EXPECT_GE(config.num_queues, 2U);
    EXPECT_GE(config.seg_max, 32U);
    EXPECT_EQ(config.writeback, 1);
    EXPECT_EQ(config.max_discard_seg, 1U);
    EXPECT_TRUE(client->has_feature(frontend::blk::feature::kFlush));
    EXPECT_TRUE(client->has_feature(frontend::blk::feature::kDiscard));
    EXPECT_TRUE(client->has_feature(virtio::feature::kEventIdx));
    EXPECT_FALSE(client->has_feature(frontend::blk::feature::kRo));
    EXPECT_GE(client->queue_num(), 2U);
    std::string id;
    ASSERT_EQ(client->get_id(id).value(), kOk);
    EXPECT_EQ(id, "Malloc0");
}

TEST_P(BlkIoTest, EveryOperationOnEveryQueue) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0"), 2));
    ASSERT_TRUE(client);
    const auto data = pattern(1, 64 * 1024);
    // Written through queue 0, read back through queue 1 (and the other way round).
    ASSERT_EQ(client->write(128, data, 0).value(), kOk);
    std::vector<std::byte> back(data.size());
    ASSERT_EQ(client->read(128, back, 1).value(), kOk);
    EXPECT_EQ(back, data);
    ASSERT_EQ(client->write(1024, data, 1).value(), kOk);
    ASSERT_EQ(client->read(1024, back, 0).value(), kOk);
    EXPECT_EQ(back, data);
    ASSERT_EQ(client->flush(0).value(), kOk);
    ASSERT_EQ(client->flush(1).value(), kOk);

    // Write zeroes (with and without unmap) and discard both read back as zeroes on malloc.
    const std::vector<std::byte> zeroes(8 * 512);
    std::vector<std::byte> small(zeroes.size());
    ASSERT_EQ(client->write_zeroes(128, 8, false).value(), kOk);
    ASSERT_EQ(client->read(128, small).value(), kOk);
    EXPECT_EQ(small, zeroes);
    ASSERT_EQ(client->write_zeroes(136, 8, true, 1).value(), kOk);
    ASSERT_EQ(client->read(136, small).value(), kOk);
    EXPECT_EQ(small, zeroes);
    ASSERT_EQ(client->discard(1024, 8).value(), kOk);
    ASSERT_EQ(client->read(1024, small).value(), kOk);
    EXPECT_EQ(small, zeroes);
    // Neighbouring data is untouched.
    ASSERT_EQ(client->read(144, small).value(), kOk);
    EXPECT_TRUE(std::equal(small.begin(), small.end(), data.begin() + 16 * 512));
}

TEST_P(BlkIoTest, ManyRequestsInFlightOnTwoQueues) {
    START_VHOSTD(vhostd);
    auto options = client_options(vhostd.socket("vhost.0"), 2);
    options.indirect = true;  // one descriptor per request: the whole ring can be in flight
    auto client = connect_client(options);
    ASSERT_TRUE(client);
    // Each queue writes 96 distinct 4 KiB blocks in one batch, then reads them in one batch.
    constexpr uint64_t kRequests = 96;
    constexpr uint32_t kBytes = 4096;
    for (uint16_t q = 0; q < 2; ++q) {
        frontend::BlkQueue& queue = client->queue(q);
        std::vector<frontend::GuestBuffer> buffers;
        for (uint64_t i = 0; i < kRequests; ++i) {
            auto buf = client->ram().alloc(kBytes, 4096);
            ASSERT_TRUE(buf.has_value());
            const auto bytes = pattern(static_cast<uint32_t>(q * 1000 + i), kBytes);
            std::memcpy(buf->host, bytes.data(), kBytes);
            buffers.push_back(*buf);
            const frontend::DataSegment seg{buf->gpa, kBytes};
            ASSERT_TRUE(queue.submit_write(i, (q * kRequests + i) * 8, {&seg, 1}));
        }
        queue.kick();
        size_t done = 0;
        std::array<frontend::BlkCompletion, 32> completions{};
        while (done < kRequests) {
            ASSERT_TRUE(queue.wait(std::chrono::seconds(5)).has_value());
            const size_t n = queue.poll(completions).value();
            for (size_t i = 0; i < n; ++i)
                ASSERT_EQ(completions[i].status, kOk);
            done += n;
        }
        for (uint64_t i = 0; i < kRequests; ++i) {
            std::memset(buffers[i].host, 0, kBytes);
            const frontend::DataSegment seg{buffers[i].gpa, kBytes};
            ASSERT_TRUE(queue.submit_read(i, (q * kRequests + i) * 8, {&seg, 1}));
        }
        queue.kick();
        done = 0;
        while (done < kRequests) {
            ASSERT_TRUE(queue.wait(std::chrono::seconds(5)).has_value());
            const size_t n = queue.poll(completions).value();
            for (size_t i = 0; i < n; ++i) {
                ASSERT_EQ(completions[i].status, kOk);
                ASSERT_EQ(completions[i].len, kBytes + 1);  // data + status byte
            }
            done += n;
        }
        for (uint64_t i = 0; i < kRequests; ++i) {
            const auto bytes = pattern(static_cast<uint32_t>(q * 1000 + i), kBytes);
            ASSERT_EQ(std::memcmp(buffers[i].host, bytes.data(), kBytes), 0) << "request " << i;
        }
    }
}

TEST_P(BlkIoTest, IndirectDescriptorsAndAddMemRegions) {
    START_VHOSTD(vhostd);
    auto options = client_options(vhostd.socket("vhost.0"));
    options.indirect = true;
    options.memory_mode = frontend::BlkClient::MemoryMode::add_mem_reg;
    // Two regions with a hole between them, at a non-zero base, in one shared memfd.
    options.ram.regions = {{0x100000, 32 << 20}, {0x4000000, 32 << 20}};
    options.ram.shared_fd = true;
    options.ram.fd_offset = 4096;
    auto client = connect_client(options);
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->uses_indirect());
    const auto data = pattern(7, 128 * 1024);
    ASSERT_EQ(client->write(0, data).value(), kOk);
    std::vector<std::byte> back(data.size());
    ASSERT_EQ(client->read(0, back).value(), kOk);
    EXPECT_EQ(back, data);
}

TEST_P(BlkIoTest, BufferCrossingAdjacentRegions) {
    START_VHOSTD(vhostd);
    auto options = client_options(vhostd.socket("vhost.0"));
    options.ram.regions = {{0, 16 << 20}, {16 << 20, 16 << 20}};  // adjacent: one GPA range
    auto client = connect_client(options);
    ASSERT_TRUE(client);
    auto buf = client->ram().alloc_across(0, 8192, 4096);  // 4 KiB in each region
    ASSERT_TRUE(buf.has_value());
    const auto data = pattern(9, 8192);
    std::memcpy(buf->host, data.data(), data.size());
    const frontend::DataSegment seg{buf->gpa, 8192};
    auto wrote = client->execute(0, 1 /*OUT*/, 64, {&seg, 1});
    ASSERT_TRUE(wrote.has_value());
    EXPECT_EQ(wrote->status, kOk);
    std::vector<std::byte> back(8192);
    ASSERT_EQ(client->read(64, back).value(), kOk);
    EXPECT_EQ(back, data);
}

INSTANTIATE_TEST_SUITE_P(PollModes, BlkIoTest, ::testing::Values("adaptive", "always", "never"));

// The uring backend: what the frontend wrote is in the backing file.
TEST(BlkUring, BackingFileHoldsWhatWasWritten) {
    char path[] = "/tmp/vhostd-uring.XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 4 << 20), 0);
    VhostdProcess vhostd(
        {.config =
             make_config(json::array({json{{"method", "bdev_uring_create"},
                                           {"params", {{"name", "Uring0"}, {"filename", path}}}}}),
                         json::array({blk_controller("vhost.0", "Uring0")})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    {
        auto client = connect_client(client_options(vhostd.socket("vhost.0"), 2));
        ASSERT_TRUE(client);
        EXPECT_EQ(client->config().capacity, (4U << 20) / 512);
        const auto data = pattern(3, 256 * 1024);
        ASSERT_EQ(client->write(2048, data, 1).value(), kOk);
        ASSERT_EQ(client->flush(1).value(), kOk);
        std::vector<std::byte> file(data.size());
        ASSERT_EQ(::pread(fd, file.data(), file.size(), 2048 * 512),
                  static_cast<ssize_t>(file.size()));
        EXPECT_EQ(file, data);
        ASSERT_EQ(client->write_zeroes(2048, 16, false).value(), kOk);
        std::vector<std::byte> zeroes(16 * 512);
        ASSERT_EQ(::pread(fd, file.data(), zeroes.size(), 2048 * 512),
                  static_cast<ssize_t>(zeroes.size()));
        EXPECT_TRUE(std::equal(zeroes.begin(), zeroes.end(), file.begin()));
    }
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
    ::close(fd);
    ::unlink(path);
}

TEST(BlkReadOnly, WritesFailAndNothingChanges) {
    VhostdProcess vhostd(
        {.config =
             make_config(json::array({malloc_bdev("Malloc0", 2048)}),
                         json::array({blk_controller("vhost.0", "Malloc0", {{"readonly", true}})})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    EXPECT_TRUE(client->has_feature(frontend::blk::feature::kRo));
    const auto data = pattern(5, 4096);
    EXPECT_EQ(client->write(0, data).value(), kIoErr);
    EXPECT_EQ(client->write_zeroes(0, 8, false).value(), kIoErr);
    std::vector<std::byte> back(4096);
    ASSERT_EQ(client->read(0, back).value(), kOk);
    EXPECT_EQ(back, std::vector<std::byte>(4096));
    EXPECT_EQ(vhostd.stop(), 0);
}

}  // namespace
}  // namespace vhostd::testing
