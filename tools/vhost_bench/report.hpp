// Report: the run's totals as a text summary or JSON (--json), fio-like field names.
#pragma once

#include <cstdint>
#include <string>

#include "histogram.hpp"
#include "options.hpp"
#include "queue_job.hpp"

namespace vhostd::bench {

struct RunTotals {
    JobCounters io;
    LatencyHistogram latency;  // ns
    uint64_t elapsed_ns = 0;
    uint64_t kicks = 0;             // eventfd writes to the target
    uint64_t kicks_suppressed = 0;  // batches the target asked not to be told about
    uint64_t reconnects = 0;        // target restarts survived (--reconnect)
    std::string failure;
    std::string target;  // what the target reports (serial number), if anything
    uint64_t capacity_bytes = 0;
    // nvme: how doorbells travelled ("mapped", "trapped", "trapped+shadow") and the
    // REGION_WRITE messages sent for them (admin queue included), by kind.
    std::string doorbells;
    uint64_t sq_doorbell_messages = 0;
    uint64_t cq_doorbell_messages = 0;
};

// nvme: doorbell messages per I/O (0 without I/Os).
[[nodiscard]] double doorbell_messages_per_io(const RunTotals& t);

[[nodiscard]] double iops(const RunTotals& t);
[[nodiscard]] double mib_per_s(const RunTotals& t);
// Zero errors, zero verify errors, nothing lost, no transport failure.
[[nodiscard]] bool passed(const RunTotals& t);

void print_text(const BenchOptions& o, const RunTotals& t);
void print_json(const BenchOptions& o, const RunTotals& t);

}  // namespace vhostd::bench
