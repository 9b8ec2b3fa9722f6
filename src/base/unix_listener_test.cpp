// UnixListener: the socket-file policy (stale replaced, live refused, other files untouched),
// group and mode, the file appearing only once the socket listens, and removal of our own
// file only.
#include "base/unix_listener.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace vhostd {
namespace {

sockaddr_un address_of(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    return addr;
}

class UnixListenerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vhostd-listener-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/sock";
    }
    void TearDown() override {
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }
    std::string dir;
    std::string path;
};

TEST_F(UnixListenerTest, CreatesTheSocketWithTheModeAndRemovesItOnClose) {
    auto listener = UnixListener::listen(path, SocketFileOptions{.mode = 0600});
    ASSERT_TRUE(listener.has_value()) << listener.error().describe();
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    listener->close();
    EXPECT_NE(::lstat(path.c_str(), &st), 0) << "the socket file stays after close";
}

TEST_F(UnixListenerTest, DefaultModeIsNotWorldWritableAndGroupIsApplied) {
    const gid_t gid = ::getegid();
    auto listener = UnixListener::listen(path, SocketFileOptions{.group = gid});
    ASSERT_TRUE(listener.has_value()) << listener.error().describe();
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660U);
    EXPECT_EQ(st.st_gid, gid);
}

TEST_F(UnixListenerTest, RefusesASocketSomebodyServesAndKeepsIt) {
    auto first = UnixListener::listen(path, {});
    ASSERT_TRUE(first.has_value());
    auto second = UnixListener::listen(path, {});
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code, EADDRINUSE);
    EXPECT_NE(second.error().message.find("served by another process"), std::string::npos);
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << "the live socket was removed";
}

TEST_F(UnixListenerTest, ReplacesAStaleSocket) {
    {
        // What a killed process leaves behind: a bound socket file nobody listens on.
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
        const sockaddr_un addr = address_of(path);
        ASSERT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    }
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    auto again = UnixListener::listen(path, {});
    ASSERT_TRUE(again.has_value()) << again.error().describe();
}

TEST_F(UnixListenerTest, LeavesOtherFilesAlone) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    auto listener = UnixListener::listen(path, {});
    ASSERT_FALSE(listener.has_value());
    EXPECT_EQ(listener.error().code, EEXIST);
}

// The file appears only once the socket listens (bound under a temporary name, then linked
// into place): a client polling for the file connects on first try. Nothing is left behind.
TEST_F(UnixListenerTest, TheFileAppearsListeningAndNoStagingFileIsLeft) {
    auto listener = UnixListener::listen(path, SocketFileOptions{.mode = 0640});
    ASSERT_TRUE(listener.has_value()) << listener.error().describe();
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    const sockaddr_un addr = address_of(path);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640U);
    EXPECT_EQ(st.st_nlink, 1U) << "the temporary name is gone";
    const std::string staging = path + "." + std::to_string(::getpid()) + ".tmp";
    EXPECT_NE(::lstat(staging.c_str(), &st), 0);
    listener->close();
    EXPECT_NE(::lstat(path.c_str(), &st), 0);
}

// A path with no room for the temporary name's suffix is bound directly.
TEST_F(UnixListenerTest, APathTooLongForTheStagingNameIsBoundDirectly) {
    const std::string long_path = dir + "/" + std::string(104 - dir.size() - 1, 's');
    ASSERT_EQ(long_path.size(), 104U);
    auto listener = UnixListener::listen(long_path, {});
    ASSERT_TRUE(listener.has_value()) << listener.error().describe();
    struct stat st {};
    EXPECT_EQ(::lstat(long_path.c_str(), &st), 0);
    listener->close();
    EXPECT_NE(::lstat(long_path.c_str(), &st), 0);
}

TEST(SocketOptions, ParsesGroupsAndModes) {
    EXPECT_EQ(parse_group("0").value(), 0U);
    EXPECT_EQ(parse_group("root").value(), 0U);
    EXPECT_FALSE(parse_group("no-such-group-vhostd").has_value());
    EXPECT_EQ(parse_socket_mode("0660").value(), 0660U);
    EXPECT_EQ(parse_socket_mode("600").value(), 0600U);
    EXPECT_FALSE(parse_socket_mode("0999").has_value());
    EXPECT_FALSE(parse_socket_mode("1777").has_value());
    EXPECT_FALSE(parse_socket_mode("").has_value());
}

}  // namespace
}  // namespace vhostd
