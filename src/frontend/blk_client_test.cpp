// Tests for BlkClient's control sequence against a scripted in-process back-end that records
// every message (code, flags, payload, fd count) and can refuse chosen steps.
#include "frontend/blk_client.hpp"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace vhostd::frontend {
namespace {

namespace vu = vhost_user;
namespace pf = vhost_user::protocol_feature;

struct Recorded {
    vu::Request request;
    uint32_t flags;
    std::vector<std::byte> payload;
    size_t fds;

    template <class T>
    T as() const {
        T v{};
        std::memcpy(&v, payload.data(), std::min(sizeof(T), payload.size()));
        return v;
    }
};

class ScriptedBackEnd {
  public:
    uint64_t features = BlkClient::kDefaultFeatures;
    uint64_t protocol = ~uint64_t{0} & ((uint64_t{1} << 17) - 1);
    uint64_t queue_num = 4;
    uint64_t mem_slots = 8;
    vu::Request nack = vu::Request::none;  // answered with a non-zero ack
    uint8_t status_mask = 0xff;            // bits SET_STATUS may keep

    ScriptedBackEnd() {
        char tmpl[] = "/tmp/vhostd-fe-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path = dir_ + "/sock";
        listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, path.c_str());
        EXPECT_EQ(::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        EXPECT_EQ(::listen(listen_.get(), 1), 0);
    }
    ~ScriptedBackEnd() {
        if (thread_.joinable()) {
            thread_.join();
        }
        std::filesystem::remove_all(dir_);
    }

    void start() {
        thread_ = std::thread([this] { serve(); });
    }
    // Waits for the client to hang up; the log is complete afterwards.
    const std::vector<Recorded>& finish() {
        thread_.join();
        return log;
    }

    std::string path;
    std::vector<Recorded> log;

  private:
    void reply(Connection& c, vu::Request r, std::span<const std::byte> payload) {
        ASSERT_TRUE(c.send(r, vu::kVersion | vu::kFlagReply, payload));
    }
    void reply_u64(Connection& c, vu::Request r, uint64_t v) {
        reply(c, r, std::as_bytes(std::span(&v, 1)));
    }

    void serve() {
        UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        ASSERT_TRUE(fd);
        Connection::Options options;
        options.timeout = std::chrono::milliseconds(10000);
        Connection c = Connection::adopt(std::move(fd), options);
        uint8_t status = 0;
        for (;;) {
            auto msg = c.receive();
            if (!msg) {
                return;  // client hung up
            }
            const auto req = static_cast<vu::Request>(msg->header.request);
            auto body = msg->body();
            log.push_back({req, msg->header.flags, {body.begin(), body.end()}, msg->fds.size()});
            switch (req) {
                case vu::Request::get_features:
                    reply_u64(c, req, features);
                    continue;
                case vu::Request::get_protocol_features:
                    reply_u64(c, req, protocol);
                    continue;
                case vu::Request::get_queue_num:
                    reply_u64(c, req, queue_num);
                    continue;
                case vu::Request::get_max_mem_slots:
                    reply_u64(c, req, mem_slots);
                    continue;
                case vu::Request::get_status:
                    reply_u64(c, req, status);
                    continue;
                case vu::Request::get_config: {
                    std::vector<std::byte> out(body.begin(), body.end());
                    const uint64_t capacity = 4096;
                    const uint16_t queues = 4;
                    std::memcpy(out.data() + 12, &capacity, 8);
                    std::memcpy(out.data() + 12 + 34, &queues, 2);
                    reply(c, req, out);
                    continue;
                }
                case vu::Request::get_vring_base: {
                    auto state = log.back().as<vu::VringState>();
                    state.num = 0;
                    reply(c, req, std::as_bytes(std::span(&state, 1)));
                    continue;
                }
                case vu::Request::set_status:
                    status = static_cast<uint8_t>(log.back().as<uint64_t>() & status_mask);
                    break;
                default:
                    break;
            }
            if ((msg->header.flags & vu::kFlagNeedReply) != 0) {
                reply_u64(c, req, req == nack ? 1 : 0);
            }
        }
    }

