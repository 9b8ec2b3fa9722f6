// VfioUserClient against scripted replies on a socketpair: a well-formed negotiation and
// region info (with the argsz retry), and every way a server's reply can be wrong (version,
// capabilities, msg_id, command, type, error replies with payload, capability chains that run
// outside the reply or loop, mmap areas outside the region, fds where none belong), each of
// which is an error rather than something the client trusts.
#include "frontend/vfio_user_client.hpp"

#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vhostd::frontend {
namespace {

namespace vu = vfio_user;

template <class T>
std::vector<std::byte> bytes_of(const T& value) {
    std::vector<std::byte> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

std::vector<std::byte> concat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
    const size_t at = a.size();
    a.resize(at + b.size());
    if (!b.empty()) {
        std::memcpy(a.data() + at, b.data(), b.size());
    }
    return a;
}

std::vector<std::byte> text(const std::string& s) {
    std::vector<std::byte> out(s.size() + 1);  // with the NUL
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

// The server's end: replies are written before the client asks, with the msg_id it will use.
class ScriptedServer {
  public:
    ScriptedServer() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        server_.reset(fds[0]);
        client_end_.reset(fds[1]);
    }
    UniqueFd take_client_end() { return std::move(client_end_); }

    void reply(uint16_t id, vu::Command command, const std::vector<std::byte>& payload,
               std::vector<int> fds = {}, uint32_t flags = vu::kTypeReply, uint32_t error = 0) {
        const vu::Header header{id, static_cast<uint16_t>(command),
                                static_cast<uint32_t>(sizeof(vu::Header) + payload.size()), flags,
                                error};
        std::vector<std::byte> bytes = concat(bytes_of(header), payload);
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
        iovec iov{bytes.data(), bytes.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (!fds.empty()) {
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
        }
        EXPECT_EQ(::sendmsg(server_.get(), &msg, MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    }
    void raw(const std::vector<std::byte>& bytes) {
        EXPECT_EQ(::send(server_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }
    void version_reply(const std::string& json = R"({"capabilities":{"max_msg_fds":4}})") {
        auto payload = bytes_of(vu::Version{0, 0});
        if (!json.empty()) {
            payload = concat(payload, text(json));
        }
        reply(0, vu::Command::version, payload);
    }

  private:
    UniqueFd server_;
    UniqueFd client_end_;
};

VfioUserChannel::Options quick() {
    VfioUserChannel::Options options;
    options.timeout = std::chrono::milliseconds(2000);
    return options;
}

Result<VfioUserClient> negotiate(ScriptedServer& server) {
    VfioUserClient::Options options;
    options.channel = quick();
    return VfioUserClient::negotiate(VfioUserChannel::adopt(server.take_client_end(), quick()),
                                     options);
}

TEST(VfioUserClient, NegotiatesAndReadsTheServersCapabilities) {
    ScriptedServer server;
    server.version_reply(
        R"({"capabilities":{"max_msg_fds":8,"max_data_xfer_size":65536,"pgsizes":12288,)"
        R"("max_dma_maps":100,"something_else":[1,2]},"other":true})");
    auto client = negotiate(server);
    ASSERT_TRUE(client) << client.error().describe();
    EXPECT_EQ(client->server().max_msg_fds, 8U);
    EXPECT_EQ(client->server().max_data_xfer_size, 65536U);
    EXPECT_EQ(client->server().pgsizes, 12288U);
    EXPECT_EQ(client->server().max_dma_maps, 100U);
    // Without JSON, every capability keeps its default (libvfio-user always sends some; a bare
    // reply is legal).
    ScriptedServer bare;
    bare.version_reply("");
    auto defaults = negotiate(bare);
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->server().max_msg_fds, 1U);
}

TEST(VfioUserClient, RefusesABadVersionReply) {
    const std::vector<std::vector<std::byte>> bad = {
        bytes_of(vu::Version{1, 0}),
        bytes_of(vu::Version{0, 1}),
        concat(bytes_of(vu::Version{0, 0}), bytes_of(uint32_t{0x7b7b7b7b})),  // no NUL
        concat(bytes_of(vu::Version{0, 0}), text("[]")),
        concat(bytes_of(vu::Version{0, 0}), text(R"({"capabilities":7})")),
        concat(bytes_of(vu::Version{0, 0}), text(R"({"capabilities":{"max_msg_fds":"x"}})")),
        concat(bytes_of(vu::Version{0, 0}), text(R"({"capabilities":{"pgsizes":512}})")),
        {std::byte{0}},
    };
    for (const auto& payload : bad) {
        ScriptedServer server;
        server.reply(0, vu::Command::version, payload);
        auto client = negotiate(server);
        EXPECT_FALSE(client);
        if (!client) {
            EXPECT_EQ(client.error().code, EPROTO) << client.error().describe();
        }
    }
    ScriptedServer with_fd;
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    with_fd.reply(0, vu::Command::version, bytes_of(vu::Version{0, 0}), {fd.get()});
    EXPECT_FALSE(negotiate(with_fd));
}

TEST(VfioUserClient, RepliesMustMatchTheirCommand) {
    struct Case {
        uint16_t id;
        vu::Command command;
        uint32_t flags;
        std::vector<std::byte> payload;
    };
    const vu::DeviceInfo info{16, 3, 9, 5};
    const std::vector<Case> bad = {
        {2, vu::Command::device_get_info, vu::kTypeReply, bytes_of(info)},         // msg_id
        {1, vu::Command::device_get_region_info, vu::kTypeReply, bytes_of(info)},  // command
        {1, vu::Command::device_get_info, vu::kTypeCommand, bytes_of(info)},       // type
        {1, vu::Command::device_get_info, vu::kTypeReply | (1U << 7), bytes_of(info)},
        {1, vu::Command::device_get_info, vu::kTypeReply | vu::kFlagError, bytes_of(info)},
        {1, vu::Command::device_get_info, vu::kTypeReply, bytes_of(uint64_t{16})},  // size
    };
    for (const Case& c : bad) {
        ScriptedServer server;
        server.version_reply();
        auto client = negotiate(server);
        ASSERT_TRUE(client);
        server.reply(c.id, c.command, c.payload, {}, c.flags);
        auto got = client->device_info();
        ASSERT_FALSE(got);
        EXPECT_EQ(got.error().code, EPROTO) << got.error().describe();
    }
}

TEST(VfioUserClient, ErrorRepliesCarryTheServersErrno) {
    ScriptedServer server;
    server.version_reply();
    auto client = negotiate(server);
    ASSERT_TRUE(client);
    server.reply(1, vu::Command::device_reset, {}, {}, vu::kTypeReply | vu::kFlagError, ENOSPC);
    EXPECT_EQ(client->reset().error().code, ENOSPC);
    server.reply(2, vu::Command::device_reset, {}, {}, vu::kTypeReply | vu::kFlagError, 0);
    EXPECT_EQ(client->reset().error().code, EIO);  // "may be zero even if the Error bit is set"
    server.reply(3, vu::Command::device_reset, {}, {}, vu::kTypeReply);
    EXPECT_TRUE(client->reset());
}

class VfioUserRegionInfoTest : public ::testing::Test {
  protected:
    void SetUp() override {
        server.version_reply();
        auto c = negotiate(server);
        ASSERT_TRUE(c);
        client.emplace(std::move(*c));
        memfd.reset(::memfd_create("bar", MFD_CLOEXEC));
        ASSERT_EQ(::ftruncate(memfd.get(), 0x4000), 0);
    }
    // A full reply: the fixed part, then a sparse mmap capability with `areas`.
    std::vector<std::byte> reply(std::vector<vu::SparseMmapArea> areas, uint32_t cap_offset = 32,
                                 uint32_t next = 0, uint32_t flags = 0xf,
                                 uint16_t id = vu::kCapSparseMmap) {
        const uint32_t argsz = static_cast<uint32_t>(32 + 16 + 16 * areas.size());
        std::vector<std::byte> out =
            bytes_of(vu::RegionInfo{argsz, flags, 0, cap_offset, 0x4000, 0});
        out = concat(out, bytes_of(vu::SparseMmapCap{
                              {id, 1, next}, static_cast<uint32_t>(areas.size()), 0}));
        for (const auto& area : areas) {
            out = concat(out, bytes_of(area));
        }
        return out;
    }

    ScriptedServer server;
    std::optional<VfioUserClient> client;
    UniqueFd memfd;
};

TEST_F(VfioUserRegionInfoTest, ReadsTheSparseAreasAndMapsThem) {
    server.reply(1, vu::Command::device_get_region_info, reply({{0x1000, 0x1000}, {0, 0}}),
                 {memfd.get()});
    auto region = client->region_info(0);
    ASSERT_TRUE(region) << region.error().describe();
    ASSERT_EQ(region->mmap_areas.size(), 1U);  // the empty entry is skipped
    auto mapping = VfioUserMapping::map(*region);
    ASSERT_TRUE(mapping) << mapping.error().describe();
    EXPECT_NE(mapping->at(0x1ffc, 4), nullptr);
    EXPECT_EQ(mapping->at(0x1ffc, 8), nullptr);
    EXPECT_EQ(mapping->at(0x800, 4), nullptr);
}

TEST_F(VfioUserRegionInfoTest, AsksAgainWhenTheServerNeedsMoreRoom) {
    // First answer: the fixed part and the argsz needed for eight areas.
    std::vector<vu::SparseMmapArea> areas(8, vu::SparseMmapArea{0x1000, 0x1000});
    const auto full = reply(areas);
    server.reply(1, vu::Command::device_get_region_info,
                 bytes_of(vu::RegionInfo{static_cast<uint32_t>(full.size()),
                                         vu::kRegionRead | vu::kRegionMmap, 0, 0, 0x4000, 0}));
    server.reply(2, vu::Command::device_get_region_info, full, {memfd.get()});
    auto region = client->region_info(0);
    ASSERT_TRUE(region) << region.error().describe();
    EXPECT_EQ(region->mmap_areas.size(), 8U);
    // libvfio-user sends as much as fits (without the CAPS flag) rather than the fixed part.
    auto partial = full;
    partial.resize(112);  // the client's first argsz
    vu::RegionInfo head;
    std::memcpy(&head, partial.data(), sizeof(head));
    head.flags &= ~vu::kRegionCaps;
    std::memcpy(partial.data(), &head, sizeof(head));
    server.reply(3, vu::Command::device_get_region_info, partial);
    server.reply(4, vu::Command::device_get_region_info, full, {memfd.get()});
    auto again = client->region_info(0);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(again->mmap_areas.size(), 8U);
}

TEST_F(VfioUserRegionInfoTest, RefusesMalformedCapabilities) {
    const std::vector<std::vector<std::byte>> bad = {
        reply({{0x1000, 0x1000}}, 200),                        // capability outside the reply
        reply({{0x1000, 0x1000}}, 8),                          // inside the fixed part
        reply({{0x1000, 0x1000}}, 32, 32, 0xf, vu::kCapType),  // a chain that loops
        reply({{0x3000, 0x2000}}),                             // an area past the region's end
        reply({{~0ULL - 0xfff, 0x2000}}),                      // an area that wraps
        reply({{0x1000, 0x1000}}, 32, 0, 0x1f),                // an unknown flag
    };
    uint16_t id = 1;
    for (const auto& payload : bad) {
        server.reply(id++, vu::Command::device_get_region_info, payload, {memfd.get()});
        auto region = client->region_info(0);
        ASSERT_FALSE(region);
        EXPECT_EQ(region.error().code, EPROTO) << region.error().describe();
    }
    // A capability that claims more areas than the reply holds.
    auto lying = reply({{0x1000, 0x1000}});
    vu::SparseMmapCap cap{{vu::kCapSparseMmap, 1, 0}, 5, 0};
    std::memcpy(lying.data() + 32, &cap, sizeof(cap));
    server.reply(id++, vu::Command::device_get_region_info, lying, {memfd.get()});
    EXPECT_EQ(client->region_info(0).error().code, EPROTO);
    // Areas without the fd, and an fd without MMAP.
    server.reply(id++, vu::Command::device_get_region_info, reply({{0x1000, 0x1000}}));
    EXPECT_EQ(client->region_info(0).error().code, EPROTO);
    server.reply(id++, vu::Command::device_get_region_info,
                 bytes_of(vu::RegionInfo{32, vu::kRegionRead, 0, 0, 0x4000, 0}), {memfd.get()});
    EXPECT_EQ(client->region_info(0).error().code, EPROTO);
}

TEST_F(VfioUserRegionInfoTest, RegionAccessRepliesMustEchoTheAccess) {
    std::vector<std::byte> payload = bytes_of(vu::RegionAccess{0x10, 7, 4});
    payload.resize(payload.size() + 4);
    server.reply(1, vu::Command::region_read, payload);
    EXPECT_TRUE(client->read32(7, 0x10));
    server.reply(2, vu::Command::region_read, payload);
    EXPECT_EQ(client->read32(7, 0x14).error().code, EPROTO);  // another offset
    server.reply(3, vu::Command::region_read, payload);
    EXPECT_EQ(client->read64(7, 0x10).error().code, EPROTO);  // another count
    server.reply(4, vu::Command::region_write, bytes_of(vu::RegionAccess{0x10, 7, 4}));
    EXPECT_TRUE(client->write32(7, 0x10, 1));
    std::vector<std::byte> too_much(2 << 20);  // more than the server's max_data_xfer_size
    EXPECT_EQ(client->region_read(7, 0, too_much).error().code, EINVAL);
}

TEST_F(VfioUserRegionInfoTest, AnOversizedReplyClosesTheChannel) {
    // A header that announces more than the client takes: the stream cannot be trusted.
    const vu::Header huge{1, static_cast<uint16_t>(vu::Command::device_reset), 0x7fffffff,
                          vu::kTypeReply, 0};
    server.raw(bytes_of(huge));
    EXPECT_EQ(client->reset().error().code, EPROTO);
    EXPECT_FALSE(client->channel().connected());
    EXPECT_EQ(client->reset().error().code, ENOTCONN);
}

}  // namespace
}  // namespace vhostd::frontend
