// NvmeDriver: a userspace NVMe driver over vfio-user (what SPDK's NVMe driver and Linux's
// nvme-pci do, for vhostd's tests and vhost-bench). Connects with VfioUserClient, DMA-maps
// its memfd guest RAM, maps BAR0's doorbell page when the controller offers it (mapped mode)
// or sends doorbells as REGION_WRITE messages (trapped mode), resets and enables the
// controller (AQA/ASQ/ACQ, CC, CSTS.RDY with a deadline), identifies it, negotiates the
// number of queues, configures shadow doorbells in trapped mode when OACS bit 8 offers them,
// creates the I/O queue pairs (polled; MSI-X eventfds optional), and handles Asynchronous
// Event Requests, the changed-namespace log, shutdown and reset. Admin commands run
// synchronously on the caller's thread; each I/O queue pair belongs to one thread. Every
// completion and register value is checked and every wait has a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/nvme_doorbells.hpp"
#include "frontend/nvme_queue_pair.hpp"
#include "frontend/vfio_user_client.hpp"
#include "spec/nvme.hpp"

namespace vhostd::frontend {

class NvmeDriver {
  public:
    struct Options {
        std::string socket;  // the controller's socket (SPDK: TRADDR/cntrl)
        uint16_t io_queues = 1;
        uint32_t io_queue_entries = 256;  // clamped to CAP.MQES + 1
        uint32_t admin_entries = 32;
        // Bytes of guest RAM for the caller's buffers, beyond what the queues need.
        uint64_t data_bytes = uint64_t{4} << 20;
        GuestRam::Options ram;  // populate / hugetlb; `regions` is ignored
        // Send doorbells as messages even when the doorbell page is mappable.
        bool force_trapped = false;
        // In trapped mode, use Doorbell Buffer Config when the controller offers it.
        bool shadow_doorbells = true;
        // MSI-X eventfds for the I/O queues (vector = qid); polled otherwise.
        bool interrupts = false;
        // Register waits (CSTS.RDY, SHST) and admin commands.
        std::chrono::milliseconds timeout{10000};
        VfioUserClient::Options client;
    };

    static Result<std::unique_ptr<NvmeDriver>> connect(const Options& options);
    NvmeDriver(const NvmeDriver&) = delete;
    NvmeDriver& operator=(const NvmeDriver&) = delete;
    ~NvmeDriver() = default;

    // --- what was found ---
    [[nodiscard]] uint64_t cap() const { return cap_; }
    [[nodiscard]] uint32_t version() const { return version_; }
    [[nodiscard]] const nvme_spec::IdentifyController& controller() const { return identify_; }
    [[nodiscard]] bool mapped() const { return doorbells_->mapped(); }
    [[nodiscard]] bool shadow_doorbells() const { return doorbells_->shadow(); }
    [[nodiscard]] uint32_t page_size() const { return kPageSize; }

    // --- I/O ---
    [[nodiscard]] size_t io_queue_count() const { return io_.size(); }
    [[nodiscard]] NvmeQueuePair& io_queue(size_t index) { return *io_.at(index); }
    // The MSI-X eventfd of I/O queue `index` (Options::interrupts), else -1.
    [[nodiscard]] int interrupt_fd(size_t index) const {
        return index < irq_fds_.size() ? irq_fds_[index].get() : -1;
    }
    [[nodiscard]] GuestRam& ram() { return ram_; }
    // Raw doorbell access (hostile-driver tests write values no driver would).
    [[nodiscard]] NvmeDoorbells& doorbells() { return *doorbells_; }

