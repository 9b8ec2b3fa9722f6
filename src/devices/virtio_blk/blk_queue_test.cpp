// BlkQueue: the request path from ring to bdev and back: statuses, used lengths, GET_ID,
// write-through flushing (5.2.6.2 stable writes), rings broken by unanswerable requests, and
// requests that wait for a channel that opens asynchronously.
#include "devices/virtio_blk/blk_queue.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "block/module/bdev_module.hpp"
#include "block/module/deferred_channel.hpp"
#include "support/fake_driver.hpp"

namespace vhostd::virtio_blk {
namespace {

using virtio::testing::FakeDriver;

// A RAM bdev that claims a volatile write cache and records the order of operations, so the
// tests can see which writes were followed by a flush.
class RecordingBackend final : public block::BdevBackend {
  public:
    RecordingBackend() : data_(2048 * 512) {}

    std::vector<block::IoType> log;
    std::vector<uint8_t> data_;

    [[nodiscard]] std::string_view driver() const override { return "recording"; }
    Result<std::unique_ptr<block::BackendChannel>> create_channel(reactor::Reactor& r) override {
        return std::make_unique<Channel>(r, *this);
    }
    [[nodiscard]] nlohmann::json describe() const override { return {}; }

    static std::shared_ptr<block::Bdev> make(RecordingBackend*& out) {
        auto backend = std::make_unique<RecordingBackend>();
        out = backend.get();
        return *block::make_bdev(
            block::BdevInit{.name = "Rec0",
                            .product = "Recording disk",
                            .block_size = 512,
                            .num_blocks = 2048,
                            .caps = {.flush = true, .discard = true, .write_zeroes = true}},
            std::move(backend));
    }

  private:
    class Channel final : public block::DeferredChannel {
      public:
        Channel(reactor::Reactor& r, RecordingBackend& bdev)
            : DeferredChannel(r, bdev.bdev()), bdev_(bdev) {}
        block::IoStatus execute(block::IoRequest& io) noexcept override {
            bdev_.log.push_back(io.type);
            uint64_t offset = io.offset;
            for (uint32_t i = 0; i < io.iovcnt; ++i) {
                uint8_t* disk = bdev_.data_.data() + offset;
                if (io.type == block::IoType::read)
                    std::memcpy(io.iov[i].iov_base, disk, io.iov[i].iov_len);
                if (io.type == block::IoType::write)
                    std::memcpy(disk, io.iov[i].iov_base, io.iov[i].iov_len);
                offset += io.iov[i].iov_len;
            }
            return block::IoStatus::success;
        }

      private:
        RecordingBackend& bdev_;
    };
};

constexpr uint64_t kNegotiated = virtio::bit(feature::kFlush) | virtio::bit(feature::kConfigWce);

class BlkQueueTest : public ::testing::Test {
  protected:
    FakeDriver driver{16};
    RecordingBackend* rec = nullptr;
    std::shared_ptr<block::Bdev> bdev = RecordingBackend::make(rec);
    std::unique_ptr<reactor::Reactor> reactor =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    BlkDevice device{bdev, BlkDeviceOptions{}};
    std::unique_ptr<virtio::QueueHandler> queue;

    void start(uint64_t driver_features = kNegotiated) {
        device.set_driver_features(driver_features);
        virtio::VirtqueueConfig config;
        config.ring = driver.ring();
        config.memory = driver.memory();
        config.features = virtio::bit(virtio::feature::kIndirectDesc);
        queue =
            device.create_queue_handler(*reactor, virtio::RunningQueue(std::move(config))).value();
        ASSERT_TRUE(queue->start().has_value());
    }
    void TearDown() override {
        if (queue) {
            bool stopped = false;
            queue->stop([&](virtio::QueueStopResult) { stopped = true; });
            for (int i = 0; i < 10 && !stopped; ++i)
                reactor->run_once();
            EXPECT_TRUE(stopped);
        }
    }

