// The volatile write cache and write protection as the I/O path follows them, over a bdev
// that records what reaches it: FUA and a disabled write cache (feature 06h) turn a write
// into write + flush, Flush reaches a bdev that has a cache, Write Zeroes falls back to
// writes from a zero page on a bdev without write_zeroes, a channel that opens late holds
// commands until it is open, and a read-only bdev makes a write-protected namespace.
#include <algorithm>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "block/module/bdev_module.hpp"
#include "block/module/deferred_channel.hpp"
#include "nvme/namespace.hpp"
#include "support/nvme_fixture.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using testing::FakeNvmeDriver;

// A RAM bdev that records the order of operations; capabilities and a late open are options.
class RecordingBackend final : public block::BdevBackend {
  public:
    std::vector<block::IoType> log;
    std::vector<uint8_t> data = std::vector<uint8_t>(1024 * 512);
    bool open_late = false;
    reactor::Reactor* late_reactor = nullptr;
    block::BackendChannelOpened pending_open;

    static std::shared_ptr<block::Bdev> make(RecordingBackend*& out, block::Capabilities caps) {
        auto backend = std::make_unique<RecordingBackend>();
        out = backend.get();
        return block::make_bdev(block::BdevInit{.name = "Rec0",
                                                .product = "Recording disk",
                                                .block_size = 512,
                                                .num_blocks = 1024,
                                                .caps = caps},
                                std::move(backend))
            .value();
    }
    [[nodiscard]] std::string_view driver() const override { return "recording"; }
    [[nodiscard]] nlohmann::json describe() const override { return {}; }
    void open_channel(reactor::Reactor& r, block::BackendChannelOpened done) override {
        if (open_late && !pending_open) {
            late_reactor = &r;
            pending_open = std::move(done);  // opened when the test says so
            return;
        }
        done(std::make_unique<Channel>(r, *this));
    }
    void finish_open() {
        auto done = std::move(pending_open);
        done(std::make_unique<Channel>(*late_reactor, *this));
    }

  private:
    class Channel final : public block::DeferredChannel {
      public:
        Channel(reactor::Reactor& r, RecordingBackend& backend)
            : DeferredChannel(r, backend.bdev()), backend_(backend) {}
        block::IoStatus execute(block::IoRequest& io) noexcept override {
            backend_.log.push_back(io.type);
            uint64_t offset = io.offset;
            for (uint32_t i = 0; i < io.iovcnt; ++i) {
                uint8_t* disk = backend_.data.data() + offset;
                if (io.type == block::IoType::read) {
                    std::memcpy(io.iov[i].iov_base, disk, io.iov[i].iov_len);
                } else if (io.type == block::IoType::write) {
                    std::memcpy(disk, io.iov[i].iov_base, io.iov[i].iov_len);
                }
                offset += io.iov[i].iov_len;
            }
            return block::IoStatus::success;
        }

      private:
        RecordingBackend& backend_;
    };
};

class CacheTest : public testing::NvmeControllerTest {
  protected:
    RecordingBackend* rec = nullptr;

    void begin(block::Capabilities caps) {
        bdev = RecordingBackend::make(rec, caps);
        start();
        ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
        rec->log.clear();
    }
    uint16_t io(Command c) { return status_of(driver->run(driver->queue(1), c)); }
};

using block::IoType;

TEST_F(CacheTest, WritesAreFollowedByAFlushWhenTheyMustBeStable) {
    begin({.flush = true, .discard = true, .write_zeroes = true});
    const uint64_t buffer = ram.alloc(4096);
    ASSERT_EQ(io(FakeNvmeDriver::read_write(true, 1, 0, 8, buffer)), 0u);
    EXPECT_EQ(rec->log, std::vector<IoType>{IoType::write});  // write-back: no flush
    rec->log.clear();
    Command fua = FakeNvmeDriver::read_write(true, 1, 0, 8, buffer);
    fua.cdw12 |= kRwFua;
    ASSERT_EQ(io(fua), 0u);
    EXPECT_EQ(rec->log, (std::vector<IoType>{IoType::write, IoType::flush}));
    rec->log.clear();
    ASSERT_EQ(
        status_of(driver->run_admin(FakeNvmeDriver::set_features(feature::kVolatileWriteCache, 0))),
        0u);
    ASSERT_EQ(io(FakeNvmeDriver::read_write(true, 1, 0, 8, buffer)), 0u);
    EXPECT_EQ(rec->log, (std::vector<IoType>{IoType::write, IoType::flush}));
    rec->log.clear();
    Command flush{};
    flush.opcode = io_opcode::kFlush;
    flush.nsid = 1;
    ASSERT_EQ(io(flush), 0u);
    EXPECT_EQ(rec->log, std::vector<IoType>{IoType::flush});
}

