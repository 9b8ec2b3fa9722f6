// A hostile client against the server, through raw messages: bad sizes and flags answered with
// errors while the session carries on, framing violations and truncated headers that close
// the connection, too many fds, the wrong kind of fd for interrupts, client memory truncated
// under the device's mapping, messages never finished and handshakes never made. After each,
// the server serves the next client and the fd count is back where it started.
#include <cstring>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "frontend/vfio_user_client.hpp"
#include "support/vfio_user_server_harness.hpp"

namespace vhostd::vfio_user {
namespace {

using namespace std::chrono_literals;
using frontend::VfioUserChannel;
using frontend::VfioUserClient;
using testing::count_open_fds;
using testing::FakeFunction;
using testing::make_memfd;
using testing::ServerHarness;

template <class T>
std::span<const std::byte> bytes_of(const T& value) {
    return std::as_bytes(std::span(&value, 1));
}

// The errno of the reply to a raw command (0: success).
int error_of(VfioUserChannel& channel, Command command, std::span<const std::byte> payload,
             std::span<const int> fds = {}, uint32_t flags = 0) {
    auto id = channel.send(command, payload, fds, flags);
    EXPECT_TRUE(id);
    if (!id) {
        return -1;
    }
    auto reply = channel.receive_reply(command, *id);
    return reply ? 0 : reply.error().code;
}

class VfioUserHostileTest : public ::testing::Test {
  protected:
    void TearDown() override {
        // Whatever happened, the server serves the next client, and nothing leaked.
        auto next = VfioUserClient::connect(h->path());
        ASSERT_TRUE(next) << next.error().describe();
        EXPECT_TRUE(next->device_info());
        next = std::unexpected(Error{});
        EXPECT_TRUE(h->wait_until([&] { return h->server().session() == nullptr; }));
        h->on_reactor([&] { h->function().memory_history.clear(); });
        EXPECT_FALSE(h->on_reactor([&] { return h->function().contract_violated; }));
        EXPECT_EQ(count_open_fds(), baseline);
    }

    Result<VfioUserClient> client() { return VfioUserClient::connect(h->path()); }
    Result<VfioUserChannel> raw() { return VfioUserChannel::connect(h->path(), {}); }

