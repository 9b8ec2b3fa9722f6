// NbdChannel and NbdLink over a fake libnbd (support/fake_nbd_api.hpp): the timeout and
// reconnect rules in the orders a real server produces only by chance. A command with no answer
// fails at the timeout and breaks the connection (no late answer can land); a connection lost
// with commands on the wire fails them, never reports them done; requests that arrive while
// the connection is down wait and go out in arrival order after the reconnect, or fail at the
// timeout if it does not come; error answers fail the request.
#include "block/backends/nbd/nbd_channel.hpp"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "block/backends/null/null_bdev.hpp"
#include "support/fake_nbd_api.hpp"
#include "support/reactor_loop.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::FakeNbdApi;

using Sink = vhostd::testing::DoneList;

class NbdChannelTest : public ::testing::Test {
  protected:
    static constexpr auto kTimeout = 200ms;

    void SetUp() override {
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
        bdev_ = *bdev_null_create(NullParams{.name = "Nbd0", .num_blocks = 131072});
        counters_ = std::make_shared<NbdCounters>();
        NbdChannel::Options options{.link = {.uri = "nbd+unix:///?socket=/fake",
                                             .connect_timeout = 1000ms,
                                             .first_backoff = 10ms,
                                             .max_backoff = 20ms,
                                             .api = api_},
                                    .io_timeout = kTimeout};
        channel_ = std::make_unique<NbdChannel>(*reactor_, *bdev_, std::move(options), counters_);
        ASSERT_TRUE(run_until([&] { return counters_->connected == 1; }));
    }
    void TearDown() override {
        channel_.reset();
        EXPECT_EQ(api_->connects(), api_->closes() + (api_->connected() ? 1 : 0));
    }

    template <typename Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = 5000ms) {
        return vhostd::testing::run_reactor_until(*reactor_, done, limit);
    }
    IoRequest request(IoType type, iovec* iov, uint32_t iovcnt, uint64_t length,
                      uint64_t offset = 0) {
        return vhostd::testing::io_request(type, iov, iovcnt, length, offset, sink_);
    }
    bool finished(size_t n) {
        return run_until([&] { return sink_.done.size() >= n; });
    }

    std::shared_ptr<FakeNbdApi> api_ = std::make_shared<FakeNbdApi>();
    std::unique_ptr<reactor::Reactor> reactor_;
    std::shared_ptr<Bdev> bdev_;
    std::shared_ptr<NbdCounters> counters_;
    std::unique_ptr<NbdChannel> channel_;
    Sink sink_;
    std::vector<uint8_t> buffer_ = std::vector<uint8_t>(4096);
    iovec block_{buffer_.data(), buffer_.size()};  // one 4 KiB buffer for single-piece requests
};

TEST_F(NbdChannelTest, OneCommandPerIovecAndAllAnswersMakeASuccess) {
    std::vector<uint8_t> a(4096), b(512);
    iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    IoRequest r = request(IoType::read, iov, 2, 4608, 8192);
    channel_->submit(r);
    ASSERT_EQ(api_->pending(), 2U);
    EXPECT_EQ(api_->command(0).offset, 8192U);
    EXPECT_EQ(api_->command(1).offset, 8192U + 4096U);
    EXPECT_EQ(counters_->inflight, 2U);
    api_->answer(1);  // out of order: the request is done only when both are
    ASSERT_TRUE(run_until([&] { return api_->pending() == 1; }));
    EXPECT_TRUE(sink_.done.empty());
    api_->answer(0);
    ASSERT_TRUE(finished(1));
    EXPECT_EQ(r.status, IoStatus::success);
    EXPECT_EQ(counters_->inflight, 0U);
}

TEST_F(NbdChannelTest, AnErrorAnswerToOnePieceFailsTheRequest) {
    std::vector<uint8_t> a(4096), b(4096);
    iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    IoRequest r = request(IoType::write, iov, 2, 8192);
    channel_->submit(r);
    ASSERT_EQ(api_->pending(), 2U);
    api_->answer(0);
    api_->answer(1, EIO);
    ASSERT_TRUE(finished(1));
    EXPECT_EQ(r.status, IoStatus::io_error);
}

