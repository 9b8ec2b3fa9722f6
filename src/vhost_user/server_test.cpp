// Server over real unix sockets on a real (event-driven) reactor: request/reply, dribbled
// requests, disconnects mid-session, a second concurrent client, shutdown, stale socket files,
// slow readers, and no fd leak across many connections.
#include "vhost_user/server.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "support/vhost_user_fakes.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::count_open_fds;
using testing::encode;
using testing::make_memfd;
using testing::make_request;
using testing::make_request_with;
using testing::send_bytes;
using virtio::bit;

class ServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char dir[] = "/tmp/vhostd-vu-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
        path_ = dir_ + "/vhost.sock";
        auto r = reactor::Reactor::create(0, reactor::ReactorOptions{reactor::PollMode::never});
        ASSERT_TRUE(r);
        reactor_ = std::move(*r);
    }
    void TearDown() override {
        server_.reset();
        reactor_.reset();
        std::filesystem::remove_all(dir_);
    }

    void start_server() {
        auto s = Server::create(*reactor_, path_, device_, queues_);
        ASSERT_TRUE(s) << s.error().describe();
        server_ = std::move(*s);
    }

    // Runs the reactor until `pred` holds (bounded, so a bug fails instead of hanging).
    template <class Pred>
    bool run_until(Pred pred) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!pred()) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            reactor_->run_once();
        }
        return true;
    }
    void spin(int iterations = 20) {
        for (int i = 0; i < iterations; ++i)
            reactor_->run_once();
    }

    UniqueFd connect_client() {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        return fd;
    }

    // Reads one reply while the reactor runs; nullopt if the connection closed or nothing came.
    std::optional<Message> receive(int fd) {
        Message m;
        size_t got = 0;
        std::optional<Message> result;
        bool closed = false;
        run_until([&] {
            const size_t want = got < sizeof(MessageHeader)
                                    ? sizeof(MessageHeader) - got
                                    : sizeof(MessageHeader) + m.header.size - got;
            if (want == 0) {
                result = std::move(m);
                return true;
            }
            std::byte* dst = got < sizeof(MessageHeader)
                                 ? reinterpret_cast<std::byte*>(&m.header) + got
                                 : m.payload.data() + (got - sizeof(MessageHeader));
            const ssize_t n = ::recv(fd, dst, want, MSG_DONTWAIT);
            if (n == 0) {
                closed = true;
                return true;
            }
            if (n > 0)
                got += static_cast<size_t>(n);
            return false;
        });
        (void)closed;
        return result;
    }
    // True once the server has closed `fd`.
    bool closed_by_server(int fd) {
        return run_until([&] {
            std::byte b;
            const ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
            return n == 0 || (n < 0 && errno != EAGAIN);
        });
    }
    uint64_t call_u64(int fd, Request r) {
        EXPECT_TRUE(send_bytes(fd, encode(make_request(r))));
        auto reply = receive(fd);
        EXPECT_TRUE(reply);
        if (!reply)
            return ~0ULL;
        EXPECT_EQ(reply->header.request, static_cast<uint32_t>(r));
        EXPECT_EQ(reply->header.flags, kVersion | kFlagReply);
        return reply->payload_u64().value_or(~0ULL);
    }
    template <class T>
    void send_with(int fd, Request r, const T& payload, std::span<const int> fds = {},
                   uint32_t flags = kVersion) {
        ASSERT_TRUE(send_bytes(fd, encode(make_request_with(r, payload, {}, flags)), fds));
    }
    template <class T>
    uint64_t ack(int fd, Request r, const T& payload, std::span<const int> fds = {}) {
        send_with(fd, r, payload, fds, kVersion | kFlagNeedReply);
        auto reply = receive(fd);
        EXPECT_TRUE(reply);
        return reply ? reply->payload_u64().value_or(~0ULL) : ~0ULL;
    }

    // Negotiates like QEMU and starts ring 0 (REPLY_ACK on, so every step is confirmed).
    void start_ring(int fd) {
        // LOG_ALL only while migrating (QEMU's vhost_dev_set_log).
        const uint64_t features = call_u64(fd, Request::get_features) & ~bit(kFeatureLogAll);
        send_with(fd, Request::set_protocol_features, Session::offered_protocol_features());
        ASSERT_EQ(ack(fd, Request::set_features, features), 0U);
        auto ram = make_memfd(1 << 20);
        MemoryTable table{};
        table.num_regions = 1;
        table.regions[0] = {0, 1 << 20, 0x40000000, 0};
        const int ram_fd[] = {ram.get()};
        ASSERT_TRUE(send_bytes(fd,
                               encode(make_request(Request::set_mem_table,
                                                   std::as_bytes(std::span(&table, 1)).first(40),
                                                   {}, kVersion | kFlagNeedReply)),
                               ram_fd));
        ASSERT_EQ(receive(fd)->payload_u64().value(), 0U);
        ASSERT_EQ(ack(fd, Request::set_vring_num, VringState{0, 64}), 0U);
        ASSERT_EQ(ack(fd, Request::set_vring_addr,
                      VringAddr{0, 0, 0x40000000, 0x40002000, 0x40001000, 0}),
                  0U);
        auto kick = *make_event_fd();
        const int kick_fd[] = {kick.get()};
        ASSERT_EQ(ack(fd, Request::set_vring_kick, uint64_t{0}, kick_fd), 0U);
        ASSERT_EQ(ack(fd, Request::set_vring_enable, VringState{0, 1}), 0U);
        ASSERT_TRUE(queues_.running(0));
    }

    std::string dir_;
    std::string path_;
    std::unique_ptr<reactor::Reactor> reactor_;
    testing::FakeDevice device_;
    testing::FakeQueueControl queues_;
    std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, AnswersRequestsOverTheSocket) {
    start_server();
    auto client = connect_client();
    EXPECT_EQ(call_u64(client.get(), Request::get_features),
              device_.features_ | bit(kFeatureProtocolFeatures) | bit(kFeatureLogAll));
    EXPECT_TRUE(server_->connected());
    send_with(client.get(), Request::set_protocol_features, Session::offered_protocol_features());
    ASSERT_TRUE(send_bytes(
        client.get(), encode(make_request(Request::set_owner, {}, {}, kVersion | kFlagNeedReply))));
    auto reply = receive(client.get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header.request, static_cast<uint32_t>(Request::set_owner));
    EXPECT_EQ(reply->payload_u64().value(), 0U);
    EXPECT_EQ(call_u64(client.get(), Request::get_queue_num), 2U);
}

