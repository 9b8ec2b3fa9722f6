// MessageReader/MessageWriter over a real unix socketpair: whole and dribbled messages, fds
// attached to any byte, header violations, too many fds, EOF mid-message, large writes, and
// replies whose fds must arrive with their own first byte even when the socket is full.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "base/event_fd.hpp"
#include "support/vfio_user_fakes.hpp"
#include "vfio_user/message_reader.hpp"
#include "vfio_user/message_writer.hpp"

namespace vhostd::vfio_user {
namespace {

using testing::count_open_fds;
using testing::encode;
using testing::make_command;
using testing::make_command_with;
using testing::send_bytes;
using Status = MessageReader::Status;

using vhostd::testing::SocketPair;

std::vector<UniqueFd> eventfds(size_t n) {
    std::vector<UniqueFd> fds;
    for (size_t i = 0; i < n; ++i) {
        fds.push_back(std::move(*make_event_fd()));
    }
    return fds;
}

std::vector<int> raw(const std::vector<UniqueFd>& fds) {
    std::vector<int> out;
    for (const auto& fd : fds) {
        out.push_back(fd.get());
    }
    return out;
}

Header header(uint32_t msg_size, uint32_t flags = kTypeCommand) {
    return Header{1, static_cast<uint16_t>(Command::device_get_info), msg_size, flags, 0};
}

TEST(VfioUserMessageReader, ReadsAWholeCommandWithItsFds) {
    SocketPair p;
    MessageReader reader;
    Message out;
    EXPECT_EQ(reader.read(p.ours.get(), out), Status::would_block);
    auto fds = eventfds(2);
    const auto m = make_command_with(Command::device_set_irqs, IrqSet{20, 0, 2, 0, 2}, {}, 0, 99);
    ASSERT_TRUE(send_bytes(p.peer.get(), encode(m), raw(fds)));
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.command(), Command::device_set_irqs);
    EXPECT_EQ(out.header.msg_id, 99);
    EXPECT_EQ(out.payload.size(), sizeof(IrqSet));
    ASSERT_EQ(out.fds.size(), 2U);
    EXPECT_FALSE(out.fds_truncated);
    EXPECT_TRUE(::fcntl(out.fds[0].get(), F_GETFD) & FD_CLOEXEC);
    EXPECT_EQ(reader.read(p.ours.get(), out), Status::would_block);
}

TEST(VfioUserMessageReader, ReassemblesACommandSentByteByByte) {
    for (size_t fd_byte : {0UL, 7UL, 16UL, 30UL}) {
        SCOPED_TRACE(fd_byte);
        SocketPair p;
        MessageReader reader;
        auto fd = eventfds(1);
        const auto bytes = encode(make_command_with(Command::dma_map, DmaMap{32, 3, 0, 0, 4096}));
        Message out;
        for (size_t i = 0; i < bytes.size(); ++i) {
            const auto fds = i == fd_byte ? raw(fd) : std::vector<int>{};
            ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).subspan(i, 1), fds));
            const auto status = reader.read(p.ours.get(), out);
            ASSERT_TRUE(status);
            if (i + 1 < bytes.size()) {
                EXPECT_EQ(*status, Status::would_block);
                EXPECT_TRUE(reader.mid_message());
            } else {
                EXPECT_EQ(*status, Status::message);
            }
        }
        EXPECT_EQ(out.command(), Command::dma_map);
        EXPECT_EQ(out.fds.size(), 1U);
        EXPECT_FALSE(reader.mid_message());
    }
}

TEST(VfioUserMessageReader, FdsStayWithTheirOwnMessage) {
    SocketPair p;
    MessageReader reader;
    const auto first = encode(make_command(Command::device_reset));
    const auto second = encode(make_command(Command::device_reset, {}, {}, 0, 8));
    auto fd = eventfds(1);
    ASSERT_TRUE(send_bytes(p.peer.get(), first));
    ASSERT_TRUE(send_bytes(p.peer.get(), second, raw(fd)));
    Message out;
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.header.msg_id, 7);
    EXPECT_TRUE(out.fds.empty());
    ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
    EXPECT_EQ(out.header.msg_id, 8);
    EXPECT_EQ(out.fds.size(), 1U);
}

TEST(VfioUserMessageReader, HeadersThatLoseTheFramingAreErrors) {
    const std::vector<Header> bad = {
        header(0),
        header(15),
        header(static_cast<uint32_t>(kMaxMessageSize + 1)),
        header(0xffffffff),
        header(16, kTypeReply),
        header(16, 5),
    };
    for (const Header& h : bad) {
        SocketPair p;
        MessageReader reader;
        ASSERT_TRUE(send_bytes(p.peer.get(), std::as_bytes(std::span(&h, 1))));
        Message out;
        const auto status = reader.read(p.ours.get(), out);
        ASSERT_FALSE(status) << h.msg_size << " " << h.flags;
        EXPECT_EQ(status.error().code, EPROTO);
    }
}

TEST(VfioUserMessageReader, TheLargestWriteIsAccepted) {
    SocketPair p;
    MessageReader reader;
    std::vector<std::byte> payload(sizeof(RegionAccess) + kMaxDataXferSize);
    const RegionAccess access{0, 0, kMaxDataXferSize};
    std::memcpy(payload.data(), &access, sizeof(access));
    const auto bytes = encode(make_command(Command::region_write, payload));
    ASSERT_EQ(bytes.size(), kMaxMessageSize);
    size_t sent = 0;
    Message out;
    Result<Status> status = Status::would_block;
    // The socket buffer is smaller than the message: alternate writing and reading.
    while (*status != Status::message) {
        const size_t n = std::min<size_t>(64 * 1024, bytes.size() - sent);
        if (n != 0) {
            ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).subspan(sent, n)));
            sent += n;
        }
        status = reader.read(p.ours.get(), out);
        ASSERT_TRUE(status);
        ASSERT_TRUE(n != 0 || *status == Status::message);
    }
    EXPECT_EQ(out.payload.size(), payload.size());
}