TEST_F(CacheTest, WriteZeroesWithoutTheCapabilityWritesZeroPages) {
    begin({.flush = false, .discard = false, .write_zeroes = false});
    std::memset(rec->data.data(), 0xaa, rec->data.size());
    Command zeroes{};
    zeroes.opcode = io_opcode::kWriteZeroes;
    zeroes.nsid = 1;
    zeroes.cdw10 = 10;
    zeroes.cdw12 = 300 - 1;  // 150 KiB
    ASSERT_EQ(io(zeroes), 0u);
    EXPECT_FALSE(rec->log.empty());
    for (IoType type : rec->log) {
        EXPECT_EQ(type, IoType::write);
    }
    EXPECT_EQ(rec->data[10 * 512 - 1], 0xaa);
    EXPECT_EQ(rec->data[10 * 512], 0);
    EXPECT_EQ(rec->data[310 * 512 - 1], 0);
    EXPECT_EQ(rec->data[310 * 512], 0xaa);
    // Deallocation without the capability is a hint that is dropped.
    rec->log.clear();
    const uint64_t ranges = ram.alloc(4096);
    *reinterpret_cast<DsmRange*>(ram.host(ranges)) =
        DsmRange{.attributes = 0, .length = 8, .slba = 0};
    Command dsm{};
    dsm.opcode = io_opcode::kDatasetManagement;
    dsm.nsid = 1;
    dsm.dptr1 = ranges;
    dsm.cdw11 = kDsmDeallocate;
    ASSERT_EQ(io(dsm), 0u);
    EXPECT_TRUE(rec->log.empty());
}

TEST_F(CacheTest, ReadOnlyBdevMakesAWriteProtectedNamespace) {
    begin({.read_only = true});
    const uint64_t buffer = ram.alloc(4096);
    ASSERT_EQ(status_of(driver->run_admin(FakeNvmeDriver::identify(cns::kNamespace, 1, buffer))),
              0u);
    IdentifyNamespace id;
    std::memcpy(&id, ram.host(buffer), sizeof(id));
    EXPECT_EQ(id.nsattr & kNsattrWriteProtected, kNsattrWriteProtected);
    EXPECT_EQ(io(FakeNvmeDriver::read_write(true, 1, 0, 1, buffer)), status::kWriteProtected);
    Command zeroes{};
    zeroes.opcode = io_opcode::kWriteZeroes;
    zeroes.nsid = 1;
    EXPECT_EQ(io(zeroes), status::kWriteProtected);
    EXPECT_EQ(io(FakeNvmeDriver::read_write(false, 1, 0, 1, buffer)), 0u);
}

class LateOpenTest : public testing::NvmeControllerTest {};

TEST_F(LateOpenTest, CommandsWaitForTheChannelToOpen) {
    RecordingBackend* rec = nullptr;
    bdev = RecordingBackend::make(rec, {});
    rec->open_late = true;
    make();
    ASSERT_TRUE(controller->add_namespace({.nsid = 1, .bdev = bdev}).has_value());
    // Attached (active) on both reactors: one opened at once, one waits for the backend.
    ASSERT_TRUE(driver->wait_for([&] { return controller->namespaces()[0].active; }));
    ASSERT_TRUE(driver->enable());
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
    ASSERT_TRUE(driver->create_io_queues(2, 16, 2));
    const uint64_t buffer = ram.alloc(4096);
    // Queue pairs 1 and 2 live on different reactors: one of them has the late channel.
    const uint16_t first =
        driver->submit(driver->queue(1), FakeNvmeDriver::read_write(false, 1, 0, 1, buffer));
    const uint16_t second =
        driver->submit(driver->queue(2), FakeNvmeDriver::read_write(false, 1, 0, 1, buffer));
    for (int i = 0; i < 300; ++i) {
        pump();
    }
    std::vector<uint16_t> done;
    while (auto c = driver->poll(driver->queue(1))) {
        done.push_back(c->cid);
    }
    while (auto c = driver->poll(driver->queue(2))) {
        done.push_back(c->cid);
    }
    EXPECT_EQ(done.size(), 1u);  // the other waits
    rec->finish_open();
    const bool first_done = std::find(done.begin(), done.end(), first) != done.end();
    auto late = first_done ? driver->wait_completion(driver->queue(2), second)
                           : driver->wait_completion(driver->queue(1), first);
    EXPECT_EQ(status_of(late), 0u);
}

}  // namespace
}  // namespace vhostd::nvme
