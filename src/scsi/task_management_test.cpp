// Task management and hot-remove with I/O held in a slow backend: aborted tasks complete with
// TASK ABORTED once their I/O returns, the TMF completes after them, nothing hangs or leaks.
#include <deque>
#include <optional>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "block/module/bdev_module.hpp"
#include "block/module/request_list.hpp"
#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

// A backend whose requests wait until the test releases them.
class SlowBackend final : public block::BdevBackend {
  public:
    [[nodiscard]] std::string_view driver() const override { return "slow"; }
    struct Channel final : block::BackendChannel {
        void submit(block::IoRequest& r) noexcept override {
            held.push_back(r);
            ++count;
        }
        block::RequestList held;
        size_t count = 0;
        bool* destroyed = nullptr;
        ~Channel() override {
            if (destroyed != nullptr) {
                *destroyed = true;
            }
        }
    };
    Result<std::unique_ptr<block::BackendChannel>> create_channel(reactor::Reactor&) override {
        auto c = std::make_unique<Channel>();
        c->destroyed = &channel_destroyed;
        channel = c.get();
        return c;
    }
    [[nodiscard]] nlohmann::json describe() const override { return {}; }
    // Completes what is held now (not what the completions submit).
    size_t release_all(block::IoStatus status = block::IoStatus::success) {
        block::RequestList batch = channel->held.take();
        size_t n = 0;
        while (block::IoRequest* r = batch.pop_front()) {
            block::complete(*r, status);
            ++n;
        }
        return n;
    }
    Channel* channel = nullptr;
    bool channel_destroyed = false;
};

struct TaskManagement : ::testing::Test {
    TaskManagement() {
        auto unit = h.target.add_lun(1, bdev);
        EXPECT_TRUE(unit.has_value());
        EXPECT_TRUE(h.channel->attach(*unit).has_value());
        h.command({0x00, 0, 0, 0, 0, 0}, 1);
    }
    // Starts a READ(10) (or WRITE(10), with FUA if asked) of one block at LBA `tag` with `tag`
    // on LUN 1 without waiting.
    void start(Task& t, uint64_t tag, uint32_t initiator = 0, bool write = false,
               bool fua = false) {
        t.cdb = {static_cast<uint8_t>(write ? 0x2a : 0x28),
                 static_cast<uint8_t>(fua ? 0x08 : 0),
                 0,
                 0,
                 0,
                 static_cast<uint8_t>(tag),
                 0,
                 0,
                 1,
                 0};
        t.cdb_length = 10;
        t.lun = 1;
        t.tag = tag;
        t.initiator = initiator;
        buffers.emplace_back(512);
        iovs.push_back({buffers.back().data(), 512});
        t.iov = &iovs.back();
        t.iovcnt = 1;
        t.transfer_length = 512;
        t.direction = write ? DataDirection::to_device : DataDirection::from_device;
        t.completion = &h.recorder;
        h.channel->execute(t);
    }
    void spin(int iterations = 5) {
        for (int i = 0; i < iterations; ++i) {
            h.reactor->run_once();
        }
    }
    static std::shared_ptr<block::Bdev> make_slow(SlowBackend*& slow) {
        auto backend = std::make_unique<SlowBackend>();
        slow = backend.get();
        return *block::make_bdev(block::BdevInit{.name = "Slow0",
                                                 .product = "Slow disk",
                                                 .block_size = 512,
                                                 .num_blocks = 1024,
                                                 .caps = block::Capabilities{.flush = true},
                                                 .uuid = "2b4e28ba-2fa1-41d2-883f-0016d3cca427"},
                                 std::move(backend));
    }
    Harness h;
    SlowBackend* slow = nullptr;
    std::shared_ptr<block::Bdev> bdev = make_slow(slow);
    std::deque<std::vector<uint8_t>> buffers;
    std::deque<iovec> iovs;
};

TEST_F(TaskManagement, AbortTaskWaitsForTheBackend) {
    Task a, b;
    start(a, 1);
    start(b, 2);
    EXPECT_EQ(h.channel->in_flight(), 2u);
    std::optional<TmfResponse> response;
    h.channel->abort_task(1, 1, [&](TmfResponse r) { response = r; });
    spin();
    EXPECT_FALSE(response);  // the aborted read is still with the backend
    EXPECT_EQ(slow->release_all(), 2u);
    spin();
    ASSERT_TRUE(response);
    EXPECT_EQ(*response, TmfResponse::complete);
    EXPECT_TRUE(a.aborted);
    EXPECT_EQ(a.status, status::task_aborted);
    EXPECT_EQ(a.data_transferred, 0u);
    EXPECT_FALSE(b.aborted);
    EXPECT_EQ(b.status, status::good);
    EXPECT_EQ(h.channel->in_flight(), 0u);
}

