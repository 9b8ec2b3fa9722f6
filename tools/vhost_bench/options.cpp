// vhost-bench option parsing with CLI11; sizes accept fio's suffixes (4k, 128k, 1g).
#include "options.hpp"

#include <map>

#include <CLI/CLI.hpp>

namespace vhostd::bench {

bool is_write_only(Pattern p) {
    return p == Pattern::write || p == Pattern::randwrite;
}

bool is_random(Pattern p) {
    return p == Pattern::randread || p == Pattern::randwrite || p == Pattern::randrw;
}

const char* to_string(Pattern p) {
    switch (p) {
        case Pattern::read:
            return "read";
        case Pattern::write:
            return "write";
        case Pattern::randread:
            return "randread";
        case Pattern::randwrite:
            return "randwrite";
        case Pattern::randrw:
            return "randrw";
        case Pattern::rw:
            return "rw";
    }
    return "?";
}

std::variant<BenchOptions, int> parse_bench_options(int argc, char** argv) {
    BenchOptions o;
    CLI::App cli{
        "vhost-bench: drives a vhost-user-blk target from userspace, the way fio drives a disk.\n"
        "Queues are spread round-robin over one polling thread per --cpu entry."};
    cli.option_defaults()->always_capture_default();
    cli.add_option("--socket", o.socket,
                   "vhost-user-blk socket of the target, or the NVMe controller's vfio-user "
                   "socket (DIR/cntrl) with --transport nvme")
        ->required();
    const std::map<std::string, Transport> transports{
        {"blk", Transport::blk}, {"vhost-user-blk", Transport::blk}, {"nvme", Transport::nvme}};
    cli.add_option("--transport", o.transport,
                   "blk (vhost-user-blk) or nvme (an NVMe controller over vfio-user; --queues "
                   "is the number of I/O queue pairs, --qsize their entries)")
        ->transform(CLI::CheckedTransformer(transports, CLI::ignore_case));
    cli.add_option("--nsid", o.nsid, "nvme: the namespace to drive")
        ->check(CLI::Range(uint32_t{1}, uint32_t{0xfffffffe}));
    const std::map<std::string, bool> on_off{{"on", true}, {"off", false}};
    cli.add_option("--shadow-doorbells", o.shadow_doorbells,
                   "nvme, trapped doorbells: use Doorbell Buffer Config when the controller "
                   "offers it (on|off)")
        ->transform(CLI::CheckedTransformer(on_off, CLI::ignore_case));
    cli.add_option("--queues", o.queues, "virtqueues to start")->check(CLI::Range(1, 256));
    cli.add_option("--qsize", o.qsize, "virtqueue size (power of two; any size with --packed)")
        ->check(CLI::Range(2, 32768));
    cli.add_option("--iodepth", o.iodepth, "I/Os in flight per queue")->check(CLI::Range(1, 32768));
    cli.add_option("--bs", o.bs, "block size (4k, 128k...)")->transform(CLI::AsSizeValue(false));
    const std::map<std::string, Pattern> patterns{
        {"read", Pattern::read},         {"write", Pattern::write},
        {"randread", Pattern::randread}, {"randwrite", Pattern::randwrite},
        {"randrw", Pattern::randrw},     {"rw", Pattern::rw},
        {"readwrite", Pattern::rw}};
    cli.add_option("--rw", o.rw, "read|write|randread|randwrite|randrw|rw")
        ->transform(CLI::CheckedTransformer(patterns, CLI::ignore_case));
    cli.add_option("--rwmixread", o.rwmixread, "percent of reads in randrw / rw")
        ->check(CLI::Range(0, 100));
    cli.add_option("--time,--runtime", o.time_s, "seconds to run")->check(CLI::PositiveNumber);
    cli.add_option("--number-ios,--number_ios", o.number_ios,
                   "stop after this many I/Os (all queues; overrides --time)");
    cli.add_option("--offset", o.offset, "start of the range, bytes")
        ->transform(CLI::AsSizeValue(false));
    cli.add_option("--size", o.size, "length of the range, bytes (default: to the end)")
        ->transform(CLI::AsSizeValue(false));
    cli.add_option("--rate,--rate_iops", o.rate, "total IOPS cap (0: unlimited)");
    cli.add_option("--cpu,--cpus_allowed", o.cpus,
                   "cores for the polling threads, one thread each (e.g. --cpu 1 or --cpu 1,2)")
        ->delimiter(',');
    cli.add_flag("--verify", o.verify,
                 "stamp written blocks (LBA, run generation, checksum) and check them on read; "
                 "write-only patterns read everything back at the end");
    cli.add_flag("--json", o.json, "print the results as JSON");
    cli.add_flag("--idle", o.idle, "connect and start the queues, then submit nothing");
    cli.add_flag("--interrupts", o.interrupts,
                 "wait for completions on the call eventfd instead of busy polling");
    cli.add_option("--idle-gap-ms", o.idle_gap_ms,
                   "pause submissions this long every --idle-every-ms (lets targets sleep)");
    cli.add_option("--idle-every-ms", o.idle_every_ms, "period of the idle gaps");
    cli.add_flag("--hugepages", o.hugepages, "back guest RAM with huge pages when available");
    cli.add_option("--drain-timeout", o.drain_timeout_s,
                   "seconds in-flight I/Os may take at the end before they count as lost");
    cli.add_flag("--packed", o.packed, "packed virtqueues (the target must offer them)");
    cli.add_flag("--reconnect", o.reconnect,
                 "survive target restarts: negotiate inflight tracking and, when the target "
                 "closes the socket, reconnect to it (as QEMU's reconnect=1); the I/Os in flight "
                 "complete after the restart, each exactly once");
    cli.add_option("--reconnect-timeout", o.reconnect_timeout_s,
                   "seconds a restarting target may take to accept the connection again")
        ->check(CLI::PositiveNumber);
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.exit(e);
    }
    if (o.bs == 0 || o.bs % 512 != 0) {
        std::fprintf(stderr, "--bs must be a positive multiple of 512\n");
        return 2;
    }
    if (o.transport == Transport::nvme && (o.packed || o.reconnect)) {
        std::fprintf(stderr, "--packed and --reconnect are vhost-user-blk options\n");
        return 2;
    }
    if (o.transport == Transport::nvme && o.iodepth >= o.qsize) {
        std::fprintf(stderr,
                     "--iodepth must be below --qsize for nvme (a queue holds qsize - 1)\n");
        return 2;
    }
    if (o.transport == Transport::blk && !o.packed && (o.qsize & (o.qsize - 1)) != 0) {
        std::fprintf(stderr, "--qsize must be a power of two (or --packed)\n");
        return 2;
    }
    if (o.iodepth > o.qsize) {
        std::fprintf(stderr, "--iodepth %u exceeds --qsize %u\n", o.iodepth, o.qsize);
        return 2;
    }
    if (o.offset % 512 != 0 || o.size % 512 != 0) {
        std::fprintf(stderr, "--offset and --size must be multiples of 512\n");
        return 2;
    }
    return o;
}

}  // namespace vhostd::bench
