// MessageReader/MessageWriter over a real unix socketpair: whole and dribbled messages, fds
// attached to any byte, header violations, too many fds, EOF mid-message, and replies that
// the socket cannot take at once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "base/event_fd.hpp"
#include "support/vhost_user_fakes.hpp"
#include "vhost_user/message_reader.hpp"
#include "vhost_user/message_writer.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::count_open_fds;
using testing::encode;
using testing::make_request;
using testing::make_request_with;
using testing::send_bytes;
using Status = MessageReader::Status;

using vhostd::testing::SocketPair;

TEST(MessageReader, ReadsAWholeMessageWithItsFds) {
    SocketPair p;
    MessageReader reader;
    Message out;
    EXPECT_EQ(reader.read(p.ours.get(), out), Status::would_block);

    auto kick = *make_event_fd();
    const int sent[] = {kick.get()};
    auto m = make_request_with(Request::set_vring_kick, uint64_t{1});
    ASSERT_TRUE(send_bytes(p.peer.get(), encode(m), sent));
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.request(), Request::set_vring_kick);
    EXPECT_EQ(out.payload_u64().value(), 1U);
    ASSERT_EQ(out.fds.size(), 1U);
    EXPECT_NE(out.fds[0].get(), kick.get());
    EXPECT_TRUE(::fcntl(out.fds[0].get(), F_GETFD) & FD_CLOEXEC);
    EXPECT_EQ(reader.read(p.ours.get(), out), Status::would_block);
}

TEST(MessageReader, ReassemblesAMessageSentByteByByte) {
    for (size_t fd_byte : {0UL, 5UL, 12UL, 19UL}) {
        SCOPED_TRACE(fd_byte);
        SocketPair p;
        MessageReader reader;
        auto call = *make_event_fd();
        const int sent[] = {call.get()};
        const auto bytes = encode(make_request_with(Request::set_vring_call, uint64_t{0}));
        ASSERT_EQ(bytes.size(), 20U);
        Message out;
        for (size_t i = 0; i < bytes.size(); ++i) {
            ASSERT_EQ(reader.read(p.ours.get(), out), Status::would_block);
            std::span<const int> fds;
            if (i == fd_byte) {
                fds = sent;
            }
            ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).subspan(i, 1), fds));
            EXPECT_TRUE(i == 0 || reader.mid_message());
        }
        ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
        EXPECT_EQ(out.payload_u64().value(), 0U);
        EXPECT_EQ(out.fds.size(), 1U);
    }
}

TEST(MessageReader, KeepsBackToBackMessagesApartWithTheirOwnFds) {
    SocketPair p;
    auto a = *make_event_fd();
    auto b = *make_event_fd();
    const int fa[] = {a.get()};
    const int fb[] = {b.get(), a.get()};
    ASSERT_TRUE(send_bytes(p.peer.get(), encode(make_request(Request::get_features)), {}));
    ASSERT_TRUE(send_bytes(p.peer.get(),
                           encode(make_request_with(Request::set_vring_kick, uint64_t{0})), fa));
    ASSERT_TRUE(send_bytes(p.peer.get(),
                           encode(make_request_with(Request::set_vring_call, uint64_t{1})), fb));
    MessageReader reader;
    Message out;
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.request(), Request::get_features);
    EXPECT_TRUE(out.fds.empty());
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.request(), Request::set_vring_kick);
    EXPECT_EQ(out.fds.size(), 1U);
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.request(), Request::set_vring_call);
    EXPECT_EQ(out.fds.size(), 2U);
}

TEST(MessageReader, RejectsWrongVersionBits) {
    for (uint32_t flags : {0U, 2U, 3U, kFlagNeedReply}) {
        SocketPair p;
        ASSERT_TRUE(
            send_bytes(p.peer.get(), encode(make_request(Request::get_features, {}, {}, flags))));
        MessageReader reader;
        Message out;
        auto r = reader.read(p.ours.get(), out);
        ASSERT_FALSE(r) << flags;
        EXPECT_EQ(r.error().code, EPROTO);
    }
}

TEST(MessageReader, RejectsOversizedPayloadsFromTheHeaderAlone) {
    SocketPair p;
    MessageHeader header{static_cast<uint32_t>(Request::set_mem_table), kVersion,
                         static_cast<uint32_t>(kMaxPayloadSize + 1)};
    ASSERT_TRUE(send_bytes(p.peer.get(), std::as_bytes(std::span(&header, 1))));
    MessageReader reader;
    Message out;
    auto r = reader.read(p.ours.get(), out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EPROTO);
    header.size = 0xffffffff;
    SocketPair q;
    ASSERT_TRUE(send_bytes(q.peer.get(), std::as_bytes(std::span(&header, 1))));
    MessageReader reader2;
    EXPECT_FALSE(reader2.read(q.ours.get(), out));
}

