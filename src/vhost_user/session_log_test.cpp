// Session: dirty logging for live migration: SET_LOG_BASE (checked sizes, the reply QEMU
// waits for, hostile descriptions refused), SET_LOG_FD, and LOG_ALL / VHOST_VRING_F_LOG
// turned on and off on running rings (restarted with or without the log).
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "support/session_fixture.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::make_memfd;
using testing::make_request;
using testing::make_request_with;
using virtio::bit;

class SessionLogTest : public testing::SessionFixture {
  protected:
    // kRamSize (1 MiB) at gpa 0 needs 256 bits: 32 bytes of log.
    static constexpr uint64_t kLogBytes = 4096;  // covers 128 MiB

    Session::Response set_log_base(uint64_t size, uint64_t offset, uint64_t file_size) {
        std::vector<UniqueFd> fds;
        fds.push_back(make_memfd(file_size));
        return call(
            make_request_with(Request::set_log_base, LogDescription{size, offset}, std::move(fds)));
    }
    static void expect_log_reply(const Session::Response& r) {
        ASSERT_FALSE(r.close);
        ASSERT_TRUE(r.reply.has_value());
        EXPECT_EQ(r.reply->header.request, static_cast<uint32_t>(Request::set_log_base));
        EXPECT_EQ(r.reply->header.flags, kVersion | kFlagReply);
    }
    // SET_FEATURES with LOG_ALL on or off; completes once the running rings restarted.
    void set_log_all(bool on) {
        uint64_t features = session->acked_features() & ~bit(kFeatureLogAll);
        if (on) {
            features |= bit(kFeatureLogAll);
        }
        auto pending =
            send(make_request_with(Request::set_features, features, {}, kVersion | kFlagNeedReply));
        queues.complete_stops();
        ASSERT_TRUE(pending->completed);
        expect_ok(pending->response);
    }
    void set_used_logging(uint16_t i, bool on, uint64_t log_gpa) {
        auto pending = send(make_request_with(
            Request::set_vring_addr,
            VringAddr{i, on ? kVringFlagLog : 0, desc_uva(i), used_uva(i), avail_uva(i), log_gpa},
            {}, kVersion | kFlagNeedReply));
        queues.complete_stops();
        ASSERT_TRUE(pending->completed);
        expect_ok(pending->response);
    }
    // The guest-physical address of ring i's used ring (RAM is at gpa 0).
    static uint64_t used_gpa(uint16_t i) { return used_uva(i) - kUva; }
};

TEST_F(SessionLogTest, OffersLogAllAndLogShmfd) {
    EXPECT_NE(reply_u64(call_empty(Request::get_features)) & bit(kFeatureLogAll), 0U);
    EXPECT_NE(Session::offered_protocol_features() & bit(protocol_feature::kLogShmfd), 0U);
}

TEST_F(SessionLogTest, SetLogBaseMapsTheLogAndReplies) {
    negotiate();
    expect_ok(set_memory());
    // QEMU waits for a reply to SET_LOG_BASE (without NEED_REPLY) and checks its request code.
    expect_log_reply(set_log_base(kLogBytes, 0, kLogBytes));
    ASSERT_NE(session->log(), nullptr);
    EXPECT_EQ(session->log()->size(), kLogBytes);
    // Exactly enough for the memory, at an offset: fine too.
    expect_log_reply(set_log_base(32, 4096, 8192));
    EXPECT_EQ(session->log()->size(), 32U);
}