    uint64_t header(uint32_t type, uint64_t sector) {
        const RequestHeader h{type, 0, sector};
        const uint64_t gpa = driver.alloc(sizeof(h));
        driver.write(gpa, &h, sizeof(h));
        return gpa;
    }
    // Submits [header, data..., status] and runs the reactor until it is used.
    struct Done {
        uint8_t status;
        uint32_t len;
    };
    std::optional<Done> run(uint32_t type, uint64_t sector,
                            std::vector<virtio::testing::Segment> data, bool indirect = false) {
        const uint64_t status = driver.alloc(1);
        driver.host(status)[0] = 0xff;
        std::vector<virtio::testing::Segment> chain{{header(type, sector), 16, false}};
        chain.insert(chain.end(), data.begin(), data.end());
        chain.push_back({status, 1, true});
        driver.submit(chain, indirect);
        for (int i = 0; i < 10; ++i) {
            reactor->run_once();
            if (auto used = driver.pop_used())
                return Done{driver.host(status)[0], used->len};
        }
        return std::nullopt;
    }
};

TEST_F(BlkQueueTest, WriteThenReadBackWithUsedLengths) {
    start();
    const uint64_t buf = driver.alloc(1024);
    std::memset(driver.host(buf), 0x5a, 1024);
    auto w = run(request_type::kOut, 4, {{buf, 1024, false}});
    ASSERT_TRUE(w);
    EXPECT_EQ(w->status, status::kOk);
    EXPECT_EQ(w->len, 1U);  // only the status byte was written
    EXPECT_EQ(rec->data_[4 * 512], 0x5a);
    const uint64_t back = driver.alloc(1024);
    auto r = run(request_type::kIn, 4, {{back, 512, true}, {back + 512, 512, true}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status::kOk);
    EXPECT_EQ(r->len, 1025U);
    EXPECT_EQ(driver.host(back)[1023], 0x5a);
}

// Linux puts header, seg_max segments and status in one indirect table: seg_max + 2 entries,
// plus the ring descriptor pointing to it, more than this 16-entry queue holds.
TEST_F(BlkQueueTest, IndirectTableWithSegMaxSegmentsIsServed) {
    start();
    const uint32_t segments = BlkDeviceOptions{}.seg_max;
    std::vector<virtio::testing::Segment> data;
    for (uint32_t i = 0; i < segments; ++i) {
        const uint64_t gpa = driver.alloc(512);
        std::memset(driver.host(gpa), static_cast<int>(i), 512);
        data.push_back({gpa, 512, false});
    }
    auto done = run(request_type::kOut, 0, data, true);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, status::kOk);
    EXPECT_EQ(rec->data_[512 * (segments - 1)], static_cast<uint8_t>(segments - 1));
}

TEST_F(BlkQueueTest, WriteBackModeLeavesFlushingToTheDriver) {
    start();
    const uint64_t buf = driver.alloc(512);
    ASSERT_EQ(run(request_type::kOut, 0, {{buf, 512, false}})->status, status::kOk);
    EXPECT_EQ(rec->log, (std::vector<block::IoType>{block::IoType::write}));
    ASSERT_EQ(run(request_type::kFlush, 0, {})->status, status::kOk);
    EXPECT_EQ(rec->log.back(), block::IoType::flush);
}

TEST_F(BlkQueueTest, WriteThroughModeFlushesBeforeCompleting) {
    start();
    const uint8_t off = 0;
    ASSERT_TRUE(device.write_config(offsetof(Config, writeback), {&off, 1}).has_value());
    const uint64_t buf = driver.alloc(512);
    ASSERT_EQ(run(request_type::kOut, 0, {{buf, 512, false}})->status, status::kOk);
    EXPECT_EQ(rec->log, (std::vector<block::IoType>{block::IoType::write, block::IoType::flush}));
}

TEST_F(BlkQueueTest, DriverWithoutFlushOrWceGetsStableWrites) {
    start(/*driver_features=*/0);
    const uint64_t buf = driver.alloc(512);
    ASSERT_EQ(run(request_type::kOut, 0, {{buf, 512, false}})->status, status::kOk);
    EXPECT_EQ(rec->log, (std::vector<block::IoType>{block::IoType::write, block::IoType::flush}));
}

TEST_F(BlkQueueTest, GetIdIsNulPadded) {
    start();
    const uint64_t buf = driver.alloc(20);
    std::memset(driver.host(buf), 'x', 20);
    auto done = run(request_type::kGetId, 0, {{buf, 20, true}});
    ASSERT_TRUE(done);
    EXPECT_EQ(done->len, 21U);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(driver.host(buf))), "Rec0");
    EXPECT_EQ(driver.host(buf)[19], 0);
}

TEST_F(BlkQueueTest, ErrorsAreReportedInTheStatusByte) {
    start();
    const uint64_t buf = driver.alloc(512);
    EXPECT_EQ(run(request_type::kIn, 2048, {{buf, 512, true}})->status, status::kIoErr);
    EXPECT_EQ(run(99, 0, {})->status, status::kUnsupp);
    EXPECT_EQ(run(request_type::kIn, 0, {{0xdead0000, 512, true}})->status, status::kIoErr);
    EXPECT_FALSE(queue->queue().broken());
}

