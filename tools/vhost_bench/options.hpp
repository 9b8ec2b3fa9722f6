// Command-line options of vhost-bench, spelled like fio's where fio has the option.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace vhostd::bench {

enum class Pattern : uint8_t { read, write, randread, randwrite, randrw, rw };
// What --socket leads to: a vhost-user-blk back-end, or an NVMe controller over vfio-user.
enum class Transport : uint8_t { blk, nvme };

struct BenchOptions {
    std::string socket;
    Transport transport = Transport::blk;
    uint32_t nsid = 1;             // nvme: the namespace to drive
    bool shadow_doorbells = true;  // nvme, trapped mode: Doorbell Buffer Config if offered
    uint16_t queues = 1;
    uint16_t qsize = 256;
    uint16_t iodepth = 32;  // per queue
    uint32_t bs = 4096;     // bytes, a multiple of 512
    Pattern rw = Pattern::randread;
    unsigned rwmixread = 50;  // percent reads for randrw / rw
    double time_s = 5;        // run time; ignored when number_ios is set
    uint64_t number_ios = 0;  // total I/Os over all queues; 0: run for time_s
    uint64_t offset = 0;      // bytes, start of the range
    uint64_t size = 0;        // bytes of the range; 0: to the end of the device
    uint64_t rate = 0;        // total IOPS cap; 0: unlimited
    std::vector<int> cpus;    // one polling thread per entry, pinned; empty: one unpinned thread
    bool verify = false;
    bool json = false;
    bool idle = false;        // connect, start the queues and submit nothing for time_s
    bool interrupts = false;  // sleep on the call eventfd instead of polling completions
    double idle_gap_ms = 0;   // pause every queue this long every idle_every_ms (adaptive tests)
    double idle_every_ms = 0;
    bool hugepages = false;
    double drain_timeout_s = 5;  // how long in-flight I/Os may take to complete at the end
    bool packed = false;         // packed virtqueues (VIRTIO_F_RING_PACKED)
    bool reconnect = false;      // keep the target's inflight region; reconnect when it restarts
    double reconnect_timeout_s = 30;  // how long a restarting target may take to come back
};

[[nodiscard]] bool is_write_only(Pattern p);
[[nodiscard]] bool is_random(Pattern p);
[[nodiscard]] const char* to_string(Pattern p);

// Parses argv. On --help or an error, returns the exit code to use instead.
std::variant<BenchOptions, int> parse_bench_options(int argc, char** argv);

}  // namespace vhostd::bench
