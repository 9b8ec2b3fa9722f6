// vhost-bench: connects to a vhost-user-blk target as its driver (memfd guest RAM, split or
// packed rings), or to an NVMe controller over vfio-user with NvmeDriver (--transport nvme),
// runs a fio-like workload from polling threads and reports IOPS, bandwidth and
// a latency histogram; with --reconnect it rides out target restarts as QEMU does. Exit
// status 0 only with no errors, no verify failures, nothing lost.
#include <bit>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <unistd.h>

#include "base/log.hpp"
#include "frontend/blk_client.hpp"
#include "frontend/nvme_driver.hpp"
#include "nvme_bench_queue.hpp"
#include "options.hpp"
#include "poll_thread.hpp"
#include "queue_job.hpp"
#include "report.hpp"

namespace vhostd::bench {
namespace {

uint64_t round_up(uint64_t v, uint64_t align) {
    return (v + align - 1) / align * align;
}

// Rings, request slots and data buffers, with slack for per-allocation alignment.
uint64_t guest_ram_bytes(const BenchOptions& o) {
    const uint64_t per_queue =
        uint64_t{o.qsize} * 128 + 4 * 4096 + uint64_t{o.iodepth} * round_up(o.bs, 4096);
    return round_up(per_queue * o.queues + (uint64_t{2} << 20), uint64_t{2} << 20);
}

template <class Job>
void show_progress(const std::vector<std::unique_ptr<Job>>& jobs, uint64_t& last, unsigned second) {
    uint64_t done = 0;
    for (const auto& job : jobs) {
        done += job->progress();
    }
    std::fprintf(stderr, "\r[%4us] %10llu IOPS", second,
                 static_cast<unsigned long long>(done - last));
    std::fflush(stderr);
    last = done;
}

void on_stop_signal(int) {
    request_stop();
}

Result<void> reconnect(frontend::BlkClient& client, const BenchOptions& o) {
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(o.reconnect_timeout_s * 1000));
    for (;;) {
        auto again = client.reconnect();
        if (again || std::chrono::steady_clock::now() >= deadline) {
            return again;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// Checks the range against the device; the number of --bs units in it, or 0 after printing
// why there is none.
uint64_t range_units(const BenchOptions& o, uint64_t capacity_bytes) {
    const uint64_t end = o.size != 0 ? o.offset + o.size : capacity_bytes;
    if (end > capacity_bytes || end <= o.offset) {
        std::fprintf(stderr, "vhost-bench: range [%llu, %llu) is outside the %llu-byte device\n",
                     static_cast<unsigned long long>(o.offset),
                     static_cast<unsigned long long>(end),
                     static_cast<unsigned long long>(capacity_bytes));
        return 0;
    }
    const uint64_t units = (end - o.offset) / o.bs;
    if (units < o.queues) {
        std::fprintf(stderr, "vhost-bench: the range holds fewer --bs blocks than queues\n");
        return 0;
    }
    return units;
}

// The workload on `queues` (either transport): jobs, polling threads, progress, totals.
// `watch` runs every 10 ms on this thread (blk: --reconnect); false ends the wait.
template <class Queue, class Watch>
void run_workload(const BenchOptions& o, const std::vector<Queue*>& queues, frontend::GuestRam& ram,
                  uint64_t units, RunTotals& totals, Watch&& watch) {
    const auto generation =
        static_cast<uint32_t>(static_cast<uint64_t>(std::time(nullptr)) * 2654435761U ^
                              static_cast<uint64_t>(::getpid())) |
        1U;
    std::vector<std::unique_ptr<QueueJob<Queue>>> jobs;
    for (uint16_t q = 0; q < o.queues; ++q) {
        typename QueueJob<Queue>::Setup setup;
        setup.index = q;
        setup.slice = queue_slice(units, o.queues, q);
        setup.first_lba = o.offset / kSector;
        setup.generation = generation;
        if (o.number_ios != 0) {
            setup.quota = o.number_ios / o.queues + (q < o.number_ios % o.queues ? 1 : 0);
        }
        setup.rate = o.rate / o.queues + (q < o.rate % o.queues ? 1 : 0);
        jobs.push_back(std::make_unique<QueueJob<Queue>>(*queues[q], o, setup));
        if (auto r = jobs.back()->init(ram); !r) {
            totals.failure = r.error().describe();
            return;
        }
    }

    // Queue q runs on thread q % threads; thread t is pinned to --cpu entry t.
    const size_t threads = o.cpus.empty() ? 1 : o.cpus.size();
    std::vector<std::unique_ptr<PollThread<Queue>>> pollers;
    for (size_t t = 0; t < threads; ++t) {
        std::vector<QueueJob<Queue>*> mine;
        for (size_t q = t; q < jobs.size(); q += threads) {
            mine.push_back(jobs[q].get());
        }
        pollers.push_back(std::make_unique<PollThread<Queue>>(std::move(mine), o,
                                                              o.cpus.empty() ? -1 : o.cpus[t]));
    }
    // SIGINT / SIGTERM end the timed phase; the I/Os in flight still complete and are checked.
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const uint64_t start = now_ns();
    std::vector<std::jthread> running;
    running.reserve(pollers.size());
    for (auto& p : pollers) {
        running.emplace_back([&p, start] { p->run(start); });
    }
    // This thread watches the target (--reconnect) and shows progress (a terminal).
    const bool progress = !o.json && ::isatty(STDERR_FILENO) != 0;
    uint64_t last = 0;
    unsigned second = 0;
    auto next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (;;) {
        bool all_done = true;
        for (auto& p : pollers) {
            all_done &= p->done();
        }
        if (all_done) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!watch()) {
            break;
        }
        if (progress && std::chrono::steady_clock::now() >= next_progress) {
            next_progress += std::chrono::seconds(1);
            show_progress(jobs, last, ++second);
        }
    }
    if (progress) {
        std::fprintf(stderr, "\r%40s\r", "");
    }
    running.clear();  // joins

    for (auto& p : pollers) {
        const ThreadResult& r = p->result();
        totals.latency.merge(r.latency);
        totals.elapsed_ns = std::max(totals.elapsed_ns, r.elapsed_ns);
        if (totals.failure.empty()) {
            totals.failure = r.failure;
        }
    }
    for (const auto& job : jobs) {
        const JobCounters& c = job->counters();
        totals.io.reads += c.reads;
        totals.io.writes += c.writes;
        totals.io.bytes += c.bytes;
        totals.io.errors += c.errors;
        totals.io.verify_errors += c.verify_errors;
        totals.io.verified_blocks += c.verified_blocks;
        totals.io.readback += c.readback;
        totals.io.lost += c.lost;
        totals.kicks += job->queue().stats().kicks;
        totals.kicks_suppressed += job->queue().stats().kicks_suppressed;
    }
}

int finish(const BenchOptions& o, const RunTotals& totals) {
    o.json ? print_json(o, totals) : print_text(o, totals);
    return passed(totals) ? 0 : 1;
}

// --idle: a connected frontend that submits nothing (what the target burns while idle), then
// the report; otherwise the range's --bs units in `units`. An exit code if the run ends here.
std::optional<int> idle_or_range(const BenchOptions& o, const RunTotals& totals, uint64_t& units) {
    if (o.idle) {
        std::this_thread::sleep_for(std::chrono::duration<double>(o.time_s));
        return finish(o, totals);
    }
    units = range_units(o, totals.capacity_bytes);
    if (units == 0) {
        return 2;
    }
    return std::nullopt;
}

int run_blk(const BenchOptions& o) {
    frontend::BlkClient::Options co;
    co.socket_path = o.socket;
    co.num_queues = o.queues;
    co.queue_size = o.qsize;
    co.ram_size = guest_ram_bytes(o);
    co.ram.populate = true;
    co.ram.hugetlb = o.hugepages;
    co.bounce_size = 4096;
    co.max_data_segments = 1;
    co.packed = o.packed;
    co.inflight = o.reconnect;
    if (o.reconnect) {
        co.connection.connect_timeout =
            std::chrono::milliseconds(static_cast<int64_t>(o.reconnect_timeout_s * 1000));
    }
    auto connected = frontend::BlkClient::connect(co);
    if (!connected) {
        std::fprintf(stderr, "vhost-bench: %s: %s\n", o.socket.c_str(),
                     connected.error().describe().c_str());
        return 1;
    }
    frontend::BlkClient& client = **connected;
    if (o.packed && !client.packed()) {
        std::fprintf(stderr, "vhost-bench: %s does not offer packed virtqueues\n",
                     o.socket.c_str());
        return 1;
    }
    RunTotals totals;
    totals.capacity_bytes = client.config().capacity * kSector;
    uint64_t units = 0;
    if (const std::optional<int> done = idle_or_range(o, totals, units)) {
        return *done;
    }
    std::vector<frontend::BlkQueue*> queues;
    queues.reserve(o.queues);
    for (uint16_t q = 0; q < o.queues; ++q) {
        queues.push_back(&client.queue(q));
    }
    run_workload(o, queues, client.ram(), units, totals, [&] {
        if (o.reconnect && client.peer_closed()) {
            // The target went away (crash, kill, upgrade): the queues keep their requests;
            // the restarted target gets them back from the inflight region. A target that
            // dies again during the handshake is tried again, until the timeout.
            if (auto again = reconnect(client, o); again) {
                ++totals.reconnects;
            } else {
                totals.failure = "reconnect: " + again.error().describe();
                request_stop();
                client.disconnect();
                return false;  // the drain times out: what was in flight counts as lost
            }
        }
        return true;
    });
    return finish(o, totals);
}

int run_nvme(const BenchOptions& o) {
    frontend::NvmeDriver::Options no;
    no.socket = o.socket;
    no.io_queues = o.queues;
    no.io_queue_entries = o.qsize;
    no.data_bytes = uint64_t{o.queues} * o.iodepth * round_up(o.bs, 4096) + (uint64_t{1} << 20);
    no.ram.populate = true;
    no.ram.hugetlb = o.hugepages;
    no.shadow_doorbells = o.shadow_doorbells;
    no.interrupts = o.interrupts;
    auto connected = frontend::NvmeDriver::connect(no);
    if (!connected) {
        std::fprintf(stderr, "vhost-bench: %s: %s\n", o.socket.c_str(),
                     connected.error().describe().c_str());
        return 1;
    }
    frontend::NvmeDriver& driver = **connected;
    auto geometry = driver.namespace_geometry(o.nsid);
    if (!geometry) {
        std::fprintf(stderr, "vhost-bench: %s: namespace %u: %s\n", o.socket.c_str(), o.nsid,
                     geometry.error().describe().c_str());
        return 1;
    }
    const uint32_t block = geometry->block_size;
    if (o.bs % block != 0 || o.offset % block != 0 || o.size % block != 0) {
        std::fprintf(stderr,
                     "vhost-bench: --bs, --offset and --size must be multiples of the "
                     "namespace's %u-byte blocks\n",
                     block);
        return 2;
    }
    RunTotals totals;
    totals.capacity_bytes = geometry->blocks * block;
    totals.doorbells = driver.mapped()             ? "mapped"
                       : driver.shadow_doorbells() ? "trapped+shadow"
                                                   : "trapped";
    const frontend::NvmeDriver::DoorbellCounts setup = driver.doorbell_counts();
    uint64_t units = 0;
    if (const std::optional<int> done = idle_or_range(o, totals, units)) {
        return *done;
    }
    std::vector<std::unique_ptr<NvmeBenchQueue>> owned;
    std::vector<NvmeBenchQueue*> queues;
    for (uint16_t q = 0; q < o.queues; ++q) {
        owned.push_back(std::make_unique<NvmeBenchQueue>(
            driver.io_queue(q), o.nsid, static_cast<uint32_t>(std::countr_zero(block)),
            driver.interrupt_fd(q)));
        queues.push_back(owned.back().get());
    }
    run_workload(o, queues, driver.ram(), units, totals, [] { return true; });
    // The messages of the run itself: bring-up (admin commands) is left out.
    const frontend::NvmeDriver::DoorbellCounts counts = driver.doorbell_counts();
    totals.sq_doorbell_messages = counts.sq_messages - setup.sq_messages;
    totals.cq_doorbell_messages = counts.cq_messages - setup.cq_messages;
    return finish(o, totals);
}

int run(const BenchOptions& o) {
    log::set_level(log::Level::warn);  // the frontend library's setup chatter is not a result
    return o.transport == Transport::nvme ? run_nvme(o) : run_blk(o);
}

}  // namespace
}  // namespace vhostd::bench

int main(int argc, char** argv) {
    auto parsed = vhostd::bench::parse_bench_options(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) {
        return *code;
    }
    return vhostd::bench::run(std::get<vhostd::bench::BenchOptions>(parsed));
}
