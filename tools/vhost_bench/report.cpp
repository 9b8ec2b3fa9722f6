// Report: text and JSON output.
#include "report.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace vhostd::bench {

double iops(const RunTotals& t) {
    if (t.elapsed_ns == 0) {
        return 0;
    }
    return static_cast<double>(t.io.reads + t.io.writes) * 1e9 / static_cast<double>(t.elapsed_ns);
}

double mib_per_s(const RunTotals& t) {
    if (t.elapsed_ns == 0) {
        return 0;
    }
    return static_cast<double>(t.io.bytes) * 1e9 / static_cast<double>(t.elapsed_ns) / 1048576.0;
}

double doorbell_messages_per_io(const RunTotals& t) {
    const uint64_t ios = t.io.reads + t.io.writes + t.io.readback;
    if (ios == 0) {
        return 0;
    }
    return static_cast<double>(t.sq_doorbell_messages + t.cq_doorbell_messages) /
           static_cast<double>(ios);
}

bool passed(const RunTotals& t) {
    return t.failure.empty() && t.io.errors == 0 && t.io.verify_errors == 0 && t.io.lost == 0;
}

void print_text(const BenchOptions& o, const RunTotals& t) {
    const LatencyHistogram& l = t.latency;
    auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    std::printf("vhost-bench: rw=%s bs=%u queues=%u iodepth=%u%s%s on %s\n", to_string(o.rw), o.bs,
                o.queues, o.iodepth, o.verify ? " verify" : "",
                o.rate != 0 ? (" rate=" + std::to_string(o.rate)).c_str() : "", o.socket.c_str());
    std::printf(
        "  ios: read=%llu write=%llu in %.3f s\n", static_cast<unsigned long long>(t.io.reads),
        static_cast<unsigned long long>(t.io.writes), static_cast<double>(t.elapsed_ns) / 1e9);
    std::printf("  IOPS=%.0f BW=%.1fMiB/s\n", iops(t), mib_per_s(t));
    std::printf("  lat (usec): mean=%.2f p50=%.2f p99=%.2f p99.9=%.2f max=%.2f\n",
                l.mean() / 1000.0, us(l.percentile(0.50)), us(l.percentile(0.99)),
                us(l.percentile(0.999)), us(l.max()));
    std::printf("  kicks=%llu suppressed=%llu\n", static_cast<unsigned long long>(t.kicks),
                static_cast<unsigned long long>(t.kicks_suppressed));
    if (o.transport == Transport::nvme) {
        std::printf("  doorbells=%s messages: sq=%llu cq=%llu (%.4f per I/O)\n",
                    t.doorbells.c_str(), static_cast<unsigned long long>(t.sq_doorbell_messages),
                    static_cast<unsigned long long>(t.cq_doorbell_messages),
                    doorbell_messages_per_io(t));
    }
    if (o.reconnect) {
        std::printf("  reconnects=%llu\n", static_cast<unsigned long long>(t.reconnects));
    }
    if (o.verify) {
        std::printf("  verify: checked=%llu readback=%llu errors=%llu\n",
                    static_cast<unsigned long long>(t.io.verified_blocks),
                    static_cast<unsigned long long>(t.io.readback),
                    static_cast<unsigned long long>(t.io.verify_errors));
    }
    std::printf("  errors=%llu lost=%llu%s%s\n", static_cast<unsigned long long>(t.io.errors),
                static_cast<unsigned long long>(t.io.lost),
                t.failure.empty() ? "" : " failure: ", t.failure.c_str());
}

void print_json(const BenchOptions& o, const RunTotals& t) {
    const LatencyHistogram& l = t.latency;
    nlohmann::json out = {
        {"options",
         {{"socket", o.socket},
          {"transport", o.transport == Transport::nvme ? "nvme" : "blk"},
          {"rw", to_string(o.rw)},
          {"bs", o.bs},
          {"queues", o.queues},
          {"iodepth", o.iodepth},
          {"rate", o.rate},
          {"verify", o.verify},
          {"packed", o.packed},
          {"reconnect", o.reconnect}}},
        {"elapsed_s", static_cast<double>(t.elapsed_ns) / 1e9},
        {"read_ios", t.io.reads},
        {"write_ios", t.io.writes},
        {"iops", iops(t)},
        {"mib_s", mib_per_s(t)},
        {"lat_ns",
         {{"mean", l.mean()},
          {"min", l.min()},
          {"p50", l.percentile(0.50)},
          {"p99", l.percentile(0.99)},
          {"p99.9", l.percentile(0.999)},
          {"max", l.max()}}},
        {"kicks", t.kicks},
        {"kicks_suppressed", t.kicks_suppressed},
        {"reconnects", t.reconnects},
        {"verify",
         {{"checked", t.io.verified_blocks},
          {"readback", t.io.readback},
          {"errors", t.io.verify_errors}}},
        {"errors", t.io.errors},
        {"lost", t.io.lost},
        {"failure", t.failure},
        {"passed", passed(t)},
    };
    if (o.transport == Transport::nvme) {
        out["options"]["nsid"] = o.nsid;
        out["options"]["shadow_doorbells"] = o.shadow_doorbells;
        out["doorbells"] = {{"mode", t.doorbells},
                            {"sq_messages", t.sq_doorbell_messages},
                            {"cq_messages", t.cq_doorbell_messages},
                            {"messages_per_io", doorbell_messages_per_io(t)}};
    }
    std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace vhostd::bench
