// Fault-injecting bdevs stacked on another bdev, with SPDK's semantics and parameters, for
// tests of what users see when storage is slow or fails:
//  - delay (SPDK's bdev_delay): completions held back by an average latency, one request in a
//    hundred by a p99 latency, per reads and writes;
//  - error (SPDK's bdev_error, named EE_<base>): injected failures, stalls ("pending", until
//    resumed) and corrupted data, per I/O type, for a number of requests; and, as vhostd's
//    extension, the bdev's health: failed, recovered, hot-removed.
// Both hold an exclusive claim on their base bdev.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "block/bdev.hpp"
#include "block/bdev_registry.hpp"

namespace vhostd::block {

struct ModuleContext;  // block/bdev_rpc.hpp

// Registers bdev_delay_* and bdev_error_* (fault_rpc.cpp); called once from app.
void register_fault_module(ModuleContext& context);

// --- delay ---
enum class LatencyKind : uint8_t { avg_read, p99_read, avg_write, p99_write };

struct DelayParams {
    std::string name;
    std::string base_bdev_name;
    std::string uuid;  // empty: generate one
    uint64_t avg_read_latency_us = 0;
    uint64_t p99_read_latency_us = 0;
    uint64_t avg_write_latency_us = 0;
    uint64_t p99_write_latency_us = 0;
};

// Creates the delay bdev and claims its base in `bdevs` (not registered yet).
[[nodiscard]] Result<std::shared_ptr<Bdev>> bdev_delay_create(const DelayParams& params,
                                                              BdevRegistry& bdevs);
// SPDK's bdev_delay_update_latency; a p99 below its average is refused, as in SPDK.
[[nodiscard]] Result<void> bdev_delay_update_latency(Bdev& bdev, LatencyKind kind,
                                                     uint64_t latency_us);

// --- error ---
enum class ErrorType : uint8_t { failure, pending, corrupt_data };

struct ErrorInjection {
    // I/O types the injection applies to; all false with `clear`: none (the injection is
    // removed).
    bool read = false;
    bool write = false;
    bool unmap = false;  // discard and write-zeroes
    bool flush = false;
    ErrorType type = ErrorType::failure;
    uint32_t num = 1;          // requests to inject into; then the injection is spent
    uint32_t queue_depth = 0;  // inject only while at least this many others are in flight
    uint64_t corrupt_offset = 0;
    uint8_t corrupt_value = 0;  // XORed into the byte at corrupt_offset (corrupt_data)
};

[[nodiscard]] Result<std::shared_ptr<Bdev>> bdev_error_create(const std::string& base_name,
                                                              const std::string& uuid,
                                                              BdevRegistry& bdevs);
[[nodiscard]] Result<void> bdev_error_inject(Bdev& bdev, const ErrorInjection& injection);
// Releases every request held by a "pending" injection (SPDK's bdev_error_resume_pending).
[[nodiscard]] Result<void> bdev_error_resume_pending(Bdev& bdev);

// Releases the claim a fault bdev holds on its base (when the fault bdev is deleted).
void release_fault_base(Bdev& bdev, BdevRegistry& bdevs);

}  // namespace vhostd::block