TEST_F(ServerTest, ParsesRequestsDribbledByteByByte) {
    start_server();
    auto client = connect_client();
    auto kick = *make_event_fd();
    const int kick_fd[] = {kick.get()};
    auto bytes = encode(make_request_with(Request::set_vring_kick, uint64_t{1}));
    auto more = encode(make_request(Request::get_queue_num));
    bytes.insert(bytes.end(), more.begin(), more.end());
    for (size_t i = 0; i < bytes.size(); ++i) {
        ASSERT_TRUE(send_bytes(client.get(), std::span(bytes).subspan(i, 1),
                               i == 3 ? std::span<const int>(kick_fd) : std::span<const int>()));
        spin(2);
    }
    auto reply = receive(client.get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->payload_u64().value(), 2U);
    ASSERT_NE(server_->session(), nullptr);
    EXPECT_TRUE(server_->session()->vring(1).kicked);
    EXPECT_TRUE(server_->session()->vring(1).kick.valid());
}

TEST_F(ServerTest, DisconnectStopsQueuesBeforeTheNextFrontendIsServed) {
    start_server();
    auto first = connect_client();
    start_ring(first.get());
    first.reset();  // the frontend dies mid-session
    ASSERT_TRUE(run_until([&] { return queues_.stops.size() == 1; }));
    EXPECT_FALSE(server_->connected());

    // A new frontend connects while the old queue is still draining: it waits.
    auto second = connect_client();
    ASSERT_TRUE(send_bytes(second.get(), encode(make_request(Request::get_queue_num))));
    spin(50);
    std::byte b;
    EXPECT_EQ(::recv(second.get(), &b, 1, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);

    const int resets = device_.resets;
    queues_.complete_stops();
    auto reply = receive(second.get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->payload_u64().value(), 2U);
    EXPECT_TRUE(server_->connected());
    EXPECT_EQ(device_.resets, resets + 1);
    // Fresh session: nothing negotiated, no memory.
    ASSERT_NE(server_->session(), nullptr);
    EXPECT_EQ(server_->session()->acked_features(), 0U);
    EXPECT_TRUE(server_->session()->memory()->is_empty());
    EXPECT_FALSE(queues_.contract_violated);
}

TEST_F(ServerTest, DisconnectWhileAReplyIsPendingStillTearsDown) {
    start_server();
    auto client = connect_client();
    start_ring(client.get());
    send_with(client.get(), Request::get_vring_base, VringState{0, 0});
    ASSERT_TRUE(run_until([&] { return queues_.stops.size() == 1; }));
    client.reset();
    spin(20);
    queues_.complete_stops();
    ASSERT_TRUE(run_until([&] { return server_->session() == nullptr; }));
    EXPECT_EQ(queues_.running_count(), 0U);
    EXPECT_FALSE(queues_.contract_violated);
}

TEST_F(ServerTest, SecondConcurrentClientIsClosedImmediately) {
    start_server();
    auto first = connect_client();
    EXPECT_EQ(call_u64(first.get(), Request::get_queue_num), 2U);
    auto second = connect_client();
    EXPECT_TRUE(closed_by_server(second.get()));
    // The first one is unaffected.
    EXPECT_EQ(call_u64(first.get(), Request::get_queue_num), 2U);
}

TEST_F(ServerTest, FrontendReconnectingBeforeItsEofIsReadIsServed) {
    start_server();
    auto first = connect_client();
    start_ring(first.get());
    // Hang up and reconnect at once: the new connection and the old one's EOF reach the
    // reactor together. The newcomer must wait for the old session, not be turned away.
    first.reset();
    auto second = connect_client();
    ASSERT_TRUE(send_bytes(second.get(), encode(make_request(Request::get_queue_num))));
    ASSERT_TRUE(run_until([&] { return queues_.stops.size() == 1; }));
    queues_.complete_stops();
    auto reply = receive(second.get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->payload_u64().value(), 2U);
    EXPECT_TRUE(server_->connected());
}

TEST_F(ServerTest, ProtocolViolationClosesTheConnectionAndTheNextOneIsServed) {
    start_server();
    auto bad = connect_client();
    MessageHeader header{static_cast<uint32_t>(Request::get_features), 2, 0};  // version 2
    ASSERT_TRUE(send_bytes(bad.get(), std::as_bytes(std::span(&header, 1))));
    EXPECT_TRUE(closed_by_server(bad.get()));
    ASSERT_TRUE(run_until([&] { return server_->session() == nullptr; }));
    auto good = connect_client();
    EXPECT_EQ(call_u64(good.get(), Request::get_queue_num), 2U);
}

TEST_F(ServerTest, FailedRequestWithoutReplyAckClosesTheConnection) {
    start_server();
    auto client = connect_client();
    send_with(client.get(), Request::set_vring_num, VringState{0, 3});
    EXPECT_TRUE(closed_by_server(client.get()));
}

TEST_F(ServerTest, QueueBrokenShowsInGetStatus) {
    start_server();
    auto client = connect_client();
    start_ring(client.get());
    server_->queue_broken(0);
    EXPECT_EQ(call_u64(client.get(), Request::get_status) & virtio::status::kDeviceNeedsReset,
              virtio::status::kDeviceNeedsReset);
    queues_.auto_complete = true;
}

TEST_F(ServerTest, NoFdLeakAcrossManyConnections) {
    start_server();
    queues_.auto_complete = true;
    // Warm-up: lazily created things (loggers, epoll internals) are not leaks.
    {
        auto client = connect_client();
        start_ring(client.get());
    }
    ASSERT_TRUE(run_until([&] { return server_->session() == nullptr; }));
    const size_t before = count_open_fds();
    for (int i = 0; i < 100; ++i) {
        auto client = connect_client();
        if (i % 2 == 0) {
            start_ring(client.get());
        } else {
            EXPECT_EQ(call_u64(client.get(), Request::get_queue_num), 2U);
        }
        client.reset();
        ASSERT_TRUE(run_until([&] { return server_->session() == nullptr; })) << i;
    }
    EXPECT_EQ(count_open_fds(), before);
    EXPECT_FALSE(queues_.contract_violated);
}

TEST_F(ServerTest, ShutdownStopsQueuesThenUnlinksAndCallsDone) {
    start_server();
    auto client = connect_client();
    start_ring(client.get());
    bool done = false;
    server_->shutdown([&] { done = true; });
    EXPECT_FALSE(std::filesystem::exists(path_));  // no new frontend can connect
    spin(10);
    EXPECT_FALSE(done);  // the queue is still draining
    queues_.complete_stops();
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_TRUE(closed_by_server(client.get()));
    EXPECT_EQ(queues_.running_count(), 0U);
    bool again = false;
    server_->shutdown([&] { again = true; });
    EXPECT_TRUE(again);
}

TEST_F(ServerTest, ShutdownWithoutAFrontendCompletesAtOnce) {
    start_server();
    bool done = false;
    server_->shutdown([&] { done = true; });
    EXPECT_TRUE(done);
    EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(ServerTest, ReplacesAStaleSocketButNeverAnotherFile) {
    {
        // A socket file left behind by a dead process.
        UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    }
    start_server();
    auto client = connect_client();
    EXPECT_EQ(call_u64(client.get(), Request::get_queue_num), 2U);
    server_.reset();
    EXPECT_FALSE(std::filesystem::exists(path_));

    const std::string file = dir_ + "/data";
    UniqueFd f(::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    auto refused = Server::create(*reactor_, file, device_, queues_);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, EEXIST);
    EXPECT_TRUE(std::filesystem::exists(file));
    auto too_long = Server::create(*reactor_, std::string(200, 'x'), device_, queues_);
    EXPECT_FALSE(too_long);
}

TEST_F(ServerTest, FrontendThatNeverReadsCannotBlockTheReactor) {
    start_server();
    auto client = connect_client();
    ::fcntl(client.get(), F_SETFL, O_NONBLOCK);
    int small = 4096;
    ::setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    const auto request = encode(make_request(Request::get_features));
    size_t sent = 0;
    int stuck = 0;
    // Keep sending until both directions are full; each iteration also runs the reactor,
    // which must keep returning.
    while (stuck < 200) {
        const ssize_t n = ::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(request.size())) {
            ++sent;
            stuck = 0;
        } else {
            ASSERT_TRUE(n < 0 && errno == EAGAIN) << n;
            ++stuck;
        }
        reactor_->run_once();
    }
    EXPECT_GT(sent, 100U);
    // Now read everything: every request gets its reply.
    size_t replies = 0;
    ::fcntl(client.get(), F_SETFL, 0);
    while (replies < sent) {
        auto reply = receive(client.get());
        ASSERT_TRUE(reply) << replies << " of " << sent;
        ASSERT_EQ(reply->payload_u64().value(),
                  device_.features_ | bit(kFeatureProtocolFeatures) | bit(kFeatureLogAll));
        ++replies;
    }
}

}  // namespace
}  // namespace vhostd::vhost_user
