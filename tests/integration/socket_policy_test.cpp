// Socket files: a second vhostd on the same socket directory refuses the controller socket the
// first one serves (and the first keeps serving I/O); the socket a killed vhostd left behind
// is reused; sockets get the group and mode of --socket-group / --socket-mode.
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.hpp"

namespace vhostd::testing {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<frontend::BlkClient> connect_with_retry(const std::string& socket) {
    for (int i = 0; i < 100; ++i) {
        if (auto client = connect_client(client_options(socket))) {
            return client;
        }
        std::this_thread::sleep_for(50ms);
    }
    return nullptr;
}

TEST(SocketPolicy, SecondDaemonRefusesALiveSocketAndTheFirstKeepsServing) {
    VhostdProcess first({.sockets = {"vhost.0"}});
    START_VHOSTD(first);
    auto client = connect_client(client_options(first.socket("vhost.0")));
    ASSERT_TRUE(client);
    const auto data = pattern(7, 4096);
    ASSERT_EQ(client->write(0, data).value(), kOk);

    VhostdProcess second({.socket_dir = first.socket_dir()});
    second.launch();
    EXPECT_EQ(second.wait_exit(10s), 2);
    EXPECT_NE(second.output().find("served by another process"), std::string::npos)
        << second.output();

    // The first daemon's connection and socket are untouched.
    std::vector<std::byte> back(4096);
    ASSERT_EQ(client->read(0, back).value(), kOk);
    EXPECT_EQ(back, data);
    client.reset();
    auto again = connect_client(client_options(first.socket("vhost.0")));
    ASSERT_TRUE(again) << "the first daemon's socket was taken over";
    ASSERT_EQ(again->read(0, back).value(), kOk);
    EXPECT_EQ(back, data);
    again.reset();
    EXPECT_EQ(first.stop(), 0);
}

TEST(SocketPolicy, AStaleSocketFromAKilledDaemonIsReused) {
    VhostdProcess first({.sockets = {"vhost.0"}});
    START_VHOSTD(first);
    EXPECT_EQ(first.kill_hard(), 128 + SIGKILL);
    struct stat st {};
    ASSERT_EQ(::lstat(first.socket("vhost.0").c_str(), &st), 0) << "no stale socket left";

    VhostdProcess second({.sockets = {"vhost.0"}, .socket_dir = first.socket_dir()});
    START_VHOSTD(second);
    auto client = connect_with_retry(second.socket("vhost.0"));
    ASSERT_TRUE(client) << second.output();
    const auto data = pattern(9, 4096);
    ASSERT_EQ(client->write(4096, data).value(), kOk);
    client.reset();
    EXPECT_EQ(second.stop(), 0);
}

TEST(SocketPolicy, SocketsGetTheGroupAndModeAsked) {
    // root may give its sockets any group; others only one of their own.
    const gid_t group = ::geteuid() == 0 ? 1 : ::getegid();
    VhostdProcess vhostd(
        {.args = {"--socket-group", std::to_string(group), "--socket-mode", "0640"},
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    for (const std::string& path : {vhostd.socket("vhost.0"), vhostd.rpc_socket()}) {
        struct stat st {};
        ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path;
        EXPECT_EQ(st.st_mode & 0777, 0640U) << path;
        EXPECT_EQ(st.st_gid, group) << path;
    }
    EXPECT_EQ(vhostd.stop(), 0);

    VhostdProcess defaults({.sockets = {"vhost.0"}});
    START_VHOSTD(defaults);
    struct stat st {};
    ASSERT_EQ(::lstat(defaults.socket("vhost.0").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660U) << "the default must not be world-writable";
    EXPECT_EQ(defaults.stop(), 0);
}

TEST(SocketPolicy, BadGroupOrModeIsRefusedAtStart) {
    VhostdProcess group({.args = {"--socket-group", "no-such-group-vhostd"}});
    group.launch();
    EXPECT_EQ(group.wait_exit(10s), 2);
    VhostdProcess mode({.args = {"--socket-mode", "0999"}});
    mode.launch();
    EXPECT_EQ(mode.wait_exit(10s), 2);
}

}  // namespace
}  // namespace vhostd::testing