TEST(MessageReader, RejectsTooManyFdsWithoutLeakingThem) {
    const size_t before = count_open_fds();
    {
        SocketPair p;
        std::vector<UniqueFd> owned;
        std::vector<int> fds;
        for (int i = 0; i < 9; ++i) {
            owned.push_back(*make_event_fd());
            fds.push_back(owned.back().get());
        }
        ASSERT_TRUE(send_bytes(p.peer.get(), encode(make_request(Request::set_mem_table)), fds));
        MessageReader reader;
        Message out;
        auto r = reader.read(p.ours.get(), out);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, EPROTO);
    }
    EXPECT_EQ(count_open_fds(), before);
}

TEST(MessageReader, FdsSpreadOverSeveralPiecesCountTogether) {
    const size_t before = count_open_fds();
    {
        SocketPair p;
        std::vector<UniqueFd> owned;
        std::vector<int> fds;
        for (int i = 0; i < 8; ++i) {
            owned.push_back(*make_event_fd());
            fds.push_back(owned.back().get());
        }
        const auto bytes = encode(make_request_with(Request::set_features, uint64_t{0}));
        ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).first(4), fds));
        MessageReader reader;
        Message out;
        ASSERT_EQ(reader.read(p.ours.get(), out), Status::would_block);
        ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).subspan(4), std::span(fds).first(1)));
        auto r = reader.read(p.ours.get(), out);
        ASSERT_FALSE(r);  // nine in total
    }
    EXPECT_EQ(count_open_fds(), before);
}

TEST(MessageReader, EofMidMessageClosesAndDropsItsFds) {
    const size_t before = count_open_fds();
    {
        SocketPair p;
        auto kick = *make_event_fd();
        const int sent[] = {kick.get()};
        const auto bytes = encode(make_request_with(Request::set_vring_kick, uint64_t{0}));
        ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).first(15), sent));
        p.peer.reset();
        MessageReader reader;
        Message out;
        EXPECT_EQ(reader.read(p.ours.get(), out), Status::closed);
        EXPECT_FALSE(reader.mid_message());
    }
    EXPECT_EQ(count_open_fds(), before);
}

TEST(MessageWriter, BuffersWhatTheSocketCannotTakeAndFlushesLater) {
    SocketPair p;
    int small = 4096;
    ::setsockopt(p.ours.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    MessageWriter writer;
    constexpr int kReplies = 2000;
    for (int i = 0; i < kReplies; ++i) {
        writer.enqueue(Message::reply_u64(Request::get_features, i));
    }
    ASSERT_TRUE(writer.flush(p.ours.get()));
    EXPECT_TRUE(writer.pending());  // the socket buffer is full: no blocking

    std::vector<std::byte> received;
    const size_t total = kReplies * (sizeof(MessageHeader) + 8);
    while (received.size() < total) {
        std::byte buf[4096];
        const ssize_t n = ::recv(p.peer.get(), buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            received.insert(received.end(), buf, buf + n);
        } else {
            ASSERT_TRUE(writer.pending());
            ASSERT_TRUE(writer.flush(p.ours.get()));
        }
    }
    EXPECT_FALSE(writer.pending());
    for (int i = 0; i < kReplies; ++i) {
        MessageHeader h;
        uint64_t v;
        std::memcpy(&h, received.data() + i * 20, 12);
        std::memcpy(&v, received.data() + i * 20 + 12, 8);
        ASSERT_EQ(h.flags, kVersion | kFlagReply);
        ASSERT_EQ(h.size, 8U);
        ASSERT_EQ(v, static_cast<uint64_t>(i));
    }
}

TEST(MessageWriter, ReplyFdsTravelWithTheirMessageOnly) {
    SocketPair p;
    MessageWriter writer;
    writer.enqueue(Message::reply_u64(Request::get_features, 1));
    Message with_fd = Message::reply_u64(Request::get_inflight_fd, 2);
    with_fd.fds.push_back(std::move(*make_event_fd()));
    writer.enqueue(std::move(with_fd));
    writer.enqueue(Message::reply_u64(Request::get_features, 3));
    ASSERT_TRUE(writer.flush(p.ours.get()));
    EXPECT_FALSE(writer.pending());
    // Three messages of 20 bytes; the fd arrives with the second one's first byte.
    for (int i = 0; i < 3; ++i) {
        std::byte buf[20];
        iovec iov{buf, sizeof(buf)};
        alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int) * 4)];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ASSERT_EQ(::recvmsg(p.peer.get(), &msg, MSG_WAITALL), 20);
        const cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        if (i == 1) {
            ASSERT_NE(cmsg, nullptr);
            EXPECT_EQ(cmsg->cmsg_type, SCM_RIGHTS);
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
            EXPECT_TRUE(adopt_peer_event_fd(fd).has_value());
            ::close(fd);
        } else {
            EXPECT_EQ(cmsg, nullptr) << i;
        }
        uint64_t v;
        std::memcpy(&v, buf + 12, 8);
        EXPECT_EQ(v, static_cast<uint64_t>(i + 1));
    }
}

TEST(MessageWriter, ReportsADeadPeer) {
    SocketPair p;
    p.peer.reset();
    MessageWriter writer;
    writer.enqueue(Message::reply_u64(Request::get_features, 1));
    EXPECT_FALSE(writer.flush(p.ours.get()));  // EPIPE, and no SIGPIPE
}

}  // namespace
}  // namespace vhostd::vhost_user
