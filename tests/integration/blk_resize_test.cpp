// A bdev resized under a connected vhost-user-blk frontend: the frontend gets
// CONFIG_CHANGE_MSG on its backend channel, GET_CONFIG reports the new capacity, and the new
// sectors can be read. A frontend without a backend channel reads it at its next start.
#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace vu = vhost_user;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kSectorsPerMiB = kMiB / 512;

class BlkResizeTest : public ::testing::Test {
  protected:
    json rpc(const std::string& method, const json& params) {
        RawRpc client(vhostd.rpc_socket());
        auto response = client.call(method, params);
        return response ? *response : json{{"error", "no response"}};
    }
    static frontend::BlkClient::Options with_backend_channel(frontend::BlkClient::Options o) {
        o.protocol_features |= virtio::bit(vu::protocol_feature::kBackendReq);
        return o;
    }
    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }

    VhostdProcess vhostd{{.config = make_config(json::array({{{"method", "bdev_null_create"},
                                                              {"params",
                                                               {{"name", "Null0"},
                                                                {"num_blocks", 8 * kSectorsPerMiB},
                                                                {"block_size", 512}}}}}),
                                                json::array({blk_controller("vhost.0", "Null0")})),
                          .sockets = {"vhost.0"}}};
};

TEST_F(BlkResizeTest, GrowReachesTheFrontendAsAConfigChange) {
    START_VHOSTD(vhostd);
    auto client = connect_client(with_backend_channel(client_options(vhostd.socket("vhost.0"))));
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->has_protocol_feature(vu::protocol_feature::kBackendReq));
    EXPECT_EQ(client->config().capacity, 8 * kSectorsPerMiB);
    std::vector<std::byte> buf(4096);
    EXPECT_EQ(client->read(8 * kSectorsPerMiB, buf).value(), kIoErr);  // past the end

    json resized = rpc("bdev_null_resize", {{"name", "Null0"}, {"new_size", 16}});
    ASSERT_EQ(resized["result"], true) << resized.dump();
    auto request = client->wait_backend_request();
    ASSERT_TRUE(request) << request.error().describe();
    EXPECT_EQ(*request, vu::BackendRequest::config_change_msg);
    auto config = client->read_config();
    ASSERT_TRUE(config);
    EXPECT_EQ(config->capacity, 16 * kSectorsPerMiB);
    EXPECT_EQ(client->read(16 * kSectorsPerMiB - 8, buf).value(), kOk);
    EXPECT_EQ(client->read(16 * kSectorsPerMiB, buf).value(), kIoErr);
}

TEST_F(BlkResizeTest, WithoutABackendChannelTheNextStartSeesTheNewSize) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    EXPECT_FALSE(client->has_protocol_feature(vu::protocol_feature::kBackendReq));
    json resized = rpc("bdev_null_resize", {{"name", "Null0"}, {"new_size", 12}});
    ASSERT_EQ(resized["result"], true) << resized.dump();
    // Nothing to tell this frontend; its GET_CONFIG already answers with the new capacity,
    // and I/O reaches the new sectors.
    auto config = client->read_config();
    ASSERT_TRUE(config);
    EXPECT_EQ(config->capacity, 12 * kSectorsPerMiB);
    std::vector<std::byte> buf(4096);
    EXPECT_EQ(client->read(12 * kSectorsPerMiB - 8, buf).value(), kOk);
    client.reset();
    auto again = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->config().capacity, 12 * kSectorsPerMiB);
}

}  // namespace
}  // namespace vhostd::testing