TEST_F(SessionLogTest, HostileLogDescriptionsAreRefused) {
    negotiate();
    expect_ok(set_memory());
    struct Case {
        uint64_t size, offset, file;
        const char* what;
    };
    const Case cases[] = {
        {24, 0, 4096, "too small for the guest memory (1 MiB needs 32 bytes)"},
        {0, 0, 4096, "empty"},
        {4096, 4096, 4096, "offset at the end of the file"},
        {64, 8192, 4096, "offset past the end of the file"},
        {4096, 8, 4096, "runs past the end of the file"},
        {UINT64_MAX - 7, 16, 4096, "size wraps with the offset"},
        {64, UINT64_MAX - 15, 4096, "offset wraps with the size"},
        {uint64_t{1} << 40, 0, 4096, "huge"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        // No ack to carry the failure (the reply is the request's own): the connection closes.
        expect_closed(set_log_base(c.size, c.offset, c.file));
        EXPECT_EQ(session->log(), nullptr);
    }
    // Malformed messages: no fd, two fds, a u64 payload (the kernel-style log address).
    expect_closed(call(make_request_with(Request::set_log_base, LogDescription{64, 0})));
    std::vector<UniqueFd> two;
    two.push_back(make_memfd(4096));
    two.push_back(make_memfd(4096));
    expect_closed(
        call(make_request_with(Request::set_log_base, LogDescription{64, 0}, std::move(two))));
    std::vector<UniqueFd> one;
    one.push_back(make_memfd(4096));
    expect_closed(call(make_request_with(Request::set_log_base, uint64_t{0}, std::move(one))));
    EXPECT_EQ(session->log(), nullptr);
}

TEST_F(SessionLogTest, SetLogBaseNeedsLogShmfd) {
    // Protocol features without LOG_SHMFD: nothing to map.
    auto r = call(make_request_with(Request::set_protocol_features,
                                    uint64_t{bit(protocol_feature::kReplyAck)}));
    ASSERT_FALSE(r.close);
    expect_closed(set_log_base(kLogBytes, 0, kLogBytes));
}

TEST_F(SessionLogTest, SetLogFdTakesAnEventfdOnly) {
    negotiate();
    std::vector<UniqueFd> event;
    event.push_back(std::move(*make_event_fd()));
    expect_ok(
        call(make_request(Request::set_log_fd, {}, std::move(event), kVersion | kFlagNeedReply)));
    std::vector<UniqueFd> memfd;
    memfd.push_back(make_memfd(4096));
    expect_failed(
        call(make_request(Request::set_log_fd, {}, std::move(memfd), kVersion | kFlagNeedReply)));
    expect_failed(call(make_request(Request::set_log_fd, {}, {}, kVersion | kFlagNeedReply)));
}

TEST_F(SessionLogTest, LoggingTurnsOnAndOffOnRunningRings) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).log, nullptr);  // not logging: the queue gets no log

    // QEMU's order (vhost_migration_log): the log, then LOG_ALL, then F_LOG per ring.
    expect_log_reply(set_log_base(kLogBytes, 0, kLogBytes));
    EXPECT_EQ(queues.config(0).log, nullptr);  // a log alone changes nothing
    set_log_all(true);
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).log, session->log());
    EXPECT_FALSE(queues.config(0).used_log_gpa.has_value());
    EXPECT_EQ(queues.config(0).features & bit(kFeatureLogAll), 0U);  // a transport bit
    EXPECT_EQ(device.driver_features_ & bit(kFeatureLogAll), 0U);

    set_used_logging(0, true, used_gpa(0));
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).used_log_gpa, used_gpa(0));
    // The same message again changes nothing (no restart).
    const size_t stops = queues.stops.size();
    expect_ok(call_with(
        Request::set_vring_addr,
        VringAddr{0, kVringFlagLog, desc_uva(0), used_uva(0), avail_uva(0), used_gpa(0)}));
    EXPECT_EQ(queues.stops.size(), stops);

    // Migration over (or cancelled): LOG_ALL off, then F_LOG off.
    set_log_all(false);
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).log, nullptr);
    set_used_logging(0, false, used_gpa(0));
    ASSERT_TRUE(queues.running(0));
    EXPECT_FALSE(queues.config(0).used_log_gpa.has_value());
}

TEST_F(SessionLogTest, ANewLogReachesRunningRings) {
    negotiate();
    expect_ok(set_memory());
    setup_ring(0);
    expect_log_reply(set_log_base(kLogBytes, 0, kLogBytes));
    set_log_all(true);
    const auto first = session->log();
    // QEMU resizes the log (vhost_dev_log_resize): the rings restart on the new one.
    auto pending =
        send(make_request_with(Request::set_log_base, LogDescription{2 * kLogBytes, 0}, [] {
            std::vector<UniqueFd> fds;
            fds.push_back(make_memfd(2 * kLogBytes));
            return fds;
        }()));
    EXPECT_FALSE(pending->completed);  // waits for the ring to drain
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    expect_log_reply(pending->response);
    ASSERT_TRUE(queues.running(0));
    EXPECT_NE(session->log(), first);
    EXPECT_EQ(queues.config(0).log, session->log());
}

TEST_F(SessionLogTest, UnderLogAllRingsWaitForALog) {
    negotiate();
    expect_ok(set_memory());
    // LOG_ALL before any log (QEMU's vhost_dev_start during a migration sends the features
    // first): a ring must not run unlogged.
    expect_ok(call_with(Request::set_features, session->acked_features() | bit(kFeatureLogAll)));
    setup_ring(0);
    EXPECT_FALSE(queues.running(0));
    expect_log_reply(set_log_base(kLogBytes, 0, kLogBytes));
    ASSERT_TRUE(queues.running(0));
    EXPECT_EQ(queues.config(0).log, session->log());
}

TEST_F(SessionLogTest, AUsedRingLoggedPastTheLogDoesNotStart) {
    negotiate();
    expect_ok(set_memory());
    expect_log_reply(set_log_base(32, 0, 4096));  // 256 pages: exactly the 1 MiB of RAM
    expect_ok(call_with(Request::set_features, session->acked_features() | bit(kFeatureLogAll)));
    // "Migration": log_guest_addr may lie outside guest memory, but the ring's last byte must
    // have a bit in the log.
    expect_ok(call_with(Request::set_vring_num, VringState{0, kQueueSize}));
    expect_ok(
        call_with(Request::set_vring_addr, VringAddr{0, kVringFlagLog, desc_uva(0), used_uva(0),
                                                     avail_uva(0), (uint64_t{256} << 12) - 8}));
    std::vector<UniqueFd> kick;
    kick.push_back(std::move(*make_event_fd()));
    expect_ok(call_with(Request::set_vring_kick, uint64_t{0}, std::move(kick)));
    // Enabling makes it ready: it cannot start.
    expect_failed(call_with(Request::set_vring_enable, VringState{0, 1}));
    EXPECT_FALSE(queues.running(0));
}

TEST_F(SessionLogTest, TeardownDropsTheLog) {
    negotiate();
    expect_ok(set_memory());
    expect_log_reply(set_log_base(kLogBytes, 0, kLogBytes));
    std::weak_ptr<const guest_memory::DirtyLog> log = session->log();
    bool done = false;
    session->disconnect([&] { done = true; });
    ASSERT_TRUE(done);
    EXPECT_TRUE(log.expired());
}

}  // namespace
}  // namespace vhostd::vhost_user