    // --- admin (caller's thread, while no I/O thread uses the client in trapped mode) ---
    // Submits and waits; an error status is returned in the completion (check ok()).
    Result<NvmeCompletion> admin(const nvme_spec::Command& command);
    // As admin(), but a status other than success is an EIO error.
    Result<NvmeCompletion> admin_ok(const nvme_spec::Command& command);
    Result<nvme_spec::IdentifyNamespace> identify_namespace(uint32_t nsid);
    Result<std::vector<uint32_t>> active_namespaces();
    // Logical block size and count of `nsid` (from its current LBA format).
    struct NamespaceGeometry {
        uint32_t block_size = 0;
        uint64_t blocks = 0;
    };
    Result<NamespaceGeometry> namespace_geometry(uint32_t nsid);
    // Get Log Page Changed Namespace List (reading it clears it, 5.14.1.4).
    Result<std::vector<uint32_t>> changed_namespaces();

    // Asynchronous events: keeps `count` AERs outstanding (bounded by AERL + 1), re-arming one
    // each time one completes. wait_async_event returns the next event's dword 0, or
    // ETIMEDOUT.
    Result<void> arm_async_events(unsigned count = 1);
    Result<uint32_t> wait_async_event(std::chrono::milliseconds timeout);

    // Normal shutdown (CC.SHN = 01b), waiting for CSTS.SHST = complete; I/O queues deleted
    // first, as Linux does.
    Result<void> shutdown();
    // Controller reset (CC.EN = 0 and back) and the whole bring-up again, on the same memory
    // and queue pairs. No I/O thread may be running.
    Result<void> reset();

    // REGION_WRITE messages sent for doorbells so far (trapped mode), by kind; the I/O
    // queues' counts are read after their threads stopped.
    struct DoorbellCounts {
        uint64_t sq_messages = 0;
        uint64_t cq_messages = 0;
        uint64_t sq_skipped = 0;
        uint64_t cq_skipped = 0;
    };
    [[nodiscard]] DoorbellCounts doorbell_counts() const;

  private:
    static constexpr uint32_t kPageSize = 4096;  // CC.MPS = 0
    static constexpr uint64_t kAerTag = uint64_t{1} << 63;

    NvmeDriver(Options options, VfioUserClient client, GuestRam ram)
        : options_(std::move(options)), client_(std::move(client)), ram_(std::move(ram)) {}

    Result<uint32_t> read32(uint64_t offset);
    Result<uint64_t> read64(uint64_t offset);
    Result<void> write32(uint64_t offset, uint32_t value);
    Result<void> write64(uint64_t offset, uint64_t value);
    // Polls CSTS until (CSTS & mask) == want, CFS or the deadline.
    Result<void> wait_csts(uint32_t mask, uint32_t want, const char* what);
    Result<void> disable();
    Result<void> bring_up();
    Result<void> create_io_queues();
    Result<void> setup_interrupts();
    // Polls the admin queue until the completion of `tag` (0: until an event is queued),
    // keeping the wanted AERs outstanding.
    Result<NvmeCompletion> poll_admin_until(uint64_t tag,
                                            std::chrono::steady_clock::time_point deadline);
    Result<void> identify(uint8_t cns, uint32_t nsid);

    Options options_;
    VfioUserClient client_;
    GuestRam ram_;
    VfioUserMapping bar0_;
    std::unique_ptr<NvmeDoorbells> doorbells_;
    std::unique_ptr<NvmeQueuePair> admin_;
    std::vector<std::unique_ptr<NvmeQueuePair>> io_;
    std::vector<UniqueFd> irq_fds_;
    GuestBuffer data_page_;    // admin commands' data (Identify, logs)
    GuestBuffer shadow_page_;  // Doorbell Buffer Config: shadow doorbells
    GuestBuffer event_page_;   // and EventIdx
    uint64_t cap_ = 0;
    uint32_t version_ = 0;
    uint32_t timeout_ms_ = 0;  // min(CAP.TO, options.timeout)
    nvme_spec::IdentifyController identify_{};
    uint64_t next_tag_ = 1;
    unsigned aers_wanted_ = 0;
    unsigned aers_outstanding_ = 0;
    std::deque<uint32_t> events_;  // completed AERs' dword 0, oldest first
};

}  // namespace vhostd::frontend