TEST_F(BlkQueueTest, RequestWithoutStatusByteBreaksTheRing) {
    start();
    const uint64_t buf = driver.alloc(512);
    driver.submit({{header(request_type::kOut, 0), 16, false}, {buf, 512, false}});
    reactor->run_once();
    EXPECT_TRUE(queue->queue().broken());
    EXPECT_FALSE(driver.pop_used().has_value());
    EXPECT_TRUE(rec->log.empty());  // the write was not performed either
}

}  // namespace
}  // namespace vhostd::virtio_blk

namespace vhostd::virtio_blk {
namespace {

// A bdev whose channels open only when the test says so (a network backend's round trip).
class SlowOpenBackend final : public block::BdevBackend {
  public:
    [[nodiscard]] std::string_view driver() const override { return "slow_open"; }
    void open_channel(reactor::Reactor& r, block::BackendChannelOpened done) override {
        reactor_ = &r;
        pending_ = std::move(done);
    }
    [[nodiscard]] nlohmann::json describe() const override { return {}; }

    void finish(bool ok) {
        auto done = std::move(pending_);
        if (ok) {
            done(std::unique_ptr<block::BackendChannel>(
                std::make_unique<Channel>(*reactor_, bdev())));
        } else {
            done(make_error(ECONNREFUSED, "the server refused"));
        }
    }

  private:
    class Channel final : public block::DeferredChannel {
      public:
        using DeferredChannel::DeferredChannel;
        block::IoStatus execute(block::IoRequest&) noexcept override {
            return block::IoStatus::success;
        }
    };
    reactor::Reactor* reactor_ = nullptr;
    block::BackendChannelOpened pending_;
};

class BlkAsyncOpenTest : public ::testing::TestWithParam<bool> {
  protected:
    FakeDriver driver{16};
    SlowOpenBackend* backend = nullptr;
    std::shared_ptr<block::Bdev> bdev = [this] {
        auto b = std::make_unique<SlowOpenBackend>();
        backend = b.get();
        return *block::make_bdev(
            block::BdevInit{
                .name = "Slow0", .product = "Slow", .block_size = 512, .num_blocks = 64},
            std::move(b));
    }();
    std::unique_ptr<reactor::Reactor> reactor =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    BlkDevice device{bdev, BlkDeviceOptions{}};

    uint64_t submit_read(uint64_t& status) {
        const RequestHeader h{request_type::kIn, 0, 0};
        const uint64_t hdr = driver.alloc(sizeof(h));
        driver.write(hdr, &h, sizeof(h));
        const uint64_t data = driver.alloc(512);
        status = driver.alloc(1);
        driver.host(status)[0] = 0xff;
        driver.submit({{hdr, 16, false}, {data, 512, true}, {status, 1, true}});
        return data;
    }
};

TEST_P(BlkAsyncOpenTest, RequestsWaitForTheChannelAndThenCompleteOrFail) {
    const bool opens = GetParam();
    virtio::VirtqueueConfig config;
    config.ring = driver.ring();
    config.memory = driver.memory();
    auto queue = device.create_queue_handler(*reactor, virtio::RunningQueue(std::move(config)));
    ASSERT_TRUE(queue.has_value()) << queue.error().describe();
    ASSERT_TRUE((*queue)->start().has_value());
    uint64_t status = 0;
    submit_read(status);
    for (int i = 0; i < 20; ++i) {
        reactor->run_once();
    }
    EXPECT_FALSE(driver.pop_used().has_value()) << "completed before the channel was open";

    backend->finish(opens);
    std::optional<virtio::VringUsedElem> used;
    for (int i = 0; i < 20 && !used; ++i) {
        reactor->run_once();
        used = driver.pop_used();
    }
    ASSERT_TRUE(used.has_value()) << "the waiting request was never answered";
    EXPECT_EQ(driver.host(status)[0], opens ? status::kOk : status::kIoErr);

    bool stopped = false;
    (*queue)->stop([&](virtio::QueueStopResult) { stopped = true; });
    for (int i = 0; i < 10 && !stopped; ++i) {
        reactor->run_once();
    }
    EXPECT_TRUE(stopped);
}

INSTANTIATE_TEST_SUITE_P(OpenSucceedsOrFails, BlkAsyncOpenTest, ::testing::Bool());

}  // namespace
}  // namespace vhostd::virtio_blk