TEST_F(TaskManagement, AbortOfUnknownTagCompletesAndWrongLunIsIncorrect) {
    std::optional<TmfResponse> r1, r2;
    h.channel->abort_task(1, 77, [&](TmfResponse r) { r1 = r; });
    h.channel->abort_task(9, 77, [&](TmfResponse r) { r2 = r; });
    EXPECT_FALSE(r1);  // never inline
    spin();
    EXPECT_EQ(r1, TmfResponse::complete);
    EXPECT_EQ(r2, TmfResponse::incorrect_lun);
}

TEST_F(TaskManagement, AbortTaskSetIsPerInitiatorAndLunResetIsNot) {
    Task a, b, c;
    start(a, 1, 0);
    start(b, 2, 1);
    bool set_done = false;
    h.channel->abort_task_set(1, 0, [&](TmfResponse) { set_done = true; });
    slow->release_all();
    spin();
    EXPECT_TRUE(set_done);
    EXPECT_TRUE(a.aborted);
    EXPECT_FALSE(b.aborted);

    start(a, 3, 0);
    start(c, 4, 1);
    bool reset_done = false;
    h.channel->reset_lun(1, [&](TmfResponse) { reset_done = true; });
    slow->release_all();
    spin();
    EXPECT_TRUE(reset_done);
    EXPECT_TRUE(a.aborted);
    EXPECT_TRUE(c.aborted);
    h.target.find(1)->notify_reset();
    Task t = h.command({0x00, 0, 0, 0, 0, 0}, 1);
    EXPECT_EQ(sense_of(t), (SenseCode{sense_key::unit_attention, 0x29, 0x00}));
}

TEST_F(TaskManagement, NexusResetCoversEveryLun) {
    Task a;
    start(a, 1, 0);
    bool done = false;
    h.channel->reset_nexus(0, [&](TmfResponse) { done = true; });
    slow->release_all(block::IoStatus::io_error);
    spin();
    EXPECT_TRUE(done);
    EXPECT_TRUE(a.aborted);
}

TEST_F(TaskManagement, HotRemoveFailsInFlightTasksThenDestroysTheChannel) {
    Task a, b;
    start(a, 1);
    start(b, 2);
    bool detached = false;
    h.channel->detach(1, [&] { detached = true; });
    EXPECT_FALSE(h.channel->has_lun(1));
    // New commands see the LUN gone at once.
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0}, 1)), sense::lun_not_supported);
    spin();
    EXPECT_FALSE(detached);
    EXPECT_FALSE(slow->channel_destroyed);
    slow->release_all();
    spin();
    EXPECT_TRUE(detached);
    EXPECT_TRUE(slow->channel_destroyed);
    EXPECT_EQ(a.status, status::check_condition);
    EXPECT_EQ(sense_of(a), sense::lun_communication_failure);
    EXPECT_EQ(sense_of(b), sense::lun_communication_failure);
    EXPECT_EQ(h.channel->in_flight(), 0u);
    EXPECT_TRUE(h.target.remove_lun(1));
}

TEST_F(TaskManagement, FuaWriteFlushesAfterWriting) {
    Task t;
    start(t, 0, 0, true, true);
    ASSERT_EQ(slow->channel->held.front()->type, block::IoType::write);
    slow->release_all();
    ASSERT_NE(slow->channel->held.front(), nullptr);
    EXPECT_EQ(slow->channel->held.front()->type, block::IoType::flush);
    const size_t before = h.recorder.completed;
    slow->release_all();
    EXPECT_EQ(h.recorder.completed, before + 1);
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 512u);
}