    std::string dir_;
    UniqueFd listen_;
    std::thread thread_;
};

BlkClient::Options client_options(const std::string& path) {
    BlkClient::Options o;
    o.socket_path = path;
    o.ram_size = 4 << 20;
    o.bounce_size = 4096;
    o.num_queues = 2;
    o.queue_size = 16;
    return o;
}

std::vector<vu::Request> requests(const std::vector<Recorded>& log) {
    std::vector<vu::Request> out;
    for (const auto& r : log) {
        out.push_back(r.request);
    }
    return out;
}

TEST(BlkClient, FullSequenceWithEveryProtocolFeature) {
    ScriptedBackEnd back;
    back.start();
    auto client = BlkClient::connect(client_options(back.path));
    ASSERT_TRUE(client) << client.error().describe();
    EXPECT_EQ((*client)->config().capacity, 4096U);
    EXPECT_EQ((*client)->queue_num(), 4U);
    EXPECT_EQ((*client)->max_mem_slots(), 8U);
    EXPECT_EQ((*client)->protocol_features(), BlkClient::kDefaultProtocolFeatures);
    ASSERT_TRUE((*client)->reset_device());
    (*client)->disconnect();
    const auto& log = back.finish();

    using R = vu::Request;
    std::vector<R> expected = {R::get_features, R::get_protocol_features, R::set_protocol_features,
                               R::set_owner,    R::get_queue_num,         R::get_max_mem_slots,
                               R::get_config,   R::set_features,          R::set_status,
                               R::get_status,   R::set_mem_table};
    for (int q = 0; q < 2; ++q) {
        expected.insert(expected.end(),
                        {R::set_vring_num, R::set_vring_base, R::set_vring_addr, R::set_vring_call,
                         R::set_vring_kick, R::set_vring_enable});
    }
    expected.push_back(R::set_status);
    expected.push_back(R::reset_device);
    EXPECT_EQ(requests(log), expected);

    for (const auto& r : log) {
        EXPECT_EQ(r.flags & vu::kVersionMask, vu::kVersion);
        const bool has_reply = r.request == R::get_features ||
                               r.request == R::get_protocol_features ||
                               r.request == R::get_queue_num || r.request == R::get_max_mem_slots ||
                               r.request == R::get_config || r.request == R::get_status;
        // REPLY_ACK from the request after SET_PROTOCOL_FEATURES, and never on a GET.
        const bool acked = !has_reply && r.request != R::set_protocol_features;
        EXPECT_EQ((r.flags & vu::kFlagNeedReply) != 0, acked) << static_cast<int>(r.request);
    }
    // SET_STATUS: FEATURES_OK during negotiation, then DRIVER_OK.
    namespace st = virtio::status;
    EXPECT_EQ(log[8].as<uint64_t>(), st::kAcknowledge | st::kDriver | st::kFeaturesOk);
    EXPECT_EQ(log[log.size() - 2].as<uint64_t>(),
              st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
    // SET_FEATURES acks bit 30 with the rest.
    EXPECT_EQ(log[7].as<uint64_t>(), BlkClient::kDefaultFeatures);
    // The memory table carries one region and one fd.
    EXPECT_EQ(log[10].payload.size(), 8 + sizeof(vu::MemoryRegion));
    EXPECT_EQ(log[10].fds, 1U);
    // Queue 1's ring: size, base, addresses, eventfds, enable.
    EXPECT_EQ(log[17].as<vu::VringState>().index, 1U);
    EXPECT_EQ(log[17].as<vu::VringState>().num, 16U);
    const auto addr = log[19].as<vu::VringAddr>();
    EXPECT_EQ(addr.index, 1U);
    EXPECT_NE(addr.desc_user_addr, 0U);
    EXPECT_EQ(log[20].fds, 1U);
    EXPECT_EQ(log[20].as<uint64_t>(), 1U);
    EXPECT_EQ(log[21].fds, 1U);
    EXPECT_EQ(log[22].as<vu::VringState>().num, 1U);
}

TEST(BlkClient, AddMemRegSendsOneRegionPerMessage) {
    ScriptedBackEnd back;
    back.start();
    auto o = client_options(back.path);
    o.memory_mode = BlkClient::MemoryMode::add_mem_reg;
    o.ram.regions = {{0, 2 << 20}, {2 << 20, 2 << 20}, {16 << 20, 2 << 20}};
    auto client = BlkClient::connect(o);
    ASSERT_TRUE(client) << client.error().describe();
    (*client)->disconnect();
    size_t regions = 0;
    for (const auto& r : back.finish()) {
        EXPECT_NE(r.request, vu::Request::set_mem_table);
        if (r.request == vu::Request::add_mem_reg) {
            EXPECT_EQ(r.payload.size(), sizeof(vu::SingleMemoryRegion));
            EXPECT_EQ(r.fds, 1U);
            const auto region = r.as<vu::SingleMemoryRegion>().region;
            EXPECT_EQ(region.memory_size, 2U << 20);
            ++regions;
        }
    }
    EXPECT_EQ(regions, 3U);
}

TEST(BlkClient, WithoutProtocolFeaturesTheRingsNeedNoEnable) {
    ScriptedBackEnd back;
    back.features &= ~virtio::bit(vu::kFeatureProtocolFeatures);
    back.start();
    auto o = client_options(back.path);
    o.num_queues = 1;
    auto client = BlkClient::connect(o);
    ASSERT_TRUE(client) << client.error().describe();
    EXPECT_EQ((*client)->protocol_features(), 0U);
    EXPECT_EQ((*client)->config().length, 0U);
    EXPECT_FALSE((*client)->reset_device());
    (*client)->disconnect();
    for (const auto& r : back.finish()) {
        EXPECT_NE(r.request, vu::Request::get_protocol_features);
        EXPECT_NE(r.request, vu::Request::set_vring_enable);
        EXPECT_EQ(r.flags & vu::kFlagNeedReply, 0U);
    }
}

TEST(BlkClient, RefusedStepsFailTheConnect) {
    {
        ScriptedBackEnd back;
        back.nack = vu::Request::set_mem_table;
        back.start();
        auto client = BlkClient::connect(client_options(back.path));
        ASSERT_FALSE(client);
        EXPECT_EQ(client.error().code, EIO);
    }
    {
        ScriptedBackEnd back;
        back.status_mask = static_cast<uint8_t>(~virtio::status::kFeaturesOk);
        back.start();
        auto client = BlkClient::connect(client_options(back.path));
        ASSERT_FALSE(client);
        EXPECT_EQ(client.error().code, ENOTSUP);
    }
    {
        ScriptedBackEnd back;
        back.queue_num = 1;
        back.start();
        auto client = BlkClient::connect(client_options(back.path));
        ASSERT_FALSE(client);
        EXPECT_EQ(client.error().code, ENOTSUP);
    }
}

TEST(BlkClient, StepByStepLeavesRoomForCustomMessages) {
    ScriptedBackEnd back;
    back.start();
    auto client = BlkClient::open(client_options(back.path));
    ASSERT_TRUE(client) << client.error().describe();
    BlkClient& c = **client;
    ASSERT_TRUE(c.negotiate());
    // A test can slip its own traffic in between the steps.
    ASSERT_TRUE(c.connection().request(vu::Request::set_vring_err, {}));
    ASSERT_TRUE(c.set_memory());
    ASSERT_TRUE(c.start_queues());
    EXPECT_EQ(c.num_queues(), 2U);
    auto base = c.stop_queue(1);
    ASSERT_TRUE(base) << base.error().describe();
    EXPECT_EQ(*base, 0);
    c.disconnect();
    const auto& log = back.finish();
    EXPECT_EQ(log[10].request, vu::Request::set_vring_err);
    EXPECT_EQ(log.back().request, vu::Request::get_vring_base);
}

}  // namespace
}  // namespace vhostd::frontend