TEST_F(NbdChannelTest, AnUnansweredCommandFailsAtTheTimeoutAndBreaksTheConnection) {
    IoRequest late = request(IoType::read, &block_, 1, 4096);
    IoRequest answered = request(IoType::read, &block_, 1, 4096, 4096);
    const auto start = Clock::now();
    channel_->submit(late);
    channel_->submit(answered);
    ASSERT_EQ(api_->pending(), 2U);
    api_->answer(1);
    ASSERT_TRUE(finished(1));
    EXPECT_EQ(sink_.done[0], &answered);
    EXPECT_EQ(answered.status, IoStatus::success);
    ASSERT_TRUE(finished(2)) << "no answer, and no timeout either";
    EXPECT_EQ(late.status, IoStatus::io_error);
    EXPECT_GE(Clock::now() - start, kTimeout);
    EXPECT_GE(counters_->timeouts, 1U);
    // The connection was closed (so no late answer can reach the buffer) and comes back.
    EXPECT_GE(api_->closes(), 1U);
    ASSERT_TRUE(run_until([&] { return counters_->connected == 1 && counters_->reconnects == 1; }));
    IoRequest again = request(IoType::read, &block_, 1, 4096);
    channel_->submit(again);
    ASSERT_EQ(api_->pending(), 1U);
    api_->answer(0);
    ASSERT_TRUE(finished(3));
    EXPECT_EQ(again.status, IoStatus::success);
}

TEST_F(NbdChannelTest, ALostConnectionFailsWhatWasOnTheWireNeverReportsItDone) {
    IoRequest w = request(IoType::write, &block_, 1, 4096);
    channel_->submit(w);
    ASSERT_EQ(api_->pending(), 1U);
    api_->drop();
    ASSERT_TRUE(finished(1));
    EXPECT_EQ(w.status, IoStatus::io_error);
    EXPECT_EQ(counters_->inflight, 0U);
}

TEST_F(NbdChannelTest, RequestsWaitingForTheReconnectGoOutInArrivalOrder) {
    api_->connect = FakeNbdApi::Connect::refuse;
    api_->drop();
    ASSERT_TRUE(run_until([&] { return counters_->connected == 0 && api_->connects() >= 3; }))
        << "refused attempts are retried with backoff";
    std::vector<IoRequest> requests;
    requests.reserve(3);
    for (uint64_t i = 0; i < 3; ++i) {
        requests.push_back(request(IoType::write, &block_, 1, 4096, i * 65536));
        channel_->submit(requests.back());
    }
    EXPECT_EQ(counters_->waiting, 3U);
    EXPECT_EQ(api_->pending(), 0U);
    api_->connect = FakeNbdApi::Connect::ok;
    ASSERT_TRUE(run_until([&] { return api_->pending() == 3; }));
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(api_->command(i).kind, 'w');
        EXPECT_EQ(api_->command(i).offset, i * 65536) << "out of arrival order";
    }
    EXPECT_EQ(counters_->waiting, 0U);
    for (size_t i = 0; i < 3; ++i) {
        api_->answer(i);
    }
    ASSERT_TRUE(finished(3));
    for (const IoRequest& r : requests) {
        EXPECT_EQ(r.status, IoStatus::success);
    }
}

TEST_F(NbdChannelTest, RequestsWaitingLongerThanTheTimeoutFailAndAreNeverSent) {
    api_->connect = FakeNbdApi::Connect::hang;
    api_->drop();
    ASSERT_TRUE(run_until([&] { return counters_->connected == 0; }));
    IoRequest r = request(IoType::read, &block_, 1, 4096);
    channel_->submit(r);
    ASSERT_TRUE(finished(1));
    EXPECT_EQ(r.status, IoStatus::io_error);
    EXPECT_EQ(counters_->waiting, 0U);
    EXPECT_GE(counters_->timeouts, 1U);
    api_->connect = FakeNbdApi::Connect::ok;
    ASSERT_TRUE(run_until([&] { return counters_->connected == 1; }))
        << "the hung handshake times out and the next attempt connects";
    EXPECT_EQ(api_->pending(), 0U) << "a failed request was sent after all";
}

}  // namespace
}  // namespace vhostd::block
