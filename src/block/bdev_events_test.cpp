// Bdev health and events: a failed bdev answers every request with io_error at once (never
// inline), recovers, and a removed one answers aborted for good; listeners hear each change
// once; a backend that opens its channels asynchronously delivers them later.
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "block/backends/null/null_bdev.hpp"
#include "block/bdev.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/deferred_channel.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;

struct Sink final : IoCompletion {
    std::vector<IoStatus> statuses;
    bool in_submit = false;
    int inline_completions = 0;
    void io_complete(IoRequest& r) noexcept override {
        inline_completions += in_submit ? 1 : 0;
        statuses.push_back(r.status);
    }
};

class BdevEventsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        bdev_ = *bdev_null_create({"Null0", 1024, 512, {}});
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
        channel_ = std::move(*open_channel_now(*bdev_, *reactor_));
        token_ = bdev_->add_listener([this](Bdev&, BdevEvent e) { events_.push_back(e); });
    }
    void TearDown() override { channel_.reset(); }

    IoStatus read_one() {
        IoRequest r{.type = IoType::read,
                    .offset = 0,
                    .length = 512,
                    .iov = &iov_,
                    .iovcnt = 1,
                    .completion = &sink_};
        const size_t before = sink_.statuses.size();
        sink_.in_submit = true;
        channel_->submit(r);
        sink_.in_submit = false;
        for (int i = 0; i < 100 && sink_.statuses.size() == before; ++i) {
            reactor_->run_once();
        }
        EXPECT_EQ(sink_.inline_completions, 0);
        return sink_.statuses.size() > before ? sink_.statuses.back() : IoStatus::success;
    }

    std::shared_ptr<Bdev> bdev_;
    std::unique_ptr<reactor::Reactor> reactor_;
    std::unique_ptr<IoChannel> channel_;
    std::vector<BdevEvent> events_;
    uint64_t token_ = 0;
    Sink sink_;
    uint8_t buffer_[512]{};
    iovec iov_{buffer_, sizeof(buffer_)};
};

TEST_F(BdevEventsTest, FailedBdevAnswersIoErrorUntilItRecovers) {
    EXPECT_EQ(read_one(), IoStatus::success);
    BdevModuleAccess::report(*bdev_, BdevEvent::failed);
    EXPECT_EQ(bdev_->state(), BdevState::failed);
    EXPECT_EQ(read_one(), IoStatus::io_error);
    BdevModuleAccess::report(*bdev_, BdevEvent::failed);  // no change: not repeated
    BdevModuleAccess::report(*bdev_, BdevEvent::recovered);
    EXPECT_EQ(bdev_->state(), BdevState::online);
    EXPECT_EQ(read_one(), IoStatus::success);
    EXPECT_EQ(events_, (std::vector<BdevEvent>{BdevEvent::failed, BdevEvent::recovered}));
    const stats::IoStats s = bdev_->stats().snapshot();
    EXPECT_EQ(s.errors[static_cast<size_t>(IoStatus::io_error)], 1U);
}

TEST_F(BdevEventsTest, RemovalIsFinal) {
    BdevModuleAccess::report(*bdev_, BdevEvent::removed);
    EXPECT_EQ(read_one(), IoStatus::aborted);
    BdevModuleAccess::report(*bdev_, BdevEvent::recovered);
    EXPECT_EQ(bdev_->state(), BdevState::removed);
    EXPECT_EQ(read_one(), IoStatus::aborted);
    EXPECT_EQ(events_, (std::vector<BdevEvent>{BdevEvent::removed}));
}

TEST_F(BdevEventsTest, ListenersHearResizesAndMayRemoveThemselves) {
    std::vector<uint64_t> sizes;
    uint64_t self = 0;
    self = bdev_->add_listener([&](Bdev& b, BdevEvent e) {
        if (e == BdevEvent::resized) {
            sizes.push_back(b.num_blocks());
            b.remove_listener(self);
        }
    });
    ASSERT_TRUE(bdev_null_resize(*bdev_, 1).has_value());  // 1 MiB = 2048 blocks
    ASSERT_TRUE(bdev_null_resize(*bdev_, 2).has_value());
    EXPECT_EQ(sizes, (std::vector<uint64_t>{2048}));
    EXPECT_EQ(events_, (std::vector<BdevEvent>{BdevEvent::resized, BdevEvent::resized}));
    bdev_->remove_listener(token_);
    ASSERT_TRUE(bdev_null_resize(*bdev_, 3).has_value());
    EXPECT_EQ(events_.size(), 2U);
}

// A backend whose channels arrive on a later reactor iteration (a network round trip).
class LateBackend final : public BdevBackend {
  public:
    [[nodiscard]] std::string_view driver() const override { return "late"; }
    void open_channel(reactor::Reactor& reactor, BackendChannelOpened done) override {
        reactor.post([&reactor, this, done = std::move(done)]() mutable {
            if (fail) {
                done(make_error(ECONNREFUSED, "storage unreachable"));
                return;
            }
            done(std::unique_ptr<BackendChannel>(std::make_unique<Channel>(reactor, bdev())));
        });
    }
    [[nodiscard]] nlohmann::json describe() const override { return geometry_params(bdev()); }
    bool fail = false;

  private:
    struct Channel final : DeferredChannel {
        using DeferredChannel::DeferredChannel;
        IoStatus execute(IoRequest&) noexcept override { return IoStatus::success; }
    };
};

TEST(BdevOpen, AsynchronousBackendsDeliverTheirChannelLater) {
    auto backend = std::make_unique<LateBackend>();
    LateBackend* late = backend.get();
    auto bdev = make_bdev(BdevInit{.name = "Late0", .num_blocks = 8}, std::move(backend));
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    auto reactor = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));

    auto now = open_channel_now(**bdev, *reactor);
    ASSERT_FALSE(now.has_value());
    EXPECT_EQ(now.error().code, EWOULDBLOCK);
    reactor->run_once();  // the late channel is delivered into the void and dropped

    std::unique_ptr<IoChannel> channel;
    open_channel(**bdev, *reactor, [&](Result<std::unique_ptr<IoChannel>> c) {
        ASSERT_TRUE(c.has_value());
        channel = std::move(*c);
    });
    EXPECT_EQ(channel, nullptr);
    reactor->run_once();
    ASSERT_NE(channel, nullptr);

    late->fail = true;
    std::optional<Error> error;
    open_channel(**bdev, *reactor, [&](Result<std::unique_ptr<IoChannel>> c) {
        ASSERT_FALSE(c.has_value());
        error = c.error();
    });
    reactor->run_once();
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code, ECONNREFUSED);
    channel.reset();
}

}  // namespace
}  // namespace vhostd::block
