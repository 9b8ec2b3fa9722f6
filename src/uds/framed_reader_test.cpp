// FramedReader and the fd transfer under a toy policy (a one-byte header holding the payload
// size): framing, a payload bound the policy does not enforce itself, fds beyond the limit
// closed and reported to the policy, EOF mid-message.
#include "uds/framed_reader.hpp"

#include <array>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uds/fd_transfer.hpp"

namespace vhostd::uds {
namespace {

struct ToyMessage {
    uint8_t header = 0;  // payload size
    std::array<std::byte, 8> payload{};
    std::vector<UniqueFd> fds;
    bool fds_truncated = false;
};

struct ToyFraming {
    using Message = ToyMessage;
    static constexpr size_t kMaxFds = 2;
    static constexpr size_t kMaxPayload = 8;
    static constexpr std::string_view kSocket = "toy socket";
    static Result<size_t> payload_size(const uint8_t& header) {
        if (header == 0xff) {
            return make_error(EPROTO, "bad header");
        }
        return header;  // sizes above 8 are left to the reader's own bound
    }
    static std::span<std::byte> payload_buffer(Message& m, size_t size) {
        return std::span(m.payload).first(size);
    }
    static Result<void> fds_truncated(Message& m) {
        m.fds_truncated = true;
        return {};
    }
};

using Reader = FramedReader<ToyFraming>;

struct SocketPair {
    UniqueFd peer;  // blocking
    UniqueFd ours;  // non-blocking
    SocketPair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        peer.reset(fds[0]);
        ours.reset(fds[1]);
        ::fcntl(ours.get(), F_SETFL, O_NONBLOCK);
    }
    void send(std::vector<uint8_t> bytes, std::vector<int> fds = {}) const {
        const auto data = std::as_bytes(std::span(bytes));
        ASSERT_EQ(send_with_fds(peer.get(), data, fds), static_cast<ssize_t>(bytes.size()));
    }
};

UniqueFd some_fd() {
    return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

TEST(UdsFramedReader, ReassemblesMessagesSentInPieces) {
    SocketPair p;
    Reader reader;
    ToyMessage out;
    EXPECT_EQ(reader.read(p.ours.get(), out), ReadStatus::would_block);
    p.send({3, 'a'});
    EXPECT_EQ(reader.read(p.ours.get(), out), ReadStatus::would_block);
    EXPECT_TRUE(reader.mid_message());
    auto fd = some_fd();
    p.send({'b', 'c', 0}, {fd.get()});  // the next (empty) message follows at once
    ASSERT_EQ(reader.read(p.ours.get(), out), ReadStatus::message);
    EXPECT_EQ(out.header, 3);
    EXPECT_EQ(std::memcmp(out.payload.data(), "abc", 3), 0);
    EXPECT_EQ(out.fds.size(), 1U);
    ASSERT_EQ(reader.read(p.ours.get(), out), ReadStatus::message);
    EXPECT_EQ(out.header, 0);
    EXPECT_TRUE(out.fds.empty());
    EXPECT_FALSE(reader.mid_message());
}

TEST(UdsFramedReader, HeadersThePolicyRefusesOrThatExceedTheBoundAreErrors) {
    for (uint8_t header : {uint8_t{0xff}, uint8_t{9}}) {
        SocketPair p;
        Reader reader;
        ToyMessage out;
        p.send({header});
        EXPECT_FALSE(reader.read(p.ours.get(), out).has_value());
    }
}

TEST(UdsFramedReader, FdsBeyondTheLimitAreClosedAndReported) {
    SocketPair p;
    Reader reader;
    ToyMessage out;
    auto a = some_fd();
    auto b = some_fd();
    auto c = some_fd();
    p.send({1}, {a.get(), b.get()});
    p.send({'x'}, {c.get()});  // a second piece of the same message, one fd too many
    ASSERT_EQ(reader.read(p.ours.get(), out), ReadStatus::message);
    EXPECT_EQ(out.fds.size(), 2U);
    EXPECT_TRUE(out.fds_truncated);
}

TEST(UdsFramedReader, EofMidMessageDropsIt) {
    SocketPair p;
    Reader reader;
    ToyMessage out;
    auto fd = some_fd();
    p.send({4, 'a'}, {fd.get()});
    p.peer.reset();
    EXPECT_EQ(reader.read(p.ours.get(), out), ReadStatus::closed);
    EXPECT_FALSE(reader.mid_message());
}

}  // namespace
}  // namespace vhostd::uds