    std::unique_ptr<ServerHarness> h = std::make_unique<ServerHarness>(
        ServerOptions{.handshake_timeout = std::chrono::milliseconds(300)});
    const size_t baseline = count_open_fds();
};

TEST_F(VfioUserHostileTest, BadCommandsGetErrorsAndTheSessionCarriesOn) {
    auto c = client();
    ASSERT_TRUE(c);
    auto& ch = c->channel();
    EXPECT_EQ(error_of(ch, Command::device_get_info, bytes_of(uint32_t{16})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::device_get_region_info, bytes_of(DeviceInfo{32, 0, 0, 0})),
              EINVAL);
    EXPECT_EQ(error_of(ch, Command::device_get_region_info,
                       bytes_of(RegionInfo{32, 0, 0xffffffff, 0, 0, 0})),
              EINVAL);
    EXPECT_EQ(error_of(ch, Command::region_read, bytes_of(RegionAccess{~0ULL - 1, 0, 4})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::region_read, bytes_of(RegionAccess{0, 0, 0xffffffff})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::region_write, bytes_of(RegionAccess{0, 0, 64})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::dma_map, bytes_of(DmaMap{32, 3, 0, 0x1000, 0})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::dma_unmap, bytes_of(DmaUnmap{24, 0, 0x1000, 0x1000})), ENOENT);
    EXPECT_EQ(error_of(ch, Command::device_set_irqs, bytes_of(IrqSet{20, 0xff, 0, 0, 1})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::device_reset, bytes_of(uint8_t{0})), EINVAL);
    EXPECT_EQ(error_of(ch, Command::dma_read, bytes_of(DmaAccess{0, 8})), EINVAL);
    EXPECT_EQ(error_of(ch, static_cast<Command>(77), {}), ENOSYS);
    EXPECT_EQ(error_of(ch, Command::version, bytes_of(Version{0, 0})), EINVAL);  // repeated
    EXPECT_EQ(
        error_of(ch, Command::device_get_info, bytes_of(DeviceInfo{16, 0, 0, 0}), {}, kFlagError),
        EINVAL);
    auto info = c->device_info();
    ASSERT_TRUE(info) << info.error().describe();
    EXPECT_EQ(info->num_regions, 9U);
}

TEST_F(VfioUserHostileTest, PipelinedCommandsAreAnsweredInOrder) {
    auto c = client();
    ASSERT_TRUE(c);
    auto& ch = c->channel();
    std::vector<uint16_t> ids;
    for (int i = 0; i < 20; ++i) {
        const RegionAccess access{static_cast<uint64_t>(4 * i), pci::kConfig, 4};
        auto id = ch.send(Command::region_read, bytes_of(access));
        ASSERT_TRUE(id);
        ids.push_back(*id);
    }
    // A posted write in the middle has no reply but is done before what follows it.
    std::vector<std::byte> write(sizeof(RegionAccess) + 1);
    const RegionAccess w{0x80, pci::kConfig, 1};
    std::memcpy(write.data(), &w, sizeof(w));
    write.back() = std::byte{0x77};
    ASSERT_TRUE(ch.send(Command::region_write, write, {}, kFlagNoReply));
    for (int i = 0; i < 20; ++i) {
        auto reply = ch.receive_reply(Command::region_read, ids[i]);
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->payload[sizeof(RegionAccess)], std::byte(4 * i));
    }
    EXPECT_EQ(c->read32(pci::kConfig, 0x80).value_or(0) & 0xff, 0x77U);
}

TEST_F(VfioUserHostileTest, ACommandBeforeVersionIsRefusedAndTheConnectionClosed) {
    auto ch = raw();
    ASSERT_TRUE(ch);
    EXPECT_EQ(error_of(*ch, Command::device_get_info, bytes_of(DeviceInfo{16, 0, 0, 0})), EINVAL);
    EXPECT_TRUE(ch->wait_closed(5s));
}

TEST_F(VfioUserHostileTest, AnUnsupportedVersionIsRefusedAndTheConnectionClosed) {
    auto ch = raw();
    ASSERT_TRUE(ch);
    EXPECT_EQ(error_of(*ch, Command::version, bytes_of(Version{1, 0})), ENOTSUP);
    EXPECT_TRUE(ch->wait_closed(5s));
}

TEST_F(VfioUserHostileTest, HeadersThatLoseTheFramingCloseTheConnection) {
    const std::vector<Header> bad = {
        Header{1, 4, 8, 0, 0},                                           // shorter than itself
        Header{1, 4, static_cast<uint32_t>(kMaxMessageSize + 1), 0, 0},  // too large
        Header{1, 4, 16, kTypeReply, 0},                                 // a reply
    };
    for (const Header& header : bad) {
        auto c = client();
        ASSERT_TRUE(c);
        ASSERT_TRUE(c->channel().send_header(header, {}));
        EXPECT_TRUE(c->channel().wait_closed(5s)) << header.msg_size << " " << header.flags;
        ASSERT_TRUE(h->wait_until([&] { return h->server().session() == nullptr; }));
    }
}

TEST_F(VfioUserHostileTest, ATruncatedHeaderThenEofEndsTheSession) {
    for (size_t n : {1UL, 7UL, 15UL, 20UL}) {
        auto c = client();
        ASSERT_TRUE(c);
        const Header header{1, static_cast<uint16_t>(Command::dma_map), 48, 0, 0};
        std::vector<std::byte> bytes(48);
        std::memcpy(bytes.data(), &header, sizeof(header));
        auto fd = make_memfd(4096);
        const int raw_fd = fd.get();
        ASSERT_TRUE(c->channel().send_bytes(std::span(bytes).first(n), std::span(&raw_fd, 1)));
        c = std::unexpected(Error{});
        ASSERT_TRUE(h->wait_until([&] { return h->server().session() == nullptr; }));
    }
}

TEST_F(VfioUserHostileTest, TooManyFdsAreClosedAndRefused) {
    auto c = client();
    ASSERT_TRUE(c);
    std::vector<UniqueFd> owned;
    std::vector<int> fds;
    for (size_t i = 0; i < kMaxMsgFds + 4; ++i) {
        owned.push_back(std::move(*make_event_fd()));
        fds.push_back(owned.back().get());
    }
    const IrqSet set{20, kIrqDataEventfd | kIrqActionTrigger, pci::kMsix, 0,
                     static_cast<uint32_t>(fds.size())};
    EXPECT_EQ(error_of(c->channel(), Command::device_set_irqs, bytes_of(set), fds), E2BIG);
    EXPECT_FALSE(h->on_reactor([&] { return h->function().msix[0].valid(); }));
    // Stray fds with commands that take none are closed too.
    EXPECT_EQ(error_of(c->channel(), Command::device_get_info, bytes_of(DeviceInfo{16, 0, 0, 0}),
                       std::span(fds).first(3)),
              EINVAL);
    EXPECT_TRUE(c->device_info());
}

TEST_F(VfioUserHostileTest, InterruptsTakeEventfdsOnly) {
    auto c = client();
    ASSERT_TRUE(c);
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    UniqueFd pipe_r(pipe_fds[0]), pipe_w(pipe_fds[1]);
    int sock[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock), 0);
    UniqueFd s0(sock[0]), s1(sock[1]);
    auto memfd = make_memfd(4096);
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    for (int bad : {pipe_fds[0], pipe_fds[1], sock[0], memfd.get(), null.get()}) {
        EXPECT_EQ(c->set_irq_eventfds(pci::kMsix, 0, std::span(&bad, 1)).error().code, EINVAL);
    }
    UniqueFd good(::eventfd(0, EFD_CLOEXEC));  // blocking: the server makes it non-blocking
    const int g = good.get();
    ASSERT_TRUE(c->set_irq_eventfds(pci::kMsix, 0, std::span(&g, 1)));
    EXPECT_TRUE(h->on_reactor([&] { return signal_peer_event_fd(h->function().msix[0].get()); }));
    uint64_t value = 0;
    EXPECT_EQ(::read(g, &value, sizeof(value)), 8);
}

