// Shared helpers for integration tests: configs, a started vhostd, a connected client, and
// byte patterns.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend/blk_client.hpp"
#include "vhostd_process.hpp"

namespace vhostd::testing {

// {"subsystems": [{"subsystem": "bdev", ...}, {"subsystem": "vhost_blk", ...}]}
nlohmann::json make_config(nlohmann::json bdev_calls, nlohmann::json vhost_calls);
nlohmann::json malloc_bdev(const std::string& name, uint64_t blocks, uint32_t block_size = 512);
nlohmann::json blk_controller(const std::string& ctrlr, const std::string& bdev,
                              nlohmann::json extra = nlohmann::json::object());

// Deterministic bytes: pattern(seed, n)[i] depends on seed and i.
std::vector<std::byte> pattern(uint32_t seed, size_t n);

frontend::BlkClient::Options client_options(const std::string& socket, uint16_t queues = 1);
std::unique_ptr<frontend::BlkClient> connect_client(const frontend::BlkClient::Options& options);

constexpr uint8_t kOk = 0;
constexpr uint8_t kIoErr = 1;
constexpr uint8_t kUnsupp = 2;

// Starts vhostd or fails the test with its output.
#define START_VHOSTD(process) \
    ASSERT_TRUE((process).start()) << "vhostd did not start:\n" << (process).output()

}  // namespace vhostd::testing