TEST(VfioUserMessageReader, FdsBeyondTheLimitAreClosedAndTheMessageMarked) {
    const size_t before = count_open_fds();
    {
        SocketPair p;
        MessageReader reader;
        auto fds = eventfds(kMaxMsgFds + 1);
        ASSERT_TRUE(
            send_bytes(p.peer.get(), encode(make_command(Command::device_reset)), raw(fds)));
        Message out;
        ASSERT_EQ(reader.read(p.ours.get(), out), Status::message);
        EXPECT_TRUE(out.fds_truncated);
        EXPECT_EQ(out.fds.size(), kMaxMsgFds);
        // The same over several pieces of one message.
        const auto bytes = encode(make_command_with(Command::device_reset, uint64_t{0}));
        auto more = eventfds(10);
        ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).first(8), raw(more)));
        ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).subspan(8), raw(more)));
        Message second;
        ASSERT_EQ(reader.read(p.ours.get(), second), Status::message);
        EXPECT_TRUE(second.fds_truncated);
        EXPECT_EQ(second.fds.size(), kMaxMsgFds);
    }
    EXPECT_EQ(count_open_fds(), before);
}

TEST(VfioUserMessageReader, EofMidMessageDropsItAndItsFds) {
    const size_t before = count_open_fds();
    for (size_t cut : {3UL, 16UL, 20UL}) {
        SocketPair p;
        MessageReader reader;
        auto fd = eventfds(1);
        const auto bytes = encode(make_command_with(Command::dma_map, DmaMap{32, 3, 0, 0, 4096}));
        ASSERT_TRUE(send_bytes(p.peer.get(), std::span(bytes).first(cut), raw(fd)));
        p.peer.reset();
        Message out;
        EXPECT_EQ(reader.read(p.ours.get(), out), Status::closed);
        EXPECT_FALSE(reader.mid_message());
    }
    EXPECT_EQ(count_open_fds(), before);
}

// Reads one message as QEMU does: recvmsg of the 16-byte header (which brings the fds), then
// the payload.
Message client_read(int fd) {
    Message m;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
    iovec iov{&m.header, sizeof(Header)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    EXPECT_EQ(::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL),
              static_cast<ssize_t>(sizeof(Header)));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int received;
            std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            m.fds.emplace_back(received);
        }
    }
    m.payload.resize(m.header.msg_size - sizeof(Header));
    if (!m.payload.empty()) {
        EXPECT_EQ(::recv(fd, m.payload.data(), m.payload.size(), MSG_WAITALL),
                  static_cast<ssize_t>(m.payload.size()));
    }
    return m;
}

TEST(VfioUserMessageWriter, EachReplysFdsArriveWithItsHeader) {
    SocketPair p;
    MessageWriter writer;
    const Header request = header(16);
    Reply plain;
    plain.append(uint64_t{1});
    writer.enqueue(make_reply(request, std::move(plain)));
    Reply with_fd;
    with_fd.append(uint32_t{2});
    with_fd.fds = eventfds(1);
    writer.enqueue(make_reply(request, std::move(with_fd)));
    writer.enqueue(make_error_reply(request, ENOENT));
    ASSERT_TRUE(writer.flush(p.ours.get()));
    EXPECT_FALSE(writer.pending());

    const Message first = client_read(p.peer.get());
    EXPECT_EQ(first.header.flags, kTypeReply);
    EXPECT_EQ(first.payload.size(), 8U);
    EXPECT_TRUE(first.fds.empty());
    const Message second = client_read(p.peer.get());
    EXPECT_EQ(second.payload.size(), 4U);
    EXPECT_EQ(second.fds.size(), 1U);
    const Message third = client_read(p.peer.get());
    EXPECT_EQ(third.header.flags, kTypeReply | kFlagError);
    EXPECT_EQ(third.header.error_no, static_cast<uint32_t>(ENOENT));
    EXPECT_EQ(third.header.msg_size, sizeof(Header));
}

TEST(VfioUserMessageWriter, KeepsWhatTheSocketCannotTakeAndItsFds) {
    SocketPair p;
    MessageWriter writer;
    const Header request = header(16);
    constexpr int kReplies = 64;
    for (int i = 0; i < kReplies; ++i) {
        Reply reply;
        reply.body.resize(16 * 1024);
        if (i % 3 == 0) {
            reply.fds = eventfds(1);
        }
        writer.enqueue(make_reply(request, std::move(reply)));
    }
    ASSERT_TRUE(writer.flush(p.ours.get()));
    EXPECT_TRUE(writer.pending());  // 1 MiB does not fit in a socket buffer
    for (int i = 0; i < kReplies; ++i) {
        const Message m = client_read(p.peer.get());
        EXPECT_EQ(m.payload.size(), 16U * 1024);
        EXPECT_EQ(m.fds.size(), i % 3 == 0 ? 1U : 0U) << i;
        ASSERT_TRUE(writer.flush(p.ours.get()));
    }
    EXPECT_FALSE(writer.pending());
}

}  // namespace
}  // namespace vhostd::vfio_user