TEST_F(VfioUserHostileTest, ClientMemoryTruncatedUnderTheMappingIsContained) {
    auto c = client();
    ASSERT_TRUE(c);
    constexpr uint64_t kIova = 0x100000, kSize = 0x10000;
    auto memfd = make_memfd(kSize);  // not sealed: the client can shrink it
    ASSERT_TRUE(c->dma_map(kIova, kSize, memfd.get(), 0));
    ASSERT_EQ(::ftruncate(memfd.get(), 0x1000), 0);
    // The device touches the lost part: the access completes, the memory is flagged.
    const bool faulted = h->on_reactor([&] {
        auto memory = h->function().memory;
        auto* p = static_cast<volatile uint8_t*>(memory->host_address(kIova + 0x8000, 8));
        p[0] = 1;
        const uint8_t back = p[0];
        (void)back;
        return memory->faulted();
    });
    EXPECT_TRUE(faulted);
    ASSERT_TRUE(c->dma_unmap(kIova, kSize));
    EXPECT_TRUE(c->device_info());
}

TEST_F(VfioUserHostileTest, AMessageLeftHalfSentIsCutOff) {
    auto c = client();
    ASSERT_TRUE(c);
    const std::byte partial[5] = {};
    ASSERT_TRUE(c->channel().send_bytes(partial));
    EXPECT_TRUE(c->channel().wait_closed(5s));
}

TEST_F(VfioUserHostileTest, AHandshakeThatNeverComesIsCutOff) {
    auto silent = raw();
    ASSERT_TRUE(silent);
    EXPECT_TRUE(silent->wait_closed(5s));
}

TEST_F(VfioUserHostileTest, ANegotiatedClientMayStayIdle) {
    auto c = client();
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->channel().wait_closed(900ms)) << "an idle client was disconnected";
    EXPECT_TRUE(c->device_info());
}

TEST_F(VfioUserHostileTest, AClientThatDoesNotReadItsRepliesCannotMakeUsBufferWithoutBound) {
    auto c = client();
    ASSERT_TRUE(c);
    // 64 reads of a whole 4 KiB config space, never read back while sending.
    constexpr int kReads = 64;
    std::vector<uint16_t> ids;
    for (int i = 0; i < kReads; ++i) {
        auto id =
            c->channel().send(Command::region_read, bytes_of(RegionAccess{0, pci::kConfig, 4096}));
        ASSERT_TRUE(id);
        ids.push_back(*id);
    }
    for (int i = 0; i < kReads; ++i) {
        auto reply = c->channel().receive_reply(Command::region_read, ids[i]);
        ASSERT_TRUE(reply) << i << ": " << reply.error().describe();
        EXPECT_EQ(reply->payload.size(), sizeof(RegionAccess) + 4096);
    }
}

}  // namespace
}  // namespace vhostd::vfio_user
