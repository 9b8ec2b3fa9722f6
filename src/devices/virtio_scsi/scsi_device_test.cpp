// ScsiDevice end to end on one reactor with fake drivers on the control, event and request
// queues: hot-plug and parameter-change events, and commands whose backend I/O is held, so
// that ABORT TASK and target removal meet them in flight.
#include "devices/virtio_scsi/scsi_device.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "block/module/bdev_module.hpp"
#include "support/fake_driver.hpp"

namespace vhostd::virtio_scsi {
namespace {

using virtio::testing::FakeDriver;

// A RAM-less bdev whose I/O completes only when the test releases it.
class HeldBackend final : public block::BdevBackend {
  public:
    std::vector<block::IoRequest*> held;

    static std::shared_ptr<block::Bdev> make(HeldBackend** out = nullptr) {
        auto backend = std::make_unique<HeldBackend>();
        if (out != nullptr) {
            *out = backend.get();
        }
        return *block::make_bdev(
            block::BdevInit{
                .name = "Held0", .product = "Held disk", .block_size = 512, .num_blocks = 2048},
            std::move(backend));
    }
    [[nodiscard]] std::string_view driver() const override { return "held"; }

    void release_all() {
        auto requests = std::move(held);
        held.clear();
        for (block::IoRequest* r : requests) {
            r->status = block::IoStatus::success;
            r->completion->io_complete(*r);
        }
    }
    Result<std::unique_ptr<block::BackendChannel>> create_channel(reactor::Reactor&) override {
        return std::make_unique<Channel>(*this);
    }
    [[nodiscard]] nlohmann::json describe() const override { return {}; }

  private:
    struct Channel final : block::BackendChannel {
        explicit Channel(HeldBackend& b) : bdev(b) {}
        void submit(block::IoRequest& request) noexcept override { bdev.held.push_back(&request); }
        HeldBackend& bdev;
    };
};

constexpr std::array<uint8_t, 8> kLun0{1, 0, 0x40, 0, 0, 0, 0, 0};

class ScsiDeviceTest : public ::testing::Test {
  protected:
    std::unique_ptr<reactor::Reactor> reactor =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    std::shared_ptr<ScsiDevice> device = std::make_shared<ScsiDevice>(
        *reactor, std::vector<reactor::Reactor*>{reactor.get()}, ScsiDeviceOptions{});
    HeldBackend* held = nullptr;
    std::shared_ptr<block::Bdev> bdev = HeldBackend::make(&held);
    FakeDriver control{16}, events{16}, requests{16};
    std::vector<std::unique_ptr<virtio::QueueHandler>> queues;

    void SetUp() override {
        ASSERT_TRUE(device->add_target(0, bdev));
        run();  // before any queue exists, as when targets come from the config file
        for (auto [index, driver] : {std::pair<uint16_t, FakeDriver*>{kControlQueue, &control},
                                     {kEventQueue, &events},
                                     {kFirstRequestQueue, &requests}}) {
            virtio::VirtqueueConfig config;
            config.index = index;
            config.ring = driver->ring();
            config.memory = driver->memory();
            auto handler =
                device->create_queue_handler(*reactor, virtio::RunningQueue(std::move(config)));
            ASSERT_TRUE(handler);
            ASSERT_TRUE((*handler)->start());
            queues.push_back(std::move(*handler));
        }
        run();
    }
    void TearDown() override {
        held->release_all();
        for (auto& q : queues) {
            bool stopped = false;
            q->stop([&](virtio::QueueStopResult) { stopped = true; });
            for (int i = 0; i < 100 && !stopped; ++i) {
                reactor->run_once();
            }
            EXPECT_TRUE(stopped);
        }
        queues.clear();
        run();
    }
    void run(int iterations = 20) {
        for (int i = 0; i < iterations; ++i) {
            reactor->run_once();
        }
    }

