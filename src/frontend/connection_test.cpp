// Tests for Connection over a socketpair, with a scripted back-end on the other end.
#include "frontend/connection.hpp"

#include <thread>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vhostd::frontend {
namespace {

namespace vu = vhost_user;

struct Pair {
    Pair() {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        Connection::Options options;
        options.timeout = std::chrono::milliseconds(2000);
        front = std::make_unique<Connection>(Connection::adopt(UniqueFd(sv[0]), options));
        back = std::make_unique<Connection>(Connection::adopt(UniqueFd(sv[1]), options));
    }
    std::unique_ptr<Connection> front;
    std::unique_ptr<Connection> back;  // plays the back-end with the raw API
};

void reply_u64(Connection& back, vu::Request request, uint64_t value) {
    ASSERT_TRUE(
        back.send(request, vu::kVersion | vu::kFlagReply, std::as_bytes(std::span(&value, 1))));
}

TEST(Connection, CallReturnsTheReply) {
    Pair p;
    std::thread server([&] {
        auto msg = p.back->receive();
        ASSERT_TRUE(msg);
        EXPECT_EQ(msg->header.request, static_cast<uint32_t>(vu::Request::get_features));
        EXPECT_EQ(msg->header.flags, vu::kVersion);
        EXPECT_EQ(msg->header.size, 0U);
        reply_u64(*p.back, vu::Request::get_features, 0x1234);
    });
    auto features = p.front->call_u64(vu::Request::get_features);
    server.join();
    ASSERT_TRUE(features) << features.error().describe();
    EXPECT_EQ(*features, 0x1234U);
}

TEST(Connection, FdsTravelWithTheMessage) {
    Pair p;
    UniqueFd memfd(::memfd_create("t", MFD_CLOEXEC));
    ASSERT_TRUE(memfd);
    ASSERT_EQ(::write(memfd.get(), "hello", 5), 5);
    const int fds[2] = {memfd.get(), memfd.get()};
    ASSERT_TRUE(p.front->request_with(vu::Request::set_vring_kick, uint64_t{3}, fds));
    auto msg = p.back->receive();
    ASSERT_TRUE(msg);
    EXPECT_EQ(msg->as<uint64_t>().value(), 3U);
    ASSERT_EQ(msg->fds.size(), 2U);
    char buf[5];
    ASSERT_EQ(::pread(msg->fds[1].get(), buf, 5, 0), 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
}

TEST(Connection, ReplyAckIsRequestedAndChecked) {
    Pair p;
    p.front->set_reply_ack(true);
    std::thread server([&] {
        for (uint64_t ack : {0, 1}) {
            auto msg = p.back->receive();
            ASSERT_TRUE(msg);
            EXPECT_EQ(msg->header.flags, vu::kVersion | vu::kFlagNeedReply);
            reply_u64(*p.back, vu::Request::set_owner, ack);
        }
    });
    EXPECT_TRUE(p.front->request(vu::Request::set_owner));
    auto nack = p.front->request(vu::Request::set_owner);
    server.join();
    ASSERT_FALSE(nack);
    EXPECT_EQ(nack.error().code, EIO);
}

TEST(Connection, MismatchedRepliesAreProtocolErrors) {
    Pair p;
    std::thread server([&] {
        ASSERT_TRUE(p.back->receive());
        reply_u64(*p.back, vu::Request::get_queue_num, 1);  // wrong request code
        ASSERT_TRUE(p.back->receive());
        const uint64_t v = 1;
        ASSERT_TRUE(p.back->send(vu::Request::get_features, vu::kVersion,  // no REPLY flag
                                 std::as_bytes(std::span(&v, 1))));
        ASSERT_TRUE(p.back->receive());
        const uint32_t small = 1;
        ASSERT_TRUE(p.back->send(vu::Request::get_features, vu::kVersion | vu::kFlagReply,
                                 std::as_bytes(std::span(&small, 1))));
    });
    EXPECT_EQ(p.front->call_u64(vu::Request::get_features).error().code, EPROTO);
    EXPECT_EQ(p.front->call_u64(vu::Request::get_features).error().code, EPROTO);
    EXPECT_EQ(p.front->call_u64(vu::Request::get_features).error().code, EPROTO);
    server.join();
}

TEST(Connection, OversizedReplyClosesTheConnection) {
    Pair p;
    const vu::MessageHeader header{1, vu::kVersion | vu::kFlagReply, 1 << 20};
    ASSERT_TRUE(p.back->send_bytes(std::as_bytes(std::span(&header, 1))));
    EXPECT_EQ(p.front->receive_reply(vu::Request::get_features).error().code, EPROTO);
    EXPECT_FALSE(p.front->connected());
}

TEST(Connection, SilentBackEndTimesOut) {
    Connection::Options options;
    options.timeout = std::chrono::milliseconds(20);
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    UniqueFd peer(sv[1]);
    Connection c = Connection::adopt(UniqueFd(sv[0]), options);
    auto r = c.call_u64(vu::Request::get_features);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ETIMEDOUT);
}

TEST(Connection, ClosedBackEndFailsTheCall) {
    Pair p;
    p.back->close();
    auto r = p.front->call_u64(vu::Request::get_features);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().code == ECONNRESET || r.error().code == EPIPE) << r.error().describe();
}

TEST(Connection, WaitClosedSeesEof) {
    Pair p;
    EXPECT_EQ(p.front->wait_closed(std::chrono::milliseconds(10)).error().code, ETIMEDOUT);
    p.back->close();
    EXPECT_TRUE(p.front->wait_closed(std::chrono::milliseconds(1000)));
    EXPECT_FALSE(p.front->connected());
}

TEST(Connection, ConnectGivesUpOnAMissingSocket) {
    Connection::Options options;
    options.connect_timeout = std::chrono::milliseconds(30);
    auto r = Connection::connect("/nonexistent/vhostd-test.sock", options);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(Connection::connect(std::string(200, 'x'), options).error().code, ENAMETOOLONG);
}

}  // namespace
}  // namespace vhostd::frontend
