// FramedReader and the fd transfer under a toy policy (a one-byte header holding the payload
// size): framing, a payload bound the policy does not enforce itself, fds beyond the limit
// closed and reported to the policy, EOF mid-message.
#include "uds/framed_reader.hpp"

#include <array>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>

#include "support/socket_support.hpp"

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

void send_piece(const testing::SocketPair& p, std::vector<uint8_t> bytes,
                std::vector<int> fds = {}) {
    ASSERT_TRUE(testing::send_bytes(p.peer.get(), std::as_bytes(std::span(bytes)), fds));
}

UniqueFd some_fd() {
    return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

TEST(UdsFramedReader, ReassemblesMessagesSentInPieces) {
    testing::SocketPair p;
    Reader reader;
    ToyMessage out;
    EXPECT_EQ(reader.read(p.ours.get(), out), ReadStatus::would_block);
    send_piece(p, {3, 'a'});
    EXPECT_EQ(reader.read(p.ours.get(), out), ReadStatus::would_block);
    EXPECT_TRUE(reader.mid_message());
    auto fd = some_fd();
    send_piece(p, {'b', 'c', 0}, {fd.get()});  // the next (empty) message follows at once
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
        testing::SocketPair p;
        Reader reader;
        ToyMessage out;
        send_piece(p, {header});
        EXPECT_FALSE(reader.read(p.ours.get(), out).has_value());
    }
}

TEST(UdsFramedReader, FdsBeyondTheLimitAreClosedAndReported) {
    testing::SocketPair p;
    Reader reader;
    ToyMessage out;
    auto a = some_fd();
    auto b = some_fd();
    auto c = some_fd();
    send_piece(p, {1}, {a.get(), b.get()});
    send_piece(p, {'x'}, {c.get()});  // a second piece of the same message, one fd too many
    ASSERT_EQ(reader.read(p.ours.get(), out), ReadStatus::message);
    EXPECT_EQ(out.fds.size(), 2U);
    EXPECT_TRUE(out.fds_truncated);
}

TEST(UdsFramedReader, EofMidMessageDropsIt) {
    testing::SocketPair p;
    Reader reader;
    ToyMessage out;
    auto fd = some_fd();
    send_piece(p, {4, 'a'}, {fd.get()});
    p.peer.reset();
    EXPECT_EQ(reader.read(p.ours.get(), out), ReadStatus::closed);
    EXPECT_FALSE(reader.mid_message());
}

}  // namespace
}  // namespace vhostd::uds
