// Shared integration-test helpers.
#include "fixtures.hpp"

namespace vhostd::testing {

using nlohmann::json;

json make_config(json bdev_calls, json vhost_calls) {
    return json{
        {"subsystems",
         json::array({json{{"subsystem", "bdev"}, {"config", std::move(bdev_calls)}},
                      json{{"subsystem", "vhost_blk"}, {"config", std::move(vhost_calls)}}})}};
}

json malloc_bdev(const std::string& name, uint64_t blocks, uint32_t block_size) {
    return json{{"method", "bdev_malloc_create"},
                {"params", {{"name", name}, {"num_blocks", blocks}, {"block_size", block_size}}}};
}

json blk_controller(const std::string& ctrlr, const std::string& bdev, json extra) {
    json params = {{"ctrlr", ctrlr}, {"dev_name", bdev}};
    params.update(extra);
    return json{{"method", "vhost_create_blk_controller"}, {"params", params}};
}

std::vector<std::byte> pattern(uint32_t seed, size_t n) {
    std::vector<std::byte> out(n);
    uint32_t x = seed * 2654435761U + 1;
    for (auto& b : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::byte>(x);
    }
    return out;
}

frontend::BlkClient::Options client_options(const std::string& socket, uint16_t queues) {
    frontend::BlkClient::Options options;
    options.socket_path = socket;
    options.num_queues = queues;
    return options;
}

std::unique_ptr<frontend::BlkClient> connect_client(const frontend::BlkClient::Options& options) {
    auto client = frontend::BlkClient::connect(options);
    EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().describe());
    return client ? std::move(*client) : nullptr;
}

}  // namespace vhostd::testing
