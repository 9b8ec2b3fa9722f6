// ControllerCore: the controller state every reactor reads: options, the doorbell page, the
// interrupt lines, per-queue counters, and the few settings admin commands change that the I/O
// path follows (write cache, interrupt coalescing, memory page size, the fatal flag), as
// atomics written on the control reactor. ControlLink is how queues on I/O reactors reach the
// controller (it posts to the control reactor).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "nvme/doorbells.hpp"
#include "nvme/options.hpp"
#include "nvme/status.hpp"
#include "pci/interrupts.hpp"
#include "queue/queue_stats.hpp"
#include "reactor/reactor.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

// Identify Controller MDTS: 2^6 minimum pages (256 KiB with 4 KiB pages) per command.
constexpr uint8_t kMdts = 6;
// iovecs per request: a page per PRP entry of the largest transfer plus slack for buffers
// that cross memory regions, or as many SGL data blocks.
constexpr size_t kIovecsPerRequest = 144;
// SGL descriptors walked per command (data blocks and segment pointers).
constexpr uint32_t kMaxSglDescriptors = 512;
// Identify Controller AERL (0's based) and ELPE (0's based).
constexpr uint8_t kAerl = 3;
constexpr uint8_t kElpe = 63;

// What one submission queue did, for the SMART / Health log. Single writer: the queue's
// reactor; relaxed loads from the control reactor.
struct alignas(64) IoCounters {
    std::atomic<uint64_t> read_commands{0};
    std::atomic<uint64_t> write_commands{0};
    std::atomic<uint64_t> bytes_read{0};
    std::atomic<uint64_t> bytes_written{0};
    std::atomic<uint64_t> media_errors{0};
};

// Calls from I/O reactors into the controller. Implementations post to the control reactor.
class ControlLink {
  public:
    // A doorbell write the queue could not accept (4.4.1.2 / 5.2.1: invalid doorbell value).
    virtual void invalid_doorbell(uint16_t qid, bool completion_queue, uint32_t value) noexcept = 0;
    // Something the controller cannot recover from without a reset (CSTS.CFS).
    virtual void fatal_error(const char* reason) noexcept = 0;
    // An admin command for the control reactor; it answers with Shard::complete_admin.
    virtual void admin_command(const nvme_spec::Command& command, uint32_t slot,
                               uint64_t generation) noexcept = 0;
    // An Asynchronous Event Request; answered with Shard::complete_event when an event occurs.
    virtual void async_event_request(uint16_t cid, uint64_t generation) noexcept = 0;

  protected:
    ~ControlLink() = default;
};

class ControllerCore {
  public:
    ControllerCore(const ControllerOptions& options, reactor::Reactor& control,
                   DoorbellPage doorbells, pci::Interrupts& interrupts, ControlLink& link);

    const ControllerOptions options;
    reactor::Reactor& control;
    DoorbellPage doorbells;
    pci::Interrupts& interrupts;
    ControlLink& link;

    [[nodiscard]] uint16_t max_qid() const { return options.num_io_queues; }
    [[nodiscard]] queue::QueueStats& queue_stats(uint16_t qid) { return queue_stats_[qid]; }
    [[nodiscard]] IoCounters& io_counters(uint16_t qid) { return io_counters_[qid]; }
    [[nodiscard]] uint32_t max_transfer_bytes() const { return kMinPage << kMdts; }

    // --- written on the control reactor, read anywhere ---
    std::atomic<bool> fatal{false};
    std::atomic<bool> write_cache_enabled{true};  // feature 06h WCE
    std::atomic<uint32_t> coalescing{0};          // feature 08h: THR bits 7:0, TIME bits 15:8
    std::atomic<uint32_t> page_size{kMinPage};    // CC.MPS at enable
    // Feature 09h CD per vector.
    [[nodiscard]] bool coalescing_disabled(uint16_t vector) const {
        return vector >= vectors_ || coalescing_disabled_[vector].load(std::memory_order_relaxed);
    }
    void set_coalescing_disabled(uint16_t vector, bool disabled) {
        if (vector < vectors_) {
            coalescing_disabled_[vector].store(disabled, std::memory_order_relaxed);
        }
    }

  private:
    static constexpr uint32_t kMinPage = 1u << nvme_spec::kMinPageShift;

    std::unique_ptr<queue::QueueStats[]> queue_stats_;
    std::unique_ptr<IoCounters[]> io_counters_;
    uint16_t vectors_;
    std::unique_ptr<std::atomic<bool>[]> coalescing_disabled_;
};

}  // namespace vhostd::nvme