    // Sends a command on the request queue; returns the response buffer's GPA.
    uint64_t command(std::vector<uint8_t> cdb, uint64_t tag, uint32_t data_out = 0,
                     uint32_t data_in = 0) {
        std::vector<uint8_t> header(sizeof(CmdHeader) + kDefaultCdbSize);
        std::memcpy(header.data(), kLun0.data(), 8);
        std::memcpy(header.data() + 8, &tag, 8);
        std::memcpy(header.data() + sizeof(CmdHeader), cdb.data(), cdb.size());
        const uint64_t h = requests.alloc(header.size());
        requests.write(h, header.data(), header.size());
        const uint64_t resp = requests.alloc(sizeof(CmdResponse) + kDefaultSenseSize);
        std::vector<uint8_t> marker(sizeof(CmdResponse), 0xff);
        requests.write(resp, marker.data(), marker.size());
        std::vector<virtio::testing::Segment> chain{
            {h, static_cast<uint32_t>(header.size()), false}};
        if (data_out != 0) {
            chain.push_back({requests.alloc(data_out), data_out, false});
        }
        chain.push_back({resp, sizeof(CmdResponse) + kDefaultSenseSize, true});
        if (data_in != 0) {
            chain.push_back({requests.alloc(data_in), data_in, true});
        }
        requests.submit(chain);
        return resp;
    }
    CmdResponse response_at(uint64_t gpa) {
        CmdResponse r;
        requests.read(gpa, &r, sizeof(r));
        return r;
    }
    void clear_unit_attention() {
        for (int i = 0; i < 4; ++i) {
            const uint64_t resp = command({0, 0, 0, 0, 0, 0}, 100);
            run();
            ASSERT_TRUE(requests.pop_used());
            if (response_at(resp).status == 0) {
                return;
            }
        }
        FAIL() << "unit attention did not clear";
    }
    uint64_t tmf(uint32_t subtype, uint64_t tag) {
        TmfRequest t{control_type::kTmf, subtype, {}, tag};
        std::memcpy(t.lun, kLun0.data(), 8);
        const uint64_t req = control.alloc(sizeof(t));
        control.write(req, &t, sizeof(t));
        const uint64_t resp = control.alloc(1);
        const uint8_t marker = 0xff;
        control.write(resp, &marker, 1);
        control.submit({{req, sizeof(t), false}, {resp, 1, true}});
        return resp;
    }
};

TEST_F(ScsiDeviceTest, HotplugAndParamChangeEvents) {
    const uint64_t buf[2] = {events.alloc(16), events.alloc(16)};
    events.submit({{buf[0], 16, true}});
    events.submit({{buf[1], 16, true}});
    run();
    EXPECT_FALSE(events.pop_used());  // kept until there is something to say
    ASSERT_TRUE(device->add_target(7, HeldBackend::make()));
    EXPECT_FALSE(device->add_target(7, bdev));  // taken
    run();
    auto used = events.pop_used();
    ASSERT_TRUE(used);
    EXPECT_EQ(used->len, sizeof(Event));
    Event e;
    events.read(buf[0], &e, sizeof(e));
    EXPECT_EQ(e.event, event::kTransportReset);
    EXPECT_EQ(e.reason, event::kResetRescan);
    EXPECT_EQ(e.lun[1], 7);
    ASSERT_TRUE(device->notify_resized(7));
    run();
    ASSERT_TRUE(events.pop_used());
    events.read(buf[1], &e, sizeof(e));
    EXPECT_EQ(e.event, event::kParamChange);
    EXPECT_EQ(e.reason, 0x2aU | (0x09U << 8));  // CAPACITY DATA HAS CHANGED
    EXPECT_FALSE(device->notify_resized(8));
}

TEST_F(ScsiDeviceTest, AbortTaskWaitsForTheAbortedCommand) {
    clear_unit_attention();
    // WRITE(10) of one block, held in the backend.
    const uint64_t resp = command({0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 42, 512);
    run();
    ASSERT_EQ(held->held.size(), 1U);
    const uint64_t tmf_resp = tmf(tmf::kAbortTask, 42);
    run();
    // 5.6.6.2: the TMF completes only after the command it aborts.
    EXPECT_FALSE(control.pop_used());
    EXPECT_FALSE(requests.pop_used());
    held->release_all();
    run();
    ASSERT_TRUE(requests.pop_used());
    EXPECT_EQ(response_at(resp).response, response::kAborted);
    ASSERT_TRUE(control.pop_used());
    uint8_t code = 0xff;
    control.read(tmf_resp, &code, 1);
    EXPECT_EQ(code, response::kFunctionComplete);
}

TEST_F(ScsiDeviceTest, RemoveWaitsForCommandsInFlight) {
    clear_unit_attention();
    const uint64_t resp = command({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 1, 0, 512);
    run();
    ASSERT_EQ(held->held.size(), 1U);
    bool removed = false;
    ASSERT_TRUE(device->remove_target(0, [&] { removed = true; }));
    EXPECT_FALSE(device->remove_target(0, [] {}));  // already going
    run();
    EXPECT_FALSE(removed);  // the read is still in the backend
    // New commands no longer reach the target.
    const uint64_t late = command({0, 0, 0, 0, 0, 0}, 2);
    run();
    auto used = requests.pop_used();
    ASSERT_TRUE(used);
    EXPECT_EQ(response_at(late).response, response::kBadTarget);
    held->release_all();
    run();
    ASSERT_TRUE(requests.pop_used());
    EXPECT_NE(response_at(resp).response, 0xff);
    EXPECT_TRUE(removed);
    EXPECT_FALSE(device->has_target(0));
}

}  // namespace
}  // namespace vhostd::virtio_scsi