TEST_F(TaskManagement, WriteCacheDisabledByModeSelectMakesWritesDurable) {
    std::vector<uint8_t> page(64);
    Task t = h.command({0x1a, 0x08, 0x48, 0, 64, 0}, page, DataDirection::from_device, 1);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(page[4 + 2], 0x04);  // WCE is changeable on a bdev with a cache
    t = h.command({0x1a, 0x08, 0x08, 0, 64, 0}, page, DataDirection::from_device, 1);
    ASSERT_EQ(page[4 + 2] & 0x04, 0x04);
    std::vector<uint8_t> list(page.begin(), page.begin() + 24);
    list[0] = 0;
    list[4 + 2] &= ~0x04;
    t = h.command({0x15, 0x10, 0, 0, 24, 0}, list, DataDirection::to_device, 1);
    ASSERT_EQ(t.status, status::good);
    EXPECT_FALSE(h.target.find(1)->write_cache_enabled());
    // Another initiator is told (after its POWER ON, which outranks it).
    h.initiator = 1;
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0}, 1)).asc, 0x29);
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0}, 1)),
              (SenseCode{sense_key::unit_attention, 0x2a, 0x01}));
    h.initiator = 0;

    Task w;
    start(w, 0, 0, true, false);  // no FUA
    slow->release_all();
    ASSERT_NE(slow->channel->held.front(), nullptr);
    EXPECT_EQ(slow->channel->held.front()->type, block::IoType::flush);
    slow->release_all();
    EXPECT_EQ(w.status, status::good);
}

TEST_F(TaskManagement, BackendErrorsMapToSense) {
    Task a;
    start(a, 1);
    slow->release_all(block::IoStatus::io_error);
    EXPECT_EQ(sense_of(a), sense::unrecovered_read_error);
    EXPECT_EQ(a.data_transferred, 0u);
    start(a, 2);
    slow->release_all(block::IoStatus::no_space);
    EXPECT_EQ(sense_of(a), sense::space_allocation_failed);
}

// A backend whose channel arrives on a later reactor iteration (a network round trip): until
// then the LUN is becoming ready; a backend that cannot be opened leaves it not ready.
class LateBackend final : public block::BdevBackend {
  public:
    [[nodiscard]] std::string_view driver() const override { return "late"; }
    void open_channel(reactor::Reactor&, block::BackendChannelOpened done) override {
        pending = std::move(done);
    }
    [[nodiscard]] nlohmann::json describe() const override { return {}; }
    void deliver(bool ok) {
        if (ok) {
            pending(
                std::unique_ptr<block::BackendChannel>(std::make_unique<SlowBackend::Channel>()));
        } else {
            pending(make_error(ECONNREFUSED, "unreachable"));
        }
    }
    block::BackendChannelOpened pending;
};

TEST(LunOpening, NotReadyUntilTheChannelIsOpenAndInquiryAnswersMeanwhile) {
    Harness h;
    auto backend = std::make_unique<LateBackend>();
    LateBackend* late = backend.get();
    auto bdev =
        block::make_bdev(block::BdevInit{.name = "Late0", .num_blocks = 64}, std::move(backend));
    ASSERT_TRUE(bdev.has_value());
    auto unit = h.target.add_lun(1, *bdev);
    ASSERT_TRUE(unit.has_value());
    ASSERT_TRUE(h.channel->attach(*unit).has_value());
    ASSERT_TRUE(late->pending);

    Task tur = h.command({0x00, 0, 0, 0, 0, 0}, 1);  // TEST UNIT READY
    EXPECT_EQ(sense_of(tur), sense::becoming_ready);
    std::vector<uint8_t> inquiry(36);
    Task inq = h.command({0x12, 0, 0, 0, 36, 0}, inquiry, DataDirection::from_device, 1);
    EXPECT_EQ(inq.status, status::good) << "INQUIRY needs no medium";

    late->deliver(true);
    Task ready = h.command({0x00, 0, 0, 0, 0, 0}, 1);
    // The first command after becoming ready may carry the power-on unit attention.
    if (ready.status != status::good) {
        ready = h.command({0x00, 0, 0, 0, 0, 0}, 1);
    }
    EXPECT_EQ(ready.status, status::good);
}

TEST(LunOpening, ChannelThatCannotOpenLeavesTheLunNotReady) {
    Harness h;
    auto backend = std::make_unique<LateBackend>();
    LateBackend* late = backend.get();
    auto bdev =
        block::make_bdev(block::BdevInit{.name = "Late0", .num_blocks = 64}, std::move(backend));
    ASSERT_TRUE(bdev.has_value());
    auto unit = h.target.add_lun(1, *bdev);
    ASSERT_TRUE(unit.has_value());
    ASSERT_TRUE(h.channel->attach(*unit).has_value());
    late->deliver(false);
    Task tur = h.command({0x00, 0, 0, 0, 0, 0}, 1);
    EXPECT_EQ(sense_of(tur), sense::not_ready_manual_intervention);
}

}  // namespace
}  // namespace vhostd::scsi
