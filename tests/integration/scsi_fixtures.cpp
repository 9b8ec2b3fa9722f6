// virtio-scsi integration-test helpers.
#include "scsi_fixtures.hpp"

#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace vhostd::testing {

using nlohmann::json;

json make_scsi_config(json bdev_calls, json scsi_calls) {
    return json{
        {"subsystems",
         json::array({json{{"subsystem", "bdev"}, {"config", std::move(bdev_calls)}},
                      json{{"subsystem", "vhost_scsi"}, {"config", std::move(scsi_calls)}}})}};
}

json scsi_controller(const std::string& ctrlr) {
    return json{{"method", "vhost_create_scsi_controller"}, {"params", {{"ctrlr", ctrlr}}}};
}

json scsi_target(const std::string& ctrlr, int target, const std::string& bdev) {
    return json{{"method", "vhost_scsi_controller_add_target"},
                {"params", {{"ctrlr", ctrlr}, {"scsi_target_num", target}, {"bdev_name", bdev}}}};
}

std::unique_ptr<frontend::ScsiClient> connect_scsi(const std::string& socket,
                                                   uint16_t request_queues) {
    frontend::ScsiClient::Options options;
    options.socket_path = socket;
    options.request_queues = request_queues;
    auto client = frontend::ScsiClient::connect(options);
    EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().describe());
    return client ? std::move(*client) : nullptr;
}

json rpc_call(const std::string& socket, const std::string& method, const json& params) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        return json{{"error", {{"message", "cannot connect to " + socket}}}};
    }
    json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}};
    if (!params.is_null()) {
        request["params"] = params;
    }
    const std::string text = request.dump();
    (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    std::string reply;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            break;
        }
        reply.append(buf, static_cast<size_t>(n));
        json parsed = json::parse(reply, nullptr, false);
        if (!parsed.is_discarded()) {
            ::close(fd);
            return parsed;
        }
    }
    ::close(fd);
    return json{{"error", {{"message", "no reply: " + reply}}}};
}

std::vector<uint8_t> cdb_inquiry(uint16_t allocation, bool evpd, uint8_t page) {
    return {0x12,
            static_cast<uint8_t>(evpd ? 1 : 0),
            page,
            static_cast<uint8_t>(allocation >> 8),
            static_cast<uint8_t>(allocation),
            0};
}

std::vector<uint8_t> cdb_read_capacity16(uint32_t allocation) {
    std::vector<uint8_t> cdb(16);
    cdb[0] = 0x9e;
    cdb[1] = 0x10;  // SERVICE ACTION: READ CAPACITY (16)
    for (int i = 0; i < 4; ++i) {
        cdb[10 + i] = static_cast<uint8_t>(allocation >> (24 - 8 * i));
    }
    return cdb;
}

std::vector<uint8_t> cdb_rw16(bool write, uint64_t lba, uint32_t blocks) {
    std::vector<uint8_t> cdb(16);
    cdb[0] = write ? 0x8a : 0x88;
    for (int i = 0; i < 8; ++i) {
        cdb[2 + i] = static_cast<uint8_t>(lba >> (56 - 8 * i));
    }
    for (int i = 0; i < 4; ++i) {
        cdb[10 + i] = static_cast<uint8_t>(blocks >> (24 - 8 * i));
    }
    return cdb;
}

std::vector<uint8_t> cdb_unmap(uint16_t parameter_length) {
    std::vector<uint8_t> cdb(10);
    cdb[0] = 0x42;
    cdb[7] = static_cast<uint8_t>(parameter_length >> 8);
    cdb[8] = static_cast<uint8_t>(parameter_length);
    return cdb;
}

std::vector<uint8_t> cdb_test_unit_ready() {
    return std::vector<uint8_t>(6, 0);
}

bool clear_unit_attentions(frontend::ScsiClient& client, uint8_t target) {
    // SAM-5 5.14: one UNIT ATTENTION per pending condition, then GOOD.
    for (int i = 0; i < 8; ++i) {
        auto r = client.execute({.target = target, .cdb = cdb_test_unit_ready()});
        if (!r) {
            return false;
        }
        if (r->response == 0 && r->status == kGood) {
            return true;
        }
    }
    return false;
}

uint64_t be64(std::span<const std::byte> data, size_t offset) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) {
        v = (v << 8) | std::to_integer<uint8_t>(data[offset + i]);
    }
    return v;
}

uint32_t be32(std::span<const std::byte> data, size_t offset) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
        v = (v << 8) | std::to_integer<uint8_t>(data[offset + i]);
    }
    return v;
}

}  // namespace vhostd::testing
