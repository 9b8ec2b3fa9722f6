// Helpers for the virtio-scsi integration tests: configs with SCSI controllers, a connected
// ScsiClient, CDB builders, and JSON-RPC calls to a running vhostd (hot-plug while connected).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "frontend/scsi_client.hpp"

namespace vhostd::testing {

// {"subsystems": [bdev..., {"subsystem": "vhost_scsi", "config": scsi_calls}]}
nlohmann::json make_scsi_config(nlohmann::json bdev_calls, nlohmann::json scsi_calls);
nlohmann::json scsi_controller(const std::string& ctrlr);
nlohmann::json scsi_target(const std::string& ctrlr, int target, const std::string& bdev);

std::unique_ptr<frontend::ScsiClient> connect_scsi(const std::string& socket,
                                                   uint16_t request_queues = 1);

// One JSON-RPC call over `socket`; the response object ({"result"} or {"error"}).
nlohmann::json rpc_call(const std::string& socket, const std::string& method,
                        const nlohmann::json& params = nullptr);

// CDBs.
std::vector<uint8_t> cdb_inquiry(uint16_t allocation, bool evpd = false, uint8_t page = 0);
std::vector<uint8_t> cdb_read_capacity16(uint32_t allocation = 32);
std::vector<uint8_t> cdb_rw16(bool write, uint64_t lba, uint32_t blocks);
std::vector<uint8_t> cdb_unmap(uint16_t parameter_length);
std::vector<uint8_t> cdb_test_unit_ready();

// Sends TEST UNIT READY until the pending unit attentions are reported; true once GOOD.
bool clear_unit_attentions(frontend::ScsiClient& client, uint8_t target);

// Reads of a big-endian field in returned data.
uint64_t be64(std::span<const std::byte> data, size_t offset);
uint32_t be32(std::span<const std::byte> data, size_t offset);

constexpr uint8_t kGood = 0x00;
constexpr uint8_t kCheckCondition = 0x02;

}  // namespace vhostd::testing
